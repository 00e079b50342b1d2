public import ThreadVM

/// The deterministic fee schedule, in fee units.
///
/// `cost = base + perByte · encodedSize + perSubBlock · sub-blocks + perThreadTransaction · thread
/// transactions + (registration ? perRegistration : 0)`, where `encodedSize` is the canonical
/// signed encoding plus the signature (``L2Transaction/encodedSize``).
public struct FeeSchedule: Hashable, Sendable, Codable {
    public var base: UInt64
    public var perByte: UInt64
    public var perSubBlock: UInt64
    public var perThreadTransaction: UInt64
    public var perRegistration: UInt64

    public init(
        base: UInt64 = 1_000, perByte: UInt64 = 1, perSubBlock: UInt64 = 500, perThreadTransaction: UInt64 = 10,
        perRegistration: UInt64 = 10_000
    ) {
        self.base = base
        self.perByte = perByte
        self.perSubBlock = perSubBlock
        self.perThreadTransaction = perThreadTransaction
        self.perRegistration = perRegistration
    }

    public static let standard = FeeSchedule()

    /// The fee `tx` is charged when included (saturating at `UInt64.max`).
    public func cost(of tx: L2Transaction) -> UInt64 {
        var total = base.addingSaturating(perByte.multipliedSaturating(UInt64(tx.encodedSize)))
        switch tx.payload {
        case .transfer:
            break
        case .registerThread, .upgradeThread:
            total = total.addingSaturating(perRegistration)
        case .threadUpdate(let bundle):
            let txCount = bundle.reduce(0) { $0 + $1.transactions.count }
            total = total.addingSaturating(perSubBlock.multipliedSaturating(UInt64(bundle.count)))
            total = total.addingSaturating(perThreadTransaction.multipliedSaturating(UInt64(txCount)))
        }
        return total
    }
}

extension UInt64 {
    fileprivate func addingSaturating(_ other: UInt64) -> UInt64 {
        let (r, o) = addingReportingOverflow(other)
        return o ? .max : r
    }

    fileprivate func multipliedSaturating(_ other: UInt64) -> UInt64 {
        let (r, o) = multipliedReportingOverflow(by: other)
        return o ? .max : r
    }
}

/// Why the sequencer refuses a transaction at admission: it never enters a block, no fee.
public struct AdmissionRejection: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case badSignature = "BAD_SIGNATURE"
        case wrongNonce = "WRONG_NONCE"
        case feeTooLow = "FEE_TOO_LOW"
        case insufficientBalance = "INSUFFICIENT_BALANCE"
    }

    public var code: Code
    public var account: Address
    public var message: String
    public var expected: UInt64?
    public var given: UInt64?

    public var description: String { "\(code.rawValue): \(message)" }
}

/// A transaction that passed admission.
public struct Admitted: Hashable, Sendable {
    public var txHash: String
    public var sender: Address
    /// What inclusion will charge.
    public var fee: UInt64
}

/// The result of an included L2 transaction.
public struct Receipt: Hashable, Sendable, Codable {
    public var txHash: String
    public var blockNumber: UInt64
    /// Position in the block.
    public var index: Int
    public var status: TxStatus
    public var revert: RevertReason?
    /// Charged to the sender and paid to the fee account, accepted or reverted.
    public var feeCharged: UInt64
    public var events: [ProtocolEvent]

    public init(
        txHash: String, blockNumber: UInt64, index: Int, status: TxStatus, revert: RevertReason?, feeCharged: UInt64,
        events: [ProtocolEvent]
    ) {
        self.txHash = txHash
        self.blockNumber = blockNumber
        self.index = index
        self.status = status
        self.revert = revert
        self.feeCharged = feeCharged
        self.events = events
    }
}

/// One account's ledger entry.
public struct LedgerAccount: Hashable, Sendable, Codable {
    public var address: Address
    public var balance: UInt64
    /// The next expected L2 nonce (of included transactions).
    public var nonce: UInt64

    public init(address: Address, balance: UInt64, nonce: UInt64) {
        self.address = address
        self.balance = balance
        self.nonce = nonce
    }
}

/// The sequencer's fee-token ledger as a pure state machine.
///
/// Two steps per transaction. ``admit(_:names:)`` checks signature, nonce, fee and balance and
/// reserves the max fee, so a sender may have several admitted transactions waiting (nonces n,
/// n+1, …). ``include(_:blockNumber:index:managerOutcome:)`` charges the fee (paid to the fee
/// account), bumps the nonce and applies a transfer's effect. Total supply (the sum of all
/// balances) only changes through ``faucet(_:amount:)``.
public struct SequencerLedger: Sendable {
    public let feeAccount: Address
    public var feeSchedule: FeeSchedule
    private var balances: [Address: UInt64]
    private var feesPaid: [Address: UInt64] = [:]
    private var nonces: [Address: UInt64]
    /// Admitted, not yet included: txHash → (sender, reserved max fee).
    private var pending: [String: (sender: Address, maxFee: UInt64)] = [:]
    private var reserved: [Address: UInt64] = [:]
    private var pendingNonces: [Address: UInt64] = [:]
    /// The sum of all balances.
    public private(set) var totalSupply: UInt64

