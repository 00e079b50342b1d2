import Foundation
import ThreadVM

@testable import ZKCore

/// Shared fixtures: one seeded account set and the shipped contracts.
enum Fixture {
    static let accounts = DevAccounts.derive(seed: 42)
    static var alice: DevAccount { accounts.users[0] }
    static var bob: DevAccount { accounts.users[1] }
    static var carol: DevAccount { accounts.users[2] }

    static let token = ThreadInfo(name: "token")
    static let achievements = ThreadInfo(name: "achievements")
    static let karts = ThreadInfo(name: "karts")
    static let counter = ThreadInfo(name: "counter")

    static let tokenProgram = try! Contracts.named("token")
    static let achievementsProgram = try! Contracts.named("achievements")
    static let kartsProgram = try! Contracts.named("karts", constants: ["ACHIEVEMENTS_THREAD": achievements.id])
    static let counterProgram = try! Contracts.named("counter")

    static let programs: [ProgramHash: Program] = Dictionary(
        uniqueKeysWithValues: [tokenProgram, achievementsProgram, kartsProgram, counterProgram].map { ($0.hash, $0) })

    static func program(_ hash: ProgramHash) -> Program? { programs[hash] }

    static func registration(_ thread: ThreadInfo, _ program: Program, contract: String, genesis: [KeyValue] = [])
        -> ThreadRegistration
    {
        ThreadRegistration(name: thread.name, contract: contract, programHash: program.hash, genesisState: genesis)
    }

    /// A manager with token, achievements, karts and counter registered.
    static func manager() -> ManagerState {
        var manager = ManagerState()
        for (thread, program, contract) in [
            (token, tokenProgram, "token"), (achievements, achievementsProgram, "achievements"),
            (karts, kartsProgram, "karts"), (counter, counterProgram, "counter"),
        ] {
            let outcome = manager.register(
                registration(thread, program, contract: contract), txHash: "reg-\(thread.name)", programs: program(_:))
            precondition(outcome.status == .accepted, "\(outcome)")
        }
        return manager
    }

    static func tx(
        _ thread: ThreadInfo, _ program: Program, _ entrypoint: String, _ arguments: [String], by signer: DevAccount,
        nonce: UInt64
    ) -> ThreadTransaction {
        try! ThreadTransaction.make(
            thread: thread.id, contract: program, entrypoint: entrypoint, arguments: arguments, signer: signer,
            nonce: nonce)
    }

    /// A proved sub-block of `txs` over the manager's canonical state of `thread`.
    static func subBlock(
        _ manager: ManagerState, _ thread: ThreadInfo, _ txs: [ThreadTransaction], sequence: UInt64? = nil
    ) -> SubBlockSubmission {
        let record = manager.record(thread.id)!
        var batcher = SubBlockBatcher(
            thread: thread, program: programs[record.programHash]!, osVersion: record.osVersion,
            proofSystem: record.proofSystem, canonical: MemoryState(record.state), sequence: record.sequence,
            threads: manager.crossThreadReader)
        for tx in txs {
            if case .failure(let refusal) = batcher.add(tx) { fatalError("\(refusal)") }
        }
        var submission = batcher.seal()!
        if let sequence { submission.sequence = sequence }
        return try! submission.proved(by: ReexecProofSystem(), program: programs[record.programHash]!)
    }
}
