/// Arithmetic shared by the base field and its extension, so constraints are written once.
///
/// AIR constraint evaluators are generic over this protocol: the prover may evaluate them over
/// ``Goldilocks`` (main-trace-only AIRs) or ``Ext2`` (AIRs with an auxiliary segment), and the
/// verifier evaluates them over ``Ext2`` at the out-of-domain point.
public protocol STARKField: Sendable, Hashable, CustomStringConvertible {
    /// The additive identity.
    static var zero: Self { get }
    /// The multiplicative identity.
    static var one: Self { get }
    /// Lifts a base-field element.
    init(_ base: Goldilocks)
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    /// Multiplication by a base-field scalar.
    static func * (lhs: Self, rhs: Goldilocks) -> Self
    static prefix func - (value: Self) -> Self
    /// The multiplicative inverse (zero maps to zero).
    var inverse: Self { get }
}

extension STARKField {
    @inlinable public static func += (lhs: inout Self, rhs: Self) { lhs = lhs + rhs }
    @inlinable public static func -= (lhs: inout Self, rhs: Self) { lhs = lhs - rhs }
    @inlinable public static func *= (lhs: inout Self, rhs: Self) { lhs = lhs * rhs }

    /// `self` raised to `exponent` by square-and-multiply.
    @inlinable public func power(_ exponent: UInt64) -> Self {
        var result = Self.one
        var base = self
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result * base }
            base = base * base
            e >>= 1
        }
        return result
    }
}

/// An element of the Goldilocks field, p = 2^64 − 2^32 + 1, kept in canonical form `0..<p`.
///
/// Reduction uses the special form of p: 2^64 ≡ 2^32 − 1 and 2^96 ≡ −1 (mod p), so a 128-bit
/// product reduces with a few additions instead of a division.
@frozen
public struct Goldilocks: STARKField, Comparable {
    /// The field modulus 2^64 − 2^32 + 1.
    public static let modulus: UInt64 = 0xFFFF_FFFF_0000_0001
    /// 2^32 − 1, which equals 2^64 mod p.
    @usableFromInline static let epsilon: UInt64 = 0xFFFF_FFFF
    /// The multiplicative generator of the whole group of units.
    public static let generator = Goldilocks(7)
    /// The 2-adicity of p − 1.
    public static let twoAdicity = 32
    /// A primitive 2^32-th root of unity: 7^((p−1)/2^32).
    public static let twoAdicRootOfUnity = Goldilocks(1_753_635_133_440_165_772)

    /// The canonical representative in `0..<p`.
    public let value: UInt64

    /// Reduces any 64-bit integer into the field.
    @inlinable @inline(__always)
    public init(_ value: UInt64) {
        self.value = value >= Goldilocks.modulus ? value &- Goldilocks.modulus : value
    }

    @inlinable @inline(__always)
    init(canonical value: UInt64) { self.value = value }

    /// Lifts a base element (identity), for ``STARKField`` conformance.
    @inlinable public init(_ base: Goldilocks) { self = base }

    /// Reads a canonical value; `nil` when `value >= p` (used when parsing untrusted bytes).
    @inlinable public init?(exactly value: UInt64) {
        guard value < Goldilocks.modulus else { return nil }
        self.value = value
    }

    public static let zero = Goldilocks(canonical: 0)
    public static let one = Goldilocks(canonical: 1)

    public var description: String { String(value) }

    public static func < (lhs: Goldilocks, rhs: Goldilocks) -> Bool { lhs.value < rhs.value }

    /// Reduces the 128-bit integer `hi·2^64 + lo` modulo p.
    @inlinable @inline(__always)
    static func reduce(high hi: UInt64, low lo: UInt64) -> UInt64 {
        let hiHi = hi >> 32
        let hiLo = hi & epsilon
        // lo − hiHi·2^96 ≡ lo − hiHi; on borrow the wrapped value carries an extra 2^64 ≡ ε.
        var (t0, borrow) = lo.subtractingReportingOverflow(hiHi)
        if borrow { t0 &-= epsilon }
        // hiLo·2^64 ≡ hiLo·ε, which fits in 64 bits.
        let t1 = hiLo &* epsilon
        let (t2, carry) = t0.addingReportingOverflow(t1)
        var r = carry ? t2 &+ epsilon : t2
        if r >= modulus { r &-= modulus }
        return r
    }

    @inlinable @inline(__always)
    public static func + (lhs: Goldilocks, rhs: Goldilocks) -> Goldilocks {
        let (s, overflow) = lhs.value.addingReportingOverflow(rhs.value)
        if overflow { return Goldilocks(canonical: s &+ epsilon) }
        return Goldilocks(canonical: s >= modulus ? s &- modulus : s)
    }

    @inlinable @inline(__always)
    public static func - (lhs: Goldilocks, rhs: Goldilocks) -> Goldilocks {
        let (d, borrow) = lhs.value.subtractingReportingOverflow(rhs.value)
        return Goldilocks(canonical: borrow ? d &- epsilon : d)
    }

    @inlinable @inline(__always)
    public static prefix func - (value: Goldilocks) -> Goldilocks {
        value.value == 0 ? value : Goldilocks(canonical: modulus &- value.value)
    }

    @inlinable @inline(__always)
    public static func * (lhs: Goldilocks, rhs: Goldilocks) -> Goldilocks {
        let (hi, lo) = lhs.value.multipliedFullWidth(by: rhs.value)
        return Goldilocks(canonical: reduce(high: hi, low: lo))
    }

    /// The inverse by Fermat's little theorem, x^(p−2); zero maps to zero.
    @inlinable public var inverse: Goldilocks { power(Goldilocks.modulus &- 2) }

    /// The square.
    @inlinable public var squared: Goldilocks { self * self }

    /// A primitive root of unity of order `2^logOrder` (`logOrder <= 32`).
    public static func rootOfUnity(logOrder: Int) -> Goldilocks {
        precondition(logOrder >= 0 && logOrder <= twoAdicity, "root of unity order out of range")
        var r = twoAdicRootOfUnity
        for _ in 0..<(twoAdicity - logOrder) { r = r * r }
        return r
    }
}

/// Inverts every element of `values` with one field inversion (Montgomery's trick); zeros stay zero.
@inlinable
public func batchInverse<F: STARKField>(_ values: [F]) -> [F] {
    let n = values.count
    if n == 0 { return [] }
    var prefix = [F](repeating: .zero, count: n)
    var acc = F.one
    for i in 0..<n {
        prefix[i] = acc
        if values[i] != .zero { acc = acc * values[i] }
    }
    var inv = acc.inverse
    var out = [F](repeating: .zero, count: n)
    for i in stride(from: n - 1, through: 0, by: -1) where values[i] != .zero {
        out[i] = inv * prefix[i]
        inv = inv * values[i]
    }
    return out
}
