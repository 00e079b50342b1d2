import Testing

@testable import STARK

@Suite struct KeyValueProofTests {
    let options = ProofOptions.testing

    static func key(_ i: UInt64) -> StorageKey {
        StorageKey(Goldilocks(i), Goldilocks(i &* 31 + 7), Goldilocks(0xDEAD_BEEF), Goldilocks(i << 40))
    }

    /// Three keys; key 2 is only read, key 1 is written twice and read in between.
    static let inputs = [
        StorageEntry(key: key(1), value: Goldilocks(10)),
        StorageEntry(key: key(2), value: Goldilocks(20)),
        StorageEntry(key: key(3), value: Goldilocks(30)),
    ]
    static let log = [
        StorageAccess(.read, key: key(1), value: Goldilocks(10)),
        StorageAccess(.write, key: key(3), value: Goldilocks(33)),
        StorageAccess(.write, key: key(1), value: Goldilocks(11)),
        StorageAccess(.read, key: key(2), value: Goldilocks(20)),
        StorageAccess(.read, key: key(1), value: Goldilocks(11)),
        StorageAccess(.write, key: key(1), value: Goldilocks(12)),
        StorageAccess(.read, key: key(3), value: Goldilocks(33)),
    ]
    static let outputs = [
        StorageEntry(key: key(1), value: Goldilocks(12)),
        StorageEntry(key: key(2), value: Goldilocks(20)),
        StorageEntry(key: key(3), value: Goldilocks(33)),
    ]
    static let statement = KeyValueAIR.PublicInputs(inputs: inputs, outputs: outputs)

    func prove(_ statement: KeyValueAIR.PublicInputs, log: [StorageAccess]) throws -> [UInt8] {
        let trace = try KeyValueAIR.buildTrace(publicInputs: statement, log: log)
        return try Prover.prove(air: KeyValueAIR.self, trace: trace, publicInputs: statement, options: options)
    }

    /// Proves without the prover's own checks, as a cheating prover would.
    func forge(_ statement: KeyValueAIR.PublicInputs, trace: TraceTable) throws -> Proof {
        let air = try KeyValueAIR(traceLength: trace.length, publicInputs: statement)
        return try Prover.prove(air: air, trace: trace, options: options, threads: 2, checkConstraints: false)
    }

    @Test func replayAgreesWithTheFixture() {
        #expect(KeyValueAIR.replay(inputs: Self.inputs, log: Self.log) == Self.outputs)
    }

