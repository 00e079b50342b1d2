import ArgumentParser
import Foundation
import Orchestrator

/// How long each part took, for the line a snapshot, revert or reset prints.
private func parts(_ timing: Orchestrator.SnapshotTiming, copy: String) -> String {
    "\(timing.manifest.processes.count) databases, \(Orchestrator.size(timing.manifest.bytes)); daemons stopped in \(timing.stopMs) ms, \(copy) \(timing.copyMs) ms, healthy again in \(timing.startMs) ms"
}

struct Snapshot: AsyncParsableCommand {
    /// ` (manager 310 ms, sequencer 4 ms)`: each daemon's own time to save its checkpoint.
    static func daemons(_ milliseconds: [String: Int]) -> String {
        milliseconds.isEmpty
            ? ""
            : " (" + milliseconds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) ms" }.joined(separator: ", ")
                + ")"
    }

    static let configuration = CommandConfiguration(
        abstract: "Save the whole devnet's state under a name, to revert to later; list or delete snapshots.",
        discussion: """
            A snapshot pauses every daemon (SIGSTOP) while it copies each one's SQLite database into \
            <data-dir>/snapshots/NAME/, then lets them go on; requests wait that long. A revert stops \
            every daemon, puts the databases back and starts them again (docs/snapshots.md).

            devnet snapshot                  saves snap-1, snap-2, …
            devnet snapshot before-upgrade   saves it under that name
            devnet snapshot --list           name, created, size
            devnet snapshot --delete snap-1
            """)

    @Argument(help: "The snapshot's name (default: the next snap-N).") var name: String?
    @Flag(help: "List the snapshots instead: name, created, size.") var list = false
    @Option(help: ArgumentHelp("Delete this snapshot instead.", valueName: "name")) var delete: String?
    @Flag(help: "With --list: print JSON.") var json = false
    @OptionGroup var dataDirectory: DataDirectory

    func validate() throws {
        if list, delete != nil { throw ValidationError("give --list or --delete, not both") }
        if list || delete != nil, let name {
            throw ValidationError("'\(name)': --list and --delete take no snapshot name to save")
        }
        if json, !list { throw ValidationError("--json goes with --list") }
    }

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            if list {
                let snapshots = orchestrator.snapshots.list()
                if json {
                    print(try Orchestrator.snapshotsJSON(snapshots))
                } else if snapshots.isEmpty {
                    print("no snapshots in \(orchestrator.snapshots.directory.path); take one with `devnet snapshot`")
                } else {
                    print(Orchestrator.snapshotsTable(snapshots))
                }
            } else if let delete {
                try orchestrator.snapshots.delete(delete)
                print("deleted snapshot \(delete)")
            } else {
                let taken = try await orchestrator.snapshot(named: name)
                print(
                    "snapshot \(taken.manifest.name) saved in \(taken.milliseconds) ms (\(taken.manifest.processes.count) databases, \(Orchestrator.size(taken.manifest.bytes)); checkpoints in \(taken.checkpointMs ?? 0) ms\(Self.daemons(taken.checkpointDaemonMs)), then every daemon paused for \(taken.pausedMs ?? 0) ms while they were copied)"
                )
                for failure in taken.checkpointFailures {
                    FileHandle.standardError.write(
                        Data(
                            "warning: no checkpoint from \(failure); the snapshot is whole, but a revert to it replays that daemon's whole log\n"
                                .utf8))
                }
            }
        }
    }
}

struct Revert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the whole devnet back to a snapshot; the snapshot stays.",
        discussion: "Example: devnet revert snap-1. See the names with devnet snapshot --list.")

    @Argument(help: "The snapshot's name.") var name: String
    @Option(help: "Seconds to wait for every process to be healthy again.") var timeout: Double = 30
    @OptionGroup var dataDirectory: DataDirectory

    func validate() throws { try validateSeconds(timeout) }

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            let done = try await orchestrator.revert(to: name, timeout: .seconds(timeout))
            print("reverted to snapshot \(name) in \(done.milliseconds) ms (\(parts(done, copy: "restored in")))")
        }
    }
}

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the whole devnet back to genesis: the state devnet up started it in.",
        discussion: "The same as devnet revert genesis; devnet up saves that snapshot of a fresh data directory.")

    @Option(help: "Seconds to wait for every process to be healthy again.") var timeout: Double = 30
    @OptionGroup var dataDirectory: DataDirectory

    func validate() throws { try validateSeconds(timeout) }

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            let done = try await orchestrator.reset(timeout: .seconds(timeout))
            print("reset to genesis in \(done.milliseconds) ms (\(parts(done, copy: "restored in")))")
        }
    }
}
