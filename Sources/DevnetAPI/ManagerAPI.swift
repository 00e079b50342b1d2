public import ThreadVM
public import ZKCore

/// Message types of the manager's API endpoint.
public enum ManagerMessage {
    /// Apply a thread registration or update, in L2 block order: ``ExecuteRequest`` → ``ManagerOutcome``.
    /// Idempotent per transaction hash.
    public static let execute = "execute"
    /// ``ThreadRequest`` → ``ThreadSummary``.
    public static let thread = "thread"
    /// `{}` → ``ThreadsReply``.
    public static let threads = "threads"
    /// ``ThreadRequest`` → ``ThreadStateReply``: the full canonical key/value state.
    public static let threadState = "thread_state"
    /// ``CanonicalRequest`` → ``CanonicalReply``: canonical values of some keys.
    public static let canonical = "canonical"
    /// ``ViewRequest`` → ``ViewReply``: a view entrypoint run on canonical state.
    public static let view = "view"
    /// ``SettlementsRequest`` → ``SettlementsReply``: where thread transactions settled, by hash.
    public static let settlements = "settlements"
    /// ``ProgramRequest`` → ``ProgramReply``: a program the manager has, by hash or by thread.
    public static let program = "program"
    /// ``CheckUpgradeRequest`` → `{}` when the upgrade would apply now, else an error whose code is
    /// the revert code (`NOT_OWNER`, `UNKNOWN_THREAD`, `UNKNOWN_PROGRAM`, `BAD_PROGRAM`, …). The
    /// sequencer asks it before admitting an upgrade.
    public static let checkUpgrade = "check_upgrade"
}

/// Fault hooks on the manager's admin endpoint (only with `fault_hooks: true`).
public enum ManagerAdminMessage {
    /// ``ThreadRequest`` → ``ApplyTwiceReply``. For testing the devnet's own checkers, never
    /// for a real manager: the next sub-block of the thread that this manager accepts has its
    /// thread transactions applied twice (their writes done again over the new state), and
    /// the receipt reports the state root that results. Scenarios' `replay` invariant must
    /// then name that sub-block and its transactions. The manager's log no longer replays
    /// after it, so the manager refuses to restart on that data directory.
    public static let applyTwice = "apply_twice"
}

public struct ApplyTwiceReply: Codable, Sendable {
    /// The thread's name.
    public var thread: String
    /// Sub-blocks of the thread still to be applied twice, this one included.
    public var armed: Int

    public init(thread: String, armed: Int) {
        self.thread = thread
        self.armed = armed
    }
}

public struct CheckUpgradeRequest: Codable, Sendable {
    public var upgrade: ThreadUpgrade
    public var sender: Address

    public init(upgrade: ThreadUpgrade, sender: Address) {
        self.upgrade = upgrade
        self.sender = sender
    }
}

public struct ProgramRequest: Codable, Sendable {
    /// The program's hash (64 hex digits); or give `thread`.
    public var hash: ProgramHash?
    /// A thread name or its id in decimal: the program it runs.
    public var thread: String?

    public init(hash: ProgramHash? = nil, thread: String? = nil) {
        self.hash = hash
        self.thread = thread
    }
}

public struct ProgramReply: Codable, Sendable {
    public var hash: ProgramHash
    /// The canonical encoding (hex): what a registration publishes and the hash is taken over.
    public var encoding: HexBytes
    public var abi: ABI
    public var instructions: Int
    /// The program as assembly text that assembles back to the same hash.
    public var disassembly: String
    /// The registered threads that run it.
    public var threads: [String]

    public init(
        hash: ProgramHash, encoding: HexBytes, abi: ABI, instructions: Int, disassembly: String, threads: [String]
    ) {
        self.hash = hash
        self.encoding = encoding
        self.abi = abi
        self.instructions = instructions
        self.disassembly = disassembly
        self.threads = threads
    }

    public init(_ program: Program, threads: [String]) {
        self.init(
            hash: program.hash, encoding: HexBytes(program.canonicalEncoding), abi: program.abi,
            instructions: program.instructions.count, disassembly: program.disassembly, threads: threads)
    }
}

