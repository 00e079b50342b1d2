import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import ZeroMQ

/// Timeouts for tests that run real processes, scaled by `DEVNET_TEST_TIMEOUT_SCALE` on slow machines.
enum TestTimeouts {
    static var scale: Double {
        ProcessInfo.processInfo.environment["DEVNET_TEST_TIMEOUT_SCALE"].flatMap(Double.init) ?? 1
    }

    static func seconds(_ value: Double) -> Duration { .milliseconds(Int(value * scale * 1000)) }
}

/// The folder with the built executables: `DEVNET_BIN_DIR`, or the one holding this test bundle.
let binaryDirectory: URL = {
    if let dir = ProcessInfo.processInfo.environment["DEVNET_BIN_DIR"], !dir.isEmpty {
        return URL(fileURLWithPath: dir)
    }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
    // Inside an .xctest bundle directory on some platforms.
    while dir.path != "/", !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("devnet").path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir
}()

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs an executable to completion and captures its output.
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    // Standard error goes to a file, so a chatty process cannot block on a full second pipe.
    let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
    FileManager.default.createFile(atPath: errorPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    let errorFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    process.standardOutput = out
    process.standardError = errorFile
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? errorFile.close()
    let stderr = FileManager.default.contents(atPath: errorPath) ?? Data()
    return CommandResult(
        status: process.terminationStatus,
        stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self)
    )
}

/// A devnet in a temporary data directory on ports no other test uses.
final class TestDevnet {
    let dataDirectory: URL
    let configPath: String
    let basePort: Int
    private let portLock: Int32
    var devnet: String { binaryDirectory.appendingPathComponent("devnet").path }

    /// - Parameters:
    ///   - threads: one thread (and node) per name, running the contract of that name.
    ///   - sequencer: extra YAML lines under `sequencer:`, e.g. `block_mode: on_demand`.
    ///   - extra: more top-level YAML, e.g. `security: curve\n`.
    init(
        threads: [String] = ["token", "achievements", "karts", "counter"], sequencer: String? = nil, extra: String = ""
    ) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devnet-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        (basePort, portLock) = try PortBlocks.reserve(count: (2 + threads.count) * 3)
        var yaml = "base_port: \(basePort)\n" + extra
        if let sequencer { yaml += "sequencer:\n  \(sequencer)\n" }
        yaml += "threads:\n" + threads.map { "  - name: \($0)\n" }.joined()
        configPath = dataDirectory.appendingPathComponent("devnet.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func command(_ arguments: String..., environment: [String: String] = [:]) throws -> CommandResult {
        try run(devnet, arguments + ["--data-dir", dataDirectory.path], environment: environment)
    }

    func command(_ arguments: [String]) throws -> CommandResult {
        try run(devnet, arguments + ["--data-dir", dataDirectory.path])
    }

    /// Runs a command that must succeed and returns its standard output parsed as JSON.
    func json(_ arguments: String...) throws -> [String: Any] {
        let result = try command(arguments)
        guard result.status == 0 else {
            throw TestFailure(
                "devnet \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)\(result.stdout)"
            )
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("devnet \(arguments.joined(separator: " ")) printed no JSON object: \(result.stdout)")
        }
        return object
    }

    func up(environment: [String: String] = [:]) throws -> CommandResult {
        try run(
            devnet, ["up", configPath, "--data-dir", dataDirectory.path, "--timeout", "\(30 * TestTimeouts.scale)"],
            environment: environment
        )
    }

    func status() throws -> [[String: Any]] {
        let result = try command("status", "--json")
        let data = Data(result.stdout.utf8)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    /// Polls `condition` until it holds or the (scaled) timeout passes; says what it waited for.
    func eventually(_ what: String, within seconds: Double = 20, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + TestTimeouts.seconds(seconds)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out after \(seconds) s waiting for \(what)")
    }

    /// Stops whatever is left and removes the data directory.
    func tearDown() {
        _ = try? command("down", "--timeout", "5")
        try? FileManager.default.removeItem(at: dataDirectory)
        close(portLock)
    }
}

extension TestDevnet {
    /// Every account of the L2 ledger: balance, nonce and fees paid, by name.
    func ledgerAccounts() throws -> [String: [String: Int]] {
        let list = try json("request", "sequencer", "accounts")["accounts"] as? [[String: Any]] ?? []
        var byName: [String: [String: Int]] = [:]
        for account in list {
            guard let name = account["name"] as? String else { continue }
            byName[name] = [
                "balance": account["balance"] as? Int ?? -1, "nonce": account["next_nonce"] as? Int ?? -1,
                "fees": account["fees_paid"] as? Int ?? -1,
            ]
        }
        return byName
    }

    /// `devnet call`'s printed result, trimmed.
    func view(_ arguments: String...) throws -> String {
        try command(["call"] + arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Hands out blocks of free TCP ports below Linux's ephemeral range (32768+), each held with a
/// lock file so parallel test processes never share one.
enum PortBlocks {
    static func reserve(count: Int) throws -> (base: Int, lock: Int32) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zkthreads-devnet-ports")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for _ in 0..<200 {
            let base = 12000 + Int.random(in: 0..<600) * 32
            let fd = open(directory.appendingPathComponent("\(base).lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0, (base..<base + count).allSatisfy(portIsFree) {
                return (base, fd)
            }
            close(fd)
        }
        throw TestFailure("found no free block of \(count) ports")
    }

    static func portIsFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }
}

/// Whether a process with this pid exists and is not a zombie.
func processIsRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
}
