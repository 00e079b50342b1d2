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
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read before waiting so a chatty process cannot block on a full pipe.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
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
    var devnet: String { binaryDirectory.appendingPathComponent("devnet").path }

    private static let nextSlot = LockedCounter()

    init(threads: [String] = ["token", "achievements", "karts", "counter"]) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devnet-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        // Spread tests over the port range by pid and a counter, so parallel runs do not collide.
        basePort = 30000 + Int(getpid() % 200) * 100 + Self.nextSlot.next() * 30
        let yaml = "base_port: \(basePort)\nthreads:\n" + threads.map { "  - name: \($0)\n" }.joined()
        configPath = dataDirectory.appendingPathComponent("devnet.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func command(_ arguments: String..., environment: [String: String] = [:]) throws -> CommandResult {
        try run(devnet, arguments + ["--data-dir", dataDirectory.path], environment: environment)
    }

    func up(environment: [String: String] = [:]) throws -> CommandResult {
        try run(
            devnet, ["up", configPath, "--data-dir", dataDirectory.path, "--timeout", "\(30 * TestTimeouts.scale)"],
            environment: environment)
    }

    func status() throws -> [[String: Any]] {
        let result = try command("status", "--json")
        let data = Data(result.stdout.utf8)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    /// Stops whatever is left and removes the data directory.
    func tearDown() {
        _ = try? command("down", "--timeout", "5")
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
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
