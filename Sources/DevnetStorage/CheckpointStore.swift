public import Foundation
public import GRDB

/// A daemon's saved in-memory state and the command-log position it covers, so that a start
/// replays only the log entries after it instead of the whole log.
///
/// One row per daemon (the latest checkpoint), written in one SQLite transaction with its position
/// and the key of the log entry at that position: a checkpoint is there whole or not at all, and
/// the log itself is never touched, so a process killed while writing one loses nothing. A reader
/// never trusts it blindly: ``latest(format:)`` returns it only when its format is the one asked
/// for, its checksum matches and its log entry is still there under the same key; the daemon then
/// checks the state itself and falls back to a full replay of the log when anything disagrees.
public struct CheckpointStore: Sendable {
    /// One saved state.
    public struct Checkpoint: Sendable, Equatable {
        /// The daemon's state format; a checkpoint of another format is not read.
        public var format: Int
        /// The last command-log position the state covers (0: none).
        public var position: Int64
        /// The key of the log entry at `position` ("" for position 0).
        public var logKey: String
        public var state: Data

        public init(format: Int, position: Int64, logKey: String, state: Data) {
            self.format = format
            self.position = position
            self.logKey = logKey
            self.state = state
        }
    }

    /// Why the latest checkpoint cannot be used.
    public struct Unusable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private let database: ProcessDatabase

    /// The migration that creates the checkpoint table; add it after ``CommandLog/migration``.
    public static let migration: Migration = (
        "v1-checkpoint",
        { db in
            try db.create(table: "checkpoint") { table in
                table.primaryKey("id", .integer)
                table.column("format", .integer).notNull()
                table.column("position", .integer).notNull()
                table.column("log_key", .text).notNull()
                table.column("state", .blob).notNull()
                table.column("checksum", .integer).notNull()
                table.column("created", .text).notNull()
            }
        }
    )

    public init(database: ProcessDatabase) {
        self.database = database
    }

    /// Saves `checkpoint` in one transaction, unless the one saved already covers a later position.
    ///
    /// - Parameter checksum: of `checkpoint.state`, checked when it is read back.
    /// - Returns: whether it was saved.
    @discardableResult
    public func save(_ checkpoint: Checkpoint, checksum: UInt64) throws -> Bool {
        try database.write { db in
            if let saved = try Int64.fetchOne(db, sql: "SELECT position FROM checkpoint WHERE id = 1"),
                saved > checkpoint.position
            {
                return false
            }
            if checkpoint.position > 0 {
                let key = try String.fetchOne(
                    db, sql: "SELECT key FROM command_log WHERE position = ?", arguments: [checkpoint.position])
                guard key == checkpoint.logKey else {
                    throw Unusable(
                        description:
                            "log position \(checkpoint.position) holds \(key ?? "nothing"), not \(checkpoint.logKey)")
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO checkpoint(id, format, position, log_key, state, checksum, created)
                    VALUES (1, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET format = excluded.format, position = excluded.position,
                    log_key = excluded.log_key, state = excluded.state, checksum = excluded.checksum,
                    created = excluded.created
                    """,
                arguments: [
                    checkpoint.format, checkpoint.position, checkpoint.logKey, checkpoint.state,
                    Int64(bitPattern: checksum), ISO8601DateFormatter().string(from: Date()),
                ])
            return true
        }
    }

    /// The saved checkpoint, or nil when there is none.
    ///
    /// - Parameter checksum: computes the checksum of a state, as ``save(_:checksum:)`` was given.
    /// - Throws: ``Unusable`` saying why when there is one but it is of another format, its bytes do
    ///   not match their checksum, or the log no longer holds its position under its key.
    public func latest(format: Int, checksum: (Data) -> UInt64) throws -> Checkpoint? {
        let row = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT format, position, log_key, state, checksum FROM checkpoint WHERE id = 1")
                .map { row -> (Checkpoint, Int64, String?) in
                    let checkpoint = Checkpoint(
                        format: row["format"], position: row["position"], logKey: row["log_key"], state: row["state"])
                    let position = checkpoint.position
                    let key =
                        position > 0
                        ? try String.fetchOne(
                            db, sql: "SELECT key FROM command_log WHERE position = ?", arguments: [position]) : ""
                    return (checkpoint, row["checksum"], key)
                }
        }
        guard let (checkpoint, recorded, key) = row else { return nil }
        guard checkpoint.format == format else {
            throw Unusable(description: "it is in format \(checkpoint.format); this build reads format \(format)")
        }
        guard key == checkpoint.logKey else {
            throw Unusable(
                description:
                    "it covers the log up to position \(checkpoint.position) (\(checkpoint.logKey)), which holds \(key ?? "nothing")"
            )
        }
        guard UInt64(bitPattern: recorded) == checksum(checkpoint.state) else {
            throw Unusable(description: "its \(checkpoint.state.count) bytes do not match their checksum")
        }
        return checkpoint
    }
}
