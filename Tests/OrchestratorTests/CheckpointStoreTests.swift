import DevnetStorage
import Foundation
import GRDB
import Testing

/// The checkpoint table: one row saved in one transaction with the log position it covers, and
/// handed back only when its format, its checksum and its log entry all still match.
@Suite struct CheckpointStoreTests {
    /// Any function of the bytes will do for the store; the daemons use ZKCore's checksum.
    static func sum(_ data: Data) -> UInt64 { data.reduce(UInt64(17)) { ($0 &* 31) &+ UInt64($1) } }

    func database(entries: Int) throws -> (ProcessDatabase, CommandLog, CheckpointStore) {
        let database = try ProcessDatabase(inMemoryWith: [CommandLog.migration, CheckpointStore.migration])
        let log = CommandLog(database: database)
        for index in 1...entries {
            #expect(
                try log.append(key: "k\(index)", kind: "execute", command: Data([1]), outcome: Data([2]))
                    == Int64(index))
        }
        return (database, log, CheckpointStore(database: database))
    }

    func checkpoint(_ position: Int64, format: Int = 1, state: String = "state") -> CheckpointStore.Checkpoint {
        CheckpointStore.Checkpoint(format: format, position: position, logKey: "k\(position)", state: Data(state.utf8))
    }

    @Test func theLatestCheckpointComesBackWithItsPositionAndTheLogTailAfterIt() throws {
        let (_, log, store) = try database(entries: 5)
        #expect(try store.latest(format: 1, checksum: Self.sum) == nil)
        let saved = checkpoint(3)
        #expect(try store.save(saved, checksum: Self.sum(saved.state)))
        #expect(try store.latest(format: 1, checksum: Self.sum) == saved)
        #expect(try log.entries(after: 3).map(\.key) == ["k4", "k5"])
        #expect(try log.last()?.position == 5)
        // A later one replaces it; an earlier one arriving late does not.
        #expect(try store.save(checkpoint(5, state: "later"), checksum: Self.sum(Data("later".utf8))))
        #expect(!(try store.save(checkpoint(4), checksum: Self.sum(Data("state".utf8)))))
        #expect(try store.latest(format: 1, checksum: Self.sum)?.position == 5)
        // A checkpoint of an empty log covers position 0.
        let empty = try ProcessDatabase(inMemoryWith: [CommandLog.migration, CheckpointStore.migration])
        let none = CheckpointStore.Checkpoint(format: 1, position: 0, logKey: "", state: Data())
        #expect(try CheckpointStore(database: empty).save(none, checksum: Self.sum(Data())))
        #expect(try CheckpointStore(database: empty).latest(format: 1, checksum: Self.sum) == none)
    }

    @Test func aCheckpointOfAnotherFormatIsRefusedSayingSo() throws {
        let (_, _, store) = try database(entries: 2)
        try store.save(checkpoint(2, format: 1), checksum: Self.sum(Data("state".utf8)))
        #expect {
            try store.latest(format: 2, checksum: Self.sum)
        } throws: { error in
            "\(error)".contains("it is in format 1; this build reads format 2")
        }
    }

    @Test func aCorruptCheckpointIsRefusedByItsChecksum() throws {
        let (database, _, store) = try database(entries: 2)
        try store.save(checkpoint(2), checksum: Self.sum(Data("state".utf8)))
        try database.write { db in
            try db.execute(sql: "UPDATE checkpoint SET state = ?", arguments: [Data("stale".utf8)])
        }
        #expect {
            try store.latest(format: 1, checksum: Self.sum)
        } throws: { error in
            "\(error)".contains("do not match their checksum")
        }
    }

    @Test func aCheckpointWhoseLogEntryIsGoneOrAnotherIsRefused() throws {
        let (database, _, store) = try database(entries: 3)
        // Saving one for a position the log holds under another key fails and saves nothing.
        var wrong = checkpoint(2)
        wrong.logKey = "k3"
        #expect(throws: (any Error).self) { try store.save(wrong, checksum: Self.sum(wrong.state)) }
        #expect(try store.latest(format: 1, checksum: Self.sum) == nil)
        #expect(throws: (any Error).self) { try store.save(checkpoint(9), checksum: Self.sum(Data("state".utf8))) }

        try store.save(checkpoint(3), checksum: Self.sum(Data("state".utf8)))
        try database.write { db in try db.execute(sql: "DELETE FROM command_log WHERE position = 3") }
        #expect {
            try store.latest(format: 1, checksum: Self.sum)
        } throws: { error in
            "\(error)".contains("which holds nothing")
        }
    }

    /// The row and its position are one transaction: a writer that fails half-way (here, a
    /// statement after it in the same transaction) leaves the checkpoint that was there.
    @Test func aFailedWriteLeavesThePreviousCheckpoint() throws {
        let (database, _, store) = try database(entries: 3)
        try store.save(checkpoint(2), checksum: Self.sum(Data("state".utf8)))
        #expect(throws: (any Error).self) {
            try database.write { db in
                try db.execute(sql: "UPDATE checkpoint SET position = 3, log_key = 'k3', state = x'00'")
                try db.execute(sql: "INSERT INTO no_such_table VALUES (1)")
            }
        }
        #expect(try store.latest(format: 1, checksum: Self.sum) == checkpoint(2))
    }
}

/// The copy a snapshot takes of a frozen daemon's database: its files as they are on disk, then
/// the WAL folded in by SQLite.
@Suite struct FrozenCopyTests {
    @Test func aCopyOfTheFilesWithTheWALFoldsIntoOneFileWithEveryCommittedRow() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("frozen-copy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("state.sqlite").path
        let database = try ProcessDatabase(path: path, migrations: [CommandLog.migration, CheckpointStore.migration])
        let log = CommandLog(database: database)
        for index in 1...300 {
            try log.append(key: "k\(index)", kind: "execute", command: Data(repeating: 7, count: 500), outcome: Data())
        }
        // Committed rows wait in the WAL (the database stays open, nothing checkpoints them all).
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        let copy = folder.appendingPathComponent("copy.sqlite").path
        let partial = try DatabaseCopy.copyFrozen(from: path, to: copy)
        let bytes = try DatabaseCopy.fold(partial, into: copy)
        #expect(bytes > 0)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: partial))
        let reopened = try ProcessDatabase(path: copy, migrations: [CommandLog.migration, CheckpointStore.migration])
        #expect(try CommandLog(database: reopened).count() == 300)
        #expect(try CommandLog(database: reopened).last()?.key == "k300")
    }
}
