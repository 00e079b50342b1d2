public import DevnetProtocol
public import ThreadVM
public import ZKCore

/// Message types of a thread node's API endpoint.
public enum NodeMessage {
    /// ``NodeSubmitRequest`` → ``TxStatusReply``, or an error naming why the transaction was refused.
    public static let submit = "submit"
    /// ``NodeSubmitBatchRequest`` → ``SubmitBatchReply``: up to ``NodeSubmitBatchRequest/maxTransactions``
    /// transactions in one request, each admitted or refused on its own, stored in one commit.
    public static let submitBatch = "submit_batch"
    /// ``TxStatusRequest`` → ``TxStatusReply``.
    public static let status = "tx_status"
    /// ``NonceRequest`` → ``NonceReply``: the thread nonce an account's next transaction must carry.
    public static let nonce = "nonce"
    /// `{}` → ``NodeInfo``.
    public static let info = "node_info"
    /// `{}` → ``SubmissionsReply``: the node's L2 submissions since it started, oldest first.
    public static let submissions = "submissions"
}

/// Fault hooks on a thread node's admin endpoint; refused unless the devnet runs with
/// `fault_hooks: true`.
public enum NodeAdminMessage {
    /// `{}` → ``NodeInfo``: the node stops sealing and submitting; it still takes transactions.
    public static let pause = "pause"
    /// `{}` → ``NodeInfo``: the node seals and submits again.
    public static let resume = "resume"
    /// ``TamperRequest`` → ``TamperReply``: spoil the node's next submission.
    public static let tamper = "tamper"
}

/// How to spoil a node's next L2 submission.
public enum Tamper: String, Codable, Sendable, CaseIterable {
    /// Flip bytes of the proof: the manager reverts it with `BAD_PROOF`.
    case badProof = "bad_proof"
    /// Claim an input value the canonical state does not hold: `STALE_INPUT`.
    case wrongInputs = "wrong_inputs"
    /// Claim an OS version the thread is not pinned to: `WRONG_OS_VERSION`.
    case wrongOSVersion = "wrong_os_version"
    /// Submit the last accepted sub-block again, before the next real one: `WRONG_SEQUENCE`.
    case replay
}

public struct TamperRequest: Codable, Sendable {
    public var fault: Tamper
    /// A name for the spoiled submission, to find it later in ``SubmissionsReply``.
    public var label: String?

    public init(fault: Tamper, label: String? = nil) {
        self.fault = fault
        self.label = label
    }
}

public struct TamperReply: Codable, Sendable {
    public var fault: Tamper
    public var label: String?
    /// Spoilings queued, this one included; each applies to one submission, in order.
    public var queued: Int

    public init(fault: Tamper, label: String?, queued: Int) {
        self.fault = fault
        self.label = label
        self.queued = queued
    }
}

/// One L2 transaction a node submitted for its thread.
public struct SubmissionRecord: Codable, Sendable, Equatable {
    /// The sub-block's sequence number, as submitted.
    public var sequence: UInt64
    public var l2TxHash: String
    /// `accepted` or `reverted`.
    public var status: String
    /// The revert code, e.g. `STALE_INPUT`.
    public var revertCode: String?
    public var revertMessage: String?
    public var feeCharged: UInt64
    public var block: UInt64
    public var transactions: Int
    /// The fault applied to this submission, if a fault hook spoiled it.
    public var tamper: Tamper?
    public var label: String?

    public init(
        sequence: UInt64, l2TxHash: String, status: String, revertCode: String?, revertMessage: String?,
        feeCharged: UInt64, block: UInt64, transactions: Int, tamper: Tamper?, label: String?
    ) {
        self.sequence = sequence
        self.l2TxHash = l2TxHash
        self.status = status
        self.revertCode = revertCode
        self.revertMessage = revertMessage
        self.feeCharged = feeCharged
        self.block = block
        self.transactions = transactions
        self.tamper = tamper
        self.label = label
    }
}

public struct SubmissionsReply: Codable, Sendable {
    public var submissions: [SubmissionRecord]
    public init(submissions: [SubmissionRecord]) { self.submissions = submissions }
}

public struct NodeSubmitRequest: Codable, Sendable {
    public var tx: ThreadTransaction
    public init(tx: ThreadTransaction) { self.tx = tx }
}

/// Several transactions, admitted in order as if each came in its own `submit`.
public struct NodeSubmitBatchRequest: Codable, Sendable {
    /// The most transactions one `submit_batch` takes; more is `BAD_PAYLOAD`.
    public static let maxTransactions = 1024

