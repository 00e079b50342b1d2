/// Branch-free Goldilocks arithmetic on raw canonical words, for code that handles secrets.
///
/// ``Goldilocks`` is written for speed and leaves its conditional corrections to the compiler;
/// these helpers compute every correction with masks, so their running time does not depend on
/// the values. ``GFp5`` and the EcGFp5 code are built on them.
@usableFromInline
enum ConstantTime {
    @usableFromInline static let p: UInt64 = 0xFFFF_FFFF_0000_0001
    /// 2^64 mod p = 2^32 − 1.
    @usableFromInline static let epsilon: UInt64 = 0xFFFF_FFFF

    /// All ones when `flag` is set, zero otherwise.
    @inlinable @inline(__always)
    static func mask(_ flag: Bool) -> UInt64 { 0 &- UInt64(flag ? 1 : 0) }

    /// All ones when `a == b`, zero otherwise, without a comparison branch.
    @inlinable @inline(__always)
    static func equalMask(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let d = a ^ b
        return ((d | (0 &- d)) >> 63) &- 1
    }

    /// `b` where `mask` is all ones, `a` where it is zero.
    @inlinable @inline(__always)
    static func select(_ mask: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 { a ^ ((a ^ b) & mask) }

    @inlinable @inline(__always)
    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (s, carry) = a.addingReportingOverflow(b)
        // A carry dropped 2^64 ≡ ε; with a, b < p the corrected sum is below p.
        let r = s &+ (epsilon & mask(carry))
        let (t, borrow) = r.subtractingReportingOverflow(p)
        return select(mask(borrow), t, r)
    }

    @inlinable @inline(__always)
    static func sub(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (d, borrow) = a.subtractingReportingOverflow(b)
        // A borrow added 2^64; replace it by p, i.e. subtract ε.
        return d &- (epsilon & mask(borrow))
    }

    @inlinable @inline(__always)
    static func neg(_ a: UInt64) -> UInt64 { sub(0, a) }

    /// `hi·2^64 + lo` modulo p, using 2^64 ≡ 2^32 − 1 and 2^96 ≡ −1.
    @inlinable @inline(__always)
    static func reduce(high hi: UInt64, low lo: UInt64) -> UInt64 {
        let (t0, borrow) = lo.subtractingReportingOverflow(hi >> 32)
        let t1 = t0 &- (epsilon & mask(borrow))
        let (t2, carry) = t1.addingReportingOverflow((hi & epsilon) &* epsilon)
        let r = t2 &+ (epsilon & mask(carry))
        let (t, under) = r.subtractingReportingOverflow(p)
        return select(mask(under), t, r)
    }

    @inlinable @inline(__always)
    static func mul(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return reduce(high: hi, low: lo)
    }

    /// `a^e` for a public exponent `e` (the loop follows the exponent's bits, never `a`).
    @inlinable
    static func power(_ a: UInt64, _ e: UInt64) -> UInt64 {
        var result: UInt64 = 1
        var base = a
        var e = e
        while e != 0 {
            if e & 1 == 1 { result = mul(result, base) }
            base = mul(base, base)
            e >>= 1
        }
        return result
    }

    /// 1/a by Fermat (a^(p−2)); zero maps to zero.
    @inlinable
    static func inverse(_ a: UInt64) -> UInt64 { power(a, p &- 2) }
}

