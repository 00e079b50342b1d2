import Testing

@testable import STARK

/// A toy program bus: each real row executes (pc, opcode) and sends it on a LogUp bus whose other
/// side is the public program with per-instruction execution counts, as a VM's ROM bus would.
///
/// Main columns: pc, opcode, isReal. Aux column S: S₀ = 0, S' = S + isReal/(α − fp(pc, opcode)),
/// and S at the last row equals the table's public sum Σ m/(α − fp(rom)), computed by the verifier.
struct ProgramBusAIR: AIR {
    struct PublicInputs: Sendable { var program: PublicTable }
    static let identity = "test/program-bus/v1"

    let traceLength: Int
    let publicInputs: PublicInputs
    init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError) {
        guard publicInputs.program.width == 2 else { throw .invalidPublicInputs("the program table has width 2") }
        self.traceLength = traceLength
        self.publicInputs = publicInputs
    }
    var publicInputElements: [Goldilocks] { publicInputs.program.elements }
    var mainWidth: Int { 3 }
    var auxWidth: Int { 1 }
    /// α and the fingerprint coefficient of the opcode.
    var auxChallengeCount: Int { 2 }
    var transitionConstraints: [ConstraintInfo] { [ConstraintInfo("isReal is binary", degree: 2)] }
    var auxTransitionConstraints: [ConstraintInfo] { [ConstraintInfo("program bus", degree: 2)] }

    func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        let r = frame.current[2]
        result[0] = r * (E.one - r)
    }
    func evaluateAuxTransition(_ frame: EvaluationFrame<Ext2>, challenges: [Ext2], into result: inout [Ext2]) {
        precondition(challenges.count == 2 && frame.auxCurrent.count == 1)
        let fp = LogUp.fingerprint(Array(frame.current[0..<2]), coefficients: [challenges[1]])
        result[0] = (frame.auxNext[0] - frame.auxCurrent[0]) * (challenges[0] - fp) - frame.current[2]
    }
    func mainAssertions() -> [Assertion<Goldilocks>] {
        [Assertion(column: 2, row: traceLength - 1, value: .zero)]
    }
    func auxAssertions(challenges: [Ext2]) -> [Assertion<Ext2>] {
        precondition(challenges.count == 2)
        // α hitting a public fingerprint has probability ~2^−120; such a proof cannot end at a
        // well-defined sum, so pin an impossible value instead.
        let total = (try? publicInputs.program.sum(alpha: challenges[0], coefficients: [challenges[1]])) ?? -.one
        return [
            Assertion(column: 0, row: 0, value: .zero), Assertion(column: 0, row: traceLength - 1, value: total),
        ]
    }
    func buildAuxTrace(main: TraceTable, challenges: [Ext2], threads: Int) throws(STARKError) -> [[Ext2]] {
        guard challenges.count == 2 else { throw .invalidTrace("the program bus needs 2 challenges") }
        let n = main.length
        let denominators = (0..<n).map { i in
            challenges[0]
                - LogUp.fingerprint(
                    [Ext2(main.columns[0][i]), Ext2(main.columns[1][i])], coefficients: [challenges[1]])
        }
        let inverses = batchInverse(denominators)
        var s = [Ext2](repeating: .zero, count: n)
        for i in 0..<(n - 1) { s[i + 1] = s[i] + inverses[i] * main.columns[2][i] }
        return [s]
    }

    /// Runs a program of (pc → opcode) for `steps` steps, jumping pc → (pc·3 + 1) mod size; returns
    /// the trace (padded to `length` rows) and the public program with its execution counts.
    static func run(program: [Goldilocks], steps: Int, length: Int) throws -> (TraceTable, PublicInputs) {
        var pcs = [Goldilocks](), ops = [Goldilocks](), real = [Goldilocks]()
        var counts = [UInt64](repeating: 0, count: program.count)
        var pc = 0
        for _ in 0..<steps {
            pcs.append(Goldilocks(UInt64(pc)))
            ops.append(program[pc])
            real.append(.one)
            counts[pc] += 1
            pc = (pc * 3 + 1) % program.count
        }
        while pcs.count < length {
            pcs.append(.zero)
            ops.append(.zero)
            real.append(.zero)
        }
        let table = try PublicTable(
            width: 2, tuples: program.enumerated().map { [Goldilocks(UInt64($0)), $1] },
            multiplicities: counts.map { Goldilocks($0) })
        return (TraceTable(columns: [pcs, ops, real]), PublicInputs(program: table))
    }
}

