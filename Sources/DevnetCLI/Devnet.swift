public import ArgumentParser
import Foundation
import Orchestrator

/// The `devnet` command: its executable only calls ``Devnet/main()``.
public struct Devnet: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Runs a local zkThreads devnet: an L2 sequencer, a thread manager and thread nodes.",
        subcommands: [
            Up.self, Down.self, Status.self, Logs.self, Accounts.self, Transfer.self, Send.self, Call.self,
            TxStatus.self,
            Receipt.self, Thread.self, Mine.self, Restart.self, Attach.self, Request.self, Scenario.self, Bench.self,
            Contract.self, Upgrade.self, Snapshot.self, Revert.self, Reset.self, Fault.self, Dump.self,
            Kubernetes.self, Credentials.self, NodeCommand.self,
        ]
    )
}

/// The data directory option every command shares.
struct DataDirectory: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The devnet's data directory.")
    var path = ".devnet"
}

/// Refuses a `--timeout` that is not a positive, finite number of seconds.
func validateSeconds(_ seconds: Double) throws {
    guard seconds.isFinite, seconds > 0 else {
        throw ValidationError("--timeout must be a positive number of seconds")
    }
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

    @Argument(help: "The topology file (default devnet.yaml).")
    var config: String?

    @Option(
        help: ArgumentHelp(
            "Start the devnet saved by devnet dump in this file, in a fresh data directory, instead of a config.",
            valueName: "file"))
    var load: String?

    @OptionGroup var dataDirectory: DataDirectory

    @Option(help: "Use this first TCP port instead of the config's base_port.")
    var basePort: Int?

    @Option(help: "Use this seed instead of the config's.")
    var seed: UInt64?

    @Option(
        help:
            "Serve Prometheus /metrics on every daemon, from this port up (one per process), as metrics_port does in the config."
    )
    var metricsPort: Int?

    @Flag(help: "Stay in the foreground; Ctrl-C stops the devnet.")
    var foreground = false

    @Flag(help: "Let the daemons answer fault hooks (pause, resume, tamper), as fault_hooks: true does.")
    var faultHooks = false

    @Option(help: "Seconds to wait for every process to become healthy.")
    var timeout: Double = 30

    func validate() throws {
        try validateSeconds(timeout)
        if load != nil, let config {
            throw ValidationError("'\(config)': --load starts the devnet the dump describes; give no config file")
        }
        if load != nil, seed != nil { throw ValidationError("--seed does not go with --load: the dump has its seed") }
    }

    func run() async throws {
        try await reportingErrors {
            if let load { return try await runLoad(load) }
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            var options = Orchestrator.UpOptions(
                configPath: config ?? "devnet.yaml",
                overrides: .init(
                    seed: seed, basePort: basePort, faultHooks: faultHooks ? true : nil, metricsPort: metricsPort),
                startupTimeout: .seconds(timeout))
            // A fresh data directory gets the genesis snapshot, for `devnet reset`.
            options.genesisSnapshot = true
            let state = try await orchestrator.upStoppingOnSignal(options)
            print(Orchestrator.table(try await orchestrator.status()))
            print(
                "devnet up in \(state.startupMs ?? 0) ms: \(state.processes.count) processes, data in \(state.dataDirectory)"
            )
            guard foreground else {
                print("stop it with: devnet down --data-dir \(dataDirectory.path)")
                return
            }
            print("running in the foreground; press Ctrl-C to stop")
            let (reason, died) = await orchestrator.waitInForeground(state)
            print("stopping: \(reason)")
            try await orchestrator.down()
            if died { throw ExitCode(1) }
        }
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop every process of the devnet, gracefully and then by force.")

    @OptionGroup var dataDirectory: DataDirectory

    @Option(help: "Seconds to wait for a graceful stop before SIGKILL.")
    var timeout: Double = 10

    func validate() throws {
        try validateSeconds(timeout)
    }

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
                print(Orchestrator.securityLine(rows, dataDirectory: dataDirectory.path))
            }
            // A syncing node is up and serving; it answers once it has synced.
            if rows.contains(where: { $0.status != "healthy" && $0.status != "syncing" }) {
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
        discussion: """
            Each part runs on a fresh devnet in a temporary data directory, through the real processes \
            and the wire protocol: start-up (devnet up until every process is healthy), settlement \
            latency (thread tx submitted until settled, p50/p90/p99), throughput (settled tx/s over \
            1, 2, 4 and 8 counter threads), the manager's CPU time per settled tx at sub-block caps \
            16, 256 and 4096, the nodes' prove time, the manager's verify time and the proof size per \
            sub-block, and every daemon's peak RSS. First it times Ed25519 signing and verification on \
            one core, and reads each throughput figure as a percentage of the crypto-bound limit: the \
            cores over two verifications of every thread tx (the node's at submit, the manager's). \
            The load is signed before the clock starts. Latency, throughput and cost run with each proof \
            system asked for; stark runs are smaller (throughput over 1 and 2 threads; a full bench \
            takes about 15 minutes, --quick about 2). --quick runs far fewer transactions.
            """
    )

    @Option(help: "How many start-up runs per topology size (default 7, 1 with --quick).")
    var runs: Int?

    @Option(
        parsing: .upToNextOption, help: "Thread-node counts to measure start-up for (default 1 4 8, 1 4 with --quick).")
    var nodes: [Int] = []

    @Option(
        help:
            "Transactions of each latency run (default 10000 for reexec and 1000 for stark; 200 and 50 with --quick).")
    var transactions: Int?

    @Option(
        help: ArgumentHelp("The proof systems to measure (default both).", valueName: "reexec|stark|both"),
        transform: { text in
            guard let systems = BenchProofSystems(rawValue: text) else {
                throw ValidationError("--proof-system takes reexec, stark or both, not '\(text)'")
            }
            return systems
        })
    var proofSystem: BenchProofSystems = .both

    // Below Linux's ephemeral range (32768 and up), where client connections could hold a port.
    @Option(help: "First TCP port of the benchmark devnets (they take the next 60 or so).")
    var basePort = 32000

    @Flag(help: "Far fewer transactions and runs; what CI runs.")
    var quick = false

    @Flag(
        help:
            "Throughput and cost runs send one submit and one waiting tx_status per transaction, instead of submit_batch and tx_final events."
    )
    var perTransaction = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if let runs { guard runs >= 1 else { throw ValidationError("--runs must be at least 1") } }
        guard nodes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--nodes takes counts of at least 1") }
        if let transactions {
            guard transactions >= 1 else { throw ValidationError("--transactions must be at least 1") }
        }
    }

    func run() async throws {
        try await reportingErrors {
            let suite = BenchSuite(
                quick: quick, startupRuns: runs ?? (quick ? 1 : 7),
                startupNodes: nodes.isEmpty ? (quick ? [1, 4] : [1, 4, 8]) : nodes,
                latencyTransactions: transactions, proofSystems: proofSystem.systems, basePort: basePort,
                batched: !perTransaction)
            let report = try await suite.run { line in
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            print(json ? try report.json() : report.table())
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

/// Runs `body` with a client session of the devnet in the data directory.
func withSession(_ dataDirectory: DataDirectory, _ body: (DevnetClientSession) async throws -> Void) async throws {
    try await reportingErrors {
        let session = try DevnetClientSession(Orchestrator(dataDirectory: dataDirectory.path))
        do {
            try await body(session)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }
}

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the devnet's accounts with their balances and nonces.",
        discussion: "With --keys: each account's public keys instead, Ed25519 and EcGFp5 (see docs/protocol.md).")
    @Flag(help: "Show the public keys (Ed25519, and EcGFp5 for OS version 2 threads) instead of balances.")
    var keys = false
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) {
            print(try await keys ? $0.accountKeysTable() : $0.accountsTable())
        }
    }
}

