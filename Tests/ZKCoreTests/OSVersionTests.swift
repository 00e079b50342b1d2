import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// Threads pinned to OS version 2 (the provable OS) beside version 1 threads: registration, the
/// static checks, re-execution under version 2's rules, and upgrades.
@Suite struct OSVersionTests {
    typealias F = Fixture

    /// A stand-in for the `stark` proof system, which proves only version 2.
    struct StandInStark: ProofSystem {
        var name: String { "stark" }
        func prove(_ submission: SubBlockSubmission, program: Program) throws -> Data { Data() }
        func verify(_ submission: SubBlockSubmission, program: Program) -> ProofCheck { .ok }
    }

    /// `jz` to a label past the last instruction: it assembles, and fails version 2's checks.
    static let badJump = try! Assembler.assemble(
        """
        .entry main() -> felt
            set r0, 1
            jz r0, done
            ret r0
        done:
        """)

    /// Counts down from its argument: 2 steps per round.
    static let spinner = try! Assembler.assemble(
        """
        .entry spin(n: u64)
            arg r0, 0
            set r1, 1
        again:
            sub r0, r0, r1
            jnz r0, again
            ret
        """)

    /// Adds 1 to what `xload` reads of thread `thread`, key (1, 0, 0, 0), and stores it at the same key.
    static let copier = try! Assembler.assemble(
        """
        .entry copy(thread: felt)
            arg r4, 0
            set r0, 1
            xload r5, r4, r0
            addi r5, r5, 1
            store r0, r5
            ret
        """)

    static func programs(_ hash: ProgramHash) -> Program? {
        F.program(hash) ?? [badJump, spinner, copier].first { $0.hash == hash }
    }

    static func register(
        _ manager: inout ManagerState, _ thread: ThreadInfo, _ program: Program, version: UInt32,
        sender: Address? = nil, publish: Bool = true
    ) -> ManagerOutcome {
        manager.register(
            ThreadRegistration(
                name: thread.name, contract: thread.name, programHash: program.hash, osVersion: version,
                program: publish ? HexBytes(program.canonicalEncoding) : nil),
            txHash: "reg-\(thread.name)-\(program.hash)-\(version)-\(publish)", sender: sender, programs: programs)
    }

    /// A proved sub-block of `txs` over the manager's canonical state of `thread`, which runs `program`.
    static func subBlock(
        _ manager: ManagerState, _ thread: ThreadInfo, _ program: Program, _ txs: [ThreadTransaction]
    ) throws -> SubBlockSubmission {
        let record = try #require(manager.record(thread.id))
        var batcher = SubBlockBatcher(
            thread: thread, program: program, osVersion: record.osVersion, canonical: MemoryState(record.state),
            sequence: record.sequence, threads: manager.crossThreadReader)
        for tx in txs { _ = try batcher.add(tx).get() }
        return try batcher.seal()!.proved(by: ReexecProofSystem(), program: program)
    }

