import ArgumentParser
import Orchestrator

struct Credentials: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what a client or a node on another host needs to connect to a secured devnet.",
        discussion: """
            A devnet that binds beyond loopback (or has `security: curve`) encrypts every endpoint \
            with CurveZMQ and lets in only the keys of its credentials, which `devnet up` writes to \
            <data-dir>/credentials/. --json prints the member's file (devnet.json) with the \
            endpoints: keep it secret.
            """)

    @OptionGroup var dataDirectory: DataDirectory

    @Flag(help: "Print JSON: the member's keys in Z85, the security mode and every process's endpoints.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let report = try Orchestrator(dataDirectory: dataDirectory.path).credentialsReport()
            print(json ? DevnetClientSession.json(report) : report.text)
        }
    }
}
