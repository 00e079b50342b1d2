import Testing

@testable import ThreadVM

@Suite struct SubBlockTests {
    let token: Program
    let abi: ABI

    init() throws {
        token = try Contracts.named("token")
        abi = token.abi
    }

    func tx(_ entry: String, _ arguments: [String], from caller: Address = alice) throws -> Transaction {
        try Transaction(caller: caller, entrypoint: entry, arguments: arguments, abi: abi)
    }

    var aliceKey: StorageKey { StorageKey.map(slot: 1, alice.words) }
    var bobKey: StorageKey { StorageKey.map(slot: 1, bob.words) }

    @Test func transactionsSeeEarlierWritesAndInputsAreBaseValues() throws {
        let base = MemoryState([aliceKey: 50])
        let statement = SubBlockExecutor.execute(
            [
                try tx("transfer", [bob.hex, "20"]),
                try tx("transfer", [alice.hex, "5"], from: bob),
                try tx("transfer", [bob.hex, "35"]),
            ], program: token, base: base)
        #expect(statement.results.map(\.succeeded) == [true, true, true])
        #expect(
            statement.inputs
                == [KeyValue(key: aliceKey, value: 50), KeyValue(key: bobKey, value: 0)].sorted { $0.key < $1.key })
        #expect(
            statement.outputs
                == [KeyValue(key: aliceKey, value: 0), KeyValue(key: bobKey, value: 50)].sorted { $0.key < $1.key })
        #expect(statement.crossReads.isEmpty)
    }

    @Test func aFailedTransactionLeavesNoWrites() throws {
        let carolKey = StorageKey.map(slot: 1, testAddress(300).words)
        let base = MemoryState([aliceKey: 10])
        let statement = SubBlockExecutor.execute(
            [
                try tx("transfer", [bob.hex, "4"]),
                // Fails after writing the sender's debit? No: the check comes first, so it reads only.
                try tx("transfer", [testAddress(300).hex, "7"]),
                try tx("transfer", [bob.hex, "6"]),
            ], program: token, base: base)
        #expect(statement.results.map(\.succeeded) == [true, false, true])
        #expect(statement.results[1].failure?.code == "ASSERTION_FAILED")
        #expect(
            statement.outputs
                == [KeyValue(key: aliceKey, value: 0), KeyValue(key: bobKey, value: 10)].sorted { $0.key < $1.key })
        #expect(!statement.outputs.contains { $0.key == carolKey })
    }

    @Test func writesBeforeAFailureAreDiscarded() throws {
        // A contract that writes, then fails when told to.
        let program = try assemble(
            """
            .entry put(v: u64, fail_after: bool)
                set r0, 1
                arg r4, v
                store r0, r4
                arg r5, fail_after
                jnz r5, boom
                ret
            boom:
                fail "after the write"
            """)
        let key = StorageKey(1, 0, 0, 0)
        var builder = SubBlockBuilder(program: program, base: MemoryState([key: 3]))
        let failed = builder.apply(Transaction(caller: alice, entrypoint: "put", calldata: [9, 1]))
        #expect(failed.failure?.code == "ABORTED")
        #expect(failed.accessLog == [StorageAccess(.write, key: key, value: 9)])
        #expect(builder.fork.value(at: key) == 3)
        #expect(builder.statement.outputs.isEmpty)
        #expect(builder.statement.inputs == [KeyValue(key: key, value: 3)])
        builder.apply(Transaction(caller: alice, entrypoint: "put", calldata: [4, 0]))
        #expect(builder.fork.value(at: key) == 4)
        #expect(builder.statement.outputs == [KeyValue(key: key, value: 4)])
        #expect(builder.statement.inputs == [KeyValue(key: key, value: 3)])
        #expect(builder.statement.results.count == 2)
    }

    @Test func crossReadsArePinnedForTheWholeSubBlock() throws {
        let karts = try Contracts.named("karts")
        let achievementKey = StorageKey.derive([1] + alice.words + [3])
        // A reader whose answer changes between calls: the sub-block must see one snapshot.
        final class Flipping: CrossThreadReader, @unchecked Sendable {
            var calls = 0
            func value(thread: Felt, key: StorageKey) -> Felt? {
                calls += 1
                return calls == 1 ? 1 : 0
            }
        }
        let reader = Flipping()
        let unlock = try Transaction(caller: alice, entrypoint: "unlock_kart", arguments: ["1", "3"], abi: karts.abi)
        let unlock2 = try Transaction(caller: alice, entrypoint: "unlock_kart", arguments: ["2", "3"], abi: karts.abi)
        let statement = SubBlockExecutor.execute(
            [unlock, unlock2], program: karts, base: MemoryState(), threads: reader)
        #expect(statement.results.map(\.succeeded) == [true, true])
        #expect(reader.calls == 1)
        #expect(statement.crossReads == [CrossRead(thread: 2, key: achievementKey, value: 1)])
        #expect(statement.outputs.count == 2)
    }

    @Test func failedTransactionsReadsStillCountAsCrossReads() throws {
        let karts = try Contracts.named("karts")
        let unlock = try Transaction(caller: alice, entrypoint: "unlock_kart", arguments: ["1", "3"], abi: karts.abi)
        let statement = SubBlockExecutor.execute(
            [unlock], program: karts, base: MemoryState(), threads: MemoryThreads([2: MemoryState()]))
        #expect(statement.results.map(\.succeeded) == [false])
        #expect(statement.outputs.isEmpty)
        #expect(statement.crossReads.count == 1)
        #expect(statement.crossReads.first?.value == 0)
    }

    @Test func applyingOutputsToTheBaseGivesTheForkState() throws {
        var base = MemoryState([aliceKey: 9])
        var builder = SubBlockBuilder(program: token, base: base)
        builder.apply(try tx("transfer", [bob.hex, "2"]))
        builder.apply(try tx("mint", [bob.hex, "1"]))
        base.apply(builder.statement.outputs)
        for key in [aliceKey, bobKey, StorageKey.derive([2])] {
            #expect(base.value(at: key) == builder.fork.value(at: key))
        }
        #expect(base.value(at: bobKey) == 3)
    }
}

