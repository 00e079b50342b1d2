extension EcGFp5 {
    /// The Poseidon2 domain tags of the signature scheme: eight ASCII bytes each, read as a
    /// big-endian integer and placed in the sponge's capacity (``Poseidon2/sponge(domain:_:)``).
    public enum Domain {
        /// Secret scalar from the seed.
        public static let secretKey = Poseidon2.tag("zkt/sk01")
        /// Nonce key (the secret prefix of nonce derivation) from the seed.
        public static let nonceKey = Poseidon2.tag("zkt/nk01")
        /// Per-signature nonce.
        public static let nonce = Poseidon2.tag("zkt/nc01")
        /// Challenge.
        public static let challenge = Poseidon2.tag("zkt/ch01")
    }

    /// The challenge e = Scalar(sponge(challenge tag, w(R) ‖ w(Q) ‖ message)): the five words of
    /// R's encoding, the five of the public key's, then the message, hashed to eight words and
    /// read as Σ oᵢ·pⁱ mod n (``Scalar/init(words:)``).
    public static func challenge(r: GFp5, publicKey: GFp5, message: [Goldilocks]) -> Scalar {
        Scalar(words: Poseidon2.sponge(domain: Domain.challenge, r.coefficients + publicKey.coefficients + message))
    }

    /// A secret signing key, derived from 32 seed bytes.
    ///
    /// The seed is read as eight 32-bit little-endian words (each below p). The secret scalar is
    /// d = Scalar(sponge(secret-key tag, seed words)), the nonce key is
    /// sponge(nonce-key tag, seed words) (eight words), and the public key is Q = d·G. Key
    /// generation and signing are constant-time in the secret.
    public struct SecretKey: Sendable {
        let scalar: Scalar
        let nonceKey: [Goldilocks]
        /// The matching public key.
        public let publicKey: PublicKey

        /// The key of a 32-byte seed.
        public init(seed: [UInt8]) {
            precondition(seed.count == 32, "an EcGFp5 seed has 32 bytes")
            var raw = [UInt64](repeating: 0, count: 8)
            for i in 0..<32 { raw[i / 4] |= UInt64(seed[i]) << UInt64(8 * (i % 4)) }
            let words = raw.map { Goldilocks($0) }
            scalar = Scalar(words: Poseidon2.sponge(domain: Domain.secretKey, words))
            // Zero has probability about 2^−319: no seed is known to give it.
            precondition(!scalar.isZero, "the seed gives the zero scalar")
            nonceKey = Poseidon2.sponge(domain: Domain.nonceKey, words)
            publicKey = PublicKey(point: Point.generatorMultiple(scalar))
        }

        /// The deterministic Schnorr signature of `message`.
        ///
        /// k = Scalar(sponge(nonce tag, nonce key ‖ w(Q) ‖ message)), R = k·G,
        /// e = ``EcGFp5/challenge(r:publicKey:message:)``, s = k + e·d mod n; the signature is
        /// (w(R), s). The same key and message always give the same signature.
        public func sign(message: [Goldilocks]) -> Signature {
            let k = Scalar(
                words: Poseidon2.sponge(domain: Domain.nonce, nonceKey + publicKey.encoded.coefficients + message))
            precondition(!k.isZero, "the nonce is zero")
            let r = Point.generatorMultiple(k).encoded
            let e = EcGFp5.challenge(r: r, publicKey: publicKey.encoded, message: message)
            return Signature(unchecked: r, s: k + e * scalar)
        }
    }

    /// A public key: a group element other than the neutral, kept with its encoding.
    public struct PublicKey: Sendable, Hashable {
        /// The group element Q = d·G.
        public let point: Point
        /// Its canonical encoding w(Q), five words.
        public let encoded: GFp5

        init(point: Point) {
            self.point = point
            self.encoded = point.encoded
        }

        /// Decodes a public key; nil when `encoded` is not a group element's encoding, or is
        /// the neutral's (0).
        public init?(encoded: GFp5) {
            guard !encoded.isZero, let point = Point(encoded: encoded) else { return nil }
            self.point = point
            self.encoded = encoded
        }

        /// Decodes five words; nil when a word is not below p or the value is refused as above.
        public init?(words: [UInt64]) {
            guard let w = GFp5(words: words) else { return nil }
            self.init(encoded: w)
        }

        /// Parses the 40-byte form (five words, 8 bytes little-endian each); nil as for
        /// ``init(words:)`` or when the length is not 40.
        public init?(bytes: [UInt8]) {
            guard bytes.count == 40 else { return nil }
            var words = [UInt64](repeating: 0, count: 5)
            for i in 0..<40 { words[i / 8] |= UInt64(bytes[i]) << UInt64(8 * (i % 8)) }
            self.init(words: words)
        }

        /// The five words of the encoding.
        public var words: [UInt64] { encoded.words }

        /// The 40-byte form: the five words, 8 bytes little-endian each.
        public var bytes: [UInt8] {
            words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } }
        }

        public static func == (a: PublicKey, b: PublicKey) -> Bool { a.encoded == b.encoded }
        public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }

        /// Whether `signature` signs `message` under this key: s·G − e·Q = R, compared through
        /// the canonical encoding (w(s·G − e·Q) = w(R)).
        public func verify(message: [Goldilocks], signature: Signature) -> Bool {
            let e = EcGFp5.challenge(r: signature.r, publicKey: encoded, message: message)
            let candidate = Point.generatorMultiple(signature.s) - e * point
            return candidate.encoded == signature.r
        }
    }

    /// A Schnorr signature: R's encoding and the scalar s.
    ///
    /// Its byte form is 80 bytes: the five words of w(R), 8 bytes little-endian each, then s as
    /// 40 bytes little-endian. Decoding is strict: a word not below p, an R that is not a group
    /// element, or s ≥ n is refused.
    public struct Signature: Sendable, Hashable {
        /// The encoding of R = k·G.
        public let r: GFp5
        /// s = k + e·d mod n.
        public let s: Scalar

        init(unchecked r: GFp5, s: Scalar) {
            self.r = r
            self.s = s
        }

        /// A signature from its parts; nil when `r` is not the encoding of a group element.
        public init?(r: GFp5, s: Scalar) {
            guard Point(encoded: r) != nil else { return nil }
            self.init(unchecked: r, s: s)
        }

        /// Parses the 80-byte form; nil when it is malformed (see the type's documentation).
        public init?(bytes: [UInt8]) {
            guard bytes.count == 80 else { return nil }
            var words = [UInt64](repeating: 0, count: 5)
            for i in 0..<40 { words[i / 8] |= UInt64(bytes[i]) << UInt64(8 * (i % 8)) }
            guard let r = GFp5(words: words), let s = Scalar(bytes: Array(bytes[40..<80])) else { return nil }
            self.init(r: r, s: s)
        }

        /// The 80-byte form.
        public var bytes: [UInt8] {
            r.words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } } + s.bytes
        }
    }
}