public struct SettlementsRequest: Codable, Sendable {
    /// A thread name or its id in decimal.
    public var thread: String
    /// Thread transaction hashes, 64 hex digits each.
    public var txHashes: [String]

    public init(thread: String, txHashes: [String]) {
        self.thread = thread
        self.txHashes = txHashes
    }
}

public struct SettlementsReply: Codable, Sendable {
    /// For each requested hash, in order: the accepted sub-block, L2 transaction and block that
    /// hold it, and how its contract call ended; null when no accepted sub-block of the thread
    /// does.
    public var settlements: [SettledTransaction?]
    public init(settlements: [SettledTransaction?]) { self.settlements = settlements }
}

public struct ExecuteRequest: Codable, Sendable {
    public var txHash: String
    public var blockNumber: UInt64
    public var payload: L2Payload
    /// The L2 transaction's signer: a registration records it as the thread's owner, and only the
    /// owner may upgrade the thread.
    public var sender: Address?

    public init(txHash: String, blockNumber: UInt64, payload: L2Payload, sender: Address? = nil) {
        self.sender = sender
        self.txHash = txHash
        self.blockNumber = blockNumber
        self.payload = payload
    }
}

public struct ThreadRequest: Codable, Sendable {
    /// A thread name or its id in decimal.
    public var thread: String

    public init(thread: String) { self.thread = thread }
}

public struct ThreadSummary: Codable, Sendable {
    public var threadId: Felt
    public var name: String
    public var contract: String
    public var osVersion: UInt32
    public var programHash: ProgramHash
    public var proofSystem: String
    public var stateRoot: String
    public var sequence: UInt64
    public var keys: Int
    /// The account that registered the thread and may upgrade it.
    public var owner: Address?

    public init(
        threadId: Felt, name: String, contract: String, osVersion: UInt32, programHash: ProgramHash,
        proofSystem: String,
        stateRoot: String, sequence: UInt64, keys: Int, owner: Address? = nil
    ) {
        self.owner = owner
        self.threadId = threadId
        self.name = name
        self.contract = contract
        self.osVersion = osVersion
        self.programHash = programHash
        self.proofSystem = proofSystem
        self.stateRoot = stateRoot
        self.sequence = sequence
        self.keys = keys
    }
}

public struct ThreadsReply: Codable, Sendable {
    public var threads: [ThreadSummary]
    public init(threads: [ThreadSummary]) { self.threads = threads }
}

public struct ThreadStateReply: Codable, Sendable {
    public var summary: ThreadSummary
    public var entries: [KeyValue]

    public init(summary: ThreadSummary, entries: [KeyValue]) {
        self.summary = summary
        self.entries = entries
    }
}

public struct CanonicalRequest: Codable, Sendable {
    public var reads: [CanonicalKey]
    public init(reads: [CanonicalKey]) { self.reads = reads }
}

public struct CanonicalKey: Codable, Sendable, Hashable {
    public var thread: Felt
    public var key: StorageKey
    public init(thread: Felt, key: StorageKey) {
        self.thread = thread
        self.key = key
    }
}

public struct CanonicalReply: Codable, Sendable {
    /// The value of each requested key, in order; nil where the thread is unknown.
    public var values: [Felt?]
    public init(values: [Felt?]) { self.values = values }
}

public struct ViewRequest: Codable, Sendable {
    public var thread: String
    public var entrypoint: String
    /// Positional or `name=value` arguments, checked against the entrypoint's ABI.
    public var arguments: [String]
    /// The caller the view sees, `0x…`; zero when absent.
    public var caller: Address?

    public init(thread: String, entrypoint: String, arguments: [String], caller: Address? = nil) {
        self.thread = thread
        self.entrypoint = entrypoint
        self.arguments = arguments
        self.caller = caller
    }
}

public struct ViewReply: Codable, Sendable {
    public var thread: String
    public var entrypoint: String
    /// The returned words.
    public var values: [Felt]
    /// The return values formatted with the ABI's types.
    public var formatted: String

    public init(thread: String, entrypoint: String, values: [Felt], formatted: String) {
        self.thread = thread
        self.entrypoint = entrypoint
        self.values = values
        self.formatted = formatted
    }
}
