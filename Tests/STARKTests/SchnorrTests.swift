import Foundation
import Testing

@testable import STARK

@Suite struct Poseidon2PermutationTests {
    /// The known-answer test of the reference implementation: HorizenLabs/poseidon2,
    /// plain_implementations/src/poseidon2/poseidon2.rs, `poseidon2_tests_goldilocks::kats`
    /// (POSEIDON2_GOLDILOCKS_12_PARAMS applied to [0, 1, …, 11]).
    static let referenceOutput: [UInt64] = [
        0x01ea_ef96_bdf1_c0c1, 0x1f0d_2cc5_25b2_540c, 0x6282_c1df_e1e0_358d, 0xe780_d721_f698_e1e6,
        0x280c_0b6f_753d_833b, 0x1b94_2dd5_0231_56ab, 0x43f0_df3f_cccb_8398, 0xe8e8_1905_8548_9025,
        0x56bd_bf72_f77a_da22, 0x7911_c32b_f9dc_d705, 0xec46_7926_508f_be67, 0x6a50_450d_df85_a6ed,
    ]

    @Test func permutationMatchesTheReferenceVector() {
        var state = (0..<12).map { Goldilocks(UInt64($0)) }
        Poseidon2.permute(&state)
        #expect(state.map(\.value) == Self.referenceOutput)
    }

    @Test func spongeLayout() {
        let tag = Poseidon2.tag("zkt/ch01")
        #expect(tag.value == 0x7a6b_742f_6368_3031)
        // At most eight words: one permutation of [words, 0…, count, tag, 0, 0].
        let words = (1...5).map { Goldilocks(UInt64($0)) }
        var state = words + [Goldilocks](repeating: .zero, count: 3) + [Goldilocks(5), tag, .zero, .zero]
        Poseidon2.permute(&state)
        #expect(Poseidon2.sponge(domain: tag, words) == Array(state[0..<8]))
        // Nine words: two permutations, the ninth word added into element 0 of the second.
        let nine = (1...9).map { Goldilocks(UInt64($0)) }
        var long = Array(nine[0..<8]) + [Goldilocks(9), tag, .zero, .zero]
        Poseidon2.permute(&long)
        long[0] = long[0] + nine[8]
        Poseidon2.permute(&long)
        #expect(Poseidon2.sponge(domain: tag, nine) == Array(long[0..<8]))
        // No words: one permutation still.
        var empty = [Goldilocks](repeating: .zero, count: 9) + [tag, .zero, .zero]
        Poseidon2.permute(&empty)
        #expect(Poseidon2.sponge(domain: tag, []) == Array(empty[0..<8]))
        // The count and the tag separate inputs.
        #expect(Poseidon2.sponge(domain: tag, [.zero]) != Poseidon2.sponge(domain: tag, []))
        #expect(Poseidon2.sponge(domain: tag, [.one]) != Poseidon2.sponge(domain: Poseidon2.tag("zkt/nc01"), [.one]))
    }
}

@Suite struct SchnorrTests {
    typealias Scalar = EcGFp5.Scalar

