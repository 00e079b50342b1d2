public import Foundation
public import GRDB

/// An append-only log of the commands a process applied, with their outcomes.
///
/// A daemon whose state is a deterministic function of the commands it applied keeps that state
/// in memory and writes each command here, in the same transaction as nothing else, before it
/// answers. After a crash it replays the log to rebuild the state. Each command has a unique key
/// (a transaction hash), so a command delivered twice is recognised and answered from the log.
public struct CommandLog: Sendable {
    /// One applied command.
    public struct Entry: Sendable, Equatable {
        public var position: Int64
        public var key: String
        public var kind: String
        public var command: Data
        public var outcome: Data
    }

    private let database: ProcessDatabase

    /// The migration that creates the log's table; add it to the daemon's migrations.
    public static let migration: Migration = (
        "v1-command-log",
        { db in
            try db.create(table: "command_log") { table in
                table.autoIncrementedPrimaryKey("position")
                table.column("key", .text).notNull().unique()
                table.column("kind", .text).notNull()
                table.column("command", .blob).notNull()
                table.column("outcome", .blob).notNull()
            }
        }
    )

    public init(database: ProcessDatabase) {
        self.database = database
    }

    /// Appends a command and its outcome. Throws if the key is already in the log.
    ///
    /// - Returns: the entry's position.
    @discardableResult
    public func append(key: String, kind: String, command: Data, outcome: Data) throws -> Int64 {
        try database.write { db in
            try Self.append(key: key, kind: kind, command: command, outcome: outcome, in: db)
        }
    }

    /// Appends inside a transaction the caller holds, so the entry commits with other writes.
    ///
    /// - Returns: the entry's position.
    @discardableResult
    public static func append(key: String, kind: String, command: Data, outcome: Data, in db: Database) throws
        -> Int64
    {
        try db.execute(
            sql: "INSERT INTO command_log(key, kind, command, outcome) VALUES (?, ?, ?, ?)",
            arguments: [key, kind, command, outcome]
        )
        return db.lastInsertedRowID
    }

    /// The recorded outcome of the command with this key, if it was applied.
    public func outcome(forKey key: String) throws -> Data? {
        try database.read { db in
            try Data.fetchOne(db, sql: "SELECT outcome FROM command_log WHERE key = ?", arguments: [key])
        }
    }

    /// Every entry in order, for replay; or only those after `position` (the tail a checkpoint
    /// does not cover).
    public func entries(after position: Int64 = 0) throws -> [Entry] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT position, key, kind, command, outcome FROM command_log WHERE position > ? ORDER BY position",
                arguments: [position]
            )
            .map {
                Entry(
                    position: $0["position"], key: $0["key"], kind: $0["kind"], command: $0["command"],
                    outcome: $0["outcome"])
            }
        }
    }

    /// Up to `limit` entries of one kind after `position`, in order: a page of the log.
    public func entries(kind: String, after position: Int64, limit: Int) throws -> [Entry] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT position, key, kind, command, outcome FROM command_log WHERE kind = ? AND position > ? ORDER BY position LIMIT ?",
                arguments: [kind, position, limit]
            ).map {
                Entry(
                    position: $0["position"], key: $0["key"], kind: $0["kind"], command: $0["command"],
                    outcome: $0["outcome"])
            }
        }
    }

    /// The position and key of the last entry, or nil for an empty log.
    public func last() throws -> (position: Int64, key: String)? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT position, key FROM command_log ORDER BY position DESC LIMIT 1").map {
                ($0["position"], $0["key"])
            }
        }
    }

    /// How many commands were applied.
    public func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM command_log") ?? 0 }
    }
}