/// An element of GF(p^5) = GF(p)[z]/(z^5 − 3), p the Goldilocks prime: the field of EcGFp5.
///
/// The element is c₀ + c₁z + c₂z² + c₃z³ + c₄z⁴ with canonical coefficients in `0..<p`.
/// Arithmetic, inversion and ``isZero``/``==`` are constant-time; ``squareRoot()`` and
/// ``legendre`` take data-dependent time and are only used on public values (decoding).
/// Inversion and the Legendre symbol use the Frobenius map as Pornin's paper does (ePrint
/// 2022/274, §3.2): with r = 1 + p + p² + p³ + p⁴, x^r lies in GF(p), so 1/x = x^(r−1) / x^r.
@frozen
public struct GFp5: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline var c0: UInt64
    @usableFromInline var c1: UInt64
    @usableFromInline var c2: UInt64
    @usableFromInline var c3: UInt64
    @usableFromInline var c4: UInt64

    @inlinable @inline(__always)
    init(c0: UInt64, c1: UInt64, c2: UInt64, c3: UInt64, c4: UInt64) {
        self.c0 = c0
        self.c1 = c1
        self.c2 = c2
        self.c3 = c3
        self.c4 = c4
    }

    /// The element with these five coefficients, lowest degree first.
    public init(_ coefficients: [Goldilocks]) {
        precondition(coefficients.count == 5, "a GF(p^5) element has five coefficients")
        self.init(
            c0: coefficients[0].value, c1: coefficients[1].value, c2: coefficients[2].value,
            c3: coefficients[3].value, c4: coefficients[4].value)
    }

    /// The element with these five canonical words, or nil when one is not below p.
    public init?(words: [UInt64]) {
        guard words.count == 5, words.allSatisfy({ $0 < ConstantTime.p }) else { return nil }
        self.init(c0: words[0], c1: words[1], c2: words[2], c3: words[3], c4: words[4])
    }

    /// A base-field element.
    public init(_ base: Goldilocks) { self.init(c0: base.value, c1: 0, c2: 0, c3: 0, c4: 0) }

    public static let zero = GFp5(c0: 0, c1: 0, c2: 0, c3: 0, c4: 0)
    public static let one = GFp5(c0: 1, c1: 0, c2: 0, c3: 0, c4: 0)

    /// The five coefficients, lowest degree first.
    public var coefficients: [Goldilocks] { words.map { Goldilocks(canonical: $0) } }

    /// The five coefficients as canonical words, lowest degree first.
    public var words: [UInt64] { [c0, c1, c2, c3, c4] }

    public var description: String { "(" + words.map(String.init).joined(separator: ", ") + ")" }

    /// Constant-time: all coefficients are compared.
    public static func == (lhs: GFp5, rhs: GFp5) -> Bool { lhs.equalMask(rhs) != 0 }

    public func hash(into hasher: inout Hasher) { hasher.combine(words) }

    /// All ones when equal, zero otherwise.
    @inlinable
    func equalMask(_ other: GFp5) -> UInt64 {
        let d = (c0 ^ other.c0) | (c1 ^ other.c1) | (c2 ^ other.c2) | (c3 ^ other.c3) | (c4 ^ other.c4)
        return ConstantTime.equalMask(d, 0)
    }

    /// Whether this is zero (constant-time).
    public var isZero: Bool { equalMask(.zero) != 0 }

    /// `b` where `mask` is all ones, `a` where it is zero.
    @inlinable @inline(__always)
    static func select(_ mask: UInt64, _ a: GFp5, _ b: GFp5) -> GFp5 {
        GFp5(
            c0: ConstantTime.select(mask, a.c0, b.c0), c1: ConstantTime.select(mask, a.c1, b.c1),
            c2: ConstantTime.select(mask, a.c2, b.c2), c3: ConstantTime.select(mask, a.c3, b.c3),
            c4: ConstantTime.select(mask, a.c4, b.c4))
    }

    @inlinable @inline(__always)
    public static func + (a: GFp5, b: GFp5) -> GFp5 {
        typealias F = ConstantTime
        return GFp5(
            c0: F.add(a.c0, b.c0), c1: F.add(a.c1, b.c1), c2: F.add(a.c2, b.c2), c3: F.add(a.c3, b.c3),
            c4: F.add(a.c4, b.c4))
    }

    @inlinable @inline(__always)
    public static func - (a: GFp5, b: GFp5) -> GFp5 {
        typealias F = ConstantTime
        return GFp5(
            c0: F.sub(a.c0, b.c0), c1: F.sub(a.c1, b.c1), c2: F.sub(a.c2, b.c2), c3: F.sub(a.c3, b.c3),
            c4: F.sub(a.c4, b.c4))
    }

    @inlinable @inline(__always)
    public static prefix func - (a: GFp5) -> GFp5 { .zero - a }

    /// Multiplication by a base-field element.
    @inlinable @inline(__always)
    public static func * (a: GFp5, k: Goldilocks) -> GFp5 { a.scaled(k.value) }

    @inlinable @inline(__always)
    func scaled(_ k: UInt64) -> GFp5 {
        typealias F = ConstantTime
        return GFp5(c0: F.mul(c0, k), c1: F.mul(c1, k), c2: F.mul(c2, k), c3: F.mul(c3, k), c4: F.mul(c4, k))
    }

    /// Adds the 128-bit product x·y to a pair of half-sums (high halves, low halves).
    @inlinable @inline(__always)
    static func accumulate(_ sums: inout (high: UInt128, low: UInt128), _ x: UInt64, _ y: UInt64) {
        let (h, l) = x.multipliedFullWidth(by: y)
        sums.high &+= UInt128(h)
        sums.low &+= UInt128(l)
    }

    /// Σ direct + 3·Σ wrapped (z^5 = 3), reduced once. The low and high halves of the 128-bit
    /// products are summed apart (each sum stays below 13·2^64), then hi·2^64 ≡ hi·(2^32 − 1)
    /// folds them into one value below 2^101.
    @inlinable @inline(__always)
    static func fold(_ direct: (high: UInt128, low: UInt128), _ wrapped: (high: UInt128, low: UInt128)) -> UInt64 {
        let hi = direct.high &+ 3 &* wrapped.high
        let lo = direct.low &+ 3 &* wrapped.low
        let v = lo &+ (hi &<< 32) &- hi
        return ConstantTime.reduce(high: UInt64(truncatingIfNeeded: v &>> 64), low: UInt64(truncatingIfNeeded: v))
    }

    /// The product: d_k = Σ_{i+j=k} a_i·b_j + 3·Σ_{i+j=k+5} a_i·b_j.
    @inlinable
    public static func * (a: GFp5, b: GFp5) -> GFp5 {
        let zero: (high: UInt128, low: UInt128) = (0, 0)
        var d = zero
        var w = zero
        accumulate(&d, a.c0, b.c0)
        accumulate(&w, a.c1, b.c4)
        accumulate(&w, a.c2, b.c3)
        accumulate(&w, a.c3, b.c2)
        accumulate(&w, a.c4, b.c1)
        let d0 = fold(d, w)
        d = zero
        w = zero
        accumulate(&d, a.c0, b.c1)
        accumulate(&d, a.c1, b.c0)
        accumulate(&w, a.c2, b.c4)
        accumulate(&w, a.c3, b.c3)
        accumulate(&w, a.c4, b.c2)
        let d1 = fold(d, w)
        d = zero
        w = zero
        accumulate(&d, a.c0, b.c2)
        accumulate(&d, a.c1, b.c1)
        accumulate(&d, a.c2, b.c0)
        accumulate(&w, a.c3, b.c4)
        accumulate(&w, a.c4, b.c3)
        let d2 = fold(d, w)
        d = zero
        w = zero
        accumulate(&d, a.c0, b.c3)
        accumulate(&d, a.c1, b.c2)
        accumulate(&d, a.c2, b.c1)
        accumulate(&d, a.c3, b.c0)
        accumulate(&w, a.c4, b.c4)
        let d3 = fold(d, w)
        d = zero
        accumulate(&d, a.c0, b.c4)
        accumulate(&d, a.c1, b.c3)
        accumulate(&d, a.c2, b.c2)
        accumulate(&d, a.c3, b.c1)
        accumulate(&d, a.c4, b.c0)
        let d4 = fold(d, zero)
        return GFp5(c0: d0, c1: d1, c2: d2, c3: d3, c4: d4)
    }
}