    static func seed(_ i: UInt64) -> [UInt8] {
        var rng = TestRNG(seed: 1000 + i)
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func message(_ i: Int, _ rng: inout TestRNG) -> [Goldilocks] {
        (0..<(i * 3 % 20)).map { _ in rng.base() }
    }

    @Test func signAndVerifyRoundTrips() throws {
        var rng = TestRNG(seed: 42)
        for i in 0..<6 {
            let key = EcGFp5.SecretKey(seed: Self.seed(UInt64(i)))
            let message = Self.message(i, &rng)
            let signature = key.sign(message: message)
            #expect(key.publicKey.verify(message: message, signature: signature))
            // Deterministic: the same key and message give the same signature.
            #expect(key.sign(message: message) == signature)
            // The byte form round-trips.
            #expect(signature.bytes.count == 80)
            #expect(EcGFp5.Signature(bytes: signature.bytes) == signature)
            #expect(EcGFp5.PublicKey(words: key.publicKey.words) == key.publicKey)
            #expect(EcGFp5.PublicKey(bytes: key.publicKey.bytes) == key.publicKey)
            #expect(key.publicKey.bytes.count == 40)
            #expect(EcGFp5.PublicKey(bytes: Array(key.publicKey.bytes.dropLast())) == nil)
            // R is k·G with s·G − e·Q = R.
            let e = EcGFp5.challenge(r: signature.r, publicKey: key.publicKey.encoded, message: message)
            let r = try #require(EcGFp5.Point(encoded: signature.r))
            #expect(EcGFp5.Point.generatorMultiple(signature.s) == r + e * key.publicKey.point)
        }
    }

    @Test func tamperingFails() throws {
        var rng = TestRNG(seed: 7)
        let key = EcGFp5.SecretKey(seed: Self.seed(1))
        let other = EcGFp5.SecretKey(seed: Self.seed(2))
        #expect(key.publicKey != other.publicKey)
        let message = (0..<5).map { _ in rng.base() }
        let signature = key.sign(message: message)
        #expect(key.publicKey.verify(message: message, signature: signature))
        // Another message: each element changed, one appended, one dropped.
        for i in 0..<message.count {
            var changed = message
            changed[i] = changed[i] + .one
            #expect(!key.publicKey.verify(message: changed, signature: signature))
        }
        #expect(!key.publicKey.verify(message: message + [.zero], signature: signature))
        #expect(!key.publicKey.verify(message: Array(message.dropLast()), signature: signature))
        // Another key.
        #expect(!other.publicKey.verify(message: message, signature: signature))
        // Another s: s + 1, s − 1, s + n·0 with R kept.
        for delta in [Scalar.one, -Scalar.one, Scalar(12345)] {
            let forged = EcGFp5.Signature(unchecked: signature.r, s: signature.s + delta)
            #expect(!key.publicKey.verify(message: message, signature: forged))
        }
        // Another R (a valid point): G + R, and another signature's R with this s.
        let r = try #require(EcGFp5.Point(encoded: signature.r))
        let movedR = try #require(EcGFp5.Signature(r: (r + .generator).encoded, s: signature.s))
        #expect(!key.publicKey.verify(message: message, signature: movedR))
        let otherR = key.sign(message: [.one]).r
        let mixed = try #require(EcGFp5.Signature(r: otherR, s: signature.s))
        #expect(!key.publicKey.verify(message: message, signature: mixed))
        // A signature by the other key over the same message does not verify under this key.
        #expect(!key.publicKey.verify(message: message, signature: other.sign(message: message)))
    }

    @Test func strictDecoding() throws {
        let key = EcGFp5.SecretKey(seed: Self.seed(3))
        let signature = key.sign(message: [Goldilocks(9)])
        let bytes = signature.bytes
        #expect(EcGFp5.Signature(bytes: bytes) != nil)
        #expect(EcGFp5.Signature(bytes: Array(bytes.dropLast())) == nil)
        #expect(EcGFp5.Signature(bytes: bytes + [0]) == nil)
        // s ≥ n: s + n (when it fits in 320 bits) and n itself are refused.
        var sPlusN = Array(bytes[40..<80])
        var carry: UInt16 = 0
        for i in 0..<40 {
            let sum = UInt16(sPlusN[i]) + UInt16(Scalar.order[i / 8] >> UInt64(8 * (i % 8)) & 0xFF) + carry
            sPlusN[i] = UInt8(sum & 0xFF)
            carry = sum >> 8
        }
        if carry == 0 { #expect(EcGFp5.Signature(bytes: Array(bytes[0..<40]) + sPlusN) == nil) }
        let n = (0..<40).map { UInt8(truncatingIfNeeded: Scalar.order[$0 / 8] >> UInt64(8 * ($0 % 8))) }
        #expect(EcGFp5.Signature(bytes: Array(bytes[0..<40]) + n) == nil)
        #expect(EcGFp5.Signature(bytes: Array(bytes[0..<40]) + [UInt8](repeating: 0xFF, count: 40)) == nil)
        // A word of R not below p: the first word plus p, when that fits in 64 bits, and p itself.
        var rWords = signature.r.words
        if rWords[0] < 0xFFFF_FFFF {
            rWords[0] += Goldilocks.modulus
            let raw = rWords.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> UInt64(8 * $0)) } }
            #expect(EcGFp5.Signature(bytes: raw + Array(bytes[40..<80])) == nil)
        }
        var pWord = bytes
        for i in 0..<8 { pWord[i] = UInt8(truncatingIfNeeded: Goldilocks.modulus >> UInt64(8 * i)) }
        #expect(EcGFp5.Signature(bytes: pWord) == nil)
        // R that is not a group element: the reference's invalid encodings.
        for w in EcGFp5CurveTests.invalid {
            #expect(EcGFp5.Signature(r: w, s: signature.s) == nil)
            #expect(EcGFp5.PublicKey(encoded: w) == nil)
        }
        // Public keys: the neutral and non-canonical words are refused.
        #expect(EcGFp5.PublicKey(encoded: .zero) == nil)
        #expect(EcGFp5.PublicKey(words: [Goldilocks.modulus + 4, 0, 0, 0, 0]) == nil)
        #expect(EcGFp5.PublicKey(words: [4, 0, 0, 0, 0]) != nil)
        // The byte forms use the same word layout: R's 40 bytes parse as a public key R.
        let rKey = try #require(EcGFp5.PublicKey(bytes: Array(bytes[0..<40])))
        #expect(rKey.encoded == signature.r)
        var badKey = [UInt8](repeating: 0, count: 40)
        for i in 0..<8 { badKey[i] = UInt8(truncatingIfNeeded: (Goldilocks.modulus + 4) >> UInt64(8 * i)) }
        #expect(EcGFp5.PublicKey(bytes: badKey) == nil)
    }

    // MARK: The vectors shared with the Python implementation

    struct VectorFile: Codable {
        var description: String
        var vectors: [Vector]
    }

    struct Vector: Codable {
        var seed: String
        var message: [UInt64]
        var publicKey: [UInt64]
        var r: [UInt64]
        var s: String
        var signature: String

        enum CodingKeys: String, CodingKey {
            case seed, message, r, s, signature
            case publicKey = "public_key"
        }
    }

    static let vectorPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/vectors/schnorr-ecgfp5.json")

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func unhex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            out.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// What this implementation produces for the vectors' seeds and messages.
    static func computedVectors() -> VectorFile {
        let p = Goldilocks.modulus
        var seeds: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32), (0..<32).map { UInt8($0) }, [UInt8](repeating: 0xFF, count: 32),
        ]
        seeds += (0..<3).map { seed(UInt64(10 + $0)) }
        let messages: [[UInt64]] = [
            [], [0], [1, 2, 3], [p - 1, p - 2, 1 << 63, 0xFFFF_FFFF, 1 << 32, 7, 8, 9, 10],
            (0..<20).map { UInt64($0) * 0x0123_4567_89AB_CDEF % p }, [42],
        ]
        var vectors: [Vector] = []
        for (seed, message) in zip(seeds, messages) {
            let key = EcGFp5.SecretKey(seed: seed)
            let signature = key.sign(message: message.map { Goldilocks($0) })
            vectors.append(
                Vector(
                    seed: hex(seed), message: message, publicKey: key.publicKey.words, r: signature.r.words,
                    s: signature.s.description, signature: hex(signature.bytes)))
        }
        return VectorFile(
            description:
                "EcGFp5 Schnorr signatures with Poseidon2 challenges (docs/signatures.md), produced by the Swift STARK library and checked by Tests/STARKTests/SchnorrTests.swift and Tests/python/test_ecgfp5_schnorr.py. s is hexadecimal, signature is the 80-byte form.",
            vectors: vectors)
    }

    /// Writes the file when ECGFP5_WRITE_VECTORS is set (run once, then committed); otherwise
    /// checks that this implementation still produces exactly the committed vectors.
    @Test func sharedVectors() throws {
        let computed = Self.computedVectors()
        if ProcessInfo.processInfo.environment["ECGFP5_WRITE_VECTORS"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(computed).write(to: Self.vectorPath)
        }
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: Self.vectorPath))
        #expect(file.vectors.count == 6)
        for vector in file.vectors {
            let key = EcGFp5.SecretKey(seed: Self.unhex(vector.seed))
            let message = vector.message.map { Goldilocks($0) }
            #expect(key.publicKey.words == vector.publicKey)
            let signature = key.sign(message: message)
            #expect(signature.r.words == vector.r)
            #expect(signature.s.description == vector.s)
            #expect(Self.hex(signature.bytes) == vector.signature)
            let publicKey = try #require(EcGFp5.PublicKey(words: vector.publicKey))
            let parsed = try #require(EcGFp5.Signature(bytes: Self.unhex(vector.signature)))
            #expect(publicKey.verify(message: message, signature: parsed))
        }
    }
}
