import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// A daemon starts from a checkpoint (its state saved at some log position) and replays only the
/// log after it. That must give exactly the state a replay of the whole log gives: the thread
/// records with their roots, every outcome, settlement and published program, every balance,
/// nonce, fee and receipt.
@Suite struct CheckpointTests {
    typealias F = Fixture

    /// One logged manager command: an L2 transaction's bundle, registration or upgrade, with the
    /// outcome it got.
    enum Command {
        case bundle([SubBlockSubmission])
        case register(ThreadRegistration, sender: Address)
        case upgrade(ThreadUpgrade, sender: Address)
    }

    typealias Entry = (command: Command, txHash: String, block: UInt64, outcome: ManagerOutcome)

    /// Applies a logged command as the manager's replay does: a revert only remembered.
    static func replay(_ entry: Entry, into state: inout ManagerState) -> ManagerOutcome {
        if entry.outcome.status == .reverted {
            state.remember(entry.outcome)
            return entry.outcome
        }
        switch entry.command {
        case let .bundle(bundle):
            return state.apply(
                bundle: bundle, txHash: entry.txHash, block: entry.block, programs: F.program, replaying: true)
        case let .register(registration, sender):
            return state.register(registration, txHash: entry.txHash, sender: sender, programs: F.program)
        case let .upgrade(upgrade, sender):
            return state.upgrade(upgrade, txHash: entry.txHash, sender: sender, programs: F.program)
        }
    }

    /// A seeded history on four threads (accepted, failing and reverted sub-blocks, a thread
    /// registered with its program published, an upgrade), and the live state after each entry.
    static func history(seed: UInt64, steps: Int = 60) -> (log: [Entry], states: [ManagerState]) {
        var random = SplitMix(seed: seed)
        var live = F.manager()
        var log: [Entry] = []
        var states: [ManagerState] = [live]
        var nonces: [String: UInt64] = [:]
        let signers = [F.alice, F.bob, F.carol]
        let dice = ThreadInfo(name: "dice")
        let registerAt = Int(random.next() % UInt64(steps / 2))
        for step in 0..<steps {
            let txHash = "l2-\(seed)-\(step)"
            let command: Command
            if step == registerAt {
                command = .register(
                    ThreadRegistration(
                        name: dice.name, contract: "counter", programHash: F.counterProgram.hash,
                        genesisState: [KeyValue(key: StorageKey.derive([Felt(7)]), value: Felt(9))],
                        program: HexBytes(F.counterProgram.canonicalEncoding)),
                    sender: F.alice.address)
            } else if step == registerAt + 1 {
                command = .upgrade(
                    ThreadUpgrade(threadId: dice.id, programHash: F.counterProgram.hash), sender: F.alice.address)
            } else {
                let signer = signers[Int(random.next() % 3)]
                let pick = random.next() % 3
                let account = "\(pick) \(signer.address.hex)"
                let nonce = nonces[account, default: 0]
                let thread: ThreadInfo
                let tx: ThreadTransaction
                switch pick {
                case 0:
                    thread = F.counter
                    tx = F.tx(
                        F.counter, F.counterProgram, "increment", ["\(random.next() % 9 + 1)"], by: signer,
                        nonce: nonce)
                case 1:
                    thread = F.achievements
                    tx = F.tx(
                        F.achievements, F.achievementsProgram, "complete_level", ["\(random.next() % 3 + 1)"],
                        by: signer, nonce: nonce)
                default:
                    thread = F.karts
                    tx = F.tx(
                        F.karts, F.kartsProgram, "unlock_kart",
                        ["\(random.next() % 3 + 1)", "\(random.next() % 3 + 1)"], by: signer, nonce: nonce)
                }
                var sub = F.subBlock(live, thread, [tx])
                switch random.next() % 6 {
                case 0: sub.proof = Data([1, 2, 3])  // BAD_PROOF
                case 1: sub.sequence += 1  // WRONG_SEQUENCE
                default: break
                }
                command = .bundle([sub])
                if live.check(bundle: [sub], programs: F.program).isSuccess { nonces[account] = nonce + 1 }
            }
            let outcome: ManagerOutcome
            switch command {
            case let .bundle(bundle):
                outcome = live.apply(bundle: bundle, txHash: txHash, block: UInt64(step + 2), programs: F.program)
            case let .register(registration, sender):
                outcome = live.register(registration, txHash: txHash, sender: sender, programs: F.program)
            case let .upgrade(upgrade, sender):
                outcome = live.upgrade(upgrade, txHash: txHash, sender: sender, programs: F.program)
            }
            log.append((command, txHash, UInt64(step + 2), outcome))
            states.append(live)
        }
        return (log, states)
    }

