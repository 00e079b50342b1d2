import Testing
import ThreadVM

@testable import ZKCore

@Suite struct BatcherTests {
    typealias F = Fixture

    func increment(_ by: UInt64, _ signer: DevAccount, _ nonce: UInt64) -> ThreadTransaction {
        F.tx(F.counter, F.counterProgram, "increment", [String(by)], by: signer, nonce: nonce)
    }

    func batcher(_ manager: ManagerState, max: Int = 2) -> SubBlockBatcher {
        let record = manager.record(F.counter.id)!
        return SubBlockBatcher(
            thread: F.counter, program: F.counterProgram, canonical: MemoryState(record.state),
            sequence: record.sequence,
            threads: manager.crossThreadReader, maxTransactions: max)
    }

    func prove(_ sub: SubBlockSubmission) -> SubBlockSubmission {
        try! sub.proved(by: ReexecProofSystem(), program: F.counterProgram)
    }

    @Test func refusesBeforeInclusionAndTracksNonces() {
        var b = batcher(F.manager())
        #expect(b.nonce(of: F.alice.address) == 0)
        #expect(b.add(increment(1, F.alice, 1)).rejection?.code == .wrongNonce)
        #expect(b.openCount == 0)
        #expect((try? b.add(increment(1, F.alice, 0)).get()) != nil)
        #expect(b.nonce(of: F.alice.address) == 1)
        #expect(b.add(increment(1, F.alice, 0)).rejection?.code == .wrongNonce)
        #expect(b.openCount == 1)
        #expect(!b.isFull)
        #expect((try? b.add(increment(1, F.bob, 0)).get()) != nil)
        #expect(b.isFull)
        #expect(b.value(at: StorageKey.derive([1])) == 2)
    }

    @Test func sealsPipelinedSubBlocksThatSettleInOrder() {
        var manager = F.manager()
        var b = batcher(manager)
        #expect(b.seal() == nil)
        _ = b.add(increment(1, F.alice, 0))
        _ = b.add(increment(2, F.bob, 0))
        let s1 = prove(b.seal()!)
        _ = b.add(increment(3, F.alice, 1))
        let s2 = prove(b.seal()!)
        #expect(s1.sequence == 1)
        #expect(s2.sequence == 2)
        #expect(s2.inputs.contains(KeyValue(key: StorageKey.derive([1]), value: 3)))
        #expect(b.sealed.count == 2)
        #expect(manager.apply(bundle: [s1], txHash: "1", programs: F.program).status == .accepted)
        b.settled(through: 1)
        #expect(b.sealed.map(\.sequence) == [2])
        #expect(manager.apply(bundle: [s2], txHash: "2", programs: F.program).status == .accepted)
        b.settled(through: 2)
        #expect(b.sealed.isEmpty)
        #expect(
            try! manager.view(thread: F.counter.id, entrypoint: "get", arguments: [], programs: F.program).formatted
                == "6")
    }

    /// Two nodes race on one thread; the loser's sub-blocks revert, it rebases, keeps every
    /// transaction, reports the one the winner already included, and its resubmission is accepted.
    @Test func rebaseAfterRevertKeepsEveryTransaction() {
        var manager = F.manager()
        var winner = batcher(manager)
        var loser = batcher(manager, max: 10)
        let shared = increment(1, F.alice, 0)  // sent to both nodes
        _ = winner.add(shared)
        _ = loser.add(shared)
        _ = loser.add(increment(2, F.bob, 0))
        let l1 = prove(loser.seal()!)
        _ = loser.add(increment(4, F.carol, 0))
        _ = loser.add(increment(8, F.bob, 1))
        let l2 = prove(loser.seal()!)
        _ = loser.add(increment(16, F.carol, 1))  // still open
        let w1 = prove(winner.seal()!)

        #expect(manager.apply(bundle: [w1], txHash: "w1", programs: F.program).status == .accepted)
        #expect(manager.apply(bundle: [l1], txHash: "l1", programs: F.program).revert?.code == .wrongSequence)
        let l2Outcome = manager.apply(bundle: [l2], txHash: "l2", programs: F.program)
        #expect(l2Outcome.status == .reverted)

        let record = manager.record(F.counter.id)!
        let report = loser.rebase(
            onto: MemoryState(record.state), sequence: record.sequence, threads: manager.crossThreadReader)
        #expect(report.kept.count == 4)
        #expect(report.failed.count == 1)
        #expect(report.failed.first?.transaction == shared)
        #expect(report.failed.first?.refusal.code == .wrongNonce)
        #expect(report.failed.first?.refusal.message.contains("expected 1, given 0") == true)
        #expect(report.kept.count + report.failed.count == 5)
        #expect(loser.sealed.isEmpty)
        #expect(loser.openCount == 4)
        let resubmit = prove(loser.seal()!)
        #expect(resubmit.sequence == 2)
        #expect(manager.apply(bundle: [resubmit], txHash: "l3", programs: F.program).status == .accepted)
        #expect(
            try! manager.view(thread: F.counter.id, entrypoint: "get", arguments: [], programs: F.program).formatted
                == "31")
    }

    @Test func rebaseReportsTransactionsWhoseVMRunNowFails() {
        var manager = F.manager()
        let tokenRecord = manager.record(F.token.id)!
        var b = SubBlockBatcher(
            thread: F.token, program: F.tokenProgram, canonical: MemoryState(tokenRecord.state), sequence: 0)
        // On the fork alice mints then spends; canonically someone else's sub-block got there first.
        _ = b.add(F.tx(F.token, F.tokenProgram, "mint", [F.alice.address.hex, "5"], by: F.bob, nonce: 0))
        _ = b.add(F.tx(F.token, F.tokenProgram, "transfer", [F.carol.address.hex, "5"], by: F.alice, nonce: 0))
        let other = F.subBlock(
            manager, F.token, [F.tx(F.token, F.tokenProgram, "mint", [F.dave.address.hex, "1"], by: F.bob, nonce: 0)])
        #expect(manager.apply(bundle: [other], txHash: "o", programs: F.program).status == .accepted)
        let record = manager.record(F.token.id)!
        let report = b.rebase(onto: MemoryState(record.state), sequence: record.sequence)
        #expect(report.failed.count == 1)  // bob's mint: nonce 0 already used
        #expect(report.kept.count == 1)
        #expect(report.vmFailures.first?.failure.code == "ASSERTION_FAILED")  // alice has nothing now
        let sub = try! b.seal()!.proved(by: ReexecProofSystem(), program: F.tokenProgram)
        #expect(manager.apply(bundle: [sub], txHash: "s", programs: F.program).status == .accepted)
        #expect(manager.canonicalValue(thread: F.token.id, key: ThreadNonce.key(of: F.alice.address)) == 1)
    }
}

extension Fixture {
    static var dave: DevAccount { accounts.users[3] }
}
