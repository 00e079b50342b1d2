import DevnetAPI
import DevnetClient
public import DevnetProtocol
import DevnetStorage
public import Foundation
import ZeroMQ

#if canImport(Glibc)
    import Glibc
#endif

/// What a snapshot holds, written as `manifest.json` in its folder beside one database file per
/// process.
public struct SnapshotManifest: Codable, Sendable, Equatable {
    /// One process's database in the snapshot.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var role: ProcessRole
        /// The database file's name in the snapshot's folder.
        public var database: String
        public var bytes: UInt64
    }

    public static let fileName = "manifest.json"
    /// The manifest format this build writes and reads.
    public static let currentVersion = 1

    public var version: Int
    public var name: String
    public var created: Date
    public var processes: [Entry]
    /// The devnet's topology when the snapshot was taken (`topology.json`).
    public var topology: Topology

    /// The size of every database in the snapshot.
    public var bytes: UInt64 { processes.reduce(0) { $0 + $1.bytes } }

    /// What must be the same in a devnet for this snapshot to be restored into it: the seed and
    /// each process with its role and, for a thread node, its thread, contract and proof system.
    /// Endpoints may differ (a devnet started again with another `--base-port`).
    static func shape(of topology: Topology) -> [String] {
        ["seed \(topology.seed)"]
            + topology.processes.map { process in
                var text = "\(process.name) (\(process.role.rawValue)"
                if let thread = process.thread {
                    text +=
                        ", thread \(thread.name), contract \(thread.sourceFile ?? thread.contract), \(thread.proofSystem), OS \(thread.pinnedOSVersion)"
                }
                return text + ")"
            }.sorted()
    }

    /// Why this snapshot cannot be restored into a devnet of `topology`, or nil if it can.
    public func mismatch(with topology: Topology) -> String? {
        let then = Self.shape(of: self.topology)
        let now = Self.shape(of: topology)
        guard then != now else { return nil }
        let added = now.filter { !then.contains($0) }
        let gone = then.filter { !now.contains($0) }
        var parts: [String] = []
        if !added.isEmpty {
            parts.append("this devnet has \(added.joined(separator: ", ")), which the snapshot has not")
        }
        if !gone.isEmpty { parts.append("the snapshot has \(gone.joined(separator: ", ")), which this devnet has not") }
        return parts.joined(separator: "; ")
    }
}

/// The snapshots of a data directory: `<data dir>/snapshots/<name>/`.
public struct SnapshotStore: Sendable {
    /// The snapshot `devnet up` takes of a fresh devnet, and `devnet reset` reverts to.
    public static let genesis = "genesis"
    public static let directoryName = "snapshots"

    public var directory: URL

    public init(dataDirectory: URL) {
        directory = dataDirectory.appendingPathComponent(Self.directoryName, isDirectory: true)
    }

    func folder(of name: String) -> URL { directory.appendingPathComponent(name, isDirectory: true) }