    /// A ledger at genesis.
    public init(genesis: [Address: UInt64], feeAccount: Address, feeSchedule: FeeSchedule = .standard) {
        self.init(
            accounts: genesis.map { LedgerAccount(address: $0.key, balance: $0.value, nonce: 0) },
            feeAccount: feeAccount, feeSchedule: feeSchedule)
    }

    /// The genesis ledger of a seeded devnet (users, provers `1…proversPerThread` of `threads`, sequencer).
    public init(
        accounts: DevAccounts, threads: [String] = [], proversPerThread: Int = 1, feeSchedule: FeeSchedule = .standard
    ) {
        self.init(
            genesis: accounts.genesisBalances(threads: threads, proversPerThread: proversPerThread),
            feeAccount: accounts.sequencer.address, feeSchedule: feeSchedule)
    }

    /// A ledger restored from its accounts (as persisted); nothing pending.
    public init(accounts: [LedgerAccount], feeAccount: Address, feeSchedule: FeeSchedule = .standard) {
        self.feeAccount = feeAccount
        self.feeSchedule = feeSchedule
        var balances: [Address: UInt64] = [feeAccount: 0]
        var nonces: [Address: UInt64] = [:]
        var supply: UInt64 = 0
        for account in accounts {
            balances[account.address] = account.balance
            if account.nonce > 0 { nonces[account.address] = account.nonce }
            supply = supply.addingSaturating(account.balance)
        }
        self.balances = balances
        self.nonces = nonces
        self.totalSupply = supply
    }

    public func balance(of address: Address) -> UInt64 { balances[address] ?? 0 }

    /// Every fee charged to `address` since genesis, on accepted and reverted transactions alike.
    public func fees(paidBy address: Address) -> UInt64 { feesPaid[address] ?? 0 }

    /// The next nonce an included transaction of `address` must carry.
    public func nonce(of address: Address) -> UInt64 { nonces[address] ?? 0 }

    /// The nonce the next admitted transaction of `address` must carry (counts pending ones).
    public func nextAdmissionNonce(of address: Address) -> UInt64 { pendingNonces[address] ?? nonce(of: address) }

    /// Balance minus the max fees reserved by admitted, not yet included transactions.
    public func available(of address: Address) -> UInt64 {
        balance(of: address) - min(balance(of: address), reserved[address] ?? 0)
    }

    /// Every account with a balance or a nonce, sorted by address.
    public var accounts: [LedgerAccount] {
        Set(balances.keys).union(nonces.keys).sorted().map {
            LedgerAccount(address: $0, balance: balance(of: $0), nonce: nonce(of: $0))
        }
    }

    public var pendingCount: Int { pending.count }

    public func cost(of tx: L2Transaction) -> UInt64 { feeSchedule.cost(of: tx) }

    /// Checks `tx` for admission and reserves its max fee. A rejection changes nothing.
    ///
    /// - Parameter names: optional address → account name lookup for the messages.
    ///
    /// - Parameter signatureChecked: the signature was verified when the transaction was first
    ///   admitted (a sequencer restoring its own log and mempool); the other rules still apply.
    public mutating func admit(
        _ tx: L2Transaction, signatureChecked: Bool = false, names: (Address) -> String? = { _ in nil }
    ) -> Result<Admitted, AdmissionRejection> {
        let sender = tx.sender
        // Names are looked up only for a rejection.
        var account: String { AccountLabel(address: sender, name: names(sender)).text }
        guard signatureChecked || tx.verifySignature() else {
            return .failure(
                AdmissionRejection(
                    code: .badSignature, account: sender,
                    message: "bad signature on a \(tx.payload.kind) from \(account)"))
        }
        let expectedNonce = nextAdmissionNonce(of: sender)
        guard tx.nonce == expectedNonce else {
            return .failure(
                AdmissionRejection(
                    code: .wrongNonce, account: sender,
                    message: "wrong nonce for \(account): expected \(expectedNonce), given \(tx.nonce)",
                    expected: expectedNonce, given: tx.nonce))
        }
        let fee = cost(of: tx)
        guard tx.maxFee >= fee else {
            return .failure(
                AdmissionRejection(
                    code: .feeTooLow, account: sender,
                    message: "fee too low for \(account): the \(tx.payload.kind) costs \(fee), max fee is \(tx.maxFee)",
                    expected: fee, given: tx.maxFee))
        }
        let free = available(of: sender)
        guard free >= tx.maxFee else {
            let reservedNote =
                (reserved[sender] ?? 0) > 0 ? " (\(reserved[sender]!) reserved by pending transactions)" : ""
            return .failure(
                AdmissionRejection(
                    code: .insufficientBalance, account: sender,
                    message:
                        "insufficient balance for \(account): balance \(free)\(reservedNote) is below the max fee \(tx.maxFee)",
                    expected: tx.maxFee, given: free))
        }
        let txHash = tx.txHash
        pending[txHash] = (sender, tx.maxFee)
        reserved[sender, default: 0] += tx.maxFee
        pendingNonces[sender] = expectedNonce + 1
        return .success(Admitted(txHash: txHash, sender: sender, fee: fee))
    }

