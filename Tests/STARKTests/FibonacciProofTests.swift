import Testing

@testable import STARK

@Suite struct FibonacciProofTests {
    let options = ProofOptions.testing

    func proof(rows: Int = 32, threads: Int = 2) throws -> (bytes: [UInt8], inputs: FibonacciAIR.PublicInputs) {
        let (trace, inputs) = FibonacciAIR.trace(length: rows)
        let bytes = try Prover.prove(
            air: FibonacciAIR.self, trace: trace, publicInputs: inputs, options: options, threads: threads)
        return (bytes, inputs)
    }

    @Test(arguments: [8, 32, 256])
    func validProofVerifies(rows: Int) throws {
        let (bytes, inputs) = try proof(rows: rows)
        try Verifier.verifyInsecure(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs, options: options)
    }

    @Test func proofsAreDeterministicAcrossThreadCounts() throws {
        #expect(try proof(threads: 1).bytes == proof(threads: 2).bytes)
    }

    @Test func serializationRoundTrips() throws {
        let (bytes, _) = try proof()
        let parsed = try Proof(bytes: bytes)
        #expect(parsed.bytes == bytes)
        #expect(parsed.traceLength == 32)
        #expect(parsed.options == options)
    }

    @Test func defaultOptionsGive96BitsAndVerify() throws {
        #expect(ProofOptions.default.conjecturedSecurityBits(traceLength: 1 << 16) >= 96)
        #expect(ProofOptions.default.conjecturedSecurityBits(traceLength: 1 << 20) >= 96)
        #expect(ProofOptions.default.conjecturedSecurityBits(traceLength: 1 << 16) == 96)
        #expect(ProofOptions.high.conjecturedSecurityBits(traceLength: 1 << 16) == 107)
        #expect(ProofOptions.testing.conjecturedSecurityBits(traceLength: 32) < 30)
        let (trace, inputs) = FibonacciAIR.trace(length: 64)
        let bytes = try Prover.prove(air: FibonacciAIR.self, trace: trace, publicInputs: inputs)
        try Verifier.verify(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs)
    }

    @Test func wrongPublicInputIsRejected() throws {
        let (bytes, inputs) = try proof()
        let other = FibonacciAIR.PublicInputs(result: inputs.result + .one)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: FibonacciAIR.self, proof: bytes, publicInputs: other, options: options)
        }
    }

    @Test func errorsCarryStableCodes() throws {
        let (bytes, inputs) = try proof()
        do {
            try Verifier.verifyInsecure(
                air: FibonacciAIR.self, proof: Array(bytes.prefix(20)), publicInputs: inputs, options: options)
            Issue.record("truncated proof accepted")
        } catch {
            #expect(error.code == "malformed_proof")
        }
        do {
            try Verifier.verifyInsecure(
                air: FibonacciAIR.self, proof: bytes, publicInputs: .init(result: .zero), options: options)
            Issue.record("wrong public input accepted")
        } catch {
            #expect(error.code == "rejected")
        }
    }

    @Test func otherOptionsAreRejected() throws {
        let (bytes, inputs) = try proof()
        var weaker = options
        weaker.numQueries = 4
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs, options: weaker)
        }
    }

    @Test func proverRefusesAWrongClaim() throws {
        let (trace, inputs) = FibonacciAIR.trace(length: 32)
        let wrong = FibonacciAIR.PublicInputs(result: inputs.result + .one)
        #expect(throws: STARKError.unsatisfiedConstraint(name: "main assertion on column 3", row: 31)) {
            _ = try Prover.prove(air: FibonacciAIR.self, trace: trace, publicInputs: wrong, options: options)
        }
        var broken = trace
        broken.columns[2][10] = broken.columns[2][10] + .one
        #expect(throws: STARKError.unsatisfiedConstraint(name: "next c = next a + next b", row: 9)) {
            _ = try Prover.prove(air: FibonacciAIR.self, trace: broken, publicInputs: inputs, options: options)
        }
    }

    @Test func forgedProofOfABrokenTraceIsRejected() throws {
        // Skip the prover's own checks: the verifier alone must catch the broken trace.
        let (trace, inputs) = FibonacciAIR.trace(length: 32)
        var broken = trace
        broken.columns[0][5] = broken.columns[0][5] + .one
        let air = try FibonacciAIR(traceLength: 32, publicInputs: inputs)
        let forged = try Prover.prove(air: air, trace: broken, options: options, threads: 1, checkConstraints: false)
        #expect(throws: STARKError.self) { try Verifier.verifyInsecure(air: air, proof: forged) }
        let wrongClaim = try FibonacciAIR(traceLength: 32, publicInputs: .init(result: inputs.result + .one))
        let forged2 = try Prover.prove(
            air: wrongClaim, trace: trace, options: options, threads: 1, checkConstraints: false)
        #expect(throws: STARKError.self) { try Verifier.verifyInsecure(air: wrongClaim, proof: forged2) }
    }

    @Test func sampledSingleByteMutationsAreRejected() throws {
        let (bytes, inputs) = try proof()
        var rng = TestRNG(seed: 42)
        for _ in 0..<64 {
            var mutated = bytes
            let position = Int(rng.next() % UInt64(bytes.count))
            mutated[position] ^= UInt8(1 + rng.next() % 255)
            #expect(throws: STARKError.self, "mutation at byte \(position) accepted") {
                try Verifier.verifyInsecure(
                    air: FibonacciAIR.self, proof: mutated, publicInputs: inputs, options: options)
            }
        }
    }

    @Test func truncatedAndGarbageBytesAreRejectedWithoutCrashing() throws {
        let (bytes, inputs) = try proof()
        for length in [0, 1, 4, 5, 11, 50, bytes.count / 2, bytes.count - 1] {
            #expect(throws: STARKError.self) {
                try Verifier.verifyInsecure(
                    air: FibonacciAIR.self, proof: Array(bytes[0..<length]), publicInputs: inputs, options: options)
            }
        }
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: FibonacciAIR.self, proof: bytes + [0], publicInputs: inputs, options: options)
        }
        var rng = TestRNG(seed: 43)
        for size in [16, 100, 1000, bytes.count] {
            let garbage = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(throws: STARKError.self) {
                try Verifier.verifyInsecure(
                    air: FibonacciAIR.self, proof: garbage, publicInputs: inputs, options: options)
            }
            // Garbage behind a valid header, to reach the count and element parsers.
            let header = Array(bytes[0..<11]) + garbage
            #expect(throws: STARKError.self) {
                try Verifier.verifyInsecure(
                    air: FibonacciAIR.self, proof: header, publicInputs: inputs, options: options)
            }
        }
        // A header claiming 2^30 rows at blowup 256 (an LDE beyond 2^32 points) is refused.
        var huge = bytes
        huge[5] = 8
        huge[10] = 30
        let parsed = try Proof(bytes: huge)
        let hugeAIR = try FibonacciAIR(traceLength: 1 << 30, publicInputs: inputs)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: hugeAIR, proof: parsed, options: parsed.options)
        }
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: FibonacciAIR.self, proof: huge, publicInputs: inputs, options: parsed.options)
        }
        // Huge counts must be refused before allocating.
        var hostile = Array(bytes[0..<(11 + 32 + 1 + 32)])
        hostile += [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: ParseError.self) { _ = try Proof(bytes: hostile) }
    }
}

