import DevnetProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on `<process dir>/pid.lock`, so that two copies of one daemon never share
/// a data directory. The kernel releases it when the process dies, even by SIGKILL.
struct InstanceLock {
    private let fd: Int32

    static func acquire(in directory: URL, name: String, role: ProcessRole) throws -> InstanceLock {
        let path = directory.appendingPathComponent("pid.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DaemonStartError(code: .storage, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &buffer, buffer.count)
            let holder =
                count > 0
                ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                : "unknown"
            close(fd)
            throw DaemonStartError(
                code: .alreadyRunning,
                message:
                    "another \(role.executable) named '\(name)' is already running on \(directory.path) (pid \(holder)); stop it first (devnet down)"
            )
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.utf8.count, 0)
        return InstanceLock(fd: fd)
    }

    func release() {
        close(fd)
    }
}
