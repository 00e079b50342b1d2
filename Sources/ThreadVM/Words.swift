internal import Crypto

/// Four Goldilocks words: the shape of storage keys and account addresses.
///
/// Printed as `0x` followed by 64 hex digits, the four canonical words in order, each as 16
/// big-endian hex digits.
public struct Quad: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: Felt
    public var w1: Felt
    public var w2: Felt
    public var w3: Felt

    public init(_ w0: Felt, _ w1: Felt, _ w2: Felt, _ w3: Felt) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The four words of `words`, which must have exactly four elements.
    public init?(words: some Collection<Felt>) {
        guard words.count == 4 else { return nil }
        let w = Array(words)
        self.init(w[0], w[1], w[2], w[3])
    }

    public var words: [Felt] { [w0, w1, w2, w3] }

    /// Splits a 32-byte digest into four 8-byte big-endian chunks, each reduced modulo p.
    init(digest bytes: some Sequence<UInt8>) {
        var words: [Felt] = []
        var acc: UInt64 = 0
        var n = 0
        for byte in bytes {
            acc = acc << 8 | UInt64(byte)
            n += 1
            if n % 8 == 0 {
                words.append(Felt(acc))
                acc = 0
            }
        }
        precondition(words.count == 4, "a digest split into words must be 32 bytes")
        self.init(words[0], words[1], words[2], words[3])
    }

    /// Parses `0x` + 64 hex digits (the `0x` is optional); each word must be below p.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard digits.count == 64, digits.allSatisfy(\.isHexDigit) else { return nil }
        var words: [Felt] = []
        var index = digits.startIndex
        for _ in 0..<4 {
            let end = digits.index(index, offsetBy: 16)
            guard let raw = UInt64(digits[index..<end], radix: 16), let felt = Felt(exactly: raw)
            else { return nil }
            words.append(felt)
            index = end
        }
        self.init(words[0], words[1], words[2], words[3])
    }

    public var hex: String {
        "0x"
            + words.map { word in
                let digits = String(word.value, radix: 16)
                return String(repeating: "0", count: 16 - digits.count) + digits
            }.joined()
    }

    public var description: String { hex }

    public static func < (a: Quad, b: Quad) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

/// A storage key: four Goldilocks words (about 256 bits, so derived keys do not collide).
public struct StorageKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var quad: Quad

    public init(_ quad: Quad) { self.quad = quad }

    public init(_ w0: Felt, _ w1: Felt, _ w2: Felt, _ w3: Felt) {
        quad = Quad(w0, w1, w2, w3)
    }

    /// Parses `0x` + 64 hex digits.
    public init?(hex: String) {
        guard let quad = Quad(hex: hex) else { return nil }
        self.quad = quad
    }

    /// The key that `hash` derives from `words` (1 to 8 of them) under OS version 1, e.g.
    /// `[slot] + address.words`; ``VMRules/hash(_:)`` gives any version's.
    ///
    /// key = SHA-256("zkthreads/key/v1" ‖ n ‖ word₁ ‖ … ‖ wordₙ), with n one byte and each word
    /// 8 big-endian bytes of its canonical value; the digest is split into four 8-byte big-endian
    /// chunks, each reduced modulo p.
    public static func derive(_ words: [Felt]) -> StorageKey {
        precondition((1...KeyDerivation.maxWords).contains(words.count), "derive takes 1 to 8 words")
        return StorageKey(KeyDerivation.hash(words))
    }

    /// The key of a map entry: `derive([slot] + key words)`.
    public static func map(slot: Felt, _ key: [Felt]) -> StorageKey {
        derive([slot] + key)
    }

    public var words: [Felt] { quad.words }
    public var hex: String { quad.hex }
    public var description: String { quad.hex }

    public static func < (a: StorageKey, b: StorageKey) -> Bool { a.quad < b.quad }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let quad = Quad(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a storage key"))
        }
        self.quad = quad
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// An account as the VM sees it: four Goldilocks words.
///
/// Devnet convention: SHA-256 of the account's Ed25519 public key (32 raw bytes), split into four
/// 8-byte big-endian chunks, each reduced modulo p. Printed as `0x` + 64 hex digits.
public struct Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var quad: Quad

    public init(_ quad: Quad) { self.quad = quad }

    public init(_ w0: Felt, _ w1: Felt, _ w2: Felt, _ w3: Felt) {
        quad = Quad(w0, w1, w2, w3)
    }

    /// The address of an Ed25519 public key given as its raw bytes.
    public init(publicKeyBytes: some Sequence<UInt8>) {
        var hasher = SHA256()
        hasher.update(data: Array(publicKeyBytes))
        quad = Quad(digest: hasher.finalize())
    }

    /// Parses `0x` + 64 hex digits.
    public init?(hex: String) {
        guard let quad = Quad(hex: hex) else { return nil }
        self.quad = quad
    }

    public var words: [Felt] { quad.words }
    public var hex: String { quad.hex }
    public var description: String { quad.hex }

    public static func < (a: Address, b: Address) -> Bool { a.quad < b.quad }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let quad = Quad(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not an address"))
        }
        self.quad = quad
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// The hashes behind the `hash` instruction (``VMRules/hash(_:)``) and ``StorageKey/derive(_:)``.
public enum KeyDerivation {
    /// The most words one `hash` takes: the Poseidon2 rate.
    public static let maxWords = 8
    static let domain: [UInt8] = Array("zkthreads/key/v1".utf8)
    /// The domain tag of OS version 2 keys, in capacity element 9 of the Poseidon2 state: the
    /// eight ASCII bytes `zkt/key2` read as a big-endian integer, 0x7a6b742f6b657932 (below p).
    public static let poseidon2Domain = Felt(0x7a6b_742f_6b65_7932)

    /// OS version 2: `[w₀ … wₙ₋₁, 0 …, n, domain, 0, 0]`, one Poseidon2 permutation, elements 0–3.
    static func poseidon2(_ words: some Collection<Felt>) -> Quad {
        var state = [Felt](repeating: .zero, count: Poseidon2.width)
        for (index, word) in words.enumerated() { state[index] = word }
        state[maxWords] = Felt(UInt64(words.count))
        state[maxWords + 1] = poseidon2Domain
        Poseidon2.permute(&state)
        return Quad(state[0], state[1], state[2], state[3])
    }

    static func hash(_ words: some Collection<Felt>) -> Quad {
        var bytes = domain
        bytes.reserveCapacity(domain.count + 1 + 8 * words.count)
        bytes.append(UInt8(words.count))
        for word in words {
            withUnsafeBytes(of: word.value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        return Quad(digest: SHA256.hash(data: bytes))
    }
}