struct Transfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send fee tokens from one account to another and wait for the receipt.",
        discussion: "Example: devnet transfer --from alice --to bob 1000"
    )
    @Option(help: "The sending account's name, e.g. alice.") var from: String
    @Option(help: "The receiving account's name or 0x address.") var to: String
    @Argument(help: "How many fee tokens.") var amount: UInt64
    @Option(help: "The most the sender will pay in fees (default: the transaction's cost).") var maxFee: UInt64?
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { session in
            let receipt = try await session.transfer(from: from, to: to, amount: amount, maxFee: maxFee)
            print(DevnetClientSession.json(receipt))
            if receipt.status != .accepted { throw ExitCode(1) }
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a thread transaction and send it to the thread's node.",
        discussion: "Example: devnet send token transfer bob 5 --from alice. Arguments are positional or name=value."
    )
    @Argument(help: "The thread, e.g. token.") var thread: String
    @Argument(help: "The contract entrypoint, e.g. transfer.") var entrypoint: String
    @Argument(help: "The entrypoint's arguments; account names stand for their addresses.") var arguments: [String] = []
    @Option(help: "The signing account's name.") var from = "alice"
    @Flag(help: "Return once the node accepted it, without waiting for settlement.") var noWait = false
    @Option(help: "Which of the thread's nodes takes it, e.g. node-token-2 (default: node-<thread>).")
    var node: String?
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { session in
            let status = try await session.send(
                thread: thread, entrypoint: entrypoint, arguments: try session.resolveArguments(arguments), from: from,
                wait: !noWait, node: node
            )
            print(DevnetClientSession.json(status))
            if status.status == .failed { throw ExitCode(1) }
        }
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a view entrypoint on a thread's canonical state.",
        discussion: "Example: devnet call token balance_of alice"
    )
    @Argument(help: "The thread, e.g. token.") var thread: String
    @Argument(help: "The view entrypoint, e.g. balance_of.") var entrypoint: String
    @Argument(help: "The entrypoint's arguments; account names stand for their addresses.") var arguments: [String] = []
    @Option(help: "The caller the view sees (account name or address).") var caller: String?
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { session in
            let reply = try await session.view(
                thread: thread, entrypoint: entrypoint, arguments: try session.resolveArguments(arguments),
                caller: caller
            )
            print(reply.formatted)
        }
    }
}

