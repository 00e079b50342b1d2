public import ThreadVM
public import ZKCore

/// Message types of a thread node's API endpoint.
public enum NodeMessage {
    /// ``NodeSubmitRequest`` → ``TxStatusReply``, or an error naming why the transaction was refused.
    public static let submit = "submit"
    /// ``TxStatusRequest`` → ``TxStatusReply``.
    public static let status = "tx_status"
    /// ``NonceRequest`` → ``NonceReply``: the thread nonce an account's next transaction must carry.
    public static let nonce = "nonce"
    /// `{}` → ``NodeInfo``.
    public static let info = "node_info"
}

public struct NodeSubmitRequest: Codable, Sendable {
    public var tx: ThreadTransaction
    public init(tx: ThreadTransaction) { self.tx = tx }
}

public struct TxStatusRequest: Codable, Sendable {
    public var txHash: String
    /// Wait up to this many milliseconds for the transaction to settle or fail.
    public var waitMs: Int?

    public init(txHash: String, waitMs: Int? = nil) {
        self.txHash = txHash
        self.waitMs = waitMs
    }
}

/// Where a thread transaction is.
public struct TxStatusReply: Codable, Sendable, Equatable {
    public var txHash: String
    /// `pending` (executed on the node's fork, not yet sealed), `sealed` (in sub-block `sub_block`,
    /// submitted to L2), `settled` (the sub-block was accepted in L2 block `block`), or `failed`
    /// (`reason` says why).
    public var status: String
    public var subBlock: UInt64?
    public var l2TxHash: String?
    public var block: UInt64?
    public var reason: String?

    public init(
        txHash: String, status: String, subBlock: UInt64? = nil, l2TxHash: String? = nil, block: UInt64? = nil,
        reason: String? = nil
    ) {
        self.txHash = txHash
        self.status = status
        self.subBlock = subBlock
        self.l2TxHash = l2TxHash
        self.block = block
        self.reason = reason
    }
}

public struct NonceRequest: Codable, Sendable {
    public var address: Address
    public init(address: Address) { self.address = address }
}

public struct NonceReply: Codable, Sendable {
    public var nonce: UInt64
    public init(nonce: UInt64) { self.nonce = nonce }
}

public struct NodeInfo: Codable, Sendable {
    public var thread: String
    public var threadId: Felt
    public var contract: String
    public var programHash: ProgramHash
    public var prover: Address
    /// The last sequence the manager accepted, as the node knows it.
    public var canonicalSequence: UInt64
    public var pending: Int
    public var inFlight: Int
    public var settled: UInt64
    public var failed: UInt64
    public var reverts: UInt64
    public var paused: Bool

    public init(
        thread: String, threadId: Felt, contract: String, programHash: ProgramHash, prover: Address,
        canonicalSequence: UInt64,
        pending: Int, inFlight: Int, settled: UInt64, failed: UInt64, reverts: UInt64, paused: Bool
    ) {
        self.thread = thread
        self.threadId = threadId
        self.contract = contract
        self.programHash = programHash
        self.prover = prover
        self.canonicalSequence = canonicalSequence
        self.pending = pending
        self.inFlight = inFlight
        self.settled = settled
        self.failed = failed
        self.reverts = reverts
        self.paused = paused
    }
}
