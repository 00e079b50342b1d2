/// The evaluation domains of one proof: the trace subgroup ⟨g⟩ of size n and the LDE coset
/// h·⟨ω⟩ of size n·blowup, with h = 7 (the field generator, outside every subgroup).
struct Domain: Sendable {
    let traceLength: Int
    let blowup: Int
    let ldeSize: Int
    /// The coset offset h.
    let offset: Goldilocks
    /// Generator of the trace subgroup.
    let traceGenerator: Goldilocks
    /// Generator of the LDE subgroup.
    let ldeGenerator: Goldilocks

    init(traceLength: Int, blowup: Int) {
        self.traceLength = traceLength
        self.blowup = blowup
        ldeSize = traceLength * blowup
        offset = Goldilocks.generator
        traceGenerator = Goldilocks.rootOfUnity(logOrder: traceLength.trailingZeroBitCount)
        ldeGenerator = Goldilocks.rootOfUnity(logOrder: ldeSize.trailingZeroBitCount)
    }

    /// The LDE point at `index`: h·ω^index.
    func ldePoint(_ index: Int) -> Goldilocks { offset * ldeGenerator.power(UInt64(index)) }
}

/// The FRI layer schedule shared by prover and verifier.
struct FRISchedule: Sendable {
    /// Domain sizes of the committed layers (layer 0 is the LDE domain).
    let layerDomainSizes: [Int]
    /// Degree bound (coefficient count) of the remainder polynomial.
    let remainderLength: Int
    /// Domain size of the remainder layer.
    let remainderDomainSize: Int

    init(traceLength: Int, options: ProofOptions) {
        var degreeBound = traceLength
        var domain = traceLength * options.blowupFactor
        var sizes: [Int] = []
        let f = options.foldingFactor
        while degreeBound > options.remainderMaxDegree + 1 && domain / f >= max(1, degreeBound / f) {
            sizes.append(domain)
            domain /= f
            degreeBound = max(1, degreeBound / f)
        }
        layerDomainSizes = sizes
        remainderLength = degreeBound
        remainderDomainSize = domain
    }
}

/// Folding arithmetic shared by the FRI prover and verifier.
struct FRIFolder: Sendable {
    let factor: Int
    /// ω_f^(−k) for k < f.
    let inverseRoots: [Goldilocks]
    let factorInverse: Goldilocks

    init(factor: Int) {
        self.factor = factor
        let omega = Goldilocks.rootOfUnity(logOrder: factor.trailingZeroBitCount)
        inverseRoots = powers(of: omega.inverse, count: factor)
        factorInverse = Goldilocks(UInt64(factor)).inverse
    }

    /// Given P at x·ω_f^t (t < f), returns Σ_j β^j·P_j(x^f) where P(X) = Σ_j X^j·P_j(X^f).
    ///
    /// The inverse DFT of the values gives a_j = x^j·P_j(x^f); the fold is Σ_j a_j·(β/x)^j.
    @inline(__always)
    func fold(_ values: UnsafeBufferPointer<Ext2>, xInverse: Goldilocks, beta: Ext2) -> Ext2 {
        let f = factor
        let r = beta * xInverse
        var acc = Ext2.zero
        for j in stride(from: f - 1, through: 0, by: -1) {
            var a = Ext2.zero
            var k = 0
            for t in 0..<f {
                a += values[t] * inverseRoots[k]
                k = (k + j) & (f - 1)
            }
            acc = acc * r + a
        }
        return acc * factorInverse
    }
}

/// Serializes the statement that seeds the transcript: protocol tag, AIR identity and shape,
/// trace length, proof options and every public input element.
func statementSeed<A: AIR>(air: A, options: ProofOptions) -> [UInt8] {
    var w = ByteWriter()
    w.write("zkthreads-stark/v1")
    w.write(A.identity)
    w.write(UInt64(air.traceLength))
    w.writeCount(air.mainWidth)
    w.writeCount(air.auxWidth)
    w.writeCount(air.auxChallengeCount)
    w.writeCount(air.transitionConstraints.count)
    for c in air.transitionConstraints { w.writeCount(c.degree) }
    w.writeCount(air.auxTransitionConstraints.count)
    for c in air.auxTransitionConstraints { w.writeCount(c.degree) }
    let periodic = air.periodicColumns
    w.writeCount(periodic.count)
    for column in periodic {
        w.write(UInt64(column.count))
        for x in column { w.write(x) }
    }
    options.write(to: &w)
    let inputs = air.publicInputElements
    w.write(UInt64(inputs.count))
    for x in inputs { w.write(x) }
    return w.bytes
}

/// Checks that the AIR, trace length and options fit together.
func validateShape<A: AIR>(air: A, traceLength n: Int, options: ProofOptions) throws(STARKError) {
    try options.validate()
    guard n >= 4, n <= (1 << 28), n & (n - 1) == 0 else {
        throw .invalidTrace("trace length \(n) must be a power of two in 4...2^28")
    }
    guard n * options.blowupFactor <= (1 << Goldilocks.twoAdicity) else {
        throw .invalidOptions("an LDE domain of \(n) × \(options.blowupFactor) exceeds 2^32 points")
    }
    guard air.traceLength == n else { throw .invalidTrace("AIR built for \(air.traceLength) rows, trace has \(n)") }
    guard air.maxConstraintDegree <= options.blowupFactor else {
        throw .invalidOptions(
            "blowup \(options.blowupFactor) is below the AIR's constraint degree \(air.maxConstraintDegree)")
    }
    for (j, column) in air.periodicColumns.enumerated() {
        guard !column.isEmpty, column.count <= n, column.count & (column.count - 1) == 0 else {
            throw .invalidTrace("periodic column \(j) has \(column.count) values, not a power of two up to \(n)")
        }
    }
    guard options.numQueries <= n * options.blowupFactor / 2 else {
        throw .invalidOptions("\(options.numQueries) queries exceed half the LDE domain")
    }
}