/// A deliberately mis-declared AIR: its only constraint has degree 2 but claims degree 1.
struct MisdeclaredAIR: AIR {
    static let identity = "test/misdeclared"
    let traceLength: Int
    init(traceLength: Int, publicInputs: Int) throws(STARKError) { self.traceLength = traceLength }
    var publicInputElements: [Goldilocks] { [] }
    var mainWidth: Int { 1 }
    var transitionConstraints: [ConstraintInfo] { [ConstraintInfo("square", degree: 1)] }
    func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        result[0] = frame.next[0] - frame.current[0] * frame.current[0]
    }
    func mainAssertions() -> [Assertion<Goldilocks>] { [Assertion(column: 0, row: 0, value: Goldilocks(3))] }
}

@Suite struct DegreeCheckTests {
    @Test func debugProverNamesAMisdeclaredConstraint() throws {
        #if DEBUG
            var column = [Goldilocks(3)]
            for _ in 1..<16 { column.append(column[column.count - 1] * column[column.count - 1]) }
            let trace = TraceTable(columns: [column])
            #expect(throws: STARKError.constraintDegreeMismatch(name: "square", declared: 1, actual: 2)) {
                _ = try Prover.prove(air: MisdeclaredAIR.self, trace: trace, publicInputs: 0, options: .testing)
            }
        #endif
    }
}

/// The Fibonacci constraints under another identity: the transcript must tell them apart.
struct RenamedFibonacciAIR: AIR {
    static let identity = "fibonacci4/renamed"
    let inner: FibonacciAIR
    init(traceLength: Int, publicInputs: FibonacciAIR.PublicInputs) throws(STARKError) {
        inner = try FibonacciAIR(traceLength: traceLength, publicInputs: publicInputs)
    }
    var traceLength: Int { inner.traceLength }
    var publicInputElements: [Goldilocks] { inner.publicInputElements }
    var mainWidth: Int { inner.mainWidth }
    var transitionConstraints: [ConstraintInfo] { inner.transitionConstraints }
    func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        inner.evaluateTransition(frame, into: &result)
    }
    func mainAssertions() -> [Assertion<Goldilocks>] { inner.mainAssertions() }
}

@Suite struct TranscriptBindingTests {
    @Test func anotherAIRIdentityRejectsTheProof() throws {
        let (trace, inputs) = FibonacciAIR.trace(length: 32)
        let bytes = try Prover.prove(air: FibonacciAIR.self, trace: trace, publicInputs: inputs, options: .testing)
        try Verifier.verifyInsecure(air: FibonacciAIR.self, proof: bytes, publicInputs: inputs, options: .testing)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: RenamedFibonacciAIR.self, proof: bytes, publicInputs: inputs, options: .testing)
        }
        // And the renamed AIR's own proofs verify.
        let renamed = try Prover.prove(
            air: RenamedFibonacciAIR.self, trace: trace, publicInputs: inputs, options: .testing)
        try Verifier.verifyInsecure(
            air: RenamedFibonacciAIR.self, proof: renamed, publicInputs: inputs, options: .testing)
    }

    @Test func everyTruncationPointIsRejected() throws {
        let (trace, inputs) = FibonacciAIR.trace(length: 16)
        let bytes = try Prover.prove(air: FibonacciAIR.self, trace: trace, publicInputs: inputs, options: .testing)
        for length in stride(from: 0, to: bytes.count, by: 37) {
            #expect(throws: ParseError.self, "prefix of \(length) bytes parsed") {
                _ = try Proof(bytes: Array(bytes[0..<length]))
            }
        }
    }
}
