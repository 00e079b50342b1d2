public import ThreadVM

/// Why an included L2 transaction reverted: a stable code plus a sentence naming the thread,
/// sequence, key and the expected versus given value where they apply.
public struct RevertReason: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        // Sub-block acceptance, checked in this order.
        case unknownThread = "UNKNOWN_THREAD"
        case wrongOSVersion = "WRONG_OS_VERSION"
        case wrongProgram = "WRONG_PROGRAM"
        case wrongProofSystem = "WRONG_PROOF_SYSTEM"
        case wrongSequence = "WRONG_SEQUENCE"
        case staleInput = "STALE_INPUT"
        case staleCrossRead = "STALE_CROSS_READ"
        case badProof = "BAD_PROOF"
        case emptyBundle = "EMPTY_BUNDLE"
        // Registration.
        case threadExists = "THREAD_EXISTS"
        case unknownProgram = "UNKNOWN_PROGRAM"
        case badProgram = "BAD_PROGRAM"
        // Upgrade.
        case notOwner = "NOT_OWNER"
        case unknownProofSystem = "UNKNOWN_PROOF_SYSTEM"
        case unsupportedOSVersion = "UNSUPPORTED_OS_VERSION"
        case badThreadId = "BAD_THREAD_ID"
        // Native L2.
        case insufficientFunds = "INSUFFICIENT_FUNDS"
        case managerUnavailable = "MANAGER_UNAVAILABLE"
    }

    public var code: Code
    public var message: String
    public var threadId: Felt?
    public var sequence: UInt64?
    public var key: StorageKey?
    public var expected: String?
    public var given: String?

    public init(
        code: Code, message: String, threadId: Felt? = nil, sequence: UInt64? = nil, key: StorageKey? = nil,
        expected: String? = nil, given: String? = nil
    ) {
        self.code = code
        self.message = message
        self.threadId = threadId
        self.sequence = sequence
        self.key = key
        self.expected = expected
        self.given = given
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Accepted or reverted.
public enum TxStatus: String, Hashable, Sendable, Codable {
    case accepted
    case reverted
}

/// Something an accepted transaction did, as published in receipts and event streams.
public struct ProtocolEvent: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case transfer
        case threadRegistered = "thread_registered"
        case subBlockAccepted = "sub_block_accepted"
        case threadUpgraded = "thread_upgraded"
    }

    public var kind: Kind
    public var threadId: Felt?
    public var threadName: String?
    /// The thread's new sequence number.
    public var sequence: UInt64?
    /// The thread's new state root.
    public var stateRoot: String?
    public var transactionCount: Int?
    public var from: Address?
    public var to: Address?
    public var amount: UInt64?

    public init(
        kind: Kind, threadId: Felt? = nil, threadName: String? = nil, sequence: UInt64? = nil,
        stateRoot: String? = nil, transactionCount: Int? = nil, from: Address? = nil, to: Address? = nil,
        amount: UInt64? = nil
    ) {
        self.kind = kind
        self.threadId = threadId
        self.threadName = threadName
        self.sequence = sequence
        self.stateRoot = stateRoot
        self.transactionCount = transactionCount
        self.from = from
        self.to = to
        self.amount = amount
    }
}

/// The manager's verdict on one L2 transaction (registration or thread update).
public struct ManagerOutcome: Hashable, Sendable, Codable {
    public var txHash: String
    public var status: TxStatus
    public var revert: RevertReason?
    /// One `thread_registered` or one `sub_block_accepted` per sub-block; empty when reverted.
    public var events: [ProtocolEvent]

    public init(txHash: String, status: TxStatus, revert: RevertReason? = nil, events: [ProtocolEvent] = []) {
        self.txHash = txHash
        self.status = status
        self.revert = revert
        self.events = events
    }

    public static func reverted(_ txHash: String, _ reason: RevertReason) -> ManagerOutcome {
        ManagerOutcome(txHash: txHash, status: .reverted, revert: reason)
    }
}
