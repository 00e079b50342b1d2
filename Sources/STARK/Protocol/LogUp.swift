/// A public table on a LogUp bus: tuples the verifier knows, each with a multiplicity.
///
/// A LogUp bus balances fractions 1/(α − fp(tuple)): the trace side adds one for each row that
/// sends a tuple, in a running-sum auxiliary column, and the public side is Σ mᵢ/(α − fp(tᵢ)) over
/// this table, which the verifier computes itself from public data and pins as the running sum's
/// final value (an auxiliary assertion). With overwhelming probability over α and the fingerprint
/// coefficients, the sum matches only if the rows send exactly the table's tuples, each as many
/// times as its multiplicity. For instance a program (ROM) bus: every CPU row sends
/// (pc, opcode, operands), the table is the program looked up by its hash with the public
/// per-instruction execution counts, and no ROM columns or per-cell assertions are needed.
///
/// The fingerprint of a tuple t is t₀ + c₁·t₁ + … + c_(w−1)·t_(w−1) with extension-field
/// coefficients drawn after the main commitment. Bind the table into the statement by including
/// ``elements`` in the AIR's public input elements.
public struct PublicTable: Sendable, Hashable {
    /// The tuples, all of width ``width``.
    public let tuples: [[Goldilocks]]
    /// How many times each tuple is sent.
    public let multiplicities: [Goldilocks]
    /// Elements per tuple.
    public let width: Int

    /// A table of `tuples` (each of `width` elements) with one multiplicity per tuple; throws
    /// ``STARKError/invalidPublicInputs(_:)`` on mismatched shapes.
    public init(width: Int, tuples: [[Goldilocks]], multiplicities: [Goldilocks]) throws(STARKError) {
        guard width >= 1 else { throw .invalidPublicInputs("a public table needs tuples of at least one element") }
        guard tuples.count == multiplicities.count else {
            throw .invalidPublicInputs("\(tuples.count) tuples but \(multiplicities.count) multiplicities")
        }
        for (i, t) in tuples.enumerated() where t.count != width {
            throw .invalidPublicInputs("tuple \(i) has \(t.count) elements, the table's width is \(width)")
        }
        self.width = width
        self.tuples = tuples
        self.multiplicities = multiplicities
    }

    /// The table as field elements for the transcript: width, count, then each tuple followed by
    /// its multiplicity.
    public var elements: [Goldilocks] {
        var out = [Goldilocks(UInt64(width)), Goldilocks(UInt64(tuples.count))]
        out.reserveCapacity(2 + tuples.count * (width + 1))
        for (t, m) in zip(tuples, multiplicities) {
            out.append(contentsOf: t)
            out.append(m)
        }
        return out
    }

    /// The public side of the bus: Σᵢ mᵢ/(α − fp(tᵢ)), with one batch inversion.
    ///
    /// `coefficients` are c₁ … c_(w−1) (`width − 1` of them). Throws if α equals a fingerprint
    /// (probability about |table|/2^128).
    public func sum(alpha: Ext2, coefficients: [Ext2]) throws(STARKError) -> Ext2 {
        precondition(coefficients.count == width - 1, "a table of width \(width) needs \(width - 1) coefficients")
        let denominators = tuples.map { alpha - LogUp.fingerprint($0.map { Ext2($0) }, coefficients: coefficients) }
        guard !denominators.contains(.zero) else {
            throw .rejected("a LogUp challenge hit a public tuple's fingerprint")
        }
        var total = Ext2.zero
        for (inverse, m) in zip(batchInverse(denominators), multiplicities) { total += inverse * m }
        return total
    }
}

/// Helpers for LogUp buses.
public enum LogUp {
    /// fp(t) = t₀ + c₁·t₁ + … + c_(w−1)·t_(w−1).
    @inlinable
    public static func fingerprint<E: STARKField>(_ tuple: [E], coefficients: [E]) -> E {
        precondition(
            coefficients.count == tuple.count - 1,
            "fingerprint of \(tuple.count) elements needs \(tuple.count - 1) coefficients")
        var acc = tuple[0]
        for i in 1..<tuple.count { acc += coefficients[i - 1] * tuple[i] }
        return acc
    }
}
