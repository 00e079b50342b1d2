/// The quadratic extension GF(p²) = GF(p)[u] / (u² − 7), about 128 bits.
///
/// 7 generates the multiplicative group of GF(p), so it is a quadratic non-residue and u² − 7 is
/// irreducible. Every verifier challenge (auxiliary-segment randomness, composition coefficients,
/// the out-of-domain point, DEEP coefficients, FRI folding challenges) lives here.
@frozen
public struct Ext2: STARKField {
    /// The coefficient of 1.
    public var c0: Goldilocks
    /// The coefficient of u.
    public var c1: Goldilocks

    /// The non-residue u² = 7.
    public static let nonResidue = Goldilocks(7)

    @inlinable @inline(__always)
    public init(_ c0: Goldilocks, _ c1: Goldilocks) {
        self.c0 = c0
        self.c1 = c1
    }

    @inlinable @inline(__always)
    public init(_ base: Goldilocks) {
        self.c0 = base
        self.c1 = .zero
    }

    public static let zero = Ext2(.zero, .zero)
    public static let one = Ext2(.one, .zero)
    /// The generator u of the extension.
    public static let u = Ext2(.zero, .one)

    public var description: String { "(\(c0) + \(c1)·u)" }

    @inlinable @inline(__always)
    public static func + (lhs: Ext2, rhs: Ext2) -> Ext2 { Ext2(lhs.c0 + rhs.c0, lhs.c1 + rhs.c1) }

    @inlinable @inline(__always)
    public static func - (lhs: Ext2, rhs: Ext2) -> Ext2 { Ext2(lhs.c0 - rhs.c0, lhs.c1 - rhs.c1) }

    @inlinable @inline(__always)
    public static prefix func - (value: Ext2) -> Ext2 { Ext2(-value.c0, -value.c1) }

    @inlinable @inline(__always)
    public static func * (lhs: Ext2, rhs: Ext2) -> Ext2 {
        // Karatsuba: three base multiplications plus one by the non-residue.
        let a0b0 = lhs.c0 * rhs.c0
        let a1b1 = lhs.c1 * rhs.c1
        let cross = (lhs.c0 + lhs.c1) * (rhs.c0 + rhs.c1)
        return Ext2(a0b0 + nonResidue * a1b1, cross - a0b0 - a1b1)
    }

    @inlinable @inline(__always)
    public static func * (lhs: Ext2, rhs: Goldilocks) -> Ext2 { Ext2(lhs.c0 * rhs, lhs.c1 * rhs) }

    /// The inverse: conj(a) / N(a) with N(a) = a0² − 7·a1²; zero maps to zero.
    @inlinable public var inverse: Ext2 {
        let norm = c0 * c0 - Ext2.nonResidue * (c1 * c1)
        let inv = norm.inverse
        return Ext2(c0 * inv, -(c1 * inv))
    }
}
