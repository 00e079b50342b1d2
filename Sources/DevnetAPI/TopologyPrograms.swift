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

    /// Builds the catalog; throws the contract's error naming the thread when a contract is unknown.
    public init(topology: Topology) throws {
        let threads = topology.processes.compactMap(\.thread)
        var seen: Set<String> = []
        for thread in threads where seen.insert(thread.name).inserted {
            var constants: [String: Felt] = [:]
            if thread.contract == "karts" {
                let achievements = threads.first { $0.contract == "achievements" }
                constants["ACHIEVEMENTS_THREAD"] = ThreadId.derive(name: achievements?.name ?? "achievements")
            }
            let program: Program
            do {
                program = try Contracts.named(thread.contract, constants: constants)
            } catch {
                throw WireError(.notFound, "thread '\(thread.name)': \(error)")
            }
            entries.append(Entry(thread: thread, threadId: ThreadId.derive(name: thread.name), program: program))
        }
    }

    /// The entry for a thread name, or for a thread id written in decimal.
    public func entry(for thread: String) -> Entry? {
        entries.first { $0.thread.name == thread || "\($0.threadId)" == thread }
    }

    public func entry(id: Felt) -> Entry? {
        entries.first { $0.threadId == id }
    }

    public func program(hash: ProgramHash) -> Program? {
        entries.first { $0.program.hash == hash }?.program
    }

    /// The thread names, for error messages.
    public var names: [String] { entries.map(\.thread.name) }
}