@Suite struct LogUpTests {
    let options = ProofOptions.testing
    static let program: [Goldilocks] = [10, 20, 30, 40, 50].map { Goldilocks($0) }

    @Test func aBusBalancedByItsPublicTableVerifies() throws {
        let (trace, inputs) = try ProgramBusAIR.run(program: Self.program, steps: 45, length: 64)
        let bytes = try Prover.prove(air: ProgramBusAIR.self, trace: trace, publicInputs: inputs, options: options)
        try Verifier.verifyInsecure(air: ProgramBusAIR.self, proof: bytes, publicInputs: inputs, options: options)
    }

    @Test func aBusWhosePublicSideMismatchesIsRejected() throws {
        let (trace, inputs) = try ProgramBusAIR.run(program: Self.program, steps: 45, length: 64)
        let honest = inputs.program
        // 1. One executed instruction's opcode differs from what the trace executed. (pc 2 is
        // never reached — pc runs 0, 1, 4, 3, 0, … — so its entry, with count 0, may be anything.)
        #expect(honest.multiplicities[2] == .zero && honest.multiplicities[1] != .zero)
        var tuples = honest.tuples
        tuples[1][1] = Goldilocks(21)
        let otherProgram = try PublicTable(width: 2, tuples: tuples, multiplicities: honest.multiplicities)
        // 2. One execution count is off by one.
        var counts = honest.multiplicities
        counts[0] = counts[0] + .one
        let otherCounts = try PublicTable(width: 2, tuples: honest.tuples, multiplicities: counts)
        // 3. Counts moved from one instruction to another (same total).
        var moved = honest.multiplicities
        moved[0] = moved[0] - .one
        moved[1] = moved[1] + .one
        let movedCounts = try PublicTable(width: 2, tuples: honest.tuples, multiplicities: moved)
        for table in [otherProgram, otherCounts, movedCounts] {
            let claimed = ProgramBusAIR.PublicInputs(program: table)
            // The honest prover refuses: the running sum does not end at the public sum.
            #expect(throws: STARKError.unsatisfiedConstraint(name: "auxiliary assertion on column 0", row: 63)) {
                _ = try Prover.prove(air: ProgramBusAIR.self, trace: trace, publicInputs: claimed, options: options)
            }
            // A prover that skips its checks is rejected by the verifier.
            let air = try ProgramBusAIR(traceLength: 64, publicInputs: claimed)
            let forged = try Prover.prove(air: air, trace: trace, options: options, threads: 1, checkConstraints: false)
            #expect(throws: STARKError.self) { try Verifier.verifyInsecure(air: air, proof: forged, options: options) }
        }
        // An honest proof does not verify against another table either.
        let bytes = try Prover.prove(air: ProgramBusAIR.self, trace: trace, publicInputs: inputs, options: options)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: ProgramBusAIR.self, proof: bytes, publicInputs: .init(program: otherCounts), options: options)
        }
    }

    @Test func thePublicSumIsTheSumOfFractions() throws {
        let table = try PublicTable(
            width: 3, tuples: [[1, 2, 3].map { Goldilocks($0) }, [4, 5, 6].map { Goldilocks($0) }],
            multiplicities: [Goldilocks(2), Goldilocks(0)])
        let alpha = Ext2(Goldilocks(1000), Goldilocks(7))
        let c = [Ext2(Goldilocks(3), Goldilocks(1)), Ext2(Goldilocks(9), .zero)]
        let fp = Ext2(Goldilocks(1)) + c[0] * Ext2(Goldilocks(2)) + c[1] * Ext2(Goldilocks(3))
        #expect(try table.sum(alpha: alpha, coefficients: c) == (alpha - fp).inverse * Goldilocks(2))
        // A challenge equal to a fingerprint is refused, not divided by zero.
        #expect(throws: STARKError.self) { _ = try table.sum(alpha: fp, coefficients: c) }
        #expect(throws: STARKError.self) {
            _ = try PublicTable(width: 2, tuples: [[.one]], multiplicities: [.one])
        }
        #expect(throws: STARKError.self) {
            _ = try PublicTable(width: 1, tuples: [[.one]], multiplicities: [])
        }
    }
}