    public var txs: [ThreadTransaction]
    public init(txs: [ThreadTransaction]) { self.txs = txs }
}

/// One result per transaction of a ``NodeSubmitBatchRequest``, in its order.
public struct SubmitBatchReply: Codable, Sendable {
    public var results: [SubmitResult]
    public init(results: [SubmitResult]) { self.results = results }
}

/// What `submit` would have answered for one transaction: its status, or the error that refused it.
public struct SubmitResult: Codable, Sendable, Equatable {
    public var txHash: String
    /// The status, as `submit` replies it; nil when refused.
    public var status: TxStatusReply?
    /// Why the transaction was refused (it is then not admitted); nil when admitted.
    public var error: WireError?

    public init(txHash: String, status: TxStatusReply? = nil, error: WireError? = nil) {
        self.txHash = txHash
        self.status = status
        self.error = error
    }
}

/// The payload of a node's `tx_final` event: transactions that became `settled` or `failed` in one
/// step of the node (a sub-block's receipt, say), each as `tx_status` would reply it.
public struct TxFinalEvent: Codable, Sendable {
    public static let topic = "tx_final"

    public var transactions: [TxStatusReply]
    public init(transactions: [TxStatusReply]) { self.transactions = transactions }
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

/// The four states of an admitted thread transaction.
public enum ThreadTxState: String, Codable, Sendable, CaseIterable {
    /// Executed on the node's fork, not yet in a sub-block the sequencer admitted.
    case pending
    /// In sub-block `sub_block`, admitted on L2 as `l2_tx_hash`; its receipt is not in yet.
    case sealed
    /// The sub-block was accepted by the manager in L2 transaction `l2_tx_hash` of block `block`.
    case settled
    /// It will never take effect; `code` and `reason` say why.
    case failed
}

/// Where a thread transaction is.
public struct TxStatusReply: Codable, Sendable, Equatable {
    public var txHash: String
    public var status: ThreadTxState
    public var subBlock: UInt64?
    public var l2TxHash: String?
    public var block: UInt64?
    /// For `failed`: `WRONG_NONCE` (its nonce was used by another transaction, or an earlier nonce
    /// failed) or `EXECUTION_FAILED` (it settled, using its nonce, but the contract call failed).
    public var code: String?
    public var reason: String?
    /// For `pending` and `sealed`: why the node cannot move it on right now (its prover account
    /// cannot pay, it is paused, or it is re-syncing), when that is so.
    public var waiting: String?

    public init(
        txHash: String, status: ThreadTxState, subBlock: UInt64? = nil, l2TxHash: String? = nil, block: UInt64? = nil,
        code: String? = nil, reason: String? = nil, waiting: String? = nil
    ) {
        self.txHash = txHash
        self.status = status
        self.subBlock = subBlock
        self.l2TxHash = l2TxHash
        self.block = block
        self.code = code
        self.reason = reason
        self.waiting = waiting
    }

    /// The reply for `status`, with `waiting` when the transaction is not final.
    public init(txHash: String, _ status: ThreadTxStatus, waiting: String? = nil) {
        switch status {
        case .pending:
            self.init(txHash: txHash, status: .pending, waiting: waiting)
        case .sealed(let subBlock, let l2TxHash):
            self.init(txHash: txHash, status: .sealed, subBlock: subBlock, l2TxHash: l2TxHash, waiting: waiting)
        case .settled(let s):
            self.init(txHash: txHash, status: .settled, subBlock: s.subBlock, l2TxHash: s.l2TxHash, block: s.block)
        case .failed(let failure):
            self.init(
                txHash: txHash, status: .failed, subBlock: failure.settlement?.subBlock,
                l2TxHash: failure.settlement?.l2TxHash, block: failure.settlement?.block, code: failure.code.rawValue,
                reason: failure.message)
        }
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
    /// `syncing`, `rebasing`, `running` or `draining` (waiting for receipts before a re-sync).
    public var phase: String
    /// Why the node cannot submit right now (its prover account cannot pay, say), or absent.
    public var waiting: String?

    public init(
        thread: String, threadId: Felt, contract: String, programHash: ProgramHash, prover: Address,
        canonicalSequence: UInt64,
        pending: Int, inFlight: Int, settled: UInt64, failed: UInt64, reverts: UInt64, paused: Bool,
        phase: String, waiting: String?
    ) {
        self.phase = phase
        self.waiting = waiting
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
