import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// The manager's registration and acceptance rules, each with its passing and failing side.
@Suite struct ManagerTests {
    typealias F = Fixture
    let alice = F.alice
    let bob = F.bob

    func mint(_ to: DevAccount, _ amount: UInt64, by signer: DevAccount, nonce: UInt64) -> ThreadTransaction {
        F.tx(F.token, F.tokenProgram, "mint", [to.address.hex, String(amount)], by: signer, nonce: nonce)
    }

    func increment(_ by: UInt64, signer: DevAccount, nonce: UInt64) -> ThreadTransaction {
        F.tx(F.counter, F.counterProgram, "increment", [String(by)], by: signer, nonce: nonce)
    }

    func balance(_ manager: ManagerState, _ account: DevAccount) throws -> String {
        try manager.view(
            thread: F.token.id, entrypoint: "balance_of", arguments: [account.address.hex], programs: F.program
        )
        .formatted
    }

    // MARK: Registration

    @Test func registrationAndItsRevertReasons() {
        var manager = ManagerState()
        let genesis = [KeyValue(key: StorageKey.derive([1]), value: 5)]
        let reg = F.registration(F.counter, F.counterProgram, contract: "counter", genesis: genesis)
        let ok = manager.register(reg, txHash: "r1", programs: F.program)
        #expect(ok.status == .accepted)
        #expect(ok.events.first?.kind == .threadRegistered)
        let record = manager.record(F.counter.id)
        #expect(record?.sequence == 0)
        #expect(record?.stateRoot == StateRoot.of([StorageKey.derive([1]): 5]))
        #expect(manager.canonicalValue(thread: F.counter.id, key: StorageKey.derive([1])) == 5)

        #expect(manager.register(reg, txHash: "r2", programs: F.program).revert?.code == .threadExists)

        var unknownProgram = F.registration(F.token, F.tokenProgram, contract: "token")
        unknownProgram.programHash = ProgramHash(bytes: Array(repeating: 7, count: 32))
        let up = manager.register(unknownProgram, txHash: "r3", programs: F.program)
        #expect(up.revert?.code == .unknownProgram)
        #expect(up.revert?.message.contains("token") == true)

        var badSystem = F.registration(F.token, F.tokenProgram, contract: "token")
        badSystem.proofSystem = "magic"
        let bs = manager.register(badSystem, txHash: "r4", programs: F.program)
        #expect(bs.revert?.code == .unknownProofSystem)
        #expect(bs.revert?.message.contains("reexec") == true)

        var badId = F.registration(F.token, F.tokenProgram, contract: "token")
        badId.threadId = 12345
        #expect(manager.register(badId, txHash: "r5", programs: F.program).revert?.code == .badThreadId)

        var badOS = F.registration(F.token, F.tokenProgram, contract: "token")
        badOS.osVersion = 9
        #expect(manager.register(badOS, txHash: "r6", programs: F.program).revert?.code == .unsupportedOSVersion)

        #expect(manager.records.count == 1)
        // Idempotent: the earlier revert stays the answer for its txHash even now that it would pass.
        #expect(
            manager.register(
                F.registration(F.token, F.tokenProgram, contract: "token"), txHash: "r3", programs: F.program) == up)
        #expect(manager.record(F.token.id) == nil)
        #expect(
            manager.register(
                F.registration(F.token, F.tokenProgram, contract: "token"), txHash: "r7", programs: F.program
            ).status == .accepted)
    }

    // MARK: Token

    @Test func tokenMintAndTransferAccepted() throws {
        var manager = F.manager()
        let rootBefore = manager.record(F.token.id)!.stateRoot
        let txs = [
            mint(alice, 100, by: alice, nonce: 0),
            F.tx(F.token, F.tokenProgram, "transfer", [bob.address.hex, "30"], by: alice, nonce: 1),
        ]
        let sub = F.subBlock(manager, F.token, txs)
        #expect(sub.sequence == 1)
        let outcome = manager.apply(bundle: [sub], txHash: "u1", programs: F.program)
        #expect(outcome.status == .accepted, "\(String(describing: outcome.revert))")
        #expect(outcome.events.map(\.kind) == [.subBlockAccepted])
        #expect(outcome.events.first?.sequence == 1)
        #expect(outcome.events.first?.transactionCount == 2)
        let record = manager.record(F.token.id)!
        #expect(record.sequence == 1)
        #expect(record.stateRoot != rootBefore)
        #expect(record.stateRoot == StateRoot.of(record.state))
        #expect(try balance(manager, alice) == "70")
        #expect(try balance(manager, bob) == "30")
        #expect(manager.canonicalValue(thread: F.token.id, key: ThreadNonce.key(of: alice.address)) == 2)
    }

    @Test func failedVMTransactionBumpsNonceButWritesNothing() throws {
        var manager = F.manager()
        let txs = [
            F.tx(F.token, F.tokenProgram, "transfer", [bob.address.hex, "1"], by: alice, nonce: 0),  // no balance
            mint(bob, 5, by: alice, nonce: 1),
        ]
        var batcher = SubBlockBatcher(
            thread: F.token, program: F.tokenProgram, canonical: MemoryState(manager.record(F.token.id)!.state),
            sequence: 0)
        let first = try batcher.add(txs[0]).get()
        #expect(first.failure?.code == "ASSERTION_FAILED")
        #expect(try batcher.add(txs[1]).get().succeeded)
        let sub = try batcher.seal()!.proved(by: ReexecProofSystem(), program: F.tokenProgram)
        #expect(manager.apply(bundle: [sub], txHash: "u", programs: F.program).status == .accepted)
        #expect(manager.canonicalValue(thread: F.token.id, key: ThreadNonce.key(of: alice.address)) == 2)
        #expect(try balance(manager, alice) == "0")
        #expect(try balance(manager, bob) == "5")
    }

    // MARK: Acceptance rules

    enum Tamper: String, CaseIterable, Sendable {
        case unknownThread, osVersion, program, proofSystem, sequenceAhead, sequenceBehind, staleInput, badProof
    }

    /// Each tampering of an otherwise valid sub-block reverts with its code and changes nothing; the
    /// untampered sub-block is then accepted.
    @Test(arguments: Tamper.allCases)
    func acceptanceRule(_ tamper: Tamper) throws {
        var manager = F.manager()
        let honest = F.subBlock(manager, F.counter, [increment(3, signer: alice, nonce: 0)])
        var bad = honest
        let expected: RevertReason.Code
        switch tamper {
        case .unknownThread:
            bad.threadId = 99
            expected = .unknownThread
        case .osVersion:
            bad.osVersion = 2
            expected = .wrongOSVersion
        case .program:
            bad.programHash = F.tokenProgram.hash
            expected = .wrongProgram
        case .proofSystem:
            bad.proofSystem = "stark"
            expected = .wrongProofSystem
        case .sequenceAhead:
            bad.sequence = 2
            expected = .wrongSequence
        case .sequenceBehind:
            bad.sequence = 0
            expected = .wrongSequence
        case .staleInput:
            bad.inputs = bad.inputs.map { KeyValue(key: $0.key, value: $0.value + 1) }
            expected = .staleInput
        case .badProof:
            var bytes = [UInt8](bad.proof)
            bytes[0] ^= 1
            bad.proof = Data(bytes)
            expected = .badProof
        }
        let before = manager.records
        let outcome = manager.apply(bundle: [bad], txHash: "bad", programs: F.program)
        #expect(outcome.status == .reverted)
        #expect(outcome.revert?.code == expected, "\(String(describing: outcome.revert))")
        #expect(outcome.events.isEmpty)
        #expect(manager.records == before)
        if tamper != .unknownThread { #expect(outcome.revert?.message.contains("thread counter") == true) }
        let good = manager.apply(bundle: [honest], txHash: "good", programs: F.program)
        #expect(good.status == .accepted, "\(String(describing: good.revert))")
        #expect(manager.record(F.counter.id)?.sequence == 1)
    }

    @Test func revertMessagesNameKeyAndValues() {
        var manager = F.manager()
        var sub = F.subBlock(manager, F.counter, [increment(3, signer: alice, nonce: 0)])
        sub.inputs[0].value = 41
        let reason = manager.apply(bundle: [sub], txHash: "x", programs: F.program).revert!
        #expect(reason.code == .staleInput)
        #expect(reason.key == sub.inputs[0].key)
        #expect(reason.expected == "0")
        #expect(reason.given == "41")
        #expect(reason.sequence == 1)
        #expect(reason.message.contains(sub.inputs[0].key.hex))
        #expect(reason.message.contains("assumed 41, canonical value is 0"))

        var seq = F.subBlock(manager, F.counter, [increment(3, signer: alice, nonce: 0)], sequence: 5)
        seq.proof = ReexecProofSystem.digest(of: seq)
        let r2 = manager.apply(bundle: [seq], txHash: "y", programs: F.program).revert!
        #expect(r2.code == .wrongSequence)
        #expect(r2.expected == "1")
        #expect(r2.given == "5")
    }

    /// Checks run in the documented order: OS version before sequence before inputs before proof.
    @Test func checksRunInOrder() {
        var manager = F.manager()
        var sub = F.subBlock(manager, F.counter, [increment(1, signer: alice, nonce: 0)])
        sub.proof = Data([1])
        sub.inputs[0].value = 9
        #expect(manager.apply(bundle: [sub], txHash: "a", programs: F.program).revert?.code == .staleInput)
        sub.sequence = 7
        #expect(manager.apply(bundle: [sub], txHash: "b", programs: F.program).revert?.code == .wrongSequence)
        sub.proofSystem = "stark"
        #expect(manager.apply(bundle: [sub], txHash: "c", programs: F.program).revert?.code == .wrongProofSystem)
        sub.programHash = F.tokenProgram.hash
        #expect(manager.apply(bundle: [sub], txHash: "d", programs: F.program).revert?.code == .wrongProgram)
        sub.osVersion = 3
        #expect(manager.apply(bundle: [sub], txHash: "e", programs: F.program).revert?.code == .wrongOSVersion)
    }

    /// Two sub-blocks built on the same canonical state: the second, once the first is accepted,
    /// assumed a stale input.
    @Test func staleInputAfterAnotherSubBlockMovedTheKey() {
        var manager = F.manager()
        let first = F.subBlock(manager, F.counter, [increment(1, signer: alice, nonce: 0)])
        let second = F.subBlock(manager, F.counter, [increment(2, signer: bob, nonce: 0)], sequence: 2)
        #expect(manager.apply(bundle: [first], txHash: "1", programs: F.program).status == .accepted)
        let outcome = manager.apply(bundle: [second], txHash: "2", programs: F.program)
        #expect(outcome.revert?.code == .staleInput)
        #expect(outcome.revert?.key == StorageKey.derive([1]))
    }

    @Test func garbageProofsAreBadProofNeverACrash() {
        var manager = F.manager()
        let honest = F.subBlock(manager, F.counter, [increment(1, signer: alice, nonce: 0)])
        var rng = SplitMix(seed: 9)
        let proofs: [Data] = [
            Data(), Data(honest.proof.prefix(31)), Data(honest.proof.prefix(5)), honest.proof + Data([0]),
            Data((0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }),
            Data((0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }),
        ]
        for (i, proof) in proofs.enumerated() {
            var bad = honest
            bad.proof = proof
            let outcome = manager.apply(bundle: [bad], txHash: "g\(i)", programs: F.program)
            #expect(outcome.revert?.code == .badProof)
        }
        #expect(manager.apply(bundle: [honest], txHash: "ok", programs: F.program).status == .accepted)
    }

    @Test func replayedSubBlockIsWrongSequence() {
        var manager = F.manager()
        let sub = F.subBlock(manager, F.counter, [increment(1, signer: alice, nonce: 0)])
        #expect(manager.apply(bundle: [sub], txHash: "1", programs: F.program).status == .accepted)
        let replay = manager.apply(bundle: [sub], txHash: "2", programs: F.program)
        #expect(replay.revert?.code == .wrongSequence)
        #expect(manager.record(F.counter.id)?.sequence == 1)
        // Re-numbered as sequence 2, its nonce input is stale.
        var renumbered = sub
        renumbered.sequence = 2
        renumbered.proof = ReexecProofSystem.digest(of: renumbered)
        #expect(manager.apply(bundle: [renumbered], txHash: "3", programs: F.program).revert?.code == .staleInput)
    }

    // MARK: Bundles and idempotency

    @Test func bundleIsAtomic() throws {
        var manager = F.manager()
        let token = F.subBlock(manager, F.token, [mint(alice, 10, by: alice, nonce: 0)])
        var counter = F.subBlock(manager, F.counter, [increment(1, signer: bob, nonce: 0)])
        counter.inputs[0].value = 5  // stale
        let before = manager.records
        let outcome = manager.apply(bundle: [token, counter], txHash: "b", programs: F.program)
        #expect(outcome.revert?.code == .staleInput)
        #expect(outcome.revert?.message.contains("sub-block 2 of 2") == true)
        #expect(manager.records == before)
        #expect(manager.record(F.token.id)?.sequence == 0)
        #expect(try balance(manager, alice) == "0")
        // The passing side: both good → both applied.
        let good = manager.apply(
            bundle: [token, F.subBlock(manager, F.counter, [increment(1, signer: bob, nonce: 0)])], txHash: "c",
            programs: F.program)
        #expect(good.status == .accepted)
        #expect(good.events.count == 2)
        #expect(manager.record(F.token.id)?.sequence == 1)
        #expect(manager.record(F.counter.id)?.sequence == 1)
    }

    /// A bundle's later sub-blocks see the earlier ones: consecutive sub-blocks of one thread.
    @Test func bundleChecksAgainstEarlierSubBlocksOfTheBundle() {
        var manager = F.manager()
        var batcher = SubBlockBatcher(
            thread: F.counter, program: F.counterProgram, canonical: MemoryState(), sequence: 0)
        _ = batcher.add(increment(1, signer: alice, nonce: 0))
        let s1 = try! batcher.seal()!.proved(by: ReexecProofSystem(), program: F.counterProgram)
        _ = batcher.add(increment(2, signer: alice, nonce: 1))
        let s2 = try! batcher.seal()!.proved(by: ReexecProofSystem(), program: F.counterProgram)
        // Out of order: s2 first is the wrong sequence.
        #expect(manager.apply(bundle: [s2, s1], txHash: "x", programs: F.program).revert?.code == .wrongSequence)
        let outcome = manager.apply(bundle: [s1, s2], txHash: "y", programs: F.program)
        #expect(outcome.status == .accepted)
        #expect(outcome.events.map(\.sequence) == [1, 2])
        #expect(
            try! manager.view(thread: F.counter.id, entrypoint: "get", arguments: [], programs: F.program).formatted
                == "3")
    }

    @Test func sameTxHashTwiceAppliesOnce() {
        var manager = F.manager()
        let sub = F.subBlock(manager, F.counter, [increment(4, signer: alice, nonce: 0)])
        let first = manager.apply(bundle: [sub], txHash: "h", programs: F.program)
        let root = manager.record(F.counter.id)!.stateRoot
        let second = manager.apply(bundle: [sub], txHash: "h", programs: F.program)
        #expect(first.status == .accepted)
        #expect(second == first)
        #expect(manager.record(F.counter.id)?.sequence == 1)
        #expect(manager.record(F.counter.id)?.stateRoot == root)
        // A reverted outcome is remembered too.
        var bad = sub
        bad.osVersion = 5
        let r1 = manager.apply(bundle: [bad], txHash: "z", programs: F.program)
        let next = F.subBlock(manager, F.counter, [increment(1, signer: bob, nonce: 0)])
        let r2 = manager.apply(bundle: [next], txHash: "z", programs: F.program)
        #expect(r1.revert?.code == .wrongOSVersion)
        #expect(r2 == r1)
        #expect(manager.record(F.counter.id)?.sequence == 1)
    }

    // MARK: Cross-thread reads (karts and achievements)

    @Test func kartsUnlockAfterAchievements() throws {
        var manager = F.manager()
        let complete = F.subBlock(
            manager, F.achievements,
            [
                F.tx(F.achievements, F.achievementsProgram, "complete_level", ["3"], by: alice, nonce: 0)
            ])
        #expect(manager.apply(bundle: [complete], txHash: "a", programs: F.program).status == .accepted)
        let unlock = F.subBlock(
            manager, F.karts, [F.tx(F.karts, F.kartsProgram, "unlock_kart", ["7", "3"], by: alice, nonce: 0)])
        #expect(unlock.crossReads.count == 1)
        #expect(unlock.crossReads.first?.thread == F.achievements.id)
        #expect(unlock.crossReads.first?.value == 1)
        let outcome = manager.apply(bundle: [unlock], txHash: "k", programs: F.program)
        #expect(outcome.status == .accepted, "\(String(describing: outcome.revert))")
        let view = try manager.view(
            thread: F.karts.id, entrypoint: "has_kart", arguments: [alice.address.hex, "7"], programs: F.program)
        #expect(view.formatted == "true")
        #expect(view.returnData == [1])
    }

    @Test func kartsCrossReadStaleWhenAchievementsMovedFirst() throws {
        var manager = F.manager()
        // Built while alice has not completed level 3: the unlock fails in the VM, the read is 0.
        let unlock = F.subBlock(
            manager, F.karts, [F.tx(F.karts, F.kartsProgram, "unlock_kart", ["7", "3"], by: alice, nonce: 0)])
        #expect(unlock.crossReads.first?.value == 0)
        let complete = F.subBlock(
            manager, F.achievements,
            [
                F.tx(F.achievements, F.achievementsProgram, "complete_level", ["3"], by: alice, nonce: 0)
            ])
        #expect(manager.apply(bundle: [complete], txHash: "a", programs: F.program).status == .accepted)
        let outcome = manager.apply(bundle: [unlock], txHash: "k", programs: F.program)
        #expect(outcome.revert?.code == .staleCrossRead)
        #expect(outcome.revert?.message.contains("achievements") == true)
        #expect(outcome.revert?.expected == "1")
        #expect(outcome.revert?.given == "0")
        #expect(manager.record(F.karts.id)?.sequence == 0)
    }

    /// Atomic interoperability: the achievements and the karts sub-block in one bundle, the karts
    /// read checked against the achievements state the bundle's first sub-block produced.
    @Test func crossThreadReadWithinABundle() throws {
        var manager = F.manager()
        let complete = F.subBlock(
            manager, F.achievements,
            [
                F.tx(F.achievements, F.achievementsProgram, "complete_level", ["3"], by: alice, nonce: 0)
            ])
        var after = manager
        _ = after.apply(bundle: [complete], txHash: "tmp", programs: F.program)
        let unlock = F.subBlock(
            after, F.karts, [F.tx(F.karts, F.kartsProgram, "unlock_kart", ["7", "3"], by: alice, nonce: 0)])
        #expect(
            manager.apply(bundle: [unlock, complete], txHash: "wrong order", programs: F.program).revert?.code
                == .staleCrossRead)
        #expect(manager.apply(bundle: [complete, unlock], txHash: "b", programs: F.program).status == .accepted)
        #expect(
            try manager.view(
                thread: F.karts.id, entrypoint: "has_kart", arguments: [alice.address.hex, "7"], programs: F.program
            ).formatted == "true")
    }

    @Test func crossReadOfUnknownThreadIsUnknownThread() {
        var manager = F.manager()
        let program = try! Contracts.named("karts", constants: ["ACHIEVEMENTS_THREAD": 999])
        let thread = ThreadInfo(name: "karts-elsewhere")
        let programs = F.programs.merging([program.hash: program]) { a, _ in a }
        _ = manager.register(
            F.registration(thread, program, contract: "karts"), txHash: "r", programs: { programs[$0] })
        var batcher = SubBlockBatcher(
            thread: thread, program: program, canonical: MemoryState(), sequence: 0,
            threads: MemoryThreads([999: MemoryState()]))
        _ = batcher.add(F.tx(thread, program, "unlock_kart", ["1", "1"], by: alice, nonce: 0))
        let sub = try! batcher.seal()!.proved(by: ReexecProofSystem(), program: program)
        let outcome = manager.apply(bundle: [sub], txHash: "x", programs: { programs[$0] })
        #expect(outcome.revert?.code == .unknownThread)
        #expect(outcome.revert?.message.contains("999") == true)
    }

    // MARK: Views

    @Test func viewErrors() throws {
        let manager = F.manager()
        #expect(
            try manager.view(thread: F.token.id, entrypoint: "total_supply", arguments: [], programs: F.program)
                .formatted == "0")
        let notView = #expect(throws: ViewError.self) {
            try manager.view(
                thread: F.token.id, entrypoint: "transfer", arguments: [F.bob.address.hex, "1"], programs: F.program)
        }
        #expect(notView?.code == .notAView)
        let unknown = #expect(throws: ViewError.self) {
            try manager.view(thread: 5, entrypoint: "get", arguments: [], programs: F.program)
        }
        #expect(unknown?.code == .unknownThread)
        let badArgs = #expect(throws: ViewError.self) {
            try manager.view(thread: F.token.id, entrypoint: "balance_of", arguments: ["nope"], programs: F.program)
        }
        #expect(badArgs?.code == .badCalldata)
        #expect(badArgs?.message.contains("balance_of") == true)
    }

    @Test func recordsRoundTripThroughJSON() throws {
        var manager = F.manager()
        _ = manager.apply(
            bundle: [F.subBlock(manager, F.token, [mint(alice, 10, by: alice, nonce: 0)])], txHash: "m",
            programs: F.program)
        let record = manager.record(F.token.id)!
        let data = try WireCoding.encoder().encode(record)
        #expect(String(decoding: data, as: UTF8.self).contains("\"state_root\""))
        let back = try WireCoding.decoder().decode(ThreadRecord.self, from: data)
        #expect(back == record)
        let restored = ManagerState(records: manager.records, outcomes: Array(manager.outcomes.values))
        #expect(restored.record(F.token.id) == record)
        #expect(restored.outcomes["m"]?.status == .accepted)
    }

    @Test func stateRootIsOrderIndependentAndIgnoresZeros() {
        let k1 = StorageKey.derive([1]), k2 = StorageKey.derive([2])
        var a = ThreadRecord(registration: F.registration(F.counter, F.counterProgram, contract: "counter"))
        var b = a
        a.write([KeyValue(key: k1, value: 1), KeyValue(key: k2, value: 2)])
        b.write([KeyValue(key: k2, value: 2), KeyValue(key: k1, value: 7), KeyValue(key: k1, value: 1)])
        #expect(a.stateRoot == b.stateRoot)
        #expect(a.stateRoot == StateRoot.of([k1: 1, k2: 2]))
        b.write([KeyValue(key: k2, value: 0)])
        #expect(b.stateRoot == StateRoot.of([k1: 1]))
        #expect(b.stateRoot != a.stateRoot)
        #expect(StateRoot.of([:]) == StateRoot.of([k1: 0]))
    }

    /// The manager records where each thread transaction settled and, under `reexec`, how its
    /// contract call ended: a node that finds a transaction there reports it truthfully.
    @Test func settlementsRecordEachTransactionAndItsOutcome() {
        var manager = Fixture.manager()
        let locked = Fixture.tx(
            Fixture.karts, Fixture.kartsProgram, "unlock_kart", ["1", "2"], by: Fixture.alice, nonce: 0)
        let bump = Fixture.tx(
            Fixture.karts, Fixture.kartsProgram, "unlock_kart", ["1", "2"], by: Fixture.bob, nonce: 0)
        let sub = Fixture.subBlock(manager, Fixture.karts, [locked, bump])
        #expect(manager.apply(bundle: [sub], txHash: "l2", block: 7, programs: Fixture.program).status == .accepted)
        let first = manager.settlements[locked.txHash]
        #expect(first?.settlement == Settlement(subBlock: 1, l2TxHash: "l2", block: 7))
        #expect(first?.outcomeKnown == true)
        #expect(first?.failure?.contains("level not completed") == true, "\(String(describing: first))")
        #expect(manager.settlements[bump.txHash]?.thread == Fixture.karts.id)

        let counter = Fixture.tx(
            Fixture.counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: 0)
        let ok = Fixture.subBlock(manager, Fixture.counter, [counter])
        _ = manager.apply(bundle: [ok], txHash: "l2b", block: 8, programs: Fixture.program)
        #expect(manager.settlements[counter.txHash]?.failure == nil)
        #expect(manager.settlements[counter.txHash]?.outcomeKnown == true)
    }

    /// A registration that publishes its program needs no catalog: the manager keeps the program
    /// by its hash and runs it; damaged or mismatched bytes are refused.
    @Test func aPublishedProgramIsKeptAndRun() throws {
        let source = ".entry get() view -> felt\n    set r0, 41\n    addi r0, r0, 1\n    ret r0, 1\n"
        let program = try Assembler.assemble(source)
        let thread = ThreadInfo(name: "answer")
        var manager = ManagerState()
        func register(_ bytes: [UInt8]?, hash: ProgramHash = program.hash, txHash: String) -> ManagerOutcome {
            manager.register(
                ThreadRegistration(
                    name: thread.name, contract: "answer", programHash: hash, program: bytes.map(HexBytes.init)),
                txHash: txHash, programs: { _ in nil })
        }
        #expect(register(nil, txHash: "unpublished").revert?.code == .unknownProgram)
        #expect(register(Array(program.canonicalEncoding.dropLast()), txHash: "cut").revert?.code == .badProgram)
        let other = try Assembler.assemble(".entry f()\n    ret r0, 0\n")
        let mismatch = register(other.canonicalEncoding, txHash: "mismatch")
        #expect(mismatch.revert?.code == .badProgram)
        #expect(mismatch.revert?.message.contains("hash") == true)
        #expect(register(program.canonicalEncoding, txHash: "ok").status == .accepted)
        #expect(manager.published[program.hash] == program)
        let answer = try manager.view(thread: thread.id, entrypoint: "get", arguments: [], programs: { _ in nil })
        #expect(answer.returnData == [Felt(42)])
    }

    /// Only the account that registered a thread may upgrade it, to a program that exists or is
    /// published with the upgrade; sub-blocks proven against the old program then revert
    /// WRONG_PROGRAM, and the state carries over to the new one.
    @Test func upgradesFollowTheOwnerAndTheProgramRules() throws {
        let owner = Fixture.accounts.prover(thread: "counter", index: 1)
        var manager = ManagerState()
        _ = manager.register(
            Fixture.registration(Fixture.counter, Fixture.counterProgram, contract: "counter"), txHash: "reg",
            sender: owner.address, programs: Fixture.program)
        let bump = Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["3"], by: Fixture.alice, nonce: 0)
        let stale = Fixture.subBlock(manager, Fixture.counter, [bump])

        let v2 = try Assembler.assemble(
            ".const COUNT = 1\n.entry get() view -> u64\n    set r0, COUNT\n    hash r8, r0, 1\n    load r1, r8\n    ret r1\n"
        )
        let upgrade = ThreadUpgrade(
            threadId: Fixture.counter.id, programHash: v2.hash, program: HexBytes(v2.canonicalEncoding))
        #expect(
            manager.checkUpgrade(upgrade, sender: Fixture.bob.address, programs: Fixture.program)?.code == .notOwner)
        let unpublished = ThreadUpgrade(threadId: Fixture.counter.id, programHash: v2.hash)
        #expect(
            manager.checkUpgrade(unpublished, sender: owner.address, programs: Fixture.program)?.code == .unknownProgram
        )
        var damaged = upgrade
        damaged.program = HexBytes(Array(v2.canonicalEncoding.dropLast()))
        #expect(manager.checkUpgrade(damaged, sender: owner.address, programs: Fixture.program)?.code == .badProgram)
        let byBob = manager.upgrade(upgrade, txHash: "up-bob", sender: Fixture.bob.address, programs: Fixture.program)
        #expect(byBob.revert?.code == .notOwner)

        // The state before the upgrade carries over.
        #expect(manager.apply(bundle: [stale], txHash: "b1", programs: Fixture.program).status == .accepted)
        #expect(
            manager.upgrade(upgrade, txHash: "up", sender: owner.address, programs: Fixture.program).status == .accepted
        )
        #expect(manager.record(Fixture.counter.id)?.programHash == v2.hash)
        #expect(
            try manager.view(thread: Fixture.counter.id, entrypoint: "get", arguments: [], programs: Fixture.program)
                .returnData == [Felt(3)])
        // A sub-block proven against the old program is refused.
        let old = Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: 1)
        var late = stale
        late.sequence = 2
        late.transactions = [old]
        #expect(manager.apply(bundle: [late], txHash: "b2", programs: Fixture.program).revert?.code == .wrongProgram)
    }
}