    /// Refuses a name that is not a plain folder name: letters, digits, `-`, `_` and `.`, starting
    /// with a letter or digit, at most 64 characters.
    ///
    /// - Throws: ``OrchestratorError`` (exit 2) naming the snapshot.
    public static func validate(_ name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy {
            ($0.isASCII && (CharacterSet.alphanumerics.contains($0))) || $0 == "-" || $0 == "_" || $0 == "."
        }
        guard !name.isEmpty, name.count <= 64, allowed, let first = name.unicodeScalars.first,
            first.isASCII, CharacterSet.alphanumerics.contains(first)
        else {
            throw OrchestratorError.usage(
                "error: '\(name)' cannot name a snapshot: use letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64 characters"
            )
        }
    }

    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: folder(of: name).appendingPathComponent(SnapshotManifest.fileName).path)
    }

    /// Every readable snapshot, oldest first.
    public func list() -> [SnapshotManifest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.compactMap { try? load($0) }
            .sorted { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// The next free generated name: `snap-1`, `snap-2`, … one more than the highest there is.
    public func nextName() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let highest = names.compactMap { $0.hasPrefix("snap-") ? Int($0.dropFirst(5)) : nil }.max() ?? 0
        return "snap-\(highest + 1)"
    }

    /// The manifest of snapshot `name`.
    ///
    /// - Throws: ``OrchestratorError`` naming the snapshots there are, when there is no such one.
    public func load(_ name: String) throws -> SnapshotManifest {
        let url = folder(of: name).appendingPathComponent(SnapshotManifest.fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw unknown(name)
        }
        let decoder = WireCodec.makeDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest: SnapshotManifest
        do {
            manifest = try decoder.decode(SnapshotManifest.self, from: data)
        } catch {
            throw OrchestratorError("error: snapshot '\(name)' has an unreadable manifest (\(url.path)): \(error)")
        }
        guard manifest.version == SnapshotManifest.currentVersion else {
            throw OrchestratorError(
                "error: snapshot '\(name)' is in format \(manifest.version); this devnet reads format \(SnapshotManifest.currentVersion)"
            )
        }
        return manifest
    }

    /// The error for a snapshot that does not exist, naming those that do.
    func unknown(_ name: String) -> OrchestratorError {
        let known = list().map(\.name)
        let hint =
            known.isEmpty
            ? "there are no snapshots in \(directory.path); take one with `devnet snapshot`"
            : "snapshots: \(known.joined(separator: ", "))"
        return OrchestratorError("error: no snapshot named '\(name)' (\(hint))")
    }

    func write(_ manifest: SnapshotManifest, in folder: URL) throws {
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.formUnion([.prettyPrinted, .sortedKeys])
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(manifest).write(
            to: folder.appendingPathComponent(SnapshotManifest.fileName), options: .atomic)
    }

    /// Removes snapshot `name`.
    public func delete(_ name: String) throws {
        try Self.validate(name)
        let held = try lock()
        defer { close(held) }
        guard exists(name) else { throw unknown(name) }
        try FileManager.default.removeItem(at: folder(of: name))
    }

    /// Holds `snapshots/.lock` while one snapshot, revert or reset runs on the data directory.
    func lock() throws -> Int32 {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fd = open(directory.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw OrchestratorError("error: cannot open \(directory.path)/.lock: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw OrchestratorError(
                "error: another snapshot, revert or reset is running on \(directory.deletingLastPathComponent().path); wait for it to finish"
            )
        }
        return fd
    }
}

extension Orchestrator {
    /// What a snapshot or revert did, with how long each part took.
    public struct SnapshotTiming: Sendable {
        public var manifest: SnapshotManifest
        /// From the stop request until every daemon had exited.
        public var stopMs: Int
        /// Copying the databases.
        public var copyMs: Int
        /// From the first spawn until every daemon answered healthy.
        public var startMs: Int
        /// All of it, start to end of the command's work.
        public var milliseconds: Int
        /// For a snapshot: how long the daemons were frozen (they were not stopped).
        public var pausedMs: Int? = nil
        /// For a snapshot: how long the daemons took to save their checkpoints before the freeze.
        public var checkpointMs: Int? = nil
        /// For a snapshot: the daemons that saved no checkpoint, and why (their revert replays
        /// their whole log instead).
        public var checkpointFailures: [String] = []
        /// For a snapshot: how long each daemon took to encode and save its checkpoint, in ms (0
        /// when the one it had already covered its whole log).
        public var checkpointDaemonMs: [String: Int] = [:]
    }

    public var snapshots: SnapshotStore { SnapshotStore(dataDirectory: dataDirectory) }

