public import DevnetProtocol
public import ThreadVM
import ZKCore

/// The program each thread of a topology runs.
///
/// Every process builds the same catalog from the same topology, so they agree on program hashes
/// without shipping programs around. A contract that reads another thread (karts reads the
/// achievements thread) gets that thread's id as an assembly constant.
public struct TopologyPrograms: Sendable {
    public struct Entry: Sendable {
        public var thread: ThreadSpec
        public var threadId: Felt
        public var program: Program
    }

    public private(set) var entries: [Entry] = []
    /// Every shipped contract, built with this topology's constants, by hash: a thread attached
    /// to the running devnet later runs one of these.
    private var shipped: [ProgramHash: Program] = [:]

    /// Builds the catalog; throws the contract's error naming the thread when a contract is unknown.
    public init(topology: Topology) throws {
        let threads = topology.processes.compactMap(\.thread)
        // Karts reads the first achievements thread of the devnet as it was started.
        let achievements =
            threads.first { $0.contract == "achievements" && $0.attached != true }
            ?? threads.first { $0.contract == "achievements" }
        func constants(for contract: String) -> [String: Felt] {
            guard contract == "karts" else { return [:] }
            return ["ACHIEVEMENTS_THREAD": ThreadId.derive(name: achievements?.name ?? "achievements")]
        }
        var seen: Set<String> = []
        for thread in threads where seen.insert(thread.name).inserted {
            let program: Program
            do {
                program = try Self.program(of: thread, defaults: constants(for: thread.contract))
            } catch {
                throw WireError(.notFound, "thread '\(thread.name)': \(error)")
            }
            entries.append(Entry(thread: thread, threadId: ThreadId.derive(name: thread.name), program: program))
        }
        for name in Contracts.names {
            if let program = try? Contracts.named(name, constants: constants(for: name)) {
                shipped[program.hash] = program
            }
        }
    }

    /// The program a thread spec names: its file's source with its constants, or the shipped
    /// contract (with `defaults` for constants the spec does not set).
    public static func program(of spec: ThreadSpec, defaults: [String: Felt] = [:]) throws -> Program {
        var constants = defaults
        for (name, value) in spec.constants ?? [:] { constants[name] = Felt(value) }
        if let source = spec.source { return try Assembler.assemble(source, constants: constants) }
        return try Contracts.named(spec.contract, constants: constants)
    }

    /// The entry for a thread name, or for a thread id written in decimal.
    public func entry(for thread: String) -> Entry? {
        entries.first { $0.thread.name == thread || "\($0.threadId)" == thread }
    }

    public func entry(id: Felt) -> Entry? {
        entries.first { $0.threadId == id }
    }

    /// The program of a thread of the topology, or a shipped contract, with this hash.
    public func program(hash: ProgramHash) -> Program? {
        entries.first { $0.program.hash == hash }?.program ?? shipped[hash]
    }

    /// The thread names, for error messages.
    public var names: [String] { entries.map(\.thread.name) }
}

extension ThreadSpec {
    /// The OS version the thread registers with: ``osVersion`` when the configuration names one,
    /// else the proof system's default (2 for `stark`, else 1).
    public var pinnedOSVersion: UInt32 { osVersion ?? OSVersion.defaultVersion(proofSystem: proofSystem) }
}