struct TxStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx-status", abstract: "Ask a thread's node where a thread transaction is.")
    @Argument(help: "The thread.") var thread: String
    @Argument(help: "The thread transaction's hash.") var txHash: String
    @Option(help: "Which of the thread's nodes to ask, e.g. node-token-2 (default: node-<thread>).")
    var node: String?
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) {
            print(DevnetClientSession.json(try await $0.status(thread: thread, txHash: txHash, node: node)))
        }
    }
}

struct Receipt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an L2 transaction's receipt.")
    @Argument(help: "The L2 transaction's hash.") var txHash: String
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { print(DevnetClientSession.json(try await $0.receipt(txHash))) }
    }
}

struct Thread: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a thread's canonical record: sequence, state root, OS version, program and proof system.")
    @Argument(help: "The thread.") var thread: String
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { print(DevnetClientSession.json(try await $0.thread(record: thread))) }
    }
}

struct Mine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Close an L2 block now (for on_demand block mode).")
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { print(DevnetClientSession.json(try await $0.mine())) }
    }
}

struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start one process of the devnet again (after a crash, or to test recovery).")
    @Argument(help: "The process name, e.g. manager.") var name: String
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await reportingErrors {
            let pid = try await Orchestrator(dataDirectory: dataDirectory.path).restart(name)
            print("restarted \(name) (pid \(pid))")
        }
    }
}

struct Attach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a thread node to the running devnet: a new thread, or another prover for a thread it has.",
        discussion: """
            devnet attach dice --contract counter      a new thread 'dice' running the counter contract
            devnet attach token                        a second node (prover-token-2) for thread token
            """
    )
    @Argument(help: "The thread: a new name, or a thread the devnet has.") var thread: String
    @Option(help: "The contract of a new thread: token, achievements, karts, counter, or a .tasm file.")
    var contract: String?
    @Option(name: .customLong("const"), help: "Set a .const of the contract: NAME=VALUE (a number or a thread name).")
    var constants: [String] = []
    @Option(help: "The proof system of a new thread (reexec or stark).") var proofSystem: String?
    @Option(help: "The OS version of a new thread (1, or 2: the provable OS); default: 1, or 2 for stark.")
    var osVersion: UInt32?
    @Option(help: "The most transactions per sub-block.") var maxSubBlock: Int?
    @Option(help: "Which prover account pays (prover-<thread>-N, N in 1…4); default: the first one free.")
    var prover: Int?
    @Option(help: "The node's first port (api; admin and events follow); default: the next free slot.")
    var port: Int?
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            let name = try await orchestrator.attach(
                .init(
                    thread: thread, contract: contract, proofSystem: proofSystem, osVersion: osVersion,
                    maxSubBlock: maxSubBlock, prover: prover, port: port, constants: constants))
            print(Orchestrator.table(try await orchestrator.status()))
            print("attached \(name); see it with `devnet status`, its log with `devnet logs \(name)`")
        }
    }
}

struct Scenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenario files: each on a fresh devnet, with faults, expectations and reports.",
        subcommands: [ScenarioRun.self, ScenarioCheck.self]
    )
}

/// Options shared by `scenario run` and `scenario check`.
struct ScenarioFiles: ParsableArguments {
    @Argument(help: "Scenario files or directories of them (docs/scenarios.md has the format).")
    var paths: [String]

    @Option(help: "The configuration scenarios build on when they name none (default: the shipped four threads).")
    var config: String?
}