extension GFp5 {
    /// x·(c₀ + c₁z) for a constant with two coefficients (the curve constants), with
    /// `threeC1` = 3·c₁: 10 base multiplications instead of 25.
    @inlinable @inline(__always)
    func timesLinear(_ c0: UInt64, _ c1: UInt64, threeC1: UInt64) -> GFp5 {
        let none: (high: UInt128, low: UInt128) = (0, 0)
        var d = none
        GFp5.accumulate(&d, c0, self.c0)
        GFp5.accumulate(&d, threeC1, c4)
        let d0 = GFp5.fold(d, none)
        d = none
        GFp5.accumulate(&d, c0, self.c1)
        GFp5.accumulate(&d, c1, self.c0)
        let d1 = GFp5.fold(d, none)
        d = none
        GFp5.accumulate(&d, c0, c2)
        GFp5.accumulate(&d, c1, self.c1)
        let d2 = GFp5.fold(d, none)
        d = none
        GFp5.accumulate(&d, c0, c3)
        GFp5.accumulate(&d, c1, c2)
        let d3 = GFp5.fold(d, none)
        d = none
        GFp5.accumulate(&d, c0, c4)
        GFp5.accumulate(&d, c1, c3)
        let d4 = GFp5.fold(d, none)
        return GFp5(c0: d0, c1: d1, c2: d2, c3: d3, c4: d4)
    }
}

extension GFp5 {
    /// The square.
    @inlinable public var squared: GFp5 { self * self }

    /// `self^e` for a public exponent (square-and-multiply over the exponent's bits).
    public func power(_ e: UInt64) -> GFp5 {
        var result = GFp5.one
        var base = self
        var e = e
        while e != 0 {
            if e & 1 == 1 { result = result * base }
            base = base.squared
            e >>= 1
        }
        return result
    }

