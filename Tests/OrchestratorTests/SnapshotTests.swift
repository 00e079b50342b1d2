import DevnetProtocol
import DevnetStorage
import Foundation
import Testing

@testable import Orchestrator

@Suite("snapshots: names, manifests, listing and database copies")
struct SnapshotTests {
    /// A data directory of its own, removed at the end.
    private final class Directory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-unit-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        var store: SnapshotStore { SnapshotStore(dataDirectory: url) }
    }

    private func topology(threads: [String] = ["token", "counter"], basePort: Int = 27100) -> Topology {
        var config = DevnetConfig()
        config.basePort = basePort
        config.threads = threads.map { ThreadSpec(name: $0, contract: $0, proofSystem: "reexec") }
        return config.topology()
    }

    /// Writes a manifest (and empty database files) as a snapshot would.
    private func save(_ name: String, created: Date, in store: SnapshotStore, bytes: UInt64 = 100) throws {
        let topology = topology()
        let folder = store.folder(of: name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let entries = topology.processes.map {
            SnapshotManifest.Entry(name: $0.name, role: $0.role, database: "\($0.name).sqlite", bytes: bytes)
        }
        for entry in entries {
            _ = FileManager.default.createFile(
                atPath: folder.appendingPathComponent(entry.database).path, contents: nil)
        }
        try store.write(
            SnapshotManifest(
                version: SnapshotManifest.currentVersion, name: name, created: created, processes: entries,
                topology: topology),
            in: folder)
    }

    @Test(arguments: ["snap-1", "genesis", "before.upgrade", "A_b-9", String(repeating: "x", count: 64)])
    func plainNamesAreAccepted(_ name: String) throws {
        try SnapshotStore.validate(name)
    }

    @Test(arguments: ["", "../up", ".hidden", "-flag", "a/b", "two words", "é", String(repeating: "x", count: 65)])
    func namesThatAreNotPlainFolderNamesAreRefused(_ name: String) throws {
        do {
            try SnapshotStore.validate(name)
            Issue.record("'\(name)' was accepted")
        } catch let error as OrchestratorError {
            #expect(error.exitCode == 2)
            #expect(error.message.contains("'\(name)' cannot name a snapshot"))
        }
    }

    @Test func generatedNamesCountUpFromTheHighest() throws {
        let directory = try Directory()
        let store = directory.store
        #expect(store.nextName() == "snap-1")
        try save("snap-1", created: Date(), in: store)
        try save("snap-7", created: Date(), in: store)
        try save("before", created: Date(), in: store)
        #expect(store.nextName() == "snap-8")
    }

    @Test func theListIsOldestFirstWithSizesAndAManifestRoundTrips() throws {
        let directory = try Directory()
        let store = directory.store
        try save("later", created: Date(timeIntervalSince1970: 2_000_000), in: store, bytes: 1500)
        try save("earlier", created: Date(timeIntervalSince1970: 1_000_000), in: store)
        // A half-written snapshot (no manifest) and the lock file are not listed.
        try FileManager.default.createDirectory(
            at: store.directory.appendingPathComponent(".partial-x"), withIntermediateDirectories: true)
        let list = store.list()
        #expect(list.map(\.name) == ["earlier", "later"])
        let later = try store.load("later")
        #expect(later.processes.map(\.name) == ["sequencer", "manager", "node-token", "node-counter"])
        #expect(later.processes.first?.role == .sequencer)
        #expect(later.bytes == 6000)
        #expect(later.created == Date(timeIntervalSince1970: 2_000_000))
        #expect(later.topology == topology())
        let table = Orchestrator.snapshotsTable(list)
        #expect(table.contains("NAME"))
        #expect(table.contains("later"))
        #expect(table.contains("6.0 KB"))
        let json =
            try JSONSerialization.jsonObject(with: Data(Orchestrator.snapshotsJSON(list).utf8)) as? [[String: Any]]
        #expect(json?.map { $0["name"] as? String } == ["earlier", "later"])
        #expect(json?.last?["bytes"] as? Int == 6000)
    }

    @Test func anUnknownNameIsRefusedNamingTheSnapshotsThereAre() throws {
        let directory = try Directory()
        let store = directory.store
        do {
            _ = try store.load("nope")
            Issue.record("loaded a snapshot that does not exist")
        } catch let error as OrchestratorError {
            #expect(error.message.contains("no snapshot named 'nope'"))
            #expect(error.message.contains("there are no snapshots"))
        }
        try save("genesis", created: Date(timeIntervalSince1970: 1), in: store)
        try save("snap-1", created: Date(timeIntervalSince1970: 2), in: store)
        do {
            _ = try store.load("snap-2")
            Issue.record("loaded a snapshot that does not exist")
        } catch let error as OrchestratorError {
            #expect(error.message.contains("no snapshot named 'snap-2' (snapshots: genesis, snap-1)"))
        }
    }

    @Test func deleteRemovesOnlyThatSnapshot() throws {
        let directory = try Directory()
        let store = directory.store
        try save("a", created: Date(), in: store)
        try save("b", created: Date(), in: store)
        try store.delete("a")
        #expect(!store.exists("a"))
        #expect(store.list().map(\.name) == ["b"])
        #expect(throws: OrchestratorError.self) { try store.delete("a") }
        #expect(throws: OrchestratorError.self) { try store.delete("../b") }
        #expect(store.exists("b"))
    }

    @Test func aSnapshotFitsOnlyADevnetOfTheSameProcesses() throws {
        let directory = try Directory()
        try save("s", created: Date(), in: directory.store)
        let manifest = try directory.store.load("s")
        // Other ports: the same devnet started again elsewhere.
        #expect(manifest.mismatch(with: topology(basePort: 30000)) == nil)
        var attached = topology()
        var dice = ThreadSpec(name: "dice", contract: "counter", proofSystem: "reexec")
        dice.attached = true
        attached.processes.append(
            ProcessSpec(
                name: "node-dice", role: .threadNode, endpoints: Endpoints(api: "a", admin: "b", events: "c"),
                thread: dice))
        let problem = try #require(manifest.mismatch(with: attached))
        #expect(problem.contains("this devnet has node-dice"))
        let fewer = try #require(manifest.mismatch(with: topology(threads: ["token"])))
        #expect(fewer.contains("the snapshot has node-counter"))
        var reseeded = topology()
        reseeded.seed = 7
        #expect(manifest.mismatch(with: reseeded)?.contains("seed") == true)
    }

    @Test func aBackupFoldsTheWALInAndARestoreReplacesADatabaseWithItsSidecars() throws {
        let directory = try Directory()
        let source = directory.url.appendingPathComponent("live.sqlite").path
        let migrations: [Migration] = [
            ("v1-items", { db in try db.execute(sql: "CREATE TABLE items(value INTEGER)") })
        ]
        // The source stays open, its last commits in the WAL, as a daemon's would be.
        let database = try ProcessDatabase(path: source, migrations: migrations)
        for value in 1...50 {
            try database.write { db in try db.execute(sql: "INSERT INTO items(value) VALUES (?)", arguments: [value]) }
        }
        #expect(FileManager.default.fileExists(atPath: source + "-wal"))
        let copy = directory.url.appendingPathComponent("copy.sqlite").path
        let bytes = try DatabaseCopy.backup(from: source, to: copy)
        #expect(bytes > 0)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: copy + "-shm"))
        #expect(!FileManager.default.fileExists(atPath: copy + ".partial"))

        // More commits after the copy; the restore puts the copy's 50 rows back.
        try database.write { db in try db.execute(sql: "DELETE FROM items WHERE value > 10") }
        let target = directory.url.appendingPathComponent("target.sqlite").path
        do {
            // Another database, closed (its daemon stopped) with its -wal and -shm files beside it.
            let other = try ProcessDatabase(path: target, migrations: migrations)
            try other.write { db in try db.execute(sql: "INSERT INTO items(value) VALUES (999)") }
        }
        for suffix in ["-wal", "-shm"] {
            _ = FileManager.default.createFile(atPath: target + suffix, contents: Data("stale".utf8))
        }
        try DatabaseCopy.restore(copy, over: target)
        #expect(!FileManager.default.fileExists(atPath: target + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: target + "-shm"))
        let reopened = try ProcessDatabase(path: target, migrations: migrations)
        let values = try reopened.read { db in try Int.fetchAll(db, sql: "SELECT value FROM items ORDER BY value") }
        #expect(values == Array(1...50))
        #expect(try reopened.appliedMigrations() == ["v1-process-meta", "v1-events", "v1-items"])
        // The snapshot's own copy is left as it was.
        #expect(FileManager.default.fileExists(atPath: copy))
    }
}
