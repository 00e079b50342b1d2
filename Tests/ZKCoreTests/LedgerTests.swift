import Testing
import ThreadVM

@testable import ZKCore

@Suite struct LedgerTests {
    let accounts = Fixture.accounts
    func ledger() -> SequencerLedger { SequencerLedger(accounts: accounts) }

    func transfer(_ from: DevAccount, to: DevAccount, _ amount: UInt64, nonce: UInt64, maxFee: UInt64 = 100_000)
        -> L2Transaction
    {
        L2Transaction.make(
            signer: from, nonce: nonce, maxFee: maxFee, payload: .transfer(to: to.address, amount: amount))
    }

    @Test func acceptedTransferChargesFeeAndMovesAmount() throws {
        var ledger = ledger()
        let supply = ledger.totalSupply
        let tx = transfer(Fixture.alice, to: Fixture.bob, 500, nonce: 0)
        let admitted = try ledger.admit(tx).get()
        #expect(admitted.fee == ledger.cost(of: tx))
        #expect(ledger.available(of: Fixture.alice.address) == DevAccounts.genesisBalance - tx.maxFee)
        let receipt = try ledger.include(tx, blockNumber: 1, index: 0).get()
        #expect(receipt.status == .accepted)
        #expect(receipt.feeCharged == admitted.fee)
        #expect(receipt.events.first?.kind == .transfer)
        #expect(ledger.balance(of: Fixture.alice.address) == DevAccounts.genesisBalance - 500 - admitted.fee)
        #expect(ledger.balance(of: Fixture.bob.address) == DevAccounts.genesisBalance + 500)
        #expect(ledger.balance(of: accounts.sequencer.address) == admitted.fee)
        #expect(ledger.nonce(of: Fixture.alice.address) == 1)
        #expect(ledger.available(of: Fixture.alice.address) == ledger.balance(of: Fixture.alice.address))
        #expect(ledger.balanceSum == supply)
    }

    @Test func revertedTransferStillPaysTheFee() throws {
        var ledger = ledger()
        let tx = transfer(Fixture.alice, to: Fixture.bob, DevAccounts.genesisBalance, nonce: 0)
        _ = try ledger.admit(tx).get()
        let receipt = try ledger.include(tx, blockNumber: 1, index: 0).get()
        #expect(receipt.status == .reverted)
        #expect(receipt.revert?.code == .insufficientFunds)
        #expect(receipt.events.isEmpty)
        #expect(ledger.balance(of: Fixture.alice.address) == DevAccounts.genesisBalance - receipt.feeCharged)
        #expect(ledger.balance(of: Fixture.bob.address) == DevAccounts.genesisBalance)
        #expect(ledger.balance(of: accounts.sequencer.address) == receipt.feeCharged)
        #expect(ledger.nonce(of: Fixture.alice.address) == 1)
    }

    @Test func managerOutcomeDecidesThreadPayloadsAndFeeIsChargedEitherWay() throws {
        var ledger = ledger()
        let prover = accounts.prover(thread: "counter", index: 1)
        ledger.faucet(prover.address, amount: 1_000_000)
        let reg = Fixture.registration(Fixture.counter, Fixture.counterProgram, contract: "counter")
        let tx = L2Transaction.make(signer: prover, nonce: 0, maxFee: 100_000, payload: .registerThread(reg))
        _ = try ledger.admit(tx).get()
        let reverted = ManagerOutcome.reverted(tx.txHash, RevertReason(code: .threadExists, message: "exists"))
        let receipt = try ledger.include(tx, blockNumber: 1, index: 0, managerOutcome: reverted).get()
        #expect(receipt.status == .reverted)
        #expect(receipt.revert?.code == .threadExists)
        #expect(ledger.balance(of: prover.address) == 1_000_000 - receipt.feeCharged)
        #expect(receipt.feeCharged == ledger.cost(of: tx))
        #expect(receipt.feeCharged >= FeeSchedule.standard.base + FeeSchedule.standard.perRegistration)
        let tx2 = L2Transaction.make(signer: prover, nonce: 1, maxFee: 100_000, payload: .registerThread(reg))
        _ = try ledger.admit(tx2).get()
        let accepted = ManagerOutcome(
            txHash: tx2.txHash, status: .accepted, events: [ProtocolEvent(kind: .threadRegistered)])
        let receipt2 = try ledger.include(tx2, blockNumber: 1, index: 1, managerOutcome: accepted).get()
        #expect(receipt2.status == .accepted)
        #expect(receipt2.events.count == 1)
        #expect(ledger.balance(of: accounts.sequencer.address) == receipt.feeCharged + receipt2.feeCharged)
    }

