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

@Suite struct ProvenSecurityTests {
    /// The worked example of docs/stark.md: blowup 4, 30 queries, 10 grinding bits, n = 2^10.
    static let example = ProofOptions(
        blowupFactor: 4, numQueries: 30, grindingBits: 10, foldingFactor: 4, remainderMaxDegree: 7)

    @Test func termsAtProximityThreeMatchTheHandComputation() {
        // ρ = 1/4, N = 2^12, m = 3: L = 3/(1/4 − 6/4096) = 12.0707, log2 L = 3.5935.
        let t = Self.example.provenSecurityTerms(traceLength: 1 << 10, proximity: 3)
        // ALI: 128 − log2 L.
        #expect(abs(t.ali - 124.41) < 0.01)
        // DEEP: 128 − log2(L²·(5·1025 + 1023)) = 128 − (7.187 + 12.586).
        #expect(abs(t.deep - 108.23) < 0.01)
        // FRI commit: 128 − log2(0.5·3.5^7·8·2^24) = 128 − (−1 + 12.652 + 3 + 24).
        #expect(abs(t.friCommit - 89.35) < 0.01)
        // FRI query: 10 − 30·log2(7/12) = 10 + 30·0.77761.
        #expect(abs(t.friQuery - 33.33) < 0.01)
        #expect(t.bits == t.friQuery)
    }

    @Test func theBestProximityParameterGivesThirtyNineBits() {
        // The query term rises towards 10 + 30·log2(1/√ρ) = 40 as m grows, the commit term falls;
        // they cross near m ≈ 450 just below 40 (m = 400: query 39.95, commit 41.48).
        let t400 = Self.example.provenSecurityTerms(traceLength: 1 << 10, proximity: 400)
        #expect(abs(t400.friQuery - 39.95) < 0.01)
        #expect(abs(t400.friCommit - 41.48) < 0.01)
        #expect(ProofOptions.maximumProximity(traceLength: 1 << 10) == 513)
        #expect(Self.example.provenSecurityBits(traceLength: 1 << 10) == 39)
    }

    @Test func presetsAreLabelledWithBothFigures() {
        #expect(ProofOptions.default.securityLabel(traceLength: 1 << 16) == "96-bit conjectured / 55-bit proven")
        #expect(ProofOptions.high.securityLabel(traceLength: 1 << 16) == "107-bit conjectured / 69-bit proven")
        #expect(ProofOptions.default.provenSecurityBits(traceLength: 1 << 28) == 49)
        // Winterfell's published case (blowup 4, 119 queries, 20 grinding bits, 2^20 rows): 69 bits.
        let winterfell = ProofOptions(
            blowupFactor: 4, numQueries: 119, grindingBits: 20, foldingFactor: 2, remainderMaxDegree: 127)
        #expect(winterfell.provenSecurityBits(traceLength: 1 << 20) == 69)
        // Proven never exceeds conjectured for the presets.
        for o in [ProofOptions.default, .high, .testing] {
            for log in [10, 16, 20, 24, 28] {
                #expect(o.provenSecurityBits(traceLength: 1 << log) < o.conjecturedSecurityBits(traceLength: 1 << log))
            }
        }
    }
}
