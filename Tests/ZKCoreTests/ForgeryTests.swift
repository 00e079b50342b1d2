import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// A prover that tampers with users' transactions: it re-executes its forged list honestly (so
/// inputs, outputs, commitment and digest are all self-consistent) and still must be rejected.
@Suite struct ForgeryTests {
    typealias F = Fixture
    let alice = F.alice
    let bob = F.bob
    let mallory = F.accounts.prover(thread: "token", index: 1)

    /// A self-consistent submission of `txs` over the manager's canonical token state, skipping
    /// every signature check (what a dishonest prover would produce).
    func forge(_ manager: ManagerState, _ thread: ThreadInfo, _ program: Program, _ txs: [ThreadTransaction])
        -> SubBlockSubmission
    {
        let record = manager.record(thread.id)!
        var execution = ThreadExecution(
            program: program, base: MemoryState(record.state), threads: manager.crossThreadReader)
        for tx in txs { _ = execution.apply(tx) }
        let statement = execution.statement
        var sub = SubBlockSubmission(
            threadId: thread.id, sequence: record.sequence + 1, osVersion: record.osVersion, programHash: program.hash,
            inputs: statement.inputs, crossReads: statement.crossReads, outputs: statement.outputs,
            txCommitment: SubBlockSubmission.commitment(to: txs), transactions: txs, proofSystem: "reexec")
        sub.proof = ReexecProofSystem.digest(of: sub)
        return sub
    }

    /// Token state where alice holds 100.
    func funded() -> ManagerState {
        var manager = F.manager()
        let mint = F.tx(F.token, F.tokenProgram, "mint", [alice.address.hex, "100"], by: alice, nonce: 0)
        _ = manager.apply(bundle: [F.subBlock(manager, F.token, [mint])], txHash: "mint", programs: F.program)
        return manager
    }

    func transfer(to: DevAccount, _ amount: String, nonce: UInt64 = 1) -> ThreadTransaction {
        F.tx(F.token, F.tokenProgram, "transfer", [to.address.hex, amount], by: alice, nonce: nonce)
    }

    func expectBadProof(_ manager: ManagerState, _ sub: SubBlockSubmission, mentions: String) {
        var m = manager
        let outcome = m.apply(bundle: [sub], txHash: "forged", programs: F.program)
        #expect(outcome.revert?.code == .badProof)
        #expect(outcome.revert?.message.contains(mentions) == true, "\(String(describing: outcome.revert))")
        #expect(m.records == manager.records)
    }

    @Test func honestBaselineIsAccepted() {
        var manager = funded()
        let sub = forge(manager, F.token, F.tokenProgram, [transfer(to: bob, "30")])
        #expect(manager.apply(bundle: [sub], txHash: "ok", programs: F.program).status == .accepted)
    }