    @Test func consistentLogProvesAndVerifies() throws {
        let bytes = try prove(Self.statement, log: Self.log)
        try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes, publicInputs: Self.statement, options: options)
        // Output order does not matter; any reordering of the lists is the same statement.
        let reordered = KeyValueAIR.PublicInputs(inputs: Self.inputs.reversed(), outputs: Self.outputs)
        let bytes2 = try prove(reordered, log: Self.log)
        try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes2, publicInputs: reordered, options: options)
    }

    @Test func largerRandomWorkloadVerifies() throws {
        let (trace, statement) = try KeyValueAIR.benchmarkWorkload(traceLength: 128)
        let bytes = try Prover.prove(air: KeyValueAIR.self, trace: trace, publicInputs: statement, options: options)
        try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes, publicInputs: statement, options: options)
    }

    @Test func emptyLogWithUnchangedValuesVerifies() throws {
        let statement = KeyValueAIR.PublicInputs(inputs: Self.inputs, outputs: Self.inputs)
        let bytes = try prove(statement, log: [])
        try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes, publicInputs: statement, options: options)
    }

    @Test func proofIsRejectedForOtherPublicLists() throws {
        let bytes = try prove(Self.statement, log: Self.log)
        var outputs = Self.outputs
        outputs[0].value = Goldilocks(11)
        let wrongOutput = KeyValueAIR.PublicInputs(inputs: Self.inputs, outputs: outputs)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: KeyValueAIR.self, proof: bytes, publicInputs: wrongOutput, options: options)
        }
        var inputs = Self.inputs
        inputs[1].value = Goldilocks(21)
        let wrongInput = KeyValueAIR.PublicInputs(inputs: inputs, outputs: Self.outputs)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes, publicInputs: wrongInput, options: options)
        }
        var keys = Self.inputs
        keys[2].key = Self.key(4)
        var outKeys = Self.outputs
        outKeys[2].key = Self.key(4)
        let otherKey = KeyValueAIR.PublicInputs(inputs: keys, outputs: outKeys)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: KeyValueAIR.self, proof: bytes, publicInputs: otherKey, options: options)
        }
    }

    @Test func proverRefusesAReadOfAStaleValue() throws {
        var log = Self.log
        log[4].value = Goldilocks(10)  // reads the value from before the write at time 2
        #expect(KeyValueAIR.replay(inputs: Self.inputs, log: log) == nil)
        #expect(
            throws: STARKError.unsatisfiedConstraint(
                name: "sorted: reads and final rows see the previous value", row: 2)
        ) {
            _ = try prove(Self.statement, log: log)
        }
        let trace = try KeyValueAIR.buildTrace(publicInputs: Self.statement, log: log)
        let forged = try forge(Self.statement, trace: trace)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: KeyValueAIR(traceLength: trace.length, publicInputs: Self.statement), proof: forged)
        }
    }

    @Test func proverRefusesAFirstReadThatIgnoresTheInput() throws {
        var log = Self.log
        log[3].value = Goldilocks(99)
        #expect(throws: STARKError.self) { _ = try prove(Self.statement, log: log) }
        let trace = try KeyValueAIR.buildTrace(publicInputs: Self.statement, log: log)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(
                air: KeyValueAIR(traceLength: trace.length, publicInputs: Self.statement),
                proof: forge(Self.statement, trace: trace))
        }
    }

    @Test func wrongOutputListCannotBeProved() throws {
        var outputs = Self.outputs
        outputs[0].value = Goldilocks(11)  // the value before the last write
        let statement = KeyValueAIR.PublicInputs(inputs: Self.inputs, outputs: outputs)
        #expect(
            throws: STARKError.unsatisfiedConstraint(
                name: "sorted: reads and final rows see the previous value", row: 4)
        ) {
            _ = try prove(statement, log: Self.log)
        }
        let trace = try KeyValueAIR.buildTrace(publicInputs: statement, log: Self.log)
        let air = try KeyValueAIR(traceLength: trace.length, publicInputs: statement)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: air, proof: forge(statement, trace: trace))
        }
        // A consistent-looking trace whose final row claims the wrong output breaks the multiset.
        let honest = try KeyValueAIR.buildTrace(publicInputs: Self.statement, log: Self.log)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: air, proof: forge(statement, trace: honest))
        }
    }

    @Test func reorderingAccessesWithinAKeyIsCaught() throws {
        // Key 1's accesses are at times 0, 2, 4, 5 (rows 1...4 of the sorted side). Swapping the
        // two writes' rows keeps the group locally consistent only if time may go backwards.
        let outputs = [
            StorageEntry(key: Self.key(1), value: Goldilocks(11)),
            Self.outputs[1], Self.outputs[2],
        ]
        let statement = KeyValueAIR.PublicInputs(inputs: Self.inputs, outputs: outputs)
        var trace = try KeyValueAIR.buildTrace(publicInputs: Self.statement, log: Self.log)
        typealias C = KeyValueAIR.Column
        // Sorted rows of key 1: init(10), read 10 @0, write 11 @2, read 11 @4, write 12 @5, final 12.
        // Forge: init(10), read 10 @0, write 12 @5, write 11 @2, read 11 @4, final 11.
        let rows = [2, 3, 4]
        let newOrder = [4, 2, 3]
        var copy = trace
        for (dst, src) in zip(rows, newOrder) {
            for c in [C.sortedValue, C.sortedTime, C.sortedWrite] { copy.columns[c][dst] = trace.columns[c][src] }
        }
        copy.columns[C.sortedValue][5] = Goldilocks(11)
        trace = copy
        // Everything else still holds: only the range check (aux column 1 must end at zero) fails.
        #expect(throws: STARKError.unsatisfiedConstraint(name: "auxiliary assertion on column 1", row: 15)) {
            _ = try Prover.prove(air: KeyValueAIR.self, trace: trace, publicInputs: statement, options: options)
        }
        let air = try KeyValueAIR(traceLength: trace.length, publicInputs: statement)
        #expect(throws: STARKError.self) {
            try Verifier.verifyInsecure(air: air, proof: forge(statement, trace: trace))
        }
    }

    @Test func malformedStatementsAreRefused() throws {
        let duplicate = KeyValueAIR.PublicInputs(inputs: Self.inputs + [Self.inputs[0]], outputs: Self.outputs)
        #expect(throws: STARKError.self) { _ = try KeyValueAIR(traceLength: 64, publicInputs: duplicate) }
        let mismatched = KeyValueAIR.PublicInputs(inputs: Self.inputs, outputs: Array(Self.outputs.dropLast()))
        #expect(throws: STARKError.self) { _ = try KeyValueAIR(traceLength: 64, publicInputs: mismatched) }
        #expect(throws: STARKError.self) { _ = try KeyValueAIR(traceLength: 4, publicInputs: Self.statement) }
        let unknownKey = Self.log + [StorageAccess(.read, key: Self.key(9), value: .zero)]
        #expect(throws: STARKError.self) {
            _ = try KeyValueAIR.buildTrace(publicInputs: Self.statement, log: unknownKey)
        }
    }

    @Test func sampledMutationsOfAKeyValueProofAreRejected() throws {
        let bytes = try prove(Self.statement, log: Self.log)
        var rng = TestRNG(seed: 77)
        for _ in 0..<32 {
            var mutated = bytes
            let position = Int(rng.next() % UInt64(bytes.count))
            mutated[position] ^= UInt8(1 + rng.next() % 255)
            #expect(throws: STARKError.self, "mutation at byte \(position) accepted") {
                try Verifier.verifyInsecure(
                    air: KeyValueAIR.self, proof: mutated, publicInputs: Self.statement, options: options)
            }
        }
    }
}

