import Testing

@testable import STARK

@Suite struct SecurityFloorTests {
    /// Blowup 2, one query, no grinding: a proof anyone can forge, but internally valid.
    static let weak = ProofOptions(
        blowupFactor: 2, numQueries: 1, grindingBits: 0, foldingFactor: 2, remainderMaxDegree: 0)

    @Test func aProofWithWeakOptionsIsRefusedThoughInternallyValid() throws {
        let (trace, inputs) = FibonacciAIR.trace(length: 64)
        let bytes = try Prover.prove(air: FibonacciAIR.self, trace: trace, publicInputs: inputs, options: Self.weak)
        // Internally valid: the verifier without a floor accepts it under its own options.
        try Verifier.verifyInsecure(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs, options: Self.weak)
        // A verifier that requires the default options rejects it ...
        #expect(throws: STARKError.self) {
            try Verifier.verify(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs)
        }
        // ... and one that is asked to require the weak options refuses them.
        do {
            try Verifier.verify(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs, options: Self.weak)
            Issue.record("weak options accepted")
        } catch {
            #expect(error.code == "invalid_options")
        }
        let air = try FibonacciAIR(traceLength: 64, publicInputs: inputs)
        let parsed = try Proof(bytes: bytes)
        #expect(throws: STARKError.self) { try Verifier.verify(air: air, proof: parsed, options: Self.weak) }
        #expect(throws: STARKError.self) { try Verifier.verify(air: air, proof: parsed, options: .default) }
    }

    @Test func theParsedProofEntryPointUsesTheCallersOptions() throws {
        let (trace, inputs) = FibonacciAIR.trace(length: 64)
        let air = try FibonacciAIR(traceLength: 64, publicInputs: inputs)
        let proof = try Prover.prove(air: air, trace: trace, options: .default)
        try Verifier.verify(air: air, proof: proof, options: .default)
        #expect(throws: STARKError.self) { try Verifier.verify(air: air, proof: proof, options: .high) }
    }

    @Test func theFloorRefusesEachWeakness() throws {
        let floor = SecurityFloor.standard
        try floor.check(.default, traceLength: 1 << 28)
        // `.high` is field-bound: blowup 16 leaves 128 − log2(n·16) − 1 bits, 95 at 2^28 rows.
        try floor.check(.high, traceLength: 1 << 27)
        #expect(throws: STARKError.self) { try floor.check(.high, traceLength: 1 << 28) }
        #expect(throws: STARKError.self) { try floor.check(.testing, traceLength: 64) }
        // 96 bits conjectured but blowup 2: refused for the blowup alone.
        let rate2 = ProofOptions(
            blowupFactor: 2, numQueries: 96, grindingBits: 16, foldingFactor: 8, remainderMaxDegree: 31)
        #expect(rate2.conjecturedSecurityBits(traceLength: 1 << 16) >= 96)
        #expect(throws: STARKError.invalidOptions("blowup 2 is below the floor of 4")) {
            try floor.check(rate2, traceLength: 1 << 16)
        }
        // 96 bits conjectured from few queries at a huge blowup: refused for the query count.
        let fewQueries = ProofOptions(
            blowupFactor: 256, numQueries: 11, grindingBits: 16, foldingFactor: 8, remainderMaxDegree: 31)
        #expect(fewQueries.conjecturedSecurityBits(traceLength: 1 << 10) >= 96)
        #expect(throws: STARKError.invalidOptions("11 queries are below the floor of 16")) {
            try floor.check(fewQueries, traceLength: 1 << 10)
        }
        // One query fewer than the default is below 96 bits.
        var fewer = ProofOptions.default
        fewer.numQueries -= 1
        #expect(throws: STARKError.self) { try floor.check(fewer, traceLength: 1 << 16) }
    }
}
