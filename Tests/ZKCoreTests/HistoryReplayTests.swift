import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// The offline replay of the L2 history re-executes every accepted sub-block from genesis without
/// trusting its claims: on an honest history it finds nothing and ends on the manager's roots; on
/// a history a broken manager accepted, it names the sub-block or transaction at fault.
@Suite struct HistoryReplayTests {
    typealias F = Fixture

    /// An L2 history being written: each entry is what the sequencer's `history` request returns.
    struct History {
        var manager = ManagerState()
        var entries: [(tx: L2Transaction, receipt: Receipt)] = []
        var l2Nonce: UInt64 = 0

        /// Includes `payload` in the next block, with the outcome `decide` gives its hash.
        mutating func include(_ payload: L2Payload, _ decide: (String, inout ManagerState) -> ManagerOutcome) {
            let tx = L2Transaction.make(signer: F.accounts.users[3], nonce: l2Nonce, maxFee: 100, payload: payload)
            l2Nonce += 1
            let result = decide(tx.txHash, &manager)
            entries.append(
                (
                    tx,
                    Receipt(
                        txHash: tx.txHash, blockNumber: UInt64(entries.count + 1), index: 0, status: result.status,
                        revert: result.revert, feeCharged: 10, events: result.events)
                ))
        }

        /// Registers the four shipped threads, as `devnet up` does.
        init() {
            for (thread, program, contract) in [
                (F.token, F.tokenProgram, "token"), (F.achievements, F.achievementsProgram, "achievements"),
                (F.karts, F.kartsProgram, "karts"), (F.counter, F.counterProgram, "counter"),
            ] {
                var registration = F.registration(thread, program, contract: contract)
                registration.program = HexBytes(program.canonicalEncoding)
                include(.registerThread(registration)) { hash, manager in
                    manager.register(registration, txHash: hash, programs: F.program)
                }
            }
        }

        /// Submits a bundle to the honest manager and records what it answered.
        mutating func submit(_ bundle: [SubBlockSubmission]) -> ManagerOutcome {
            include(.threadUpdate(bundle: bundle)) { hash, manager in
                manager.apply(bundle: bundle, txHash: hash, programs: F.program)
            }
            return ManagerOutcome(
                txHash: entries.last!.receipt.txHash, status: entries.last!.receipt.status,
                events: entries.last!.receipt.events)
        }

        /// Records a bundle as accepted whatever the rules say: what a broken manager would do.
        mutating func acceptAnyway(_ bundle: [SubBlockSubmission]) {
            include(.threadUpdate(bundle: bundle)) { hash, _ in
                ManagerOutcome(
                    txHash: hash, status: .accepted,
                    events: bundle.map {
                        ProtocolEvent(kind: .subBlockAccepted, threadId: $0.threadId, sequence: $0.sequence)
                    })
            }
        }

        func replay() -> HistoryReplay {
            var replay = HistoryReplay()
            for entry in entries { replay.apply(entry.tx, receipt: entry.receipt) }
            return replay
        }

        var live: [(name: String, sequence: UInt64, stateRoot: String)] {
            manager.records.map { ($0.name, $0.sequence, $0.stateRoot) }
        }
    }

