import Testing

@testable import STARK

/// A small deterministic generator so failures reproduce.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func base() -> Goldilocks { Goldilocks(next() % Goldilocks.modulus) }
    mutating func ext() -> Ext2 { Ext2(base(), base()) }
}

@Suite struct FieldTests {
    let p = Goldilocks.modulus

    @Test func publishedConstants() {
        #expect(p == 18_446_744_069_414_584_321)
        let g = Goldilocks.generator
        #expect(g.value == 7)
        // The 2-adic root of unity is 7^((p−1)/2^32) and has order exactly 2^32.
        #expect(g.power((p - 1) >> 32) == Goldilocks(1_753_635_133_440_165_772))
        let root = Goldilocks.twoAdicRootOfUnity
        #expect(root.power(1 << 32) == .one)
        #expect(root.power(1 << 31) == -Goldilocks.one)
        // 7 generates the whole group: p − 1 = 2^32·3·5·17·257·65537.
        for q: UInt64 in [2, 3, 5, 17, 257, 65537] {
            #expect(g.power((p - 1) / q) != .one, "7 has order dividing (p−1)/\(q)")
        }
        #expect(Goldilocks.rootOfUnity(logOrder: 1) == -Goldilocks.one)
    }

    @Test func multiplicationMatchesWideDivision() {
        var rng = TestRNG(seed: 1)
        var samples: [(UInt64, UInt64)] = [(p - 1, p - 1), (p - 1, 2), (0xFFFF_FFFF, 0xFFFF_FFFF), (1 << 63, 1 << 63)]
        for _ in 0..<2000 { samples.append((rng.next() % p, rng.next() % p)) }
        for (a, b) in samples {
            let wide = a.multipliedFullWidth(by: b)
            let expected = p.dividingFullWidth((wide.high, wide.low)).remainder
            #expect((Goldilocks(a) * Goldilocks(b)).value == expected, "\(a) * \(b)")
        }
    }

    @Test func additionAndSubtractionWrapCorrectly() {
        var rng = TestRNG(seed: 2)
        for _ in 0..<2000 {
            let a = rng.next() % p, b = rng.next() % p
            let sum = (a.addingReportingOverflow(b).overflow || a &+ b >= p) ? a &+ b &- p : a &+ b
            #expect((Goldilocks(a) + Goldilocks(b)).value == sum)
            let diff = a >= b ? a - b : p - (b - a)
            #expect((Goldilocks(a) - Goldilocks(b)).value == diff)
        }
        #expect(Goldilocks(p).value == 0)
        #expect(Goldilocks(exactly: p) == nil)
        #expect(Goldilocks(exactly: p - 1) != nil)
    }

    @Test func baseFieldIdentities() {
        var rng = TestRNG(seed: 3)
        for _ in 0..<300 {
            let a = rng.base(), b = rng.base(), c = rng.base()
            #expect(a * b == b * a)
            #expect(a + b == b + a)
            #expect((a * b) * c == a * (b * c))
            #expect(a * (b + c) == a * b + a * c)
            #expect(a - a == .zero)
            #expect(a + (-a) == .zero)
            if a != .zero {
                #expect(a * a.inverse == .one)
                #expect(a.power(p - 1) == .one)  // Fermat
            }
        }
        #expect(Goldilocks.zero.inverse == .zero)
    }

    @Test func extensionFieldIdentities() {
        var rng = TestRNG(seed: 4)
        // u² = 7 must be irreducible: 7 is a non-residue.
        #expect(Goldilocks(7).power((p - 1) / 2) == -Goldilocks.one)
        #expect(Ext2.u * Ext2.u == Ext2(Goldilocks(7)))
        for _ in 0..<200 {
            let a = rng.ext(), b = rng.ext(), c = rng.ext()
            #expect(a * b == b * a)
            #expect((a * b) * c == a * (b * c))
            #expect(a * (b + c) == a * b + a * c)
            #expect(a - b + b == a)
            if a != .zero {
                #expect(a * a.inverse == .one)
                // Fermat in GF(p²): a^(p²−1) = (a^(p−1))^(p+1) = 1.
                #expect(a.power(p - 1).power(p + 1) == .one)
            }
            let s = rng.base()
            #expect(a * s == a * Ext2(s))
        }
    }

    @Test func batchInversionMatchesSingleInversions() {
        var rng = TestRNG(seed: 5)
        var values = (0..<50).map { _ in rng.ext() }
        values[7] = .zero
        let inv = batchInverse(values)
        for (v, i) in zip(values, inv) {
            #expect(i == v.inverse)
        }
    }
}
