/// EcGFp5 (Pornin, ePrint 2022/274): a prime-order group built on a curve over ``GFp5``, with
/// Schnorr signatures whose challenges are Poseidon2 hashes. See docs/signatures.md.
public enum EcGFp5 {}

extension EcGFp5 {
    /// An integer modulo the group order n (a 319-bit prime), always reduced.
    ///
    /// Five little-endian 64-bit limbs. Addition, subtraction, multiplication and the
    /// conversions are constant-time (Montgomery multiplication, masked corrections).
    public struct Scalar: Sendable, Hashable, CustomStringConvertible {
        /// Little-endian limbs, value below n.
        let limbs: [UInt64]

        init(limbs: [UInt64]) { self.limbs = limbs }

        /// n = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241.
        static let order: [UInt64] = [
            0xE80F_D996_948B_FFE1, 0xE888_5C39_D724_A09C, 0x7FFF_FFE6_CFB8_0639,
            0x7FFF_FFF1_0000_0016, 0x7FFF_FFFD_8000_0007,
        ]
        /// −n⁻¹ mod 2^64, by Newton's iteration.
        static let montgomeryFactor: UInt64 = {
            var inverse: UInt64 = 1
            for _ in 0..<6 { inverse = inverse &* (2 &- order[0] &* inverse) }
            return 0 &- inverse
        }()
        /// 2^640 mod n (R² for R = 2^320), by doubling 1 modulo n 640 times.
        static let rSquared: Scalar = {
            var x = Scalar.one
            for _ in 0..<640 { x = x + x }
            return x
        }()

        public static let zero = Scalar(limbs: [0, 0, 0, 0, 0])
        public static let one = Scalar(limbs: [1, 0, 0, 0, 0])

        /// A small integer (below n).
        public init(_ value: UInt64) { self.init(limbs: [value, 0, 0, 0, 0]) }

        /// Reads 40 little-endian bytes; nil when the value is not below n.
        public init?(bytes: [UInt8]) {
            guard bytes.count == 40 else { return nil }
            let raw = Scalar.limbs(ofLittleEndian: bytes)
            let (_, borrow) = Scalar.subtract(raw, Scalar.order)
            guard borrow == 1 else { return nil }
            self.init(limbs: raw)
        }

        /// Any number of little-endian bytes, reduced modulo n.
        public init(reducing bytes: [UInt8]) {
            var chunks: [[UInt64]] = []
            var start = 0
            repeat {
                var chunk = Array(bytes[start..<min(start + 40, bytes.count)])
                chunk += [UInt8](repeating: 0, count: 40 - chunk.count)
                chunks.append(Scalar.limbs(ofLittleEndian: chunk))
                start += 40
            } while start < bytes.count
            // A 320-bit chunk is below 3n: two conditional subtractions reduce it.
            var acc = Scalar.zero
            for chunk in chunks.reversed() {
                let reduced = Scalar(limbs: Scalar.conditionalSubtract(Scalar.conditionalSubtract(chunk, 0), 0))
                acc = Scalar(limbs: Scalar.montgomery(acc.limbs, Scalar.rSquared.limbs)) + reduced
            }
            self = acc
        }

        /// Σ words[i]·p^i modulo n: how Poseidon2 outputs (Goldilocks words) become a scalar.
        public init(words: [Goldilocks]) {
            let p = Scalar(Goldilocks.modulus)
            var acc = Scalar.zero
            for word in words.reversed() { acc = acc * p + Scalar(word.value) }
            self = acc
        }

        /// The 40 little-endian bytes of the value.
        public var bytes: [UInt8] {
            limbs.flatMap { limb in (0..<8).map { UInt8(truncatingIfNeeded: limb >> (8 * $0)) } }
        }

        /// Whether this is zero (constant-time).
        public var isZero: Bool { ConstantTime.equalMask(limbs.reduce(0, |), 0) != 0 }

        /// The value in hexadecimal, most significant digit first.
        public var description: String {
            "0x"
                + limbs.reversed().map { limb in
                    let hex = String(limb, radix: 16)
                    return String(repeating: "0", count: 16 - hex.count) + hex
                }.joined()
        }

        /// 4-bit digit `i` (0 ≤ i < 80), least significant first.
        func nibble(_ i: Int) -> UInt64 { (limbs[i >> 4] >> UInt64(4 * (i & 15))) & 15 }