    /// A size as people read it: `812 B`, `1.3 MB`.
    public static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// The table of `devnet snapshot --list`: name, when it was taken, its size and processes.
    public static func snapshotsTable(_ snapshots: [SnapshotManifest]) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return Table.render(
            header: ["NAME", "CREATED", "SIZE", "PROCESSES"],
            rows: snapshots.map {
                [$0.name, formatter.string(from: $0.created), size($0.bytes), "\($0.processes.count)"]
            })
    }

    /// The same list as JSON: name, created (ISO 8601), bytes and process names.
    public static func snapshotsJSON(_ snapshots: [SnapshotManifest]) throws -> String {
        struct Row: Encodable {
            var name: String
            var created: Date
            var bytes: UInt64
            var processes: [String]
        }
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.formUnion([.prettyPrinted, .sortedKeys])
        encoder.dateEncodingStrategy = .iso8601
        let rows = snapshots.map {
            Row(name: $0.name, created: $0.created, bytes: $0.bytes, processes: $0.processes.map(\.name))
        }
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    /// The running devnet's state and topology, with every recorded process alive.
    func runningDevnet(for activity: String, requireAlive: Bool) throws -> (DevnetState, Topology) {
        guard let state = DevnetState.load(from: dataDirectory) else {
            throw OrchestratorError(
                "error: no devnet in \(dataDirectory.path) to \(activity); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        let topology: Topology
        do {
            topology = try Topology.load(from: dataDirectory.appendingPathComponent(Topology.fileName))
        } catch {
            throw OrchestratorError("error: cannot read \(Topology.fileName) in \(dataDirectory.path): \(error)")
        }
        if requireAlive {
            let alive = Set(state.alive.map(\.name))
            let dead = state.processes.filter { !alive.contains($0.name) }.map(\.name)
            guard dead.isEmpty else {
                throw OrchestratorError(
                    "error: cannot \(activity): \(dead.joined(separator: ", ")) \(dead.count == 1 ? "is" : "are") not running. Start \(dead.count == 1 ? "it" : "them") with `devnet restart NAME` (or `devnet up` if the devnet is down) and try again"
                )
            }
        }
        if let remote = state.remote, !remote.isEmpty {
            throw OrchestratorError(
                "error: cannot \(activity): \(remote.map(\.name).joined(separator: ", ")) \(remote.count == 1 ? "runs" : "run") on another host, and this needs every process's database on this machine"
            )
        }
        let recorded = Set(state.processes.map(\.name))
        let missing = topology.processes.map(\.name).filter { !recorded.contains($0) }
        guard missing.isEmpty else {
            throw OrchestratorError(
                "error: cannot \(activity): \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") in \(Topology.fileName) but \(missing.count == 1 ? "was" : "were") never started; see `devnet status`"
            )
        }
        return (state, topology)
    }

    /// Takes a consistent cut of every process's database: freezes every daemon (SIGSTOP), copies
    /// each database with SQLite's backup API into `snapshots/<name>/` (committed transactions
    /// only, the WAL folded in), and lets them go on (SIGCONT). Nothing restarts: requests wait for
    /// the length of the copy. The cut is what the devnet would recover from had every process been
    /// killed at that moment, which each daemon survives.
    ///
    /// - Parameter name: the snapshot's name; nil for the next `snap-N`.
    /// - Throws: ``OrchestratorError`` for a bad or taken name, a devnet that is not fully running,
    ///   or a copy that failed (the daemons go on whatever the copy did).
    public func snapshot(named name: String? = nil) async throws -> SnapshotTiming {
        let began = ContinuousClock.now
        let store = snapshots
        let lock = try store.lock()
        defer { close(lock) }
        let (state, topology) = try runningDevnet(for: "take a snapshot", requireAlive: true)
        let name = name ?? store.nextName()
        try SnapshotStore.validate(name)
        guard !store.exists(name) else {
            throw OrchestratorError.usage(
                "error: snapshot '\(name)' already exists; delete it first (`devnet snapshot --delete \(name)`) or choose another name"
            )
        }
        let target = store.folder(of: name)
        let staging = store.directory.appendingPathComponent(".partial-\(name)", isDirectory: true)
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)

        let manifest: SnapshotManifest
        let cut: Cut
        do {
            cut = try await consistentCopy(of: state, topology, into: staging)
            manifest = SnapshotManifest(
                version: SnapshotManifest.currentVersion, name: name, created: Date(), processes: cut.entries,
                topology: topology)
            try store.write(manifest, in: staging)
            try FileManager.default.moveItem(at: staging, to: target)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            if let error = error as? OrchestratorError, error.message.hasPrefix("error:") { throw error }
            throw OrchestratorError(
                "error: snapshot '\(name)' failed while copying the databases: \(error). The daemons run on; nothing was saved."
            )
        }
        let done = ContinuousClock.now
        return SnapshotTiming(
            manifest: manifest, stopMs: milliseconds(cut.paused - began), copyMs: milliseconds(cut.copied - cut.paused),
            startMs: milliseconds(cut.thawed - cut.copied), milliseconds: milliseconds(done - began),
            pausedMs: milliseconds(cut.thawed - cut.frozenSince), checkpointMs: milliseconds(cut.checkpointed - began),
            checkpointFailures: cut.checkpointFailures, checkpointDaemonMs: cut.checkpoints.mapValues(\.milliseconds))
    }

    /// One consistent copy of every process's database, and when each part of it happened.
    struct Cut {
        var entries: [SnapshotManifest.Entry]
        /// When every daemon that keeps a log had saved its checkpoint (or failed to).
        var checkpointed: ContinuousClock.Instant
        /// What each daemon that saved a checkpoint replied.
        var checkpoints: [String: CheckpointReply]
        /// Daemons that saved none, with why.
        var checkpointFailures: [String]
        /// When the first daemon was frozen.
        var frozenSince: ContinuousClock.Instant
        /// When every daemon was frozen.
        var paused: ContinuousClock.Instant
        var copied: ContinuousClock.Instant
        var thawed: ContinuousClock.Instant
    }

    /// Asks the sequencer and the manager for a checkpoint, freezes every daemon (SIGSTOP), copies
    /// each process's database files (the main file and its WAL, as they are on disk) into
    /// `folder`, lets them go on (SIGCONT), also when the copy fails, and then folds each copy's
    /// WAL into one self-contained `<name>.sqlite` (SQLite keeps only committed transactions). What
    /// each had committed then is one cut of the devnet: the state it recovers from after a crash
    /// of every process at that moment.
    ///
    /// - Throws: the copy's error, after the daemons were thawed; ``OrchestratorError`` if one did
    ///   not freeze.
    func consistentCopy(of state: DevnetState, _ topology: Topology, into folder: URL) async throws -> Cut {
        let (checkpoints, checkpointFailures) = await saveCheckpoints(state, topology)
        let checkpointed = ContinuousClock.now
        let frozen = try await Freezer.freeze(state.processes)
        let paused = ContinuousClock.now
        let jobs = topology.processes.map { process in
            (process, databasePath(of: process.name), folder.appendingPathComponent("\(process.name).sqlite").path)
        }
        let copied: Result<[String], any Error> = Result {
            for (process, from, _) in jobs where !FileManager.default.fileExists(atPath: from) {
                throw OrchestratorError("\(process.name) has no database at \(from)")
            }
            return try Self.concurrently(jobs) { _, from, to in try DatabaseCopy.copyFrozen(from: from, to: to) }
        }
        let copyEnd = ContinuousClock.now
        frozen.thaw()
        let thawed = ContinuousClock.now
        let partials = try copied.get()
        let entries = try Self.concurrently(Array(zip(jobs, partials))) { job, partial in
            SnapshotManifest.Entry(
                name: job.0.name, role: job.0.role, database: URL(fileURLWithPath: job.2).lastPathComponent,
                bytes: try DatabaseCopy.fold(partial, into: job.2))
        }
        return Cut(
            entries: entries, checkpointed: checkpointed, checkpoints: checkpoints,
            checkpointFailures: checkpointFailures,
            frozenSince: frozen.since, paused: paused, copied: copyEnd, thawed: thawed)
    }

    /// Asks the sequencer and the manager to save a checkpoint (their state and the log position it
    /// covers), all at once, so that the copy taken next holds one and a start from it replays
    /// only what they logged after it. A daemon that saves none is named with why; the copy is
    /// still whole without it (that daemon replays its whole log when it starts from the copy).
    ///
    /// - Returns: each daemon's reply, and the failures.
    func saveCheckpoints(_ state: DevnetState, _ topology: Topology) async -> (
        replies: [String: CheckpointReply], failures: [String]
    ) {
        let targets = topology.processes.filter { $0.role == .sequencer || $0.role == .manager }.compactMap {
            process in state.endpoints(of: process.name).map { (process.name, $0.admin) }
        }
        let context = ZMQContext()
        defer { context.terminate() }
        let loop: SocketLoop
        do {
            loop = SocketLoop(context: context, name: "devnet-checkpoint", clientKeys: try clientKeys())
        } catch {
            return ([:], targets.map { "\($0.0): \(error)" })
        }
        let results = await withTaskGroup(of: (String, Result<CheckpointReply, any Error>).self) { group in
            for (name, endpoint) in targets {
                group.addTask {
                    let result: Result<CheckpointReply, any Error>
                    do {
                        let client = try await RequestClient.connect(to: endpoint, on: loop)
                        // As in DevnetClientSession.request: no `defer` around the await (a
                        // Swift 6.3.1 release-build crash), and an error reply is thrown as the
                        // daemon's WireError, code and message.
                        do {
                            result = .success(
                                try await client.call(
                                    CheckpointMessage.checkpoint, Empty(), as: CheckpointReply.self,
                                    timeout: .seconds(10)))
                            client.close()
                        } catch {
                            client.close()
                            throw error
                        }
                    } catch {
                        result = .failure(error)
                    }
                    return (name, result)
                }
            }
            var results: [(String, Result<CheckpointReply, any Error>)] = []
            for await result in group { results.append(result) }
            return results
        }
        await loop.shutdown()
        var replies: [String: CheckpointReply] = [:]
        var failures: [String] = []
        for (name, result) in results {
            switch result {
            case let .success(reply): replies[name] = reply
            case let .failure(error): failures.append("\(name): \(error)")
            }
        }
        return (replies, failures.sorted())
    }

    /// Puts the devnet back to snapshot `name`: stops every daemon, replaces each one's database
    /// with the snapshot's copy (its `-wal` and `-shm` files removed), starts them again and waits
    /// until all are healthy. The snapshot stays, to revert to again.
    ///
    /// - Throws: ``OrchestratorError`` naming the snapshots there are when `name` is not one, or
    ///   saying how the snapshot's processes differ from the devnet's (a node attached since, say);
    ///   nothing is stopped then.
    public func revert(to name: String, timeout: Duration = .seconds(30)) async throws -> SnapshotTiming {
        let began = ContinuousClock.now
        let store = snapshots
        let lock = try store.lock()
        defer { close(lock) }
        let manifest = try store.load(name)
        var (state, topology) = try runningDevnet(for: "revert to snapshot '\(name)'", requireAlive: false)
        if let mismatch = manifest.mismatch(with: topology) {
            throw OrchestratorError(
                "error: snapshot '\(name)' was taken of another set of processes: \(mismatch). A snapshot restores only a devnet of the processes it was taken of; to start over with that one, `devnet down`, then `devnet up` with its configuration in a fresh --data-dir"
            )
        }
        let folder = store.folder(of: name)
        for entry in manifest.processes {
            let path = folder.appendingPathComponent(entry.database).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw OrchestratorError(
                    "error: snapshot '\(name)' is incomplete: \(path) (the database of \(entry.name)) is missing. Delete it with `devnet snapshot --delete \(name)`"
                )
            }
        }

        await killForRevert(state)
        let stopped = ContinuousClock.now
        var restoreError: (any Error)?
        do {
            let jobs = manifest.processes.map {
                (folder.appendingPathComponent($0.database).path, databasePath(of: $0.name))
            }
            _ = try Self.concurrently(jobs) { copy, destination in try DatabaseCopy.restore(copy, over: destination) }
        } catch {
            restoreError = error
        }
        let copyEnd = ContinuousClock.now
        if let restoreError {
            // Some databases may hold the snapshot and others not: starting that would mix two
            // moments of the devnet, so it stays stopped.
            DevnetState.remove(from: dataDirectory)
            throw OrchestratorError(
                "error: reverting to snapshot '\(name)' failed while restoring the databases: \(restoreError). The devnet is stopped, as its databases may be half restored; run `devnet revert \(name)` again once the cause is fixed"
            )
        }
        try await startAll(
            topology, in: &state, until: .now + timeout, doing: "starting after the revert", keepSlowOnes: true)
        let started = ContinuousClock.now
        return SnapshotTiming(
            manifest: manifest, stopMs: milliseconds(stopped - began), copyMs: milliseconds(copyEnd - stopped),
            startMs: milliseconds(started - copyEnd), milliseconds: milliseconds(started - began))
    }

    /// Stops every daemon of a devnet whose databases are about to be replaced: SIGKILL (and
    /// SIGCONT, for one a killed snapshot left frozen), then waits until each has exited. Nothing
    /// a graceful stop would commit matters, as every database is put back to the snapshot, and
    /// what a daemon logged is exactly what a kill leaves (each survives `kill -9`).
    func killForRevert(_ state: DevnetState) async {
        let alive = state.alive
        for process in alive {
            kill(process.pid, SIGKILL)
            kill(process.pid, SIGCONT)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        var remaining = alive
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            for process in remaining { _ = ProcessControl.reapIfExited(process.pid) }
            remaining = remaining.filter { ProcessControl.isAlive(pid: $0.pid, startTime: $0.startTime) }
            if !remaining.isEmpty { try? await Task.sleep(for: .milliseconds(2)) }
        }
    }

    /// Puts the devnet back to the `genesis` snapshot that `devnet up` took of its fresh data directory.
    public func reset(timeout: Duration = .seconds(30)) async throws -> SnapshotTiming {
        guard snapshots.exists(SnapshotStore.genesis) else {
            throw OrchestratorError(
                "error: no genesis snapshot in \(snapshots.directory.path): `devnet up` takes it when it starts a fresh data directory, and this one had databases already. Start over with `devnet down`, then `devnet up` in a new --data-dir"
            )
        }
        return try await revert(to: SnapshotStore.genesis, timeout: timeout)
    }

    /// `body` of every job, several at a time; the results in the jobs' order, or the first error.
    static func concurrently<Job, Value>(_ jobs: [Job], _ body: @Sendable (Job) throws -> Value) throws -> [Value] {
        let results = CopyResults<Value>(count: jobs.count)
        nonisolated(unsafe) let jobs = jobs
        DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
            results.set(index, Result { try body(jobs[index]) })
        }
        return try results.values.map { try $0!.get() }
    }
}

