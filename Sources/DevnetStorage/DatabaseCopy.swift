import Foundation
import GRDB

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

    /// Puts the copy at `copy` in place of the database at `destination`, whose `-wal` and `-shm`
    /// files are removed (the owning process must be stopped). `copy` itself is left as it is.
    public static func restore(_ copy: String, over destination: String) throws {
        let incoming = destination + ".restoring"
        try removeDatabase(at: incoming)
        try FileManager.default.copyItem(atPath: copy, toPath: incoming)
        try removeDatabase(at: destination)
        try FileManager.default.moveItem(atPath: incoming, toPath: destination)
    }

    /// Removes a database file and its `-wal` and `-shm` files, where they exist.
    public static func removeDatabase(at path: String) throws {
        for file in [path] + sidecarSuffixes.map({ path + $0 }) where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
    }
}
