import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file copies of a process database, for snapshots of a stopped devnet.
public enum DatabaseCopy {
    /// The files SQLite keeps beside a database in WAL mode.
    public static let sidecarSuffixes = ["-wal", "-shm"]

    /// Copies the database at `source` to a new self-contained file at `destination` with SQLite's
    /// online backup API: the WAL is folded in, and the copy has no `-wal` or `-shm` file.
    ///
    /// The copy is written beside `destination` first and renamed into place when complete, so an
    /// interrupted copy never leaves a half-written database under the final name. The copy holds
    /// what was committed when it started reading; a transaction the owning process has open is
    /// not in it.
    /// - Returns: the size of the copy in bytes.
    @discardableResult
    public static func backup(from source: String, to destination: String) throws -> UInt64 {
        let partial = destination + ".partial"
        try removeDatabase(at: partial)
        do {
            // Read-only while its process has it open (its -shm file is there), so that nothing
            // here waits for that process's locks or checkpoints its WAL.
            var configuration = Configuration()
            configuration.readonly = FileManager.default.fileExists(atPath: source + "-shm")
            configuration.busyMode = .timeout(2)
            let from = try DatabaseQueue(path: source, configuration: configuration)
            let to = try DatabaseQueue(path: partial)
            // Every page goes into the copy's main file; the daemon that opens it later runs it in
            // WAL mode again.
            try from.backup(to: to)
            try to.close()
            try from.close()
        } catch {
            try? removeDatabase(at: partial)
            throw error
        }
        try removeDatabase(at: destination)
        try FileManager.default.moveItem(atPath: partial, toPath: destination)
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Copies the database at `source`, whose owning process is frozen (SIGSTOP) or stopped, to a
    /// new self-contained file at `destination`: its main file and its WAL are copied as they are
    /// on disk (which is what that process would recover from had it been killed at that moment),
    /// then the copy's WAL is folded in by SQLite, which keeps only committed transactions.
    ///
    /// Much faster than ``backup(from:to:)`` while the process waits: the pause costs only the
    /// plain file copy. Call ``fold(_:)`` on the copy (with `into: destination`) once the process
    /// may go on; until then the copy is `destination.partial` with its `-wal` beside it.
    /// - Returns: the path of the unfolded copy, to give ``fold(_:into:)``.
    public static func copyFrozen(from source: String, to destination: String) throws -> String {
        let partial = destination + ".partial"
        try removeDatabase(at: partial)
        do {
            try copyFile(source, to: partial)
            if FileManager.default.fileExists(atPath: source + "-wal") {
                try copyFile(source + "-wal", to: partial + "-wal")
            }
        } catch {
            try? removeDatabase(at: partial)
            throw error
        }
        return partial
    }

    /// Folds the WAL of a ``copyFrozen(from:to:)`` copy into its main file (SQLite recovers it,
    /// keeping only committed transactions) and renames it to `destination`.
    /// - Returns: the size of the copy in bytes.
    @discardableResult
    public static func fold(_ partial: String, into destination: String) throws -> UInt64 {
        do {
            let queue = try DatabaseQueue(path: partial)
            // Checkpoints the WAL into the main file and deletes it: one self-contained file.
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try queue.close()
        } catch {
            try? removeDatabase(at: partial)
            throw error
        }
        try removeDatabase(at: destination)
        try FileManager.default.moveItem(atPath: partial, toPath: destination)
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Puts the copy at `copy` in place of the database at `destination`, whose `-wal` and `-shm`
    /// files are removed (the owning process must be stopped). `copy` itself is left as it is.
    public static func restore(_ copy: String, over destination: String) throws {
        let incoming = destination + ".restoring"
        try removeDatabase(at: incoming)
        try copyFile(copy, to: incoming)
        try removeDatabase(at: destination)
        try FileManager.default.moveItem(atPath: incoming, toPath: destination)
    }

    /// Copies a file's bytes into a new file, in large blocks (FileManager's copy is several
    /// times slower on databases of a hundred megabytes).
    static func copyFile(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw CopyError(path: source, operation: "open", code: errno) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw CopyError(path: destination, operation: "create", code: errno) }
        defer { close(output) }
        let size = 8 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let read = Glibc.read(input, buffer, size)
            if read < 0, errno == EINTR { continue }
            guard read >= 0 else { throw CopyError(path: source, operation: "read", code: errno) }
            if read == 0 { break }
            var written = 0
            while written < read {
                let count = write(output, buffer + written, read - written)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw CopyError(path: destination, operation: "write", code: errno) }
                written += count
            }
        }
    }

    /// A file operation of a copy that failed, with the path and the system's reason.
    public struct CopyError: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var code: Int32

        public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
    }

    /// Removes a database file and its `-wal` and `-shm` files, where they exist.
    public static func removeDatabase(at path: String) throws {
        for file in [path] + sidecarSuffixes.map({ path + $0 }) where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
    }
}
