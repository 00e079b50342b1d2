import ArgumentParser
import Foundation
import Orchestrator

#if canImport(Glibc)
    import Glibc
#endif

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Start, on this machine, a thread node that joins a running devnet.",
        discussion: """
            Asks the devnet at --join for its topology (and with it each thread's program), with the \
            credentials of --credentials when it is secured, writes it and the credentials into the \
            data directory, and runs the node in the foreground (Ctrl-C stops it). The node takes \
            the place the devnet's config gives the thread (a thread with this machine's host): \
            `devnet up` there waits for it. A node whose name already answers is refused.
            """)

    @Option(help: ArgumentHelp("An api endpoint of the devnet, e.g. tcp://10.0.0.1:27103.", valueName: "endpoint"))
    var join: String

    @Option(help: "The thread the node serves.")
    var thread: String

    @Option(help: "Which of the thread's prover accounts pays for its submissions (default 1).")
    var prover: Int?

    @Option(help: "The devnet's credentials: what `devnet credentials --json` printed where it runs.")
    var credentials: String?

    @Option(name: .customLong("data-dir"), help: "This node's data directory.")
    var dataDirectory = ".devnet-node"

    @Option(help: "Seconds to wait for the devnet's answers.")
    var timeout: Double = 10

    func run() async throws {
        try validateSeconds(timeout)
        try await reportingErrors {
            let prepared = try await Orchestrator(dataDirectory: dataDirectory).prepareJoin(
                JoinOptions(
                    endpoint: join, thread: thread, prover: prover, credentialsFile: credentials,
                    timeout: .milliseconds(Int(timeout * 1000))))
            FileHandle.standardError.write(
                Data(
                    "joining as \(prepared.process.name) at \(prepared.process.endpoints.api); data in \(dataDirectory)\n"
                        .utf8))
            // The node replaces this process: signals and the exit status are its own.
            let argv = ([prepared.executable] + prepared.arguments).map { strdup($0) } + [nil]
            execv(prepared.executable, argv)
            throw OrchestratorError("error: cannot run \(prepared.executable): \(String(cString: strerror(errno)))")
        }
    }
}
