/// A column-major execution trace: `columns[c][row]`.
public struct TraceTable: Sendable, Equatable {
    /// The columns, all of the same power-of-two length.
    public var columns: [[Goldilocks]]

    /// A trace from its columns.
    public init(columns: [[Goldilocks]]) { self.columns = columns }

    /// Number of columns.
    public var width: Int { columns.count }
    /// Number of rows.
    public var length: Int { columns.first?.count ?? 0 }
}

/// A transition constraint's name (for error messages) and declared degree.
///
/// The degree is the constraint's total degree as a polynomial in the trace columns (challenges
/// count as constants): `a' − b` has degree 1, `s·(1 − s)` degree 2.
public struct ConstraintInfo: Sendable, Hashable {
    public var name: String
    public var degree: Int

    /// A constraint named `name` of total degree `degree`.
    public init(_ name: String, degree: Int) {
        self.name = name
        self.degree = degree
    }
}

/// A boundary constraint: column `column` equals `value` at `row`.
public struct Assertion<F: STARKField>: Sendable, Hashable {
    public var column: Int
    public var row: Int
    public var value: F

    public init(column: Int, row: Int, value: F) {
        self.column = column
        self.row = row
        self.value = value
    }
}

/// Two consecutive rows of the trace, lifted into the field the constraints are evaluated in.
public struct EvaluationFrame<E: STARKField>: Sendable {
    /// Main-segment values at row i.
    public var current: [E]
    /// Main-segment values at row i+1.
    public var next: [E]
    /// Auxiliary-segment values at row i (empty without an auxiliary segment, and always empty in
    /// the frames given to ``AIR/evaluateTransition(_:into:)``).
    public var auxCurrent: [E]
    /// Auxiliary-segment values at row i+1.
    public var auxNext: [E]
    /// The AIR's periodic columns at row i, in the order of ``AIR/periodicColumns``.
    public var periodic: [E]

    public init(current: [E], next: [E], auxCurrent: [E] = [], auxNext: [E] = [], periodic: [E] = []) {
        self.current = current
        self.next = next
        self.auxCurrent = auxCurrent
        self.auxNext = auxNext
        self.periodic = periodic
    }
}

/// An algebraic intermediate representation: the constraints a valid trace satisfies.
///
/// An AIR instance is built from the public inputs and the trace length. The trace has a main
/// segment of base-field columns, committed first, and optionally an auxiliary segment of
/// extension-field columns that the prover builds from `auxChallengeCount` verifier challenges
/// drawn after the main commitment (for permutation and LogUp arguments).
///
/// Transition constraints hold between every row i and i+1 except the last row (i = n−1);
/// boundary constraints (assertions) pin single cells. Constraints on the main segment alone
/// (``transitionConstraints``) are evaluated generically, so the prover evaluates them in the base
/// field even when the AIR has an auxiliary segment; constraints that read the auxiliary segment or
/// the challenges (``auxTransitionConstraints``) are evaluated in the extension field.
public protocol AIR: Sendable {
    /// What the verifier knows.
    associatedtype PublicInputs: Sendable

    /// A stable name and version, bound into every transcript (e.g. `"fibonacci/v1"`).
    static var identity: String { get }

    /// Builds the constraint system for a trace of `traceLength` rows; throws on malformed inputs.
    init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError)

    /// The trace length this instance was built for.
    var traceLength: Int { get }
    /// The public inputs as field elements, absorbed into the transcript before any challenge.
    var publicInputElements: [Goldilocks] { get }
    /// Number of main-segment (base-field) columns.
    var mainWidth: Int { get }
    /// Number of auxiliary-segment (extension-field) columns.
    var auxWidth: Int { get }
    /// Number of extension-field challenges the auxiliary segment is built from.
    var auxChallengeCount: Int { get }
    /// The constraints on the main segment, in the order `evaluateTransition` writes them.
    var transitionConstraints: [ConstraintInfo] { get }
    /// The constraints that read the auxiliary segment or the challenges, in the order
    /// `evaluateAuxTransition` writes them (default: none).
    var auxTransitionConstraints: [ConstraintInfo] { get }
    /// Periodic columns (default: none): column j repeats `periodicColumns[j]`, whose length is a
    /// power of two dividing the trace length, so row i reads `periodicColumns[j][i % count]` (hash
    /// round constants, selectors). Neither committed nor sent: prover and verifier evaluate them
    /// from this definition (the verifier by interpolating one period at z). In degree
    /// declarations a periodic column counts like a trace column (degree 1).
    var periodicColumns: [[Goldilocks]] { get }

    /// Writes the value of every main-segment transition constraint at `frame` into `result`
    /// (`result.count == transitionConstraints.count`); all are zero on a valid trace. The frame
    /// carries the main segment and the periodic columns.
    func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E])

    /// Writes the value of every auxiliary transition constraint into `result`
    /// (`result.count == auxTransitionConstraints.count`). The frame carries both segments and the
    /// periodic columns; `challenges` are the `auxChallengeCount` challenges.
    func evaluateAuxTransition(_ frame: EvaluationFrame<Ext2>, challenges: [Ext2], into result: inout [Ext2])

    /// Boundary constraints on main columns.
    func mainAssertions() -> [Assertion<Goldilocks>]
    /// Boundary constraints on auxiliary columns, which may depend on the challenges.
    func auxAssertions(challenges: [Ext2]) -> [Assertion<Ext2>]
    /// Prover side: builds the auxiliary columns (`auxWidth` columns of `traceLength` values),
    /// using up to `threads` threads.
    func buildAuxTrace(main: TraceTable, challenges: [Ext2], threads: Int) throws(STARKError) -> [[Ext2]]
}

extension AIR {
    public var auxWidth: Int { 0 }
    public var auxChallengeCount: Int { 0 }
    public var auxTransitionConstraints: [ConstraintInfo] { [] }
    public var periodicColumns: [[Goldilocks]] { [] }
    public func evaluateAuxTransition(
        _ frame: EvaluationFrame<Ext2>, challenges: [Ext2], into result: inout [Ext2]
    ) {}
    public func auxAssertions(challenges: [Ext2]) -> [Assertion<Ext2>] { [] }
    public func buildAuxTrace(main: TraceTable, challenges: [Ext2], threads: Int) throws(STARKError) -> [[Ext2]] {
        []
    }

    /// Every transition constraint: the main ones, then the auxiliary ones (the order of the
    /// composition coefficients).
    public var allTransitionConstraints: [ConstraintInfo] { transitionConstraints + auxTransitionConstraints }

    /// The highest declared transition degree (at least 1).
    public var maxConstraintDegree: Int {
        allTransitionConstraints.map(\.degree).max().map { max($0, 1) } ?? 1
    }

    /// Composition-polynomial columns: max(1, maxDegree − 1) polynomials of degree < n.
    public var compositionColumns: Int { max(1, maxConstraintDegree - 1) }
}