/// Composition coefficients drawn after the trace commitments.
struct CompositionCoefficients {
    var transition: [Ext2]
    var mainBoundary: [Ext2]
    var auxBoundary: [Ext2]
}

/// DEEP coefficients drawn after the out-of-domain evaluations.
struct DeepCoefficients {
    /// Per main column: weights of (T(x) − T(z))/(x − z) and (T(x) − T(zg))/(x − zg).
    var mainCurrent: [Ext2]
    var mainNext: [Ext2]
    var auxCurrent: [Ext2]
    var auxNext: [Ext2]
    var composition: [Ext2]

    init(transcript: inout Transcript, mainWidth: Int, auxWidth: Int, compositionColumns: Int) {
        mainCurrent = transcript.drawExt(count: mainWidth)
        mainNext = transcript.drawExt(count: mainWidth)
        auxCurrent = transcript.drawExt(count: auxWidth)
        auxNext = transcript.drawExt(count: auxWidth)
        composition = transcript.drawExt(count: compositionColumns)
    }
}

/// The composition value from out-of-domain (or in-trace) frame values: the random linear
/// combination of every transition constraint divided by its zerofier and every assertion
/// divided by (x − g^row).
func compositionAt<A: AIR>(
    air: A, x: Ext2, frame: EvaluationFrame<Ext2>, challenges: [Ext2], coefficients: CompositionCoefficients,
    mainAssertions: [Assertion<Goldilocks>], auxAssertions: [Assertion<Ext2>], domain: Domain
) -> Ext2? {
    var frame = frame
    frame.periodic = PeriodicColumns(air.periodicColumns, traceLength: domain.traceLength).evaluate(at: x)
    var values = [Ext2](repeating: .zero, count: air.transitionConstraints.count)
    air.evaluateTransition(frame, into: &values)
    var auxValues = [Ext2](repeating: .zero, count: air.auxTransitionConstraints.count)
    if !auxValues.isEmpty { air.evaluateAuxTransition(frame, challenges: challenges, into: &auxValues) }
    var t = Ext2.zero
    for (c, v) in zip(coefficients.transition, values + auxValues) { t += c * v }
    let n = UInt64(domain.traceLength)
    let lastRow = domain.traceGenerator.power(n - 1)
    let zerofier = x.power(n) - .one
    guard zerofier != .zero else { return nil }
    var result = t * (x - Ext2(lastRow)) * zerofier.inverse
    for (a, c) in zip(mainAssertions, coefficients.mainBoundary) {
        let d = x - Ext2(domain.traceGenerator.power(UInt64(a.row)))
        guard d != .zero else { return nil }
        result += c * (frame.current[a.column] - Ext2(a.value)) * d.inverse
    }
    for (a, c) in zip(auxAssertions, coefficients.auxBoundary) {
        let d = x - Ext2(domain.traceGenerator.power(UInt64(a.row)))
        guard d != .zero else { return nil }
        result += c * (frame.auxCurrent[a.column] - a.value) * d.inverse
    }
    return result
}

/// An AIR's periodic columns as polynomials: column j with period k_j is p_j(x) = q_j(x^(n/k_j)),
/// where q_j interpolates one period on the subgroup of order k_j (row i is g^i, and
/// (g^i)^(n/k) = ω_k^i depends only on i mod k).
struct PeriodicColumns: Sendable {
    /// One period of each column.
    let values: [[Goldilocks]]
    /// The coefficients of each q_j.
    let coefficients: [[Goldilocks]]
    let traceLength: Int

    /// `columns` must already be validated (power-of-two lengths dividing `traceLength`).
    init(_ columns: [[Goldilocks]], traceLength: Int) {
        values = columns
        coefficients = columns.map { Polynomial.interpolate($0) }
        self.traceLength = traceLength
    }

    var isEmpty: Bool { values.isEmpty }

    /// Every column at trace row `row`.
    func atRow(_ row: Int) -> [Goldilocks] { values.map { $0[row & ($0.count - 1)] } }

    /// Every column at an arbitrary point: q_j(x^(n/k_j)).
    func evaluate(at x: Ext2) -> [Ext2] {
        coefficients.map { q in Polynomial.evaluate(q, at: x.power(UInt64(traceLength / q.count))) }
    }

    /// Every column on the coset offset·⟨ω_(n·blowup)⟩: column j as k_j·blowup values, point i
    /// reading value i mod (k_j·blowup), since (offset·ω^i)^(n/k) = offset^(n/k)·ω_(k·blowup)^i.
    func onCoset(offset: Goldilocks, blowup: Int) -> [[Goldilocks]] {
        coefficients.map { q in
            let size = q.count * blowup
            if size == 1 { return q }
            return Polynomial.evaluateOnCoset(
                q, offset: offset.power(UInt64(traceLength / q.count)), plan: NTTPlan(size: size))
        }
    }
}