    /// ω^i for i = 0…4, ω = 3^((p−1)/5): z^p = ω·z, so the Frobenius map x ↦ x^p multiplies
    /// coefficient i by ω^i (p ≡ 1 mod 5, so no coefficient moves).
    static let frobenius1: [UInt64] = {
        let omega = ConstantTime.power(3, (ConstantTime.p - 1) / 5)
        return (0..<5).map { ConstantTime.power(omega, UInt64($0)) }
    }()
    /// ω^(2i): the map x ↦ x^(p²).
    static let frobenius2: [UInt64] = frobenius1.map { ConstantTime.mul($0, $0) }

    /// x^(p^k) for k = 1 or 2.
    func frobenius(_ k: Int) -> GFp5 {
        let w = k == 1 ? GFp5.frobenius1 : GFp5.frobenius2
        typealias F = ConstantTime
        return GFp5(c0: c0, c1: F.mul(c1, w[1]), c2: F.mul(c2, w[2]), c3: F.mul(c3, w[3]), c4: F.mul(c4, w[4]))
    }

    /// (x^(r−1), x^r) with r = 1 + p + p² + p³ + p⁴; x^r, the norm, lies in GF(p).
    func normParts() -> (GFp5, UInt64) {
        let t = frobenius(1) * frobenius(2)  // x^(p + p²)
        let rMinusOne = t * t.frobenius(2)  // x^(p + p² + p³ + p⁴)
        // Only the constant coefficient of x · x^(r−1) is needed.
        let x = self
        let y = rMinusOne
        var d: (high: UInt128, low: UInt128) = (0, 0)
        var w: (high: UInt128, low: UInt128) = (0, 0)
        GFp5.accumulate(&d, x.c0, y.c0)
        GFp5.accumulate(&w, x.c1, y.c4)
        GFp5.accumulate(&w, x.c2, y.c3)
        GFp5.accumulate(&w, x.c3, y.c2)
        GFp5.accumulate(&w, x.c4, y.c1)
        return (rMinusOne, GFp5.fold(d, w))
    }

    /// The inverse (zero maps to zero), constant-time: x^(r−1) · (x^r)^(−1).
    public var inverse: GFp5 {
        let (rMinusOne, norm) = normParts()
        return rMinusOne.scaled(ConstantTime.inverse(norm))
    }

    /// The Legendre symbol x^((p^5 − 1)/2) = (x^r)^((p − 1)/2): 1 for a non-zero square, −1 for a
    /// non-square, 0 for zero. Not constant-time.
    public var legendre: Int {
        let (_, norm) = normParts()
        let s = ConstantTime.power(norm, (ConstantTime.p - 1) / 2)
        return s == 0 ? 0 : (s == 1 ? 1 : -1)
    }

    /// A square root, or nil when there is none; variable-time (used to decode public points).
    ///
    /// As in the paper: √x = √(x^r) / x^((r−1)/2), where x^((r−1)/2) = φ₁(h · φ₂(h)) with
    /// h = x^((p+1)/2), and the root of x^r ∈ GF(p) is found by Tonelli–Shanks.
    public func squareRoot() -> GFp5? {
        if isZero { return .zero }
        let h = power((ConstantTime.p + 1) / 2)
        let e = (h * h.frobenius(2)).frobenius(1)  // x^((r−1)/2)
        let norm = (e.squared * self).c0  // x^r
        guard let root = Goldilocks.squareRoot(of: norm) else { return nil }
        let candidate = e.inverse.scaled(root)
        return candidate.squared == self ? candidate : nil
    }
}

extension Goldilocks {
    /// A square root of `value` in GF(p) by Tonelli–Shanks, or nil for a non-square;
    /// variable-time. p − 1 = 2^32·q with q = 2^32 − 1.
    static func squareRoot(of value: UInt64) -> UInt64? {
        typealias F = ConstantTime
        if value == 0 { return 0 }
        guard F.power(value, (F.p - 1) / 2) == 1 else { return nil }
        let q: UInt64 = 0xFFFF_FFFF
        var m = 32
        var c = Goldilocks.twoAdicRootOfUnity.value  // 7^q, of order 2^32
        var t = F.power(value, q)
        var r = F.power(value, (q + 1) / 2)
        while t != 1 {
            var i = 0
            var t2 = t
            while t2 != 1 {
                t2 = F.mul(t2, t2)
                i += 1
            }
            var b = c
            for _ in 0..<(m - i - 1) { b = F.mul(b, b) }
            m = i
            c = F.mul(b, b)
            t = F.mul(t, c)
            r = F.mul(r, b)
        }
        return r
    }
}