        public static func + (a: Scalar, b: Scalar) -> Scalar {
            var sum = [UInt64](repeating: 0, count: 5)
            var carry: UInt64 = 0
            for i in 0..<5 {
                let (s1, c1) = a.limbs[i].addingReportingOverflow(b.limbs[i])
                let (s2, c2) = s1.addingReportingOverflow(carry)
                sum[i] = s2
                carry = (c1 ? 1 : 0) | (c2 ? 1 : 0)
            }
            return Scalar(limbs: conditionalSubtract(sum, carry))
        }

        public static prefix func - (a: Scalar) -> Scalar { .zero - a }

        public static func - (a: Scalar, b: Scalar) -> Scalar {
            let (difference, borrow) = subtract(a.limbs, b.limbs)
            // On a borrow add n back (masked, so the same work either way).
            let mask = 0 &- borrow
            var out = difference
            var carry: UInt64 = 0
            for i in 0..<5 {
                let (s1, c1) = out[i].addingReportingOverflow(order[i] & mask)
                let (s2, c2) = s1.addingReportingOverflow(carry)
                out[i] = s2
                carry = (c1 ? 1 : 0) | (c2 ? 1 : 0)
            }
            return Scalar(limbs: out)
        }

        public static func * (a: Scalar, b: Scalar) -> Scalar {
            // mont(mont(a, b), R²) = a·b·R⁻¹·R²·R⁻¹ = a·b.
            Scalar(limbs: montgomery(montgomery(a.limbs, b.limbs), rSquared.limbs))
        }

        // MARK: Limb arithmetic

        static func limbs(ofLittleEndian bytes: [UInt8]) -> [UInt64] {
            var limbs = [UInt64](repeating: 0, count: 5)
            for i in 0..<40 { limbs[i / 8] |= UInt64(bytes[i]) << UInt64(8 * (i % 8)) }
            return limbs
        }

        /// a − b over five limbs, and the final borrow (0 or 1).
        static func subtract(_ a: [UInt64], _ b: [UInt64]) -> ([UInt64], UInt64) {
            var out = [UInt64](repeating: 0, count: 5)
            var borrow: UInt64 = 0
            for i in 0..<5 {
                let (d1, b1) = a[i].subtractingReportingOverflow(b[i])
                let (d2, b2) = d1.subtractingReportingOverflow(borrow)
                out[i] = d2
                borrow = (b1 ? 1 : 0) | (b2 ? 1 : 0)
            }
            return (out, borrow)
        }

        /// `high·2^320 + a` minus n when that is not negative, else unchanged (for values < 2n
        /// with `high` ∈ {0, 1}), without a branch.
        static func conditionalSubtract(_ a: [UInt64], _ high: UInt64) -> [UInt64] {
            let (d, borrow) = subtract(a, order)
            // Keep the difference when the high bit absorbs the borrow or there was none.
            let keep = ConstantTime.mask(high | (borrow ^ 1) != 0)
            return (0..<5).map { ConstantTime.select(keep, a[$0], d[$0]) }
        }

        /// t + x·y + c as (high, low).
        @inline(__always)
        static func multiplyAdd(_ t: UInt64, _ x: UInt64, _ y: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
            let (h, l) = x.multipliedFullWidth(by: y)
            let (l1, c1) = l.addingReportingOverflow(t)
            let (l2, c2) = l1.addingReportingOverflow(c)
            return (h &+ (c1 ? 1 : 0) &+ (c2 ? 1 : 0), l2)
        }

        /// a·b·2^(−320) mod n (CIOS Montgomery multiplication), for a, b < n.
        static func montgomery(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
            var t = [UInt64](repeating: 0, count: 7)
            for i in 0..<5 {
                var carry: UInt64 = 0
                for j in 0..<5 { (carry, t[j]) = multiplyAdd(t[j], a[i], b[j], carry) }
                let (s5, c5) = t[5].addingReportingOverflow(carry)
                t[5] = s5
                t[6] = c5 ? 1 : 0
                let m = t[0] &* montgomeryFactor
                (carry, _) = multiplyAdd(t[0], m, order[0], 0)
                for j in 1..<5 { (carry, t[j - 1]) = multiplyAdd(t[j], m, order[j], carry) }
                let (s4, c4) = t[5].addingReportingOverflow(carry)
                t[4] = s4
                t[5] = t[6] &+ (c4 ? 1 : 0)
            }
            return conditionalSubtract(Array(t[0..<5]), t[5])
        }
    }
}