    /// Forgets every admitted, not yet included transaction of `sender` (e.g. when the
    /// sequencer drops them); the next admission nonce goes back to the included nonce.
    public mutating func cancelPending(of sender: Address) {
        for (hash, entry) in pending where entry.sender == sender { pending[hash] = nil }
        reserved[sender] = nil
        pendingNonces[sender] = nil
    }

    /// Includes `tx` at `blockNumber`/`index`: charges the fee to the sender, pays it to the fee
    /// account, bumps the nonce and applies the effect.
    ///
    /// A transfer's effect is computed here (`INSUFFICIENT_FUNDS` if the amount exceeds the balance
    /// after the fee). A registration's or thread update's effect is the manager's verdict, passed
    /// as `managerOutcome` (nil reverts with `MANAGER_UNAVAILABLE`). Fails — changing nothing — if
    /// the transaction no longer fits the ledger (nonce, fee or balance), e.g. it was never admitted.
    public mutating func include(
        _ tx: L2Transaction, blockNumber: UInt64, index: Int, managerOutcome: ManagerOutcome? = nil
    ) -> Result<Receipt, AdmissionRejection> {
        let sender = tx.sender
        let txHash = tx.txHash
        let fee = cost(of: tx)
        guard tx.nonce == nonce(of: sender) else {
            return .failure(
                AdmissionRejection(
                    code: .wrongNonce, account: sender,
                    message: "wrong nonce for \(sender.hex): expected \(nonce(of: sender)), given \(tx.nonce)",
                    expected: nonce(of: sender), given: tx.nonce))
        }
        guard tx.maxFee >= fee else {
            return .failure(
                AdmissionRejection(
                    code: .feeTooLow, account: sender,
                    message: "fee too low for \(sender.hex): costs \(fee), max fee is \(tx.maxFee)",
                    expected: fee, given: tx.maxFee))
        }
        guard balance(of: sender) >= fee else {
            return .failure(
                AdmissionRejection(
                    code: .insufficientBalance, account: sender,
                    message:
                        "insufficient balance for \(sender.hex): balance \(balance(of: sender)) is below the fee \(fee)",
                    expected: fee, given: balance(of: sender)))
        }
        if let entry = pending.removeValue(forKey: txHash) {
            let left = (reserved[entry.sender] ?? 0) - min(reserved[entry.sender] ?? 0, entry.maxFee)
            reserved[entry.sender] = left == 0 ? nil : left
        }
        nonces[sender] = tx.nonce + 1
        if let next = pendingNonces[sender], next <= tx.nonce + 1 { pendingNonces[sender] = nil }
        balances[sender] = balance(of: sender) - fee
        balances[feeAccount] = balance(of: feeAccount) + fee
        feesPaid[sender, default: 0] += fee

        var status = TxStatus.accepted
        var revert: RevertReason? = nil
        var events: [ProtocolEvent] = []
        switch tx.payload {
        case .transfer(let to, let amount):
            let have = balance(of: sender)
            if amount > have {
                status = .reverted
                revert = RevertReason(
                    code: .insufficientFunds,
                    message:
                        "transfer of \(amount) from \(sender.hex) exceeds its balance \(have) after the fee \(fee)",
                    expected: "at most \(have)", given: String(amount))
            } else {
                balances[sender] = have - amount
                balances[to] = balance(of: to) + amount
                events.append(ProtocolEvent(kind: .transfer, from: sender, to: to, amount: amount))
            }
        case .registerThread, .threadUpdate, .upgradeThread:
            if let outcome = managerOutcome {
                status = outcome.status
                revert = outcome.revert
                events = outcome.events
            } else {
                status = .reverted
                revert = RevertReason(
                    code: .managerUnavailable, message: "no manager outcome for the \(tx.payload.kind) \(txHash)")
            }
        }
        return .success(
            Receipt(
                txHash: txHash, blockNumber: blockNumber, index: index, status: status, revert: revert, feeCharged: fee,
                events: events))
    }

    /// Credits `amount` new fee tokens to `address` (the devnet faucet, e.g. for a prover account
    /// of a thread attached at runtime). The only way the supply grows.
    /// Returns false, changing nothing, if the supply would overflow `UInt64`.
    @discardableResult
    public mutating func faucet(_ address: Address, amount: UInt64) -> Bool {
        let (supply, overflow) = totalSupply.addingReportingOverflow(amount)
        guard !overflow else { return false }
        balances[address] = balance(of: address) + amount
        totalSupply = supply
        return true
    }

    /// Puts back the fees each account paid, as a checkpoint recorded them.
    mutating func restoreFees(_ fees: [Address: UInt64]) {
        feesPaid = fees
    }

    /// The sum of all balances, recomputed (equals ``totalSupply`` unless there is a bug).
    public var balanceSum: UInt64 { balances.values.reduce(0, +) }
}