    @Test func rejectionsChangeNothing() throws {
        var ledger = ledger()
        let before = ledger.accounts
        // Bad signature.
        var forged = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 0)
        forged.payload = .transfer(to: Fixture.carol.address, amount: 1)
        let bad = ledger.admit(forged)
        #expect(bad.rejection?.code == .badSignature)
        // Wrong nonce.
        let wrongNonce = ledger.admit(
            transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 5), names: { accounts.name(of: $0) })
        #expect(wrongNonce.rejection?.code == .wrongNonce)
        #expect(wrongNonce.rejection?.message.contains("expected 0, given 5") == true)
        #expect(wrongNonce.rejection?.message.contains("alice") == true)
        // Fee too low.
        let cheap = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 0, maxFee: 10)
        let low = ledger.admit(cheap)
        #expect(low.rejection?.code == .feeTooLow)
        #expect(low.rejection?.message.contains("costs \(ledger.cost(of: cheap)), max fee is 10") == true)
        // Balance below max fee: the sequencer has 0.
        let broke = transfer(accounts.sequencer, to: Fixture.bob, 0, nonce: 0)
        let poor = ledger.admit(broke)
        #expect(poor.rejection?.code == .insufficientBalance)
        #expect(poor.rejection?.message.contains("balance 0") == true)
        #expect(poor.rejection?.message.contains("max fee 100000") == true)
        #expect(ledger.accounts == before)
        #expect(ledger.pendingCount == 0)
        // The passing side of each: a good transaction is admitted.
        #expect(ledger.admit(transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 0)).rejection == nil)
        // Restoring its own log, the sequencer takes signatures as checked; nothing else.
        #expect(
            ledger.admit(transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 5), signatureChecked: true)
                .rejection?.code == .wrongNonce)
        #expect(
            ledger.admit(transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 1, maxFee: 10), signatureChecked: true)
                .rejection?.code == .feeTooLow)
        var forgedNext = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 1)
        forgedNext.payload = .transfer(to: Fixture.carol.address, amount: 1)
        #expect(ledger.admit(forgedNext).rejection?.code == .badSignature)
        #expect(ledger.admit(forgedNext, signatureChecked: true).rejection == nil)
    }

    @Test func pendingTransactionsChainNoncesAndReserveFees() throws {
        var ledger = SequencerLedger(genesis: [Fixture.alice.address: 250_000], feeAccount: accounts.sequencer.address)
        let t0 = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 0)
        let t1 = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 1)
        let t2 = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 2)
        #expect(ledger.admit(t0).rejection == nil)
        #expect(ledger.admit(t1).rejection == nil)
        // 250_000 − 2 × 100_000 reserved = 50_000 < 100_000.
        #expect(ledger.admit(t2).rejection?.code == .insufficientBalance)
        #expect(ledger.nextAdmissionNonce(of: Fixture.alice.address) == 2)
        _ = try ledger.include(t0, blockNumber: 1, index: 0).get()
        _ = try ledger.include(t1, blockNumber: 1, index: 1).get()
        #expect(ledger.pendingCount == 0)
        #expect(ledger.available(of: Fixture.alice.address) == ledger.balance(of: Fixture.alice.address))
        // Including out of order is refused and changes nothing.
        let t3 = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 3)
        #expect(ledger.include(t3, blockNumber: 2, index: 0).rejection?.code == .wrongNonce)
        #expect(ledger.nonce(of: Fixture.alice.address) == 2)
    }

    @Test func feeScheduleIsDeterministicAndGrowsWithWork() {
        let small = transfer(Fixture.alice, to: Fixture.bob, 1, nonce: 0)
        let schedule = FeeSchedule.standard
        #expect(schedule.cost(of: small) == 1_000 + UInt64(small.encodedSize))
        let manager = Fixture.manager()
        let one = Fixture.subBlock(
            manager, Fixture.counter,
            [Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: 0)])
        let two = Fixture.subBlock(
            manager, Fixture.counter,
            [
                Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: 0),
                Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: 1),
            ])
        let a = L2Transaction.make(signer: Fixture.bob, nonce: 0, maxFee: 0, payload: .threadUpdate(bundle: [one]))
        let b = L2Transaction.make(signer: Fixture.bob, nonce: 0, maxFee: 0, payload: .threadUpdate(bundle: [two]))
        #expect(schedule.cost(of: a) == 1_000 + 500 + 10 + UInt64(a.encodedSize))
        #expect(schedule.cost(of: b) > schedule.cost(of: a))
    }

    /// Random transfers, some reverted, some rejected: the sum of balances never changes and
    /// every included transaction paid exactly its fee to the fee account.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func supplyIsConserved(seed: UInt64) throws {
        var ledger = ledger()
        let supply = ledger.totalSupply
        var rng = SplitMix(seed: seed)
        var fees: UInt64 = 0
        var block: UInt64 = 0
        var reverted = 0
        var rejected = 0
        for _ in 0..<300 {
            let from = accounts.users[Int(rng.next() % 10)]
            let to = accounts.users[Int(rng.next() % 10)]
            let amount = rng.next() % 3 == 0 ? rng.next() % (4 * DevAccounts.genesisBalance) : rng.next() % 1000
            let nonce =
                rng.next() % 10 == 0
                ? ledger.nextAdmissionNonce(of: from.address) + 1 : ledger.nextAdmissionNonce(of: from.address)
            let maxFee: UInt64 = rng.next() % 10 == 0 ? 5 : 50_000
            let tx = transfer(from, to: to, amount, nonce: nonce, maxFee: maxFee)
            guard case .success = ledger.admit(tx) else {
                rejected += 1
                continue
            }
            block += 1
            let receipt = try ledger.include(tx, blockNumber: block, index: 0).get()
            fees += receipt.feeCharged
            if receipt.status == .reverted { reverted += 1 }
            #expect(ledger.balanceSum == supply)
        }
        #expect(ledger.totalSupply == supply)
        #expect(ledger.balance(of: accounts.sequencer.address) == fees)
        #expect(reverted > 0)
        #expect(rejected > 0)
    }
}

/// A small deterministic generator (SplitMix64), so that a seed replays a case exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Result {
    var rejection: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