@Suite struct ReexecutionTests {
    @Test func verifyAcceptsTheHonestStatementAndRejectsTamperedOnes() throws {
        let token = try Contracts.named("token")
        let aliceKey = StorageKey.map(slot: 1, alice.words)
        let txs = [
            try Transaction(caller: alice, entrypoint: "transfer", arguments: [bob.hex, "3"], abi: token.abi),
            try Transaction(caller: alice, entrypoint: "transfer", arguments: [bob.hex, "99"], abi: token.abi),
        ]
        let honest = SubBlockExecutor.execute(txs, program: token, base: MemoryState([aliceKey: 10]))
        #expect(
            SubBlockExecutor.verify(
                txs, program: token, inputs: honest.inputs, outputs: honest.outputs, crossReads: honest.crossReads)
                == nil)

        // A tampered output value.
        var outputs = honest.outputs
        outputs[0].value += 1
        #expect(
            SubBlockExecutor.verify(
                txs, program: token, inputs: honest.inputs, outputs: outputs, crossReads: [])?.part == .outputs)
        // A different claimed input changes what the transactions compute.
        let richer = honest.inputs.map { $0.key == aliceKey ? KeyValue(key: aliceKey, value: 200) : $0 }
        #expect(
            SubBlockExecutor.verify(
                txs, program: token, inputs: richer, outputs: honest.outputs, crossReads: [])?.part == .outputs)
        // An input left out is still touched by re-execution.
        #expect(
            SubBlockExecutor.verify(
                txs, program: token, inputs: Array(honest.inputs.dropFirst()), outputs: honest.outputs, crossReads: [])?
                .part == .inputs)
        // Transactions dropped from the sub-block.
        #expect(
            SubBlockExecutor.verify(
                [txs[1]], program: token, inputs: honest.inputs, outputs: honest.outputs, crossReads: []) != nil)
    }

    @Test func verifyChecksCrossReads() throws {
        let karts = try Contracts.named("karts")
        let tx = try Transaction(caller: alice, entrypoint: "unlock_kart", arguments: ["1", "3"], abi: karts.abi)
        let key = StorageKey.derive([1] + alice.words + [3])
        let honest = SubBlockExecutor.execute(
            [tx], program: karts, base: MemoryState(), threads: MemoryThreads([2: MemoryState([key: 1])]))
        #expect(honest.results[0].succeeded)
        #expect(
            SubBlockExecutor.verify(
                [tx], program: karts, inputs: honest.inputs, outputs: honest.outputs, crossReads: honest.crossReads)
                == nil)
        // Claiming no cross read: re-execution cannot find the achievements thread.
        let mismatch = SubBlockExecutor.verify(
            [tx], program: karts, inputs: honest.inputs, outputs: honest.outputs, crossReads: [])
        #expect(mismatch != nil)
        // Claiming the level was not completed: the unlock fails at the assert, before it touches
        // the kart key, so the claimed input list is already wrong.
        let denied = [CrossRead(thread: 2, key: key, value: 0)]
        #expect(
            SubBlockExecutor.verify(
                [tx], program: karts, inputs: honest.inputs, outputs: honest.outputs, crossReads: denied)?.part
                == .inputs)
    }
}