    @Test func changedCalldataIsRejected() {
        let manager = funded()
        var tx = transfer(to: bob, "30")
        tx.calldata = try! F.tokenProgram.abi.encodeCalldata(
            entrypoint: "transfer", arguments: [mallory.address.hex, "100"])
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [tx]), mentions: "bad signature")
    }

    @Test func changedEntrypointIsRejected() {
        let manager = funded()
        var tx = F.tx(F.token, F.tokenProgram, "mint", [bob.address.hex, "5"], by: alice, nonce: 1)
        tx.entrypoint = "transfer"
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [tx]), mentions: "bad signature")
    }

    @Test func signatureReusedForAnotherThreadIsRejected() {
        var manager = funded()
        // alice signed an increment for the counter thread; the prover replays it on the token thread
        // (same entrypoint shape does not matter: the thread id is signed).
        var tx = F.tx(F.counter, F.counterProgram, "increment", ["1"], by: alice, nonce: 1)
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [tx]), mentions: "signed for thread")
        tx.threadId = F.token.id
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [tx]), mentions: "bad signature")
        // The untouched transaction on its own thread is fine.
        let honest = F.tx(F.counter, F.counterProgram, "increment", ["1"], by: alice, nonce: 0)
        #expect(
            manager.apply(
                bundle: [forge(manager, F.counter, F.counterProgram, [honest])], txHash: "c", programs: F.program
            ).status == .accepted)
    }

    @Test func replayedTransactionIsRejected() {
        var manager = funded()
        let tx = transfer(to: bob, "30")
        #expect(
            manager.apply(bundle: [forge(manager, F.token, F.tokenProgram, [tx])], txHash: "1", programs: F.program)
                .status == .accepted)
        // Replaying it in the next sub-block: honest re-execution refuses the old nonce, so the
        // prover must claim the nonce's old value as input (stale) or a mismatching statement.
        let replay = forge(manager, F.token, F.tokenProgram, [tx])
        expectBadProof(manager, replay, mentions: "wrong nonce")
        // Twice in one sub-block.
        let fresh = transfer(to: bob, "1", nonce: 2)
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [fresh, fresh]), mentions: "wrong nonce")
        // Claiming the old nonce value as input instead is a stale input.
        var stale = manager
        var old = F.manager()
        _ = old.apply(
            bundle: [
                F.subBlock(
                    old, F.token,
                    [F.tx(F.token, F.tokenProgram, "mint", [alice.address.hex, "100"], by: alice, nonce: 0)])
            ], txHash: "mint", programs: F.program)
        var claimed = forge(old, F.token, F.tokenProgram, [tx])
        claimed.sequence = 3
        claimed.proof = ReexecProofSystem.digest(of: claimed)
        #expect(stale.apply(bundle: [claimed], txHash: "2", programs: F.program).revert?.code == .staleInput)
    }

    @Test func signingAsSomeoneElseIsRejected() {
        let manager = funded()
        var tx = ThreadTransaction(
            threadId: F.token.id, senderPublicKey: alice.publicKey, nonce: 1, entrypoint: "transfer",
            calldata: try! F.tokenProgram.abi.encodeCalldata(
                entrypoint: "transfer", arguments: [mallory.address.hex, "100"]))
        tx.signature = mallory.sign(tx.signingBytes)
        expectBadProof(manager, forge(manager, F.token, F.tokenProgram, [tx]), mentions: "bad signature")
        // Signing properly as itself makes mallory the caller, who has nothing to transfer.
        var own = tx
        own.sign(with: mallory)
        own.nonce = 0
        own.sign(with: mallory)
        var m = manager
        let sub = forge(manager, F.token, F.tokenProgram, [own])
        #expect(m.apply(bundle: [sub], txHash: "own", programs: F.program).status == .accepted)
        #expect(
            try! m.view(
                thread: F.token.id, entrypoint: "balance_of", arguments: [mallory.address.hex], programs: F.program
            ).formatted == "0")
        #expect(
            try! m.view(
                thread: F.token.id, entrypoint: "balance_of", arguments: [alice.address.hex], programs: F.program
            ).formatted == "100")
    }

    @Test func commitmentAndStatementMustMatchTheTransactions() {
        let manager = funded()
        let a = transfer(to: bob, "10", nonce: 1)
        let b = transfer(to: bob, "20", nonce: 2)
        var swapped = forge(manager, F.token, F.tokenProgram, [a, b])
        swapped.transactions = [b, a]
        swapped.proof = ReexecProofSystem.digest(of: swapped)
        expectBadProof(manager, swapped, mentions: "commitment")
        // Dropping a transaction but claiming its outputs.
        var dropped = forge(manager, F.token, F.tokenProgram, [a, b])
        dropped.transactions = [a]
        dropped.txCommitment = SubBlockSubmission.commitment(to: [a])
        dropped.proof = ReexecProofSystem.digest(of: dropped)
        expectBadProof(manager, dropped, mentions: "outputs")
        // Claiming a different output value.
        var inflated = forge(manager, F.token, F.tokenProgram, [a])
        inflated.outputs[0].value = inflated.outputs[0].value + 1000
        inflated.proof = ReexecProofSystem.digest(of: inflated)
        expectBadProof(manager, inflated, mentions: "outputs")
        // Hiding an input.
        var hidden = forge(manager, F.token, F.tokenProgram, [a])
        hidden.inputs.removeFirst()
        hidden.proof = ReexecProofSystem.digest(of: hidden)
        expectBadProof(manager, hidden, mentions: "inputs")
    }

    @Test func proveRefusesAnInconsistentStatement() {
        let manager = funded()
        var sub = forge(manager, F.token, F.tokenProgram, [transfer(to: bob, "5")])
        sub.outputs = []
        #expect(throws: ProofError.self) { try sub.proved(by: ReexecProofSystem(), program: F.tokenProgram) }
    }

    /// A prover that pretends another thread does not exist, to make a user's `xload` fail.
    /// Leaving the read out of the statement is caught by re-execution; claiming "not registered"
    /// is caught by the manager.
    @Test func aCensoredCrossThreadReadIsRejected() {
        var manager = F.manager()
        let done = F.tx(F.achievements, F.achievementsProgram, "complete_level", ["3"], by: bob, nonce: 0)
        _ = manager.apply(
            bundle: [F.subBlock(manager, F.achievements, [done])], txHash: "level", programs: F.program)
        let unlock = F.tx(F.karts, F.kartsProgram, "unlock_kart", ["1", "3"], by: bob, nonce: 0)

        // Run as if achievements were unknown: the transaction fails, and the statement says why.
        let record = manager.record(F.karts.id)!
        var execution = ThreadExecution(program: F.kartsProgram, base: MemoryState(record.state), threads: NoThreads())
        _ = try? execution.apply(unlock).get()
        let statement = execution.statement
        #expect(statement.crossReads.count == 1)
        #expect(statement.crossReads.first?.registered == false)
        #expect(statement.results.first?.failure != nil)

        func submission(crossReads: [CrossRead]) -> SubBlockSubmission {
            var sub = SubBlockSubmission(
                threadId: F.karts.id, sequence: record.sequence + 1, osVersion: record.osVersion,
                programHash: F.kartsProgram.hash, inputs: statement.inputs, crossReads: crossReads,
                outputs: statement.outputs, txCommitment: SubBlockSubmission.commitment(to: [unlock]),
                transactions: [unlock], proofSystem: "reexec")
            sub.proof = ReexecProofSystem.digest(of: sub)
            return sub
        }
        // The read left out: re-execution records it, so the claims do not match.
        expectBadProof(manager, submission(crossReads: []), mentions: "cross reads")
        // The read claimed as "not registered": the manager knows achievements.
        var m = manager
        let outcome = m.apply(
            bundle: [submission(crossReads: statement.crossReads)], txHash: "censored", programs: F.program)
        #expect(outcome.revert?.code == .staleCrossRead)
        #expect(outcome.revert?.message.contains("not registered") == true, "\(String(describing: outcome.revert))")
        // The honest sub-block settles the unlock.
        let honest = F.subBlock(manager, F.karts, [unlock])
        #expect(m.apply(bundle: [honest], txHash: "honest", programs: F.program).status == .accepted)
    }

    /// A read of a thread that really is not registered is bound too, and accepted as claimed.
    @Test func aReadOfAnUnregisteredThreadIsBoundAndAccepted() {
        var manager = ManagerState()
        _ = manager.register(
            F.registration(F.karts, F.kartsProgram, contract: "karts"), txHash: "reg", programs: F.program)
        let unlock = F.tx(F.karts, F.kartsProgram, "unlock_kart", ["1", "3"], by: bob, nonce: 0)
        let sub = F.subBlock(manager, F.karts, [unlock])
        #expect(sub.crossReads == [.unregistered(thread: F.achievements.id, key: sub.crossReads.first!.key)])
        #expect(manager.apply(bundle: [sub], txHash: "ok", programs: F.program).status == .accepted)
    }
}
