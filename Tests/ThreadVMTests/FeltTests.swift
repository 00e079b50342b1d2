import Foundation
import Testing

@testable import ThreadVM

@Suite struct FeltTests {
    static let p = Felt.modulus
    static let samples: [UInt64] = [
        0, 1, 2, 3, 0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF_0000_0000, p - 1, p - 2, p / 2,
        0x1234_5678_9ABC_DEF0, 0xDEAD_BEEF_CAFE_BABE % p, 0x8000_0000_0000_0000, 12345,
    ]

    @Test func modulusIsGoldilocks() {
        #expect(Felt.modulus == UInt64.max - (1 << 32) + 2)
        #expect(Felt.modulus == 18_446_744_069_414_584_321)
    }

    @Test func constructionReducesModP() {
        #expect(Felt(Self.p).value == 0)
        #expect(Felt(Self.p + 5).value == 5)
        #expect(Felt(UInt64.max).value == 0xFFFF_FFFE)
        #expect(Felt(exactly: Self.p) == nil)
        #expect(Felt(exactly: Self.p - 1)?.value == Self.p - 1)
        #expect(Felt(signed: -1).value == Self.p - 1)
        #expect(Felt(signed: 7).value == 7)
    }

    @Test func arithmeticMatchesWideReference() {
        let p = UInt128(Self.p)
        for x in Self.samples {
            for y in Self.samples {
                let a = Felt(x)
                let b = Felt(y)
                #expect((a + b).value == UInt64((UInt128(a.value) + UInt128(b.value)) % p), "\(x) + \(y)")
                #expect((a - b).value == UInt64((UInt128(a.value) + p - UInt128(b.value)) % p), "\(x) - \(y)")
                #expect((a * b).value == UInt64((UInt128(a.value) * UInt128(b.value)) % p), "\(x) * \(y)")
            }
        }
    }

    @Test func wrapAround() {
        let max = Felt(Self.p - 1)
        #expect(max + 1 == 0)
        #expect(max + max == Felt(Self.p - 2))
        #expect(Felt(0) - 1 == max)
        #expect(-Felt(1) == max)
        #expect(max * max == 1)  // (−1)² = 1
        #expect(Felt(1 << 32) * Felt(1 << 32) == Felt(0xFFFF_FFFF))  // 2^64 ≡ 2^32 − 1
    }

    @Test func inverse() throws {
        #expect(Felt.zero.inverse == nil)
        for x in Self.samples where x != 0 {
            let a = Felt(x)
            let inv = try #require(a.inverse)
            #expect(a * inv == .one, "\(x)")
        }
        #expect(Felt(2).inverse == Felt((Self.p + 1) / 2))
    }

    @Test func comparesCanonicalRepresentatives() {
        #expect(Felt(3) < Felt(5))
        #expect(!(Felt(Self.p - 1) < Felt(0)))
        #expect(Felt(Self.p + 1) < Felt(2))
    }
}

@Suite struct WordsTests {
    @Test func addressOfPublicKeyIsSHA256SplitIntoReducedWords() {
        // SHA-256 of 32 zero bytes = 66687aadf862bd77 6c8fc18b8e9f8e20 089714856ee233b3 902a591d0d5f2925
        let address = Address(publicKeyBytes: [UInt8](repeating: 0, count: 32))
        #expect(address.hex == "0x66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925")
        #expect(address.words[0].value == 0x6668_7AAD_F862_BD77)
        #expect(Address(hex: address.hex) == address)
    }

    @Test func digestWordsAreReducedModP() {
        let quad = Quad(digest: [UInt8](repeating: 0xFF, count: 32))
        #expect(quad.words == Array(repeating: Felt(0xFFFF_FFFE), count: 4))
        #expect(quad.hex == "0x" + String(repeating: "00000000fffffffe", count: 4))
    }

    @Test func hexParsingRejectsBadInput() {
        #expect(Address(hex: "0x1234") == nil)
        #expect(Address(hex: "0x" + String(repeating: "g", count: 64)) == nil)
        // A word equal to p is not canonical.
        #expect(Address(hex: "0x" + "ffffffff00000001" + String(repeating: "0", count: 48)) == nil)
        #expect(StorageKey(hex: "0x" + String(repeating: "0", count: 63) + "7") == StorageKey(0, 0, 0, 7))
    }

    @Test func keyDerivationFollowsTheDocumentedConvention() {
        // SHA-256("zkthreads/key/v1" ‖ 0x01 ‖ be64(1)), split into four reduced words.
        #expect(StorageKey.derive([1]).hex == "0xcb42390a6e7c6f5cafc2ef0d8870e36e6409894dcc950fb02fdec63667611e0d")
        #expect(StorageKey.map(slot: 1, alice.words) == StorageKey.derive([1] + alice.words))
        #expect(StorageKey.derive([1, 2]) != StorageKey.derive([2, 1]))
        // The count is hashed, so a trailing zero word gives a different key.
        #expect(StorageKey.derive([1]) != StorageKey.derive([1, 0]))
    }

    @Test func codableUsesHexAndCanonicalWords() throws {
        let key = StorageKey.derive([9])
        let data = try JSONEncoder().encode([key])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(key.hex)\"]")
        #expect(try JSONDecoder().decode([StorageKey].self, from: data) == [key])
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode([Felt].self, from: Data("[18446744069414584321]".utf8))
        }
    }
}