    static func expectSame(_ a: ManagerState, _ b: ManagerState, _ note: String) throws {
        #expect(a.records == b.records, "\(note): records")
        #expect(a.records.map(\.stateRoot) == b.records.map(\.stateRoot), "\(note): roots")
        #expect(a.outcomes == b.outcomes, "\(note): outcomes")
        #expect(a.settlements == b.settlements, "\(note): settlements")
        #expect(Set(a.published.keys) == Set(b.published.keys), "\(note): published programs")
        #expect(try a.checkpoint() == b.checkpoint(), "\(note): checkpoint bytes")
    }

    /// A checkpoint taken after any prefix of a seeded history, plus the rest of the log replayed
    /// onto it, equals a replay of the whole log and the live state. `CHECKPOINT_SEED` replays one
    /// seed.
    @Test(
        arguments: ProcessInfo.processInfo.environment["CHECKPOINT_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? [1, 2, 3])
    func aCheckpointPlusTheLogTailIsAFullReplay(seed: UInt64) throws {
        let (log, states) = Self.history(seed: seed)
        #expect(log.contains { $0.outcome.status == .reverted } && log.contains { $0.outcome.status == .accepted })
        let live = states.last!
        #expect(live.published[F.counterProgram.hash] != nil, "seed \(seed): the published program")
        #expect(live.settlements.values.contains { $0.failure != nil }, "seed \(seed): a failed call")

        var full = F.manager()
        for entry in log { #expect(Self.replay(entry, into: &full) == entry.outcome) }
        try Self.expectSame(full, live, "seed \(seed), full replay")

        var random = SplitMix(seed: seed ^ 0xC0FFEE)
        let cuts = [0, log.count] + (0..<6).map { _ in Int(random.next() % UInt64(log.count + 1)) }
        for cut in cuts {
            let bytes = try states[cut].checkpoint()
            var restored = try ManagerState(checkpoint: bytes)
            try Self.expectSame(restored, states[cut], "seed \(seed), checkpoint at \(cut)")
            for entry in log[cut...] {
                #expect(
                    Self.replay(entry, into: &restored) == entry.outcome, "seed \(seed), cut \(cut), \(entry.txHash)")
            }
            try Self.expectSame(restored, full, "seed \(seed), checkpoint at \(cut) plus the tail")
            // Views run on the restored state as on the live one.
            #expect(
                try restored.view(thread: F.counter.id, entrypoint: "get", arguments: [], programs: F.program)
                    == full.view(thread: F.counter.id, entrypoint: "get", arguments: [], programs: F.program))
        }
    }

    /// Every truncation of a checkpoint, and bytes of another shape, are refused rather than read
    /// as some other state.
    @Test func aTruncatedOrForeignCheckpointDoesNotDecode() throws {
        let (_, states) = Self.history(seed: 7, steps: 12)
        let bytes = try states.last!.checkpoint()
        #expect(try ManagerState(checkpoint: bytes).outcomes == states.last!.outcomes)
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self, "prefix of \(length) bytes") {
                try ManagerState(checkpoint: bytes.prefix(length))
            }
        }
        #expect(throws: (any Error).self) { try ManagerState(checkpoint: bytes + Data([0])) }
        #expect(throws: (any Error).self) { try ManagerState(checkpoint: Data("{\"threads\": []}".utf8)) }
        // A thread record whose state no longer gives its recorded root is refused.
        let record = try JSONEncoder().encode(states.last!.records[0])
        let text = String(decoding: record, as: UTF8.self)
        let root = states.last!.records[0].stateRoot
        let tampered = Data(text.replacingOccurrences(of: root, with: String(root.reversed())).utf8)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ThreadRecord.self, from: tampered) }
    }

    /// The checksum changes when any single byte does.
    @Test func theChecksumSeesEveryByte() throws {
        let bytes = try Self.history(seed: 5, steps: 6).states.last!.checkpoint()
        let sum = checkpointChecksum(bytes)
        for index in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) {
            var changed = bytes
            changed[index] ^= 0x10
            #expect(checkpointChecksum(changed) != sum, "byte \(index)")
        }
        #expect(checkpointChecksum(bytes.prefix(bytes.count - 1)) != sum)
    }

    // MARK: The sequencer's ledger

    func transfer(_ from: DevAccount, to: Address, _ amount: UInt64, nonce: UInt64) -> L2Transaction {
        L2Transaction.make(signer: from, nonce: nonce, maxFee: 100_000, payload: .transfer(to: to, amount: amount))
    }

    /// A ledger saved after any prefix of seeded transfers (some reverted for want of funds, one
    /// faucet grant) and then given the rest equals the ledger given all of them; what admission
    /// reserved for transactions still waiting is not part of it.
    @Test(arguments: [11, 12] as [UInt64])
    func aLedgerCheckpointPlusTheRestIsTheWholeLedger(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let users = Array(F.accounts.users.prefix(4))
        var nonces: [Address: UInt64] = [:]
        var txs: [L2Transaction] = []
        for _ in 0..<40 {
            let from = users[Int(random.next() % 4)]
            let to = users[Int(random.next() % 4)].address
            let amount = random.next() % 3 == 0 ? DevAccounts.genesisBalance * 2 : random.next() % 5_000
            txs.append(transfer(from, to: to, amount, nonce: nonces[from.address, default: 0]))
            nonces[from.address, default: 0] += 1
        }
        let grant = Address(Felt(1), Felt(2), Felt(3), Felt(4))
        func run(_ ledger: inout SequencerLedger, _ range: Range<Int>) throws -> [Receipt] {
            try range.map { index in
                if index == 20 { ledger.faucet(grant, amount: 777) }
                _ = try ledger.admit(txs[index], signatureChecked: true).get()
                return try ledger.include(txs[index], blockNumber: UInt64(index / 3 + 1), index: index % 3).get()
            }
        }
        var whole = SequencerLedger(accounts: F.accounts)
        let receipts = try run(&whole, 0..<txs.count)
        #expect(receipts.contains { $0.status == .reverted } && receipts.contains { $0.status == .accepted })
        for cut in [0, 7, 20, 21, 33, txs.count] {
            var ledger = SequencerLedger(accounts: F.accounts)
            _ = try run(&ledger, 0..<cut)
            // A transaction admitted and not yet included when the checkpoint is taken.
            var waiting = ledger
            if cut < txs.count { _ = try waiting.admit(txs[cut], signatureChecked: true).get() }
            var writer = CheckpointWriter()
            waiting.write(to: &writer)
            var reader = CheckpointReader(writer.data)
            var restored = try SequencerLedger(checkpoint: &reader, feeAccount: F.accounts.sequencer.address)
            try reader.expectEnd()
            #expect(restored.pendingCount == 0)
            #expect(restored.accounts == ledger.accounts, "cut \(cut)")
            #expect(try run(&restored, cut..<txs.count) == Array(receipts[cut...]), "cut \(cut): receipts")
            #expect(restored.accounts == whole.accounts, "cut \(cut)")
            #expect(restored.totalSupply == whole.totalSupply)
            for user in users + [F.accounts.sequencer] {
                #expect(restored.fees(paidBy: user.address) == whole.fees(paidBy: user.address))
                #expect(restored.nextAdmissionNonce(of: user.address) == whole.nextAdmissionNonce(of: user.address))
            }
        }
        // Another devnet's fee account is refused.
        var writer = CheckpointWriter()
        whole.write(to: &writer)
        var reader = CheckpointReader(writer.data)
        #expect(throws: CheckpointError.self) {
            try SequencerLedger(checkpoint: &reader, feeAccount: DevAccounts.derive(seed: 43).sequencer.address)
        }
    }

    /// Hashes of 64 lowercase hex digits are kept as their 32 bytes, anything else as it is, and
    /// both come back exactly.
    @Test func hashesComeBackExactly() throws {
        let hashes = [
            String(repeating: "0f", count: 32), String(repeating: "a9", count: 32),
            String(repeating: "AB", count: 32), "l2-1", "", String(repeating: "g", count: 64),
            String(repeating: "1", count: 63),
        ]
        var writer = CheckpointWriter()
        for hash in hashes { writer.writeHash(hash) }
        #expect(writer.bytes.count == 2 * 33 + 5 * 9 + 64 + 4 + 0 + 64 + 63)
        var reader = CheckpointReader(writer.data)
        #expect(try hashes.map { _ in try reader.hash() } == hashes)
        try reader.expectEnd()
    }

    /// Receipts and events with every optional field set or absent come back equal.
    @Test func receiptsAndEventsRoundTrip() throws {
        let address = Address(Felt(5), Felt(6), Felt(7), Felt(8))
        let receipts = [
            Receipt(
                txHash: "a", blockNumber: 3, index: 1, status: .accepted, revert: nil, feeCharged: 12,
                events: [
                    ProtocolEvent(
                        kind: .subBlockAccepted, threadId: Felt(9), threadName: "t", sequence: 4, stateRoot: "ab",
                        transactionCount: 2, from: address, to: address, amount: 99),
                    ProtocolEvent(kind: .transfer),
                ]),
            Receipt(
                txHash: "b", blockNumber: 4, index: 0, status: .reverted,
                revert: RevertReason(
                    code: .staleInput, message: "m", threadId: Felt(1), sequence: 2, key: StorageKey.derive([Felt(3)]),
                    expected: "x", given: "y"), feeCharged: 0, events: []),
        ]
        var writer = CheckpointWriter()
        for receipt in receipts { try writer.write(receipt) }
        var reader = CheckpointReader(writer.data)
        #expect(try receipts.map { _ in try reader.receipt() } == receipts)
        try reader.expectEnd()
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