struct ScenarioRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenarios; the exit code is non-zero when any fails.")

    @OptionGroup var files: ScenarioFiles
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Option(help: "Write the results, with every thread's final state root, as JSON here.") var json: String?
    @Option(help: "Where each scenario's data directory is made (default: $TMPDIR/zkthreads-scenarios).")
    var workDir: String?
    // Below Linux's ephemeral range (32768 and up), where client connections could hold a port.
    @Option(help: "The first TCP port to try; scenarios take free ports from here up.") var basePort = 31300
    @Option(help: "Seconds a step may take when it sets no timeout.") var stepTimeout: Double = 30
    @Flag(help: "Keep the data directory of passing scenarios too.") var keep = false
    @Option(
        help: "Run every thread of every scenario with this proof system (reexec or stark; stark runs OS version 2).")
    var proofSystem: String?
    @Option(help: "Run every scenario with this seed instead of its own.") var seed: UInt64?
    @Option(
        name: .customLong("repeat"),
        help: "Run every scenario K times, each next run with a seed derived from the first; stop at the first failure."
    )
    var repeats = 1

    func validate() throws {
        guard stepTimeout.isFinite, stepTimeout > 0 else {
            throw ValidationError("--step-timeout must be a positive number of seconds")
        }
        guard repeats >= 1 else { throw ValidationError("--repeat must be 1 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            let runner = ScenarioRunner(
                options: .init(
                    workDirectory: workDir, baseConfig: files.config, basePort: basePort,
                    stepTimeout: .milliseconds(Int64(stepTimeout * 1000)), junitPath: junit, jsonPath: json, keep: keep,
                    proofSystem: proofSystem, seed: seed, repeats: repeats)
            )
            let scenarios = try runner.load(files.paths)
            let results = try await runner.run(scenarios)
            if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
        }
    }
}

struct ScenarioCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check scenario files without running them: every thread, node, account, entrypoint and name.")

    @OptionGroup var files: ScenarioFiles

    func run() throws {
        let runner = ScenarioRunner(options: .init(baseConfig: files.config))
        do {
            for scenario in try runner.load(files.paths) {
                print("\(scenario.file): \(scenario.name), \(scenario.steps.count) steps: ok")
            }
        } catch let error as OrchestratorError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.exitCode)
        }
    }
}

struct Contract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a contract file, print its program hash, or print a deployed program.",
        subcommands: [ContractCheck.self, ContractHash.self, ContractDisasm.self]
    )
}

/// The options of the commands that read a contract file.
struct ContractFileOptions: ParsableArguments {
    @Argument(help: "The .tasm file.") var file: String
    @Option(name: .customLong("const"), help: "Set a .const: NAME=VALUE (a number). Repeat for more.")
    var constants: [String] = []
    @Option(
        name: .customLong("os-version"),
        help: "The OS version the contract must run under; exit 2 if it fails that version's static checks.")
    var osVersion: UInt32?
    @Flag(help: "Print JSON.") var json = false
}

struct ContractCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Assemble a contract and run its checks; print its ABI, its program hash and the OS versions that refuse it (exit 2 if it does not assemble)."
    )
    @OptionGroup var options: ContractFileOptions

    func run() async throws {
        try await reportingErrors {
            let report = try ContractReport.of(
                path: options.file, constants: options.constants, osVersion: options.osVersion)
            print(options.json ? DevnetClientSession.json(report) : report.text)
        }
    }
}

struct ContractHash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash", abstract: "Print a contract's program hash under each OS version.")
    @OptionGroup var options: ContractFileOptions

    func run() async throws {
        try await reportingErrors {
            let report = try ContractReport.of(
                path: options.file, constants: options.constants, osVersion: options.osVersion)
            if options.json {
                print(DevnetClientSession.json(report.hashes))
            } else {
                for (version, hash) in report.hashes.sorted(by: { $0.key < $1.key }) { print("os \(version): \(hash)") }
            }
        }
    }
}

struct ContractDisasm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm",
        abstract: "Print the program a thread runs (or a program hash) as the manager serves it.",
        discussion: "Example: devnet contract disasm token")
    @Argument(help: "A thread name, or a program hash.") var target: String
    @Flag(help: "Print JSON: hash, encoding, ABI and disassembly.") var json = false
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { session in
            let reply = try await session.program(target)
            if json {
                print(DevnetClientSession.json(reply))
            } else {
                print(
                    "; program \(reply.hash)\(reply.threads.isEmpty ? "" : " (thread \(reply.threads.joined(separator: ", ")))")"
                )
                print(reply.disassembly, terminator: "")
            }
        }
    }
}

struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade a thread to a new program, signed by the account that registered it.",
        discussion: """
            The new program takes effect at a sub-block boundary; the thread's state carries over.
            Sub-blocks proven against the old program revert with WRONG_PROGRAM, and their nodes
            re-sync and resubmit under the new one.

            devnet upgrade counter --contract counter-v2.tasm
            """)
    @Argument(help: "The thread.") var thread: String
    @Option(help: "The new contract: a .tasm file, or a shipped contract's name.") var contract: String
    @Option(name: .customLong("const"), help: "Set a .const: NAME=VALUE (a number or a thread name).")
    var constants: [String] = []
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await withSession(dataDirectory) { session in
            let receipt = try await session.upgrade(thread: thread, contract: contract, constants: constants)
            print(DevnetClientSession.json(receipt))
            if receipt.status != .accepted { throw ExitCode(1) }
        }
    }
}
