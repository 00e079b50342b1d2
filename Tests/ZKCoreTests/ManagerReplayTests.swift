import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// A manager restarting replays its log: accepted bundles are applied again with their proofs read
/// back cheaply (``ProofSystem/replayReportingFailures(_:program:)``), reverted ones only
/// remembered. The replayed state must be the live one, exactly.
@Suite struct ManagerReplayTests {
    typealias F = Fixture

    /// A seeded random history of accepted, failing and reverted sub-blocks on three threads,
    /// replayed into a fresh manager. `MANAGER_REPLAY_SEED` replays one seed.
    @Test(
        arguments: ProcessInfo.processInfo.environment["MANAGER_REPLAY_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? [1, 2, 3])
    func aReplayedLogGivesTheLiveStateExactly(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        var live = F.manager()
        var log: [(bundle: [SubBlockSubmission], txHash: String, block: UInt64, outcome: ManagerOutcome)] = []
        var nonces: [String: UInt64] = [:]  // per thread and account
        let signers = [F.alice, F.bob, F.carol]
        for step in 0..<40 {
            let signer = signers[Int(random.next() % 3)]
            let pick = random.next() % 3
            let account = "\(pick) \(signer.address.hex)"
            let nonce = nonces[account, default: 0]
            let tx: ThreadTransaction
            let thread: ThreadInfo
            switch pick {
            case 0:
                thread = F.counter
                tx = F.tx(
                    F.counter, F.counterProgram, "increment", ["\(random.next() % 9 + 1)"], by: signer, nonce: nonce)
            case 1:
                thread = F.achievements
                tx = F.tx(
                    F.achievements, F.achievementsProgram, "complete_level", ["\(random.next() % 3 + 1)"], by: signer,
                    nonce: nonce)
            default:
                // Fails unless the level was completed: a failed call the replay must report too.
                thread = F.karts
                tx = F.tx(
                    F.karts, F.kartsProgram, "unlock_kart", ["\(random.next() % 3 + 1)", "\(random.next() % 3 + 1)"],
                    by: signer, nonce: nonce)
            }
            var sub = F.subBlock(live, thread, [tx])
            switch random.next() % 5 {
            case 0: sub.proof = Data([1, 2, 3])  // BAD_PROOF
            case 1: sub.sequence += 1  // WRONG_SEQUENCE
            default: break
            }
            let txHash = "l2-\(step)"
            let outcome = live.apply(bundle: [sub], txHash: txHash, block: UInt64(step + 2), programs: F.program)
            if outcome.status == .accepted { nonces[account] = nonce + 1 }
            log.append(([sub], txHash, UInt64(step + 2), outcome))
        }
        #expect(log.contains { $0.outcome.status == .reverted } && log.contains { $0.outcome.status == .accepted })
        #expect(live.settlements.values.contains { $0.failure != nil }, "no failed call in seed \(seed)")

        var replayed = F.manager()
        for entry in log {
            if entry.outcome.status == .reverted {
                replayed.remember(entry.outcome)
            } else {
                let again = replayed.apply(
                    bundle: entry.bundle, txHash: entry.txHash, block: entry.block, programs: F.program, replaying: true
                )
                #expect(again == entry.outcome, "seed \(seed), \(entry.txHash)")
            }
        }
        for thread in [F.counter, F.achievements, F.karts] {
            #expect(replayed.record(thread.id) == live.record(thread.id), "seed \(seed), thread \(thread.name)")
        }
        #expect(replayed.settlements == live.settlements)
        #expect(replayed.outcomes == live.outcomes)
    }

    /// The cheap read-back does skip the signatures: it is for the manager's own log only.
    @Test func theReplayTakesSignaturesAsChecked() throws {
        let manager = F.manager()
        var tx = F.tx(F.counter, F.counterProgram, "increment", ["1"], by: F.alice, nonce: 0)
        var forged = tx.signature.bytes
        forged[0] ^= 1
        tx.signature = HexBytes(forged)
        var batcher = SubBlockBatcher(
            thread: F.counter, program: F.counterProgram,
            canonical: MemoryState(manager.record(F.counter.id)!.state), sequence: 0)
        _ = batcher.add(tx, signatureChecked: true)
        let sub = try batcher.seal()!.proved(by: ReexecProofSystem(), program: F.counterProgram)
        let system = ReexecProofSystem()
        #expect(!system.verify(sub, program: F.counterProgram).isOK)
        #expect(system.replayReportingFailures(sub, program: F.counterProgram).0.isOK)
    }
}