/// The daemons a snapshot froze with SIGSTOP; ``thaw()`` lets them go on. A SIGINT, SIGTERM or
/// SIGHUP to `devnet` meanwhile thaws them before it exits, so no daemon is left frozen.
final class Freezer: @unchecked Sendable {
    private let pids: [pid_t]
    private var sources: [any DispatchSourceSignal] = []
    /// The dispositions the signals had before, put back at the thaw (a scenario run's or `up`'s
    /// own handling of them, say).
    private var previous: [(Int32, sighandler_t?)] = []
    private let lock = NSLock()
    private var thawed = false
    /// When the first daemon was frozen.
    let since: ContinuousClock.Instant

    private init(pids: [pid_t], since: ContinuousClock.Instant) {
        self.pids = pids
        self.since = since
    }

    /// Freezes every running process of `processes` and waits until the kernel reports each
    /// stopped.
    ///
    /// - Throws: ``OrchestratorError`` (every process thawed again) if one does not stop within 2 s.
    static func freeze(_ processes: [DevnetState.Process]) async throws -> Freezer {
        let live = processes.filter { ProcessControl.isAlive(pid: $0.pid, startTime: $0.startTime) }
        let freezer = Freezer(pids: live.map(\.pid), since: .now)
        for number in [SIGINT, SIGTERM, SIGHUP] {
            freezer.previous.append((number, signal(number, SIG_IGN)))
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                freezer.thaw()
                FileHandle.standardError.write(
                    Data("interrupted while taking a snapshot; the daemons go on and nothing was saved\n".utf8))
                exit(130)
            }
            source.resume()
            freezer.sources.append(source)
        }
        for process in live { kill(process.pid, SIGSTOP) }
        let deadline = ContinuousClock.now + .seconds(2)
        while let running = live.first(where: { !isStopped($0.pid) }) {
            guard ContinuousClock.now < deadline else {
                freezer.thaw()
                throw OrchestratorError(
                    "error: \(running.name) (pid \(running.pid)) did not pause for the snapshot within 2 s; nothing was saved"
                )
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return freezer
    }

    /// Lets every frozen daemon go on, once.
    func thaw() {
        lock.lock()
        defer { lock.unlock() }
        guard !thawed else { return }
        thawed = true
        for pid in pids { kill(pid, SIGCONT) }
        for source in sources { source.cancel() }
        for (number, handler) in previous { signal(number, handler) }
    }

    deinit { thaw() }

    /// Whether every thread of the process is stopped (state `T` in /proc), or the process is gone.
    private static func isStopped(_ pid: pid_t) -> Bool {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else {
            return true
        }
        return tasks.allSatisfy { task in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return true }
            let state = stat[stat.index(after: close)...].split(separator: " ").first
            return state == "T" || state == "t" || state == "Z" || state == "X"
        }
    }
}

/// One result slot per concurrent copy.
private final class CopyResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Result<Value, any Error>) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [Result<Value, any Error>?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