@Suite struct MissingChallengeTests {
    static func air() throws -> KeyValueAIR {
        try KeyValueAIR(traceLength: 16, publicInputs: KeyValueProofTests.statement)
    }

    @Test func constraintsWithoutChallengesStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let air = try KeyValueAIR(traceLength: 16, publicInputs: KeyValueProofTests.statement)
            let zeros = [Ext2](repeating: .zero, count: air.mainWidth)
            let frame = EvaluationFrame(
                current: zeros, next: zeros, auxCurrent: [.zero, .zero], auxNext: [.zero, .zero])
            var result = [Ext2](repeating: .zero, count: air.auxTransitionConstraints.count)
            air.evaluateAuxTransition(frame, challenges: [], into: &result)
        }
    }

    @Test func constraintsWithoutAuxiliaryColumnsStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let air = try KeyValueAIR(traceLength: 16, publicInputs: KeyValueProofTests.statement)
            let zeros = [Ext2](repeating: .zero, count: air.mainWidth)
            var result = [Ext2](repeating: .zero, count: air.auxTransitionConstraints.count)
            let challenges = [Ext2](repeating: .one, count: air.auxChallengeCount)
            air.evaluateAuxTransition(
                EvaluationFrame(current: zeros, next: zeros), challenges: challenges, into: &result)
        }
    }

    @Test func boundaryConstraintsWithoutChallengesStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let air = try KeyValueAIR(traceLength: 16, publicInputs: KeyValueProofTests.statement)
            _ = air.auxAssertions(challenges: [])
        }
    }

    @Test func theAuxiliaryTraceWithoutChallengesIsRefused() throws {
        let trace = try KeyValueAIR.buildTrace(
            publicInputs: KeyValueProofTests.statement, log: KeyValueProofTests.log, traceLength: 16)
        #expect(throws: STARKError.self) { _ = try Self.air().buildAuxTrace(main: trace, challenges: [], threads: 1) }
    }

    @Test func withItsChallengesAValidFrameEvaluatesToZeroAndABadOneDoesNot() throws {
        // The LogUp rows are really evaluated: a wrong running-sum step is non-zero.
        let air = try Self.air()
        let trace = try KeyValueAIR.buildTrace(
            publicInputs: KeyValueProofTests.statement, log: KeyValueProofTests.log, traceLength: 16)
        let challenges = (1...air.auxChallengeCount).map { Ext2(Goldilocks(UInt64($0 * 1000 + 7)), Goldilocks(3)) }
        let aux = try air.buildAuxTrace(main: trace, challenges: challenges, threads: 1)
        func frame(_ row: Int, bump: Bool) -> EvaluationFrame<Ext2> {
            EvaluationFrame(
                current: trace.columns.map { Ext2($0[row]) }, next: trace.columns.map { Ext2($0[row + 1]) },
                auxCurrent: aux.map { $0[row] }, auxNext: aux.map { $0[row + 1] + (bump ? .one : .zero) })
        }
        var result = [Ext2](repeating: .zero, count: air.auxTransitionConstraints.count)
        air.evaluateAuxTransition(frame(1, bump: false), challenges: challenges, into: &result)
        #expect(result.allSatisfy { $0 == .zero })
        air.evaluateAuxTransition(frame(1, bump: true), challenges: challenges, into: &result)
        #expect(result[0] != .zero && result[1] != .zero)
    }

    @Test func theParallelAuxiliaryTraceEqualsTheSerialOne() throws {
        let (trace, inputs) = try KeyValueAIR.benchmarkWorkload(traceLength: 1 << 14)
        let air = try KeyValueAIR(traceLength: trace.length, publicInputs: inputs)
        let challenges = (1...air.auxChallengeCount).map { Ext2(Goldilocks(UInt64($0 * 77 + 1)), Goldilocks(5)) }
        let serial = try air.buildAuxTrace(main: trace, challenges: challenges, threads: 1)
        #expect(try air.buildAuxTrace(main: trace, challenges: challenges, threads: 2) == serial)
        #expect(try air.buildAuxTrace(main: trace, challenges: challenges, threads: 3) == serial)
        // Sums really accumulate: both columns start at zero and the range sum ends at zero.
        #expect(serial[0][0] == .zero && serial[1][0] == .zero && serial[1][trace.length - 1] == .zero)
    }
}
