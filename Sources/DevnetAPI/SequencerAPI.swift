public import ThreadVM
public import ZKCore

/// Message types of the sequencer's API endpoint.
public enum SequencerMessage {
    /// Admit a signed L2 transaction: ``SubmitRequest`` → ``SubmitReply``, or an error whose code is
    /// the rejection reason (`BAD_SIGNATURE`, `WRONG_NONCE`, `FEE_TOO_LOW`, `INSUFFICIENT_BALANCE`).
    public static let submit = "submit"
    /// ``ReceiptRequest`` → ``ReceiptReply``.
    public static let receipt = "receipt"
    /// Close a block now: `{}` → ``MineReply``.
    public static let mine = "mine"
    /// ``AccountRequest`` → ``AccountInfo``.
    public static let account = "account"
    /// `{}` → ``AccountsReply``: the devnet's named accounts with balances.
    public static let accounts = "accounts"
    /// `{}` → ``ChainInfo``.
    public static let chain = "chain"
    /// ``HistoryRequest`` → ``HistoryReply``: the included transactions with their receipts, in
    /// order, a page at a time: the L2 history an offline replay re-executes.
    public static let history = "history"
}

/// A page of the L2 history: included transactions after a position, oldest first.
public struct HistoryRequest: Codable, Sendable {
    /// Only entries after this position (0 or absent: from the first).
    public var after: Int64?
    /// At most this many entries (default and maximum ``maxLimit``).
    public var limit: Int?

    /// The most entries one reply carries.
    public static let maxLimit = 256

    public init(after: Int64? = nil, limit: Int? = nil) {
        self.after = after
        self.limit = limit
    }
}

/// One included L2 transaction and its receipt.
public struct HistoryEntry: Codable, Sendable {
    /// Where it is in the sequencer's log: ask for `after` this to get the entries that follow.
    public var position: Int64
    public var tx: L2Transaction
    public var receipt: Receipt

    public init(position: Int64, tx: L2Transaction, receipt: Receipt) {
        self.position = position
        self.tx = tx
        self.receipt = receipt
    }
}

public struct HistoryReply: Codable, Sendable {
    public var entries: [HistoryEntry]
    /// Whether more entries follow the last one of this page.
    public var more: Bool

    public init(entries: [HistoryEntry], more: Bool) {
        self.entries = entries
        self.more = more
    }
}

public struct SubmitRequest: Codable, Sendable {
    public var tx: L2Transaction
    /// Wait until the transaction is in a block and return its receipt.
    public var wait: Bool?

    public init(tx: L2Transaction, wait: Bool? = nil) {
        self.tx = tx
        self.wait = wait
    }
}

public struct SubmitReply: Codable, Sendable {
    public var txHash: String
    /// `pending`, `accepted` or `reverted` (`unknown` from `receipt` for a hash never admitted).
    public var status: String
    public var receipt: Receipt?

    public init(txHash: String, status: String, receipt: Receipt? = nil) {
        self.txHash = txHash
        self.status = status
        self.receipt = receipt
    }
}

public struct ReceiptRequest: Codable, Sendable {
    public var txHash: String
    /// Wait up to this many milliseconds for a pending transaction's receipt.
    public var waitMs: Int?

    public init(txHash: String, waitMs: Int? = nil) {
        self.txHash = txHash
        self.waitMs = waitMs
    }
}

/// The reply to `receipt`: the same shape as ``SubmitReply``; `status` may also be `unknown`.
public typealias ReceiptReply = SubmitReply

public struct MineReply: Codable, Sendable {
    public var blockNumber: UInt64
    public var transactions: Int

    public init(blockNumber: UInt64, transactions: Int) {
        self.blockNumber = blockNumber
        self.transactions = transactions
    }
}

public struct AccountRequest: Codable, Sendable {
    /// An account name (`alice`, `prover-token-1`, `sequencer`) or a `0x…` address.
    public var account: String

    public init(account: String) { self.account = account }
}

public struct AccountInfo: Codable, Sendable {
    public var name: String?
    public var address: Address
    public var publicKey: String?
    public var balance: UInt64
    /// The nonce the account's next transaction must carry (pending ones counted).
    public var nextNonce: UInt64
    /// Every fee charged to the account since genesis.
    public var feesPaid: UInt64?

    public init(
        name: String?, address: Address, publicKey: String?, balance: UInt64, nextNonce: UInt64, feesPaid: UInt64? = nil
    ) {
        self.name = name
        self.address = address
        self.publicKey = publicKey
        self.balance = balance
        self.nextNonce = nextNonce
        self.feesPaid = feesPaid
    }
}

public struct AccountsReply: Codable, Sendable {
    public var accounts: [AccountInfo]
    public var totalSupply: UInt64

    public init(accounts: [AccountInfo], totalSupply: UInt64) {
        self.accounts = accounts
        self.totalSupply = totalSupply
    }
}

public struct ChainInfo: Codable, Sendable {
    public var height: UInt64
    public var blockMode: String
    public var pending: Int
    public var seed: UInt64
    public var accepted: UInt64
    public var reverted: UInt64
    public var rejected: UInt64

    public init(
        height: UInt64, blockMode: String, pending: Int, seed: UInt64, accepted: UInt64, reverted: UInt64,
        rejected: UInt64
    ) {
        self.height = height
        self.blockMode = blockMode
        self.pending = pending
        self.seed = seed
        self.accepted = accepted
        self.reverted = reverted
        self.rejected = rejected
    }
}

/// The event the sequencer publishes per block, on topic `block`.
public struct BlockEvent: Codable, Sendable {
    public var number: UInt64
    public var txHashes: [String]

    public init(number: UInt64, txHashes: [String]) {
        self.number = number
        self.txHashes = txHashes
    }
}

/// Devnet controls on the sequencer's admin endpoint.
public enum SequencerAdminMessage {
    /// ``FundThreadRequest`` → ``FundThreadReply``: fund the provers of a thread attached at runtime.
    public static let fundThread = "fund_thread"
}

public struct FundThreadRequest: Codable, Sendable {
    public var thread: String
    public init(thread: String) { self.thread = thread }
}

public struct FundThreadReply: Codable, Sendable {
    public var thread: String
    /// False when the thread's provers were already funded.
    public var funded: Bool
    public init(thread: String, funded: Bool) {
        self.thread = thread
        self.funded = funded
    }
}
