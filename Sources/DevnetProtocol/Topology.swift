public import Foundation

/// How the sequencer closes L2 blocks.
public enum BlockMode: Codable, Sendable, Equatable, CustomStringConvertible {
    /// One block per admitted transaction.
    case instant
    /// A block every so many milliseconds, if anything is pending.
    case interval(milliseconds: Int)
    /// Only when asked (`devnet mine`).
    case onDemand

    public var description: String {
        switch self {
        case .instant: "instant"
        case let .interval(ms): "interval \(ms) ms"
        case .onDemand: "on demand"
        }
    }
}

/// What a thread node runs.
public struct ThreadSpec: Codable, Sendable, Equatable {
    /// The thread's name, unique in the devnet.
    public var name: String
    /// The contract the thread runs, e.g. `token`.
    public var contract: String
    /// `reexec` or `stark`.
    public var proofSystem: String
    /// The OS version the thread registers with: 1, or 2 (the provable OS, which `stark`
    /// requires); nil for the proof system's default (1 for `reexec`, 2 for `stark`).
    public var osVersion: UInt32?
    /// The most transactions the node seals into one sub-block; nil for the node's default (256).
    public var maxSubBlock: Int?
    /// The sealing policy: while a sub-block is in flight, the open one waits for this many
    /// transactions (nil: 1, no wait) ...
    public var minSubBlock: Int?
    /// ... or until its oldest transaction has waited this long (nil: 0 ms).
    public var sealAfterMs: Int?
    /// Which of the thread's prover accounts (`prover-<thread>-<n>`) the node pays with; nil for 1.
    /// A second node of the same thread uses another.
    public var prover: Int?
    /// True for a node attached to a running devnet: its thread's provers were funded then, by a
    /// logged faucet command, rather than at genesis.
    public var attached: Bool?
    /// The assembly text of a contract read from a file (``contract`` is then the file's base
    /// name); nil for a shipped contract.
    public var source: String?
    /// Where ``source`` was read from, for messages.
    public var sourceFile: String?
    /// Values for the contract's `.const` declarations, by name (thread names already resolved to
    /// thread ids).
    public var constants: [String: UInt64]?

    public init(
        name: String, contract: String, proofSystem: String, osVersion: UInt32? = nil, maxSubBlock: Int? = nil,
        prover: Int? = nil, attached: Bool? = nil
    ) {
        self.name = name
        self.contract = contract
        self.proofSystem = proofSystem
        self.osVersion = osVersion
        self.maxSubBlock = maxSubBlock
        self.prover = prover
        self.attached = attached
    }

    /// The prover account index the node pays with.
    public var proverIndex: Int { prover ?? 1 }

    /// The name of the node process that runs this thread with this prover: `node-token`, or
    /// `node-token-2` for a second prover.
    public var nodeName: String { proverIndex == 1 ? "node-\(name)" : "node-\(name)-\(proverIndex)" }
}

/// One process of a resolved topology.
public struct ProcessSpec: Codable, Sendable, Equatable {
    public var name: String
    public var role: ProcessRole
    /// Where others reach the process (the advertised addresses).
    public var endpoints: Endpoints
    /// Where the process binds, when that differs from ``endpoints`` (`tcp://0.0.0.0:27100`
    /// behind an address others reach it at, say); nil binds ``endpoints``.
    public var bind: Endpoints?
    /// Sequencer only.
    public var blockMode: BlockMode?
    /// Thread nodes only.
    public var thread: ThreadSpec?

    public init(
        name: String, role: ProcessRole, endpoints: Endpoints, blockMode: BlockMode? = nil, thread: ThreadSpec? = nil
    ) {
        self.name = name
        self.role = role
        self.endpoints = endpoints
        self.blockMode = blockMode
        self.thread = thread
    }

    /// The endpoints the process binds.
    public var bindEndpoints: Endpoints { bind ?? endpoints }
}

/// The fully resolved devnet: every process with its endpoints.
///
/// The orchestrator writes it as `topology.json` in the data directory; every daemon reads it
/// to find its own endpoints and its peers'.
public struct Topology: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var processes: [ProcessSpec]
    /// Whether the daemons answer fault hooks (pause, resume, tamper) on their admin endpoints.
    /// Off unless the configuration turns it on; scenario runs turn it on.
    public var faultHooks: Bool?
    /// How the endpoints are protected: ``Security/curve`` or open (nil).
    public var security: Security?

    /// The protection of a devnet's endpoints.
    public enum Security: String, Codable, Sendable {
        /// CurveZMQ on every endpoint: encrypted, and only holders of the devnet's credentials
        /// (`<data-dir>/credentials/`) connect; admin endpoints let in the orchestrator's key only.
        case curve
    }

    public init(seed: UInt64, processes: [ProcessSpec], faultHooks: Bool? = nil, security: Security? = nil) {
        self.seed = seed
        self.processes = processes
        self.faultHooks = faultHooks
        self.security = security
    }

    /// Whether the endpoints need the devnet's CURVE credentials.
    public var isSecured: Bool { security == .curve }

    /// The names of the threads funded at genesis (those not attached later), each once.
    public var genesisThreads: [String] {
        var seen: Set<String> = []
        return processes.compactMap(\.thread).filter { $0.attached != true }.map(\.name).filter {
            seen.insert($0).inserted
        }
    }

    public func process(named name: String) -> ProcessSpec? {
        processes.first { $0.name == name }
    }

    /// The first process with this role, e.g. the sequencer.
    public func first(_ role: ProcessRole) -> ProcessSpec? {
        processes.first { $0.role == role }
    }

    /// The file name the orchestrator writes in the data directory.
    public static let fileName = "topology.json"

    public static func load(from url: URL) throws -> Topology {
        try WireCodec.makeDecoder().decode(Topology.self, from: Data(contentsOf: url))
    }

    public func write(to url: URL) throws {
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