    /// A seeded random honest history (counter increments, levels, kart unlocks that read the
    /// achievements thread, some bundles tampered into reverts): nothing found, same roots.
    /// `HISTORY_REPLAY_SEED` replays one seed.
    @Test(
        arguments: ProcessInfo.processInfo.environment["HISTORY_REPLAY_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? [1, 2, 3])
    func anHonestHistoryReplaysToTheManagersRoots(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var history = History()
        var nonces: [String: UInt64] = [:]
        let signers = [F.alice, F.bob, F.carol]
        var accepted = 0
        for _ in 0..<40 {
            let signer = signers[Int(random.next() % 3)]
            let pick = random.next() % 3
            let account = "\(pick) \(signer.address.hex)"
            let nonce = nonces[account, default: 0]
            let (thread, program, entrypoint, arguments): (ThreadInfo, Program, String, [String]) =
                switch pick {
                case 0: (F.counter, F.counterProgram, "increment", ["\(random.next() % 9 + 1)"])
                case 1: (F.achievements, F.achievementsProgram, "complete_level", ["\(random.next() % 3 + 1)"])
                default:
                    (F.karts, F.kartsProgram, "unlock_kart", ["\(random.next() % 3 + 1)", "\(random.next() % 3 + 1)"])
                }
            var sub = F.subBlock(
                history.manager, thread, [F.tx(thread, program, entrypoint, arguments, by: signer, nonce: nonce)])
            if random.next() % 5 == 0 { sub.proof = Data([1, 2, 3]) }  // reverted: BAD_PROOF
            if history.submit([sub]).status == .accepted {
                nonces[account] = nonce + 1
                accepted += 1
            }
        }
        let replay = history.replay()
        #expect(accepted > 20 && replay.subBlocks == accepted, "seed \(seed)")
        #expect(replay.findings.isEmpty, "seed \(seed): \(replay.findings)")
        #expect(replay.compare(with: history.live).isEmpty, "seed \(seed)")
        #expect(replay.threads.values.contains { $0.name == "karts" && $0.sequence > 0 }, "seed \(seed)")
    }

    @Test func aCrossReadTheOtherThreadHadMovedPastIsNamed() {
        var history = History()
        // Alice completes level 1, and a kart unlock is prepared against that state.
        let level = F.subBlock(
            history.manager, F.achievements,
            [F.tx(F.achievements, F.achievementsProgram, "complete_level", ["1"], by: F.alice, nonce: 0)])
        #expect(history.submit([level]).status == .accepted)
        let unlock = F.subBlock(
            history.manager, F.karts,
            [F.tx(F.karts, F.kartsProgram, "unlock_kart", ["1", "1"], by: F.alice, nonce: 0)])
        #expect(unlock.crossReads.count == 1)
        // The achievements thread moves on: a new statement resets nothing, so instead the read
        // is claimed with another value and accepted by a manager that does not check.
        var stale = unlock
        stale.crossReads[0].value = stale.crossReads[0].value + .one
        history.acceptAnyway([stale])
        let findings = history.replay().findings
        let crossRead = findings.filter { $0.kind == .crossRead }
        #expect(crossRead.count >= 1)
        #expect(crossRead.first?.subject == "thread karts sub-block 1")
        #expect(crossRead.first?.message.contains("achievements") == true, "\(findings)")
        // The honest statement of the same sub-block replays cleanly.
        var honest = History()
        _ = honest.submit([level])
        #expect(honest.submit([unlock]).status == .accepted)
        #expect(honest.replay().findings.isEmpty)
    }

    @Test func aTransactionAppliedTwiceIsNamed() {
        var history = History()
        let bump = F.tx(F.counter, F.counterProgram, "increment", ["5"], by: F.bob, nonce: 0)
        let sub = F.subBlock(history.manager, F.counter, [bump])
        #expect(history.submit([sub]).status == .accepted)
        // A broken manager accepts the same transactions again as the next sub-block.
        var again = sub
        again.sequence = 2
        history.acceptAnyway([again])
        let findings = history.replay().findings
        let subject = "tx \(bump.txHash.prefix(12)) (thread counter sub-block 2, transaction 1: increment)"
        #expect(findings.contains { $0.subject == subject && $0.message.contains("applied twice") }, "\(findings)")
        #expect(findings.contains { $0.subject == subject && $0.message.contains("wrong nonce") })
    }

    @Test func aReceiptRootThatReExecutionDoesNotGiveIsNamed() {
        var history = History()
        let sub = F.subBlock(
            history.manager, F.counter,
            [F.tx(F.counter, F.counterProgram, "increment", ["3"], by: F.carol, nonce: 0)])
        // Outputs claimed with another value: the manager applied what it was told.
        var inflated = sub
        let index = inflated.outputs.firstIndex { $0.value == Felt(3) }!
        inflated.outputs[index].value = Felt(4)
        history.acceptAnyway([inflated])
        let findings = history.replay().findings
        #expect(
            findings.contains {
                $0.kind == .replay && $0.subject == "thread counter sub-block 1" && $0.message.contains("other values")
            }, "\(findings)")
        // The manager's record after applying the claimed outputs is not the replayed one.
        var broken = ManagerState()
        _ = broken.register(
            F.registration(F.counter, F.counterProgram, contract: "counter"), txHash: "r", programs: F.program)
        var record = broken.record(F.counter.id)!
        record.accept(inflated)
        let mismatch = history.replay().compare(
            with: history.live.filter { $0.name != "counter" } + [(record.name, record.sequence, record.stateRoot)])
        #expect(mismatch.map(\.subject) == ["thread counter"])
        #expect(mismatch.first?.message.contains("after re-executing its 1 sub-blocks") == true)
        // And a thread the manager does not list is named.
        #expect(history.replay().compare(with: []).count == 4)
    }

    @Test func aSubBlockSkippingASequenceIsNamed() {
        var history = History()
        let sub = F.subBlock(
            history.manager, F.counter,
            [F.tx(F.counter, F.counterProgram, "increment", ["1"], by: F.alice, nonce: 0)], sequence: 2)
        history.acceptAnyway([sub])
        let findings = history.replay().findings
        #expect(findings.map(\.subject) == ["thread counter sub-block 2"])
        #expect(findings.first?.message.contains("sequences skipped") == true)
    }
}
