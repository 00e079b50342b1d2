import ArgumentParser
import Foundation
import Orchestrator

@main
struct Devnet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Runs a local zkThreads devnet: an L2 sequencer, a thread manager and thread nodes.",
        subcommands: [Up.self, Down.self, Status.self, Logs.self, Request.self, Bench.self]
    )
}

/// The data directory option every command shares.
struct DataDirectory: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The devnet's data directory.")
    var path = ".devnet"
}

/// Runs a command body, turning an ``OrchestratorError`` into its message and exit code.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as OrchestratorError {
        FileHandle.standardError.write(Data((error.message + "\n").utf8))
        throw ExitCode(error.exitCode)
    }
}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the devnet described by a config file and wait until every process is healthy."
    )

    @Argument(help: "The topology file.")
    var config = "devnet.yaml"

    @OptionGroup var dataDirectory: DataDirectory

    @Option(help: "Use this first TCP port instead of the config's base_port.")
    var basePort: Int?

    @Option(help: "Use this seed instead of the config's.")
    var seed: UInt64?

    @Flag(help: "Stay in the foreground; Ctrl-C stops the devnet.")
    var foreground = false

    @Option(help: "Seconds to wait for every process to become healthy.")
    var timeout: Double = 30

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            let state = try await orchestrator.up(
                .init(
                    configPath: config, overrides: .init(seed: seed, basePort: basePort),
                    startupTimeout: .seconds(timeout))
            )
            print(Orchestrator.table(try await orchestrator.status()))
            print(
                "devnet up in \(state.startupMs ?? 0) ms: \(state.processes.count) processes, data in \(state.dataDirectory)"
            )
            guard foreground else {
                print("stop it with: devnet down --data-dir \(dataDirectory.path)")
                return
            }
            print("running in the foreground; press Ctrl-C to stop")
            let reason = await orchestrator.waitInForeground(state)
            print("stopping: \(reason)")
            try await orchestrator.down()
        }
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop every process of the devnet, gracefully and then by force.")

    @OptionGroup var dataDirectory: DataDirectory

    @Option(help: "Seconds to wait for a graceful stop before SIGKILL.")
    var timeout: Double = 10

    func run() async throws {
        try await reportingErrors {
            try await Orchestrator(dataDirectory: dataDirectory.path).down(timeout: .seconds(timeout))
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every process of the devnet and whether it is healthy.")

    @OptionGroup var dataDirectory: DataDirectory

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let rows = try await Orchestrator(dataDirectory: dataDirectory.path).status()
            if json {
                print(try Orchestrator.json(rows))
            } else {
                print(Orchestrator.table(rows))
            }
            if rows.contains(where: { $0.status != "healthy" }) {
                throw ExitCode(1)
            }
        }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one process's log.")

    @Argument(help: "The process name, e.g. sequencer, manager or node-token.")
    var name: String

    @OptionGroup var dataDirectory: DataDirectory

    @Option(name: [.short, .long], help: "Show only the last N lines.")
    var lines: Int?

    @Flag(name: [.short, .long], help: "Keep printing new lines as they are written.")
    var follow = false

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            try await orchestrator.printLog(of: name, lastLines: lines, follow: follow)
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the devnet on this machine.",
        discussion: "Start-up: the time from `devnet up` to every process healthy, over several runs per topology size."
    )

    @Option(help: "How many runs per topology size.")
    var runs = 7

    @Option(parsing: .upToNextOption, help: "Thread-node counts to measure.")
    var nodes: [Int] = [1, 4, 8]

    @Option(help: "First TCP port of the benchmark devnets.")
    var basePort = 41000

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let benchmark = StartupBenchmark(nodeCounts: nodes, runs: runs, basePort: basePort)
            let results = try await benchmark.run { line in
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(["startup": results]), as: UTF8.self))
            } else {
                print("Start-up: devnet up until every process is healthy (1 sequencer + 1 manager + N thread nodes)")
                print(StartupBenchmark.table(results))
            }
        }
    }
}

struct Request: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Send one wire-protocol request to a process and print the reply.",
        discussion: "Example: devnet request sequencer stats; devnet request manager events '{\"from_seq\": 1}'"
    )

    @Argument(help: "The process name, e.g. sequencer.")
    var process: String

    @Argument(help: "The message type, e.g. health.")
    var type: String

    @Argument(help: "The payload, a JSON object.")
    var payload = "{}"

    @Flag(help: "Use the admin endpoint instead of the api endpoint.")
    var admin = false

    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await reportingErrors {
            print(
                try await Orchestrator(dataDirectory: dataDirectory.path).request(
                    process: process, type: type, payloadJSON: payload, endpoint: admin ? .admin : .api
                ))
        }
    }
}
