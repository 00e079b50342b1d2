import Testing

@testable import STARK

/// A Fibonacci variant with two periodic columns: an alternating selector s = [1, 0] and round
/// constants c of period 8. Columns (a, b); a' = b and b' = a + b + c + s·b, so every other row
/// doubles b's contribution. Assertions: a₀ = b₀ = 1 and the public result in b at the last row.
struct PeriodicFibonacciAIR: AIR {
    struct PublicInputs: Sendable { var result: Goldilocks }
    static let identity = "test/periodic-fibonacci/v1"
    static let selector: [Goldilocks] = [1, 0].map { Goldilocks($0) }
    static let constants: [Goldilocks] = [3, 1, 4, 1, 5, 9, 2, 6].map { Goldilocks($0) }

    let traceLength: Int
    let publicInputs: PublicInputs
    init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError) {
        self.traceLength = traceLength
        self.publicInputs = publicInputs
    }
    var publicInputElements: [Goldilocks] { [publicInputs.result] }
    var mainWidth: Int { 2 }
    var periodicColumns: [[Goldilocks]] { [Self.selector, Self.constants] }
    var transitionConstraints: [ConstraintInfo] {
        [ConstraintInfo("a' = b", degree: 1), ConstraintInfo("b' = a + b + c + s·b", degree: 2)]
    }
    func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        let (a, b) = (frame.current[0], frame.current[1])
        let s = frame.periodic[0], c = frame.periodic[1]
        result[0] = frame.next[0] - b
        result[1] = frame.next[1] - (a + b + c + s * b)
    }
    func mainAssertions() -> [Assertion<Goldilocks>] {
        [
            Assertion(column: 0, row: 0, value: .one), Assertion(column: 1, row: 0, value: .one),
            Assertion(column: 1, row: traceLength - 1, value: publicInputs.result),
        ]
    }

    /// The trace with the given selector (the AIR's own by default) and its result.
    static func trace(length: Int, selector: [Goldilocks] = selector) -> (TraceTable, PublicInputs) {
        var a = [Goldilocks.one], b = [Goldilocks.one]
        for i in 0..<(length - 1) {
            let s = selector[i % selector.count], c = constants[i % constants.count]
            a.append(b[i])
            b.append(a[i] + b[i] + c + s * b[i])
        }
        return (TraceTable(columns: [a, b]), PublicInputs(result: b[length - 1]))
    }
}

@Suite struct PeriodicColumnTests {
    let options = ProofOptions.testing

    @Test(arguments: [8, 64, 256])
    func aProofWithPeriodicColumnsVerifies(rows: Int) throws {
        let (trace, inputs) = PeriodicFibonacciAIR.trace(length: rows)
        let bytes = try Prover.prove(
            air: PeriodicFibonacciAIR.self, trace: trace, publicInputs: inputs, options: options)
        try Verifier.verifyInsecure(
            air: PeriodicFibonacciAIR.self, proof: bytes, publicInputs: inputs, options: options)
        // And under the default options, through the public verifier.
        if rows == 64 {
            let strong = try Prover.prove(air: PeriodicFibonacciAIR.self, trace: trace, publicInputs: inputs)
            try Verifier.verify(air: PeriodicFibonacciAIR.self, proof: strong, publicInputs: inputs)
        }
    }

    @Test func aTraceViolatingThePeriodicConstraintIsRejected() throws {
        // The selector shifted by one row: [0, 1] instead of [1, 0].
        let (trace, inputs) = PeriodicFibonacciAIR.trace(length: 64, selector: [.zero, .one])
        #expect(throws: STARKError.unsatisfiedConstraint(name: "b' = a + b + c + s·b", row: 0)) {
            _ = try Prover.prove(air: PeriodicFibonacciAIR.self, trace: trace, publicInputs: inputs, options: options)
        }
        // A cheating prover that skips its checks: the verifier alone rejects it.
        let air = try PeriodicFibonacciAIR(traceLength: 64, publicInputs: inputs)
        let forged = try Prover.prove(air: air, trace: trace, options: options, threads: 1, checkConstraints: false)
        #expect(throws: STARKError.self) { try Verifier.verifyInsecure(air: air, proof: forged, options: options) }
        // One wrong round constant in an otherwise valid trace is found at its row.
        var (bad, good) = PeriodicFibonacciAIR.trace(length: 64)
        bad.columns[1][13] = bad.columns[1][13] + .one
        bad.columns[0][14] = bad.columns[1][13]
        let air2 = try PeriodicFibonacciAIR(traceLength: 64, publicInputs: good)
        let forged2 = try Prover.prove(air: air2, trace: bad, options: options, threads: 1, checkConstraints: false)
        #expect(throws: STARKError.self) { try Verifier.verifyInsecure(air: air2, proof: forged2, options: options) }
    }

    @Test func periodicPolynomialsAgreeWithTheRowsAndTheCoset() {
        let n = 64
        let columns = [PeriodicFibonacciAIR.selector, PeriodicFibonacciAIR.constants, [Goldilocks(42)]]
        let periodic = PeriodicColumns(columns, traceLength: n)
        let g = Goldilocks.rootOfUnity(logOrder: 6)
        for row in [0, 1, 2, 7, 8, 13, 63] {
            let x = Ext2(g.power(UInt64(row)))
            #expect(periodic.evaluate(at: x) == periodic.atRow(row).map { Ext2($0) }, "row \(row)")
        }
        let blowup = 4
        let domain = Domain(traceLength: n, blowup: blowup)
        let coset = periodic.onCoset(offset: domain.offset, blowup: blowup)
        for i in [0, 1, 5, 17, 100, 255] {
            let expected = periodic.evaluate(at: Ext2(domain.ldePoint(i)))
            #expect(coset.map { Ext2($0[i % $0.count]) } == expected, "LDE point \(i)")
        }
    }

    @Test func periodicColumnsMustBePowersOfTwoUpToTheTraceLength() throws {
        struct Odd: AIR {
            static let identity = "test/odd-period"
            let traceLength: Int
            init(traceLength: Int, publicInputs: Int) throws(STARKError) { self.traceLength = traceLength }
            var publicInputElements: [Goldilocks] { [] }
            var mainWidth: Int { 1 }
            var periodicColumns: [[Goldilocks]] { [[.one, .zero, .one]] }
            var transitionConstraints: [ConstraintInfo] { [ConstraintInfo("x' = x", degree: 1)] }
            func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
                result[0] = frame.next[0] - frame.current[0]
            }
            func mainAssertions() -> [Assertion<Goldilocks>] { [] }
        }
        let trace = TraceTable(columns: [[Goldilocks](repeating: .one, count: 16)])
        #expect(throws: STARKError.self) {
            _ = try Prover.prove(air: Odd.self, trace: trace, publicInputs: 0, options: options)
        }
    }
}
