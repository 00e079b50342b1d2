/// An element of the Goldilocks field, p = 2^64 − 2^32 + 1: the one word type of the ThreadVM.
///
/// The stored value is always canonical (`0 ..< p`). Arithmetic wraps modulo p; ``value`` is the
/// canonical representative, which is what ``Opcode/lt`` compares and what the ABI prints.
public struct Felt: Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The field modulus p = 2^64 − 2^32 + 1 = 0xFFFF_FFFF_0000_0001.
    public static let modulus: UInt64 = 0xFFFF_FFFF_0000_0001
    /// 2^64 mod p = 2^32 − 1, used by the reductions below.
    @usableFromInline static let epsilon: UInt64 = 0xFFFF_FFFF

    public static let zero = Felt(canonical: 0)
    public static let one = Felt(canonical: 1)

    /// The canonical representative, in `0 ..< p`.
    public let value: UInt64

    /// The element `v mod p`.
    @inlinable public init(_ v: UInt64) {
        value = v >= Felt.modulus ? v &- Felt.modulus : v
    }

    /// The element `v mod p` for a signed integer: `Felt(-1)` is p − 1.
    public init(signed v: Int64) {
        if v >= 0 {
            self.init(UInt64(v))
        } else {
            self = -Felt(v.magnitude)
        }
    }

    /// The element whose canonical representative is `v`, or nil when `v >= p`.
    public init?(exactly v: UInt64) {
        guard v < Felt.modulus else { return nil }
        value = v
    }

    @usableFromInline init(canonical v: UInt64) { value = v }

    public init(integerLiteral v: UInt64) { self.init(v) }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(UInt64.self)
        guard let felt = Felt(exactly: raw) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(raw) is not below p"))
        }
        self = felt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { String(value) }

    public var isZero: Bool { value == 0 }

    public static func < (a: Felt, b: Felt) -> Bool { a.value < b.value }

    @inlinable public static func + (a: Felt, b: Felt) -> Felt {
        var (s, carry) = a.value.addingReportingOverflow(b.value)
        // A carry dropped 2^64, which is ε mod p; both inputs are < p so this cannot overflow again.
        if carry { s &+= Felt.epsilon }
        return Felt(canonical: s >= Felt.modulus ? s &- Felt.modulus : s)
    }

    @inlinable public static func - (a: Felt, b: Felt) -> Felt {
        var (d, borrow) = a.value.subtractingReportingOverflow(b.value)
        // A borrow added 2^64; replace it by p, i.e. subtract ε.
        if borrow { d &-= Felt.epsilon }
        return Felt(canonical: d)
    }

    @inlinable public static prefix func - (a: Felt) -> Felt { Felt.zero - a }

    @inlinable public static func * (a: Felt, b: Felt) -> Felt {
        let (hi, lo) = a.value.multipliedFullWidth(by: b.value)
        return Felt(canonical: reduce128(hi: hi, lo: lo))
    }

    public static func += (a: inout Felt, b: Felt) { a = a + b }
    public static func -= (a: inout Felt, b: Felt) { a = a - b }
    public static func *= (a: inout Felt, b: Felt) { a = a * b }

    /// Reduces `hi·2^64 + lo` modulo p using 2^64 ≡ 2^32 − 1 and 2^96 ≡ −1.
    @inlinable static func reduce128(hi: UInt64, lo: UInt64) -> UInt64 {
        let hiHi = hi >> 32
        let hiLo = hi & Felt.epsilon
        var (t0, borrow) = lo.subtractingReportingOverflow(hiHi)
        if borrow { t0 &-= Felt.epsilon }
        let t1 = hiLo &* Felt.epsilon
        var (r, carry) = t0.addingReportingOverflow(t1)
        if carry { r &+= Felt.epsilon }
        return r >= Felt.modulus ? r &- Felt.modulus : r
    }

    /// `self` raised to `exponent` by square-and-multiply.
    public func power(_ exponent: UInt64) -> Felt {
        var result = Felt.one
        var base = self
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = result * base }
            base = base * base
            e >>= 1
        }
        return result
    }

    /// The multiplicative inverse, or nil for zero (Fermat: a^(p−2)).
    public var inverse: Felt? {
        isZero ? nil : power(Felt.modulus - 2)
    }

    /// The word as 8 big-endian bytes of its canonical representative.
    var bigEndianBytes: [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