    @Test func bothVersionsAreSupportedAndVersion1StaysTheDefault() {
        #expect(OSVersion.supported == [1, 2])
        #expect(OSVersion.current == 1 && OSVersion.provable == 2)
        #expect(OSVersion.rules(1) == .v1 && OSVersion.rules(2) == .v2 && OSVersion.rules(3) == nil)
        #expect(OSVersion.defaultVersion(proofSystem: "reexec") == 1)
        #expect(OSVersion.defaultVersion(proofSystem: "stark") == 2)
        #expect(ThreadRegistration(name: "t", contract: "t", programHash: F.counterProgram.hash).osVersion == 1)
        #expect(
            SubBlockBatcher(thread: F.counter, program: F.counterProgram, canonical: .init(), sequence: 0).rules == .v1)
        #expect(
            SubBlockBatcher(thread: F.counter, program: F.counterProgram, osVersion: 2, canonical: .init(), sequence: 0)
                .rules == .v2)
    }

    @Test func registrationRefusesAProgramThatFailsTheStaticChecks() {
        var manager = ManagerState()
        let refused = Self.register(&manager, F.counter, Self.badJump, version: 2)
        #expect(refused.revert?.code == .badProgram)
        // A published program carries no source lines: the reason names the instruction.
        #expect(
            refused.revert?.message
                == "thread counter: program \(Self.badJump.hash) fails the static checks of OS version 2: instruction 1: jz target 3 is outside the program (3 instructions)"
        )
        #expect(manager.record(F.counter.id) == nil)
        // One the manager already has is checked too.
        #expect(
            Self.register(&manager, F.counter, Self.badJump, version: 2, publish: false).revert?.code == .badProgram)
        // Version 1 has no static checks.
        #expect(Self.register(&manager, F.counter, Self.badJump, version: 1).status == .accepted)
        #expect(manager.record(F.counter.id)?.osVersion == 1)
        #expect(Self.register(&manager, F.token, F.tokenProgram, version: 2).status == .accepted)
        #expect(manager.record(F.token.id)?.osVersion == 2)
    }

    @Test func starkProvesVersion2Only() {
        var manager = ManagerState(proofSystems: ProofSystems([ReexecProofSystem(), StandInStark()]))
        var registration = ThreadRegistration(
            name: "token", contract: "token", programHash: F.tokenProgram.hash, osVersion: 1, proofSystem: "stark")
        let refused = manager.register(registration, txHash: "r1", programs: F.program)
        #expect(refused.revert?.code == .unsupportedOSVersion)
        #expect(refused.revert?.message == "thread token: proof system 'stark' proves OS version 2 only, not 1")
        registration.osVersion = 2
        #expect(manager.register(registration, txHash: "r2", programs: F.program).status == .accepted)
    }

    /// A version 2 token thread beside a version 1 one: its sub-blocks are proved and verified by
    /// re-execution under version 2's rules, its keys are Poseidon2 keys, and views use them.
    @Test func aVersion2ThreadProvesAndVerifiesByReexecution() throws {
        var manager = ManagerState()
        #expect(Self.register(&manager, F.token, F.tokenProgram, version: 2).status == .accepted)
        #expect(Self.register(&manager, F.counter, F.counterProgram, version: 1).status == .accepted)
        let txs = [
            F.tx(F.token, F.tokenProgram, "mint", [F.alice.address.hex, "100"], by: F.alice, nonce: 0),
            F.tx(F.token, F.tokenProgram, "transfer", [F.bob.address.hex, "30"], by: F.alice, nonce: 1),
        ]
        let sub = F.subBlock(manager, F.token, txs)
        #expect(sub.osVersion == 2)
        #expect(ReexecProofSystem().verify(sub, program: F.tokenProgram) == .ok)
        let outcome = manager.apply(bundle: [sub], txHash: "u1", programs: F.program)
        #expect(outcome.status == .accepted, "\(String(describing: outcome.revert))")
        let aliceKey = VMRules.v2.hash([1] + F.alice.address.words)
        #expect(manager.canonicalValue(thread: F.token.id, key: aliceKey) == 70)
        #expect(manager.canonicalValue(thread: F.token.id, key: StorageKey.map(slot: 1, F.alice.address.words)) == 0)
        let view = try manager.view(
            thread: F.token.id, entrypoint: "balance_of", arguments: [F.bob.address.hex], programs: F.program)
        #expect(view.formatted == "30")

        // The same statement claimed under version 1 does not re-execute to the same keys.
        var relabelled = sub
        relabelled.osVersion = 1
        relabelled.proof = ReexecProofSystem.digest(of: relabelled)
        let check = ReexecProofSystem().verify(relabelled, program: F.tokenProgram)
        #expect(!check.isOK)
        #expect(check.description.hasPrefix("re-execution does not reproduce the claimed inputs"))
        // And the manager refuses a version the thread is not pinned to before any proof check.
        let next = F.subBlock(
            manager, F.token,
            [F.tx(F.token, F.tokenProgram, "transfer", [F.bob.address.hex, "1"], by: F.alice, nonce: 2)])
        var wrong = next
        wrong.osVersion = 1
        #expect(manager.apply(bundle: [wrong], txHash: "u2", programs: F.program).revert?.code == .wrongOSVersion)
        #expect(manager.apply(bundle: [next], txHash: "u3", programs: F.program).status == .accepted)
    }

    /// 600 rounds take about 1,200 steps: over version 2's bound, well under version 1's.
    @Test func aLoopingTransactionRunsOutOfStepsInVersion2() throws {
        var manager = ManagerState()
        let v1 = ThreadInfo(name: "spin-v1")
        let v2 = ThreadInfo(name: "spin-v2")
        #expect(Self.register(&manager, v1, Self.spinner, version: 1).status == .accepted)
        #expect(Self.register(&manager, v2, Self.spinner, version: 2).status == .accepted)
        for thread in [v1, v2] {
            let record = try #require(manager.record(thread.id))
            let tx = F.tx(thread, Self.spinner, "spin", ["600"], by: F.alice, nonce: 0)
            var batcher = SubBlockBatcher(
                thread: thread, program: Self.spinner, osVersion: record.osVersion, canonical: MemoryState(),
                sequence: 0)
            #expect(batcher.rules.version == record.osVersion)
            let result = try batcher.add(tx).get()
            if record.osVersion == 2 {
                #expect(result.failure == .outOfSteps(limit: 1_024))
                #expect(result.steps == 1_024)
            } else {
                #expect(result.succeeded)
            }
            let sub = try batcher.seal()!.proved(by: ReexecProofSystem(), program: Self.spinner)
            let outcome = manager.apply(bundle: [sub], txHash: "spin-\(thread.name)", programs: Self.programs)
            #expect(outcome.status == .accepted)
            let settled = try #require(manager.settlements[tx.txHash])
            #expect(
                settled.failure == (record.osVersion == 2 ? "out of steps: the limit of 1024 steps was reached" : nil))
        }
    }

    @Test func xloadOfAnUnregisteredThreadReadsZeroInVersion2AndTheClaimIsChecked() throws {
        var manager = ManagerState()
        let copier = ThreadInfo(name: "copier")
        #expect(Self.register(&manager, copier, Self.copier, version: 2).status == .accepted)
        // The token thread is not registered yet.
        let tx = F.tx(copier, Self.copier, "copy", [F.token.id.description], by: F.alice, nonce: 0)
        let sub = try Self.subBlock(manager, copier, Self.copier, [tx])
        let key = StorageKey(1, 0, 0, 0)
        #expect(sub.crossReads == [.unregistered(thread: F.token.id, key: key)])
        #expect(sub.outputs.contains(KeyValue(key: key, value: 1)))
        #expect(ReexecProofSystem().verify(sub, program: Self.copier) == .ok)

        // Once token is registered, the claim that it is not is stale.
        var later = manager
        #expect(Self.register(&later, F.token, F.tokenProgram, version: 1).status == .accepted)
        #expect(later.apply(bundle: [sub], txHash: "c1", programs: Self.programs).revert?.code == .staleCrossRead)
        // Before that, it is accepted, and the transaction succeeded.
        #expect(manager.apply(bundle: [sub], txHash: "c2", programs: Self.programs).status == .accepted)
        #expect(manager.settlements[tx.txHash]?.failure == nil)
        #expect(manager.canonicalValue(thread: copier.id, key: key) == 1)
    }

    @Test func upgradesOfAVersion2ThreadAreChecked() throws {
        let owner = F.accounts.prover(thread: "counter", index: 1).address
        var manager = ManagerState()
        #expect(Self.register(&manager, F.counter, F.counterProgram, version: 2, sender: owner).status == .accepted)
        let bad = ThreadUpgrade(
            threadId: F.counter.id, programHash: Self.badJump.hash, program: HexBytes(Self.badJump.canonicalEncoding))
        let refusal = manager.checkUpgrade(bad, sender: owner, programs: Self.programs)
        #expect(refusal?.code == .badProgram)
        #expect(
            refusal?.message.hasSuffix("instruction 1: jz target 3 is outside the program (3 instructions)") == true)
        // A program the manager has, not published with the upgrade, is checked as well.
        let known = ThreadUpgrade(threadId: F.counter.id, programHash: Self.badJump.hash)
        #expect(manager.checkUpgrade(known, sender: owner, programs: Self.programs)?.code == .badProgram)
        // Versions 1 and 2 key state differently: a thread cannot move between them.
        let down = ThreadUpgrade(threadId: F.counter.id, programHash: F.counterProgram.hash, osVersion: 1)
        #expect(manager.checkUpgrade(down, sender: owner, programs: Self.programs)?.code == .unsupportedOSVersion)
        let same = ThreadUpgrade(threadId: F.counter.id, programHash: Self.spinner.hash, osVersion: 2)
        #expect(manager.checkUpgrade(same, sender: owner, programs: Self.programs) == nil)
        #expect(manager.upgrade(same, txHash: "up", sender: owner, programs: Self.programs).status == .accepted)
        #expect(manager.record(F.counter.id)?.osVersion == 2)
    }

    @Test func aNodeTakesUpTheVersionOfTheCanonicalRecord() {
        var pipeline = NodePipeline(
            configuration: NodePipeline.Configuration(thread: F.token, program: F.tokenProgram))
        #expect(pipeline.configuration.rules == .v1)
        _ = pipeline.syncStarted()
        pipeline.synced(canonical: MemoryState(), sequence: 0, settled: [:], osVersion: 2)
        #expect(pipeline.configuration.osVersion == 2)
        #expect(pipeline.configuration.rules == .v2)
    }
}
