import Foundation
public import GRDB
import Metrics

/// A named schema migration. Names are permanent: never rename or edit a shipped one.
public typealias Migration = (name: String, migrate: @Sendable (Database) throws -> Void)

/// A process's own SQLite database: WAL mode, named append-only migrations.
///
/// Exposes only transactional methods, so every change is one atomic step.
public final class ProcessDatabase: Sendable {
    private let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and runs every pending migration.
    ///
    /// - Parameter migrations: the daemon's own migrations, run after the shared ones.
    public init(path: String, migrations: [Migration] = []) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        // In WAL mode, NORMAL syncs at checkpoints rather than on every commit: a committed
        // transaction survives the process being killed at any moment (the devnet's promise);
        // only an operating-system crash or power loss could take the last few back.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        writer = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator(with: migrations).migrate(writer)
    }

    /// An in-memory database with the same schema, for unit tests.
    public init(inMemoryWith migrations: [Migration] = []) throws {
        writer = try DatabaseQueue()
        try Self.migrator(with: migrations).migrate(writer)
    }

    private static func migrator(with migrations: [Migration]) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-process-meta") { db in
            try db.create(table: "process_meta") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v1-events") { db in
            try db.create(table: "events") { table in
                table.primaryKey("seq", .integer)
                table.column("topic", .text).notNull()
                table.column("payload", .text).notNull()
            }
        }
        for migration in migrations {
            migrator.registerMigration(migration.name, migrate: migration.migrate)
        }
        return migrator
    }

    /// Runs `body` in one write transaction.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        let started = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            Metrics.Timer(label: "zkdevnet_db_commit_seconds").recordNanoseconds(
                seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        return try writer.write(body)
    }

    /// Runs `body` on a consistent snapshot.
    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try writer.read(body)
    }

    /// Counts one more start of this process and returns the new count.
    public func recordBoot() throws -> Int {
        try write { db in
            let current = try String.fetchOne(db, sql: "SELECT value FROM process_meta WHERE key = 'boot_count'")
            let next = (current.flatMap(Int.init) ?? 0) + 1
            try db.execute(
                sql:
                    "INSERT INTO process_meta(key, value) VALUES ('boot_count', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [String(next)]
            )
            return next
        }
    }

    /// The names of the migrations applied so far, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }
}
