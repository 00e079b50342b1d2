import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starting, watching and stopping daemon processes.
enum ProcessControl {
    /// glibc's `POSIX_SPAWN_SETSID`: the child starts its own session, so a terminal's Ctrl-C or
    /// hang-up aimed at `devnet` does not reach a devnet left running in the background.
    private static let spawnSetSID: Int16 = 0x80

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `executable` with `arguments`, stdin from /dev/null, stdout and stderr appended to `logPath`.
    static func spawn(executable: String, arguments: [String], logPath: String) throws -> pid_t {
        closeInheritedDescriptorsOnExec()
        // Open the log here first, so a log that cannot be written is named as such.
        let probe = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard probe >= 0 else {
            throw SpawnError(description: "cannot open the log file \(logPath): \(String(cString: strerror(errno)))")
        }
        close(probe)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Daemons start with no blocked signals and default handlers, whatever thread of
        // `devnet` spawns them (the concurrency runtime's threads block most signals).
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(
            &attributes, spawnSetSID | Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Marks every descriptor above stderr close-on-exec, so that a daemon does not inherit, say,
    /// the pipe a test or a shell reads `devnet up`'s output from (which would never reach EOF).
    private static func closeInheritedDescriptorsOnExec() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in entries.compactMap(Int32.init) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// The kernel's start time of a process (clock ticks since boot), which tells a live daemon
    /// apart from an unrelated process that later got the same pid. Nil if there is no such process
    /// or it is a zombie.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "pid (comm)": state is the 1st, starttime the 20th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// Whether the process that was started as (`pid`, `startTime`) is still running.
    static func isAlive(pid: pid_t, startTime: UInt64?) -> Bool {
        // No recorded start time means the process was already gone when it was recorded.
        guard let startTime, let current = self.startTime(of: pid) else { return false }
        return current == startTime
    }

    /// If `pid` (a child of this process) has exited, reaps it and describes how.
    static func reapIfExited(_ pid: pid_t) -> String? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        let signal = status & 0x7f
        if signal == 0 {
            return "exited with status \((status >> 8) & 0xff)"
        }
        return "was killed by signal \(signal)"
    }

    /// The last `count` lines of a file, or a note that it cannot be read.
    static func tail(_ path: String, lines count: Int) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "(cannot read \(path))"
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let trimmed = lines.last == "" ? lines.dropLast() : lines[...]
        return trimmed.suffix(count).joined(separator: "\n")
    }

    /// Whether a TCP port on `host` can be bound right now.
    static func portIsFree(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else { return true }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0
    }

    /// Whether `host` is an address of this machine (or resolves to one), found by binding a
    /// socket to it: a remote address fails with `EADDRNOTAVAIL`.
    static func isLocal(host: String) -> Bool {
        if host == "localhost" || host.hasPrefix("127.") || host == "0.0.0.0" { return true }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        if inet_pton(AF_INET, host, &address.sin_addr) != 1 {
            var hints = addrinfo()
            hints.ai_family = AF_INET
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result, let found = first.pointee.ai_addr
            else { return false }
            defer { freeaddrinfo(result) }
            found.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address.sin_addr = $0.pointee.sin_addr }
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0 || errno != EADDRNOTAVAIL
    }

    /// Where the daemon executables are: `DEVNET_BIN_DIR`, or the folder of the running `devnet`.
    static func binaryDirectory() -> URL {
        if let dir = ProcessInfo.processInfo.environment["DEVNET_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent()
    }
}
