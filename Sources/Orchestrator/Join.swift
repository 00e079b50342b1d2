import DevnetClient
public import DevnetProtocol
public import Foundation
import ZeroMQ

/// What `devnet node --join` needs to start a thread node on this machine for a running devnet.
public struct JoinOptions: Sendable {
    /// Any api endpoint of the devnet: the sequencer's or the manager's, say.
    public var endpoint: String
    /// The thread the node serves.
    public var thread: String
    /// Which of the thread's prover accounts it pays with; nil for 1.
    public var prover: Int?
    /// The member's credentials file (`devnet credentials --json`); nil for an open devnet, or
    /// to use the data directory's `credentials/devnet.json` from an earlier join.
    public var credentialsFile: String?
    /// How long to wait for the devnet's answers.
    public var timeout: Duration

    public init(
        endpoint: String, thread: String, prover: Int? = nil, credentialsFile: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.thread = thread
        self.prover = prover
        self.credentialsFile = credentialsFile
        self.timeout = timeout
    }
}

/// A node ready to start: the executable and its arguments.
public struct PreparedNode: Sendable {
    public var executable: String
    public var arguments: [String]
    public var process: ProcessSpec
}

extension Orchestrator {
    /// Prepares this data directory for a thread node joining the devnet at `options.endpoint`:
    /// asks it for its topology with the given credentials, finds the node the topology has for
    /// the thread and prover, checks that its address is this machine's and that no other node
    /// answers under its name, and writes `topology.json` and `credentials/devnet.json` here.
    ///
    /// - Throws: ``OrchestratorError`` naming what is wrong: the credentials, an endpoint that
    ///   does not answer (and why, for a refused handshake), a thread the topology does not
    ///   have, an address that is not this machine's, a name another node already answers to.
    public func prepareJoin(_ options: JoinOptions) async throws -> PreparedNode {
        let credentials: DevnetCredentials?
        switch Result(catching: { () throws(CredentialsError) -> DevnetCredentials? in
            if let file = options.credentialsFile {
                return try DevnetCredentials.load(memberFile: URL(fileURLWithPath: file))
            }
            return try DevnetCredentials.load(from: dataDirectory)
        }) {
        case .success(let loaded): credentials = loaded
        case .failure(let error): throw OrchestratorError.usage("error: \(error.message)")
        }
        let keys = credentials?.memberClient

        let topology: Topology = try await ask(
            options.endpoint, AdminMessage.topology, as: Topology.self, keys: keys, timeout: options.timeout,
            what: "the devnet's topology")
        let index = options.prover ?? 1
        let nodes = topology.processes.filter { $0.role == .threadNode }
        guard
            let process = nodes.first(where: { $0.thread?.name == options.thread && $0.thread?.proverIndex == index })
        else {
            let known = nodes.compactMap { node in
                node.thread.map { "\(node.name) (thread \($0.name), prover \($0.proverIndex))" }
            }
            throw OrchestratorError.usage(
                "error: the devnet's topology has no node for thread '\(options.thread)' with prover \(index); it has: \(known.joined(separator: ", ")). A joining node takes a place the devnet's config gives it (a thread with a host): add it there"
            )
        }
        let bindHost = Topology.host(of: process.bindEndpoints.api) ?? ""
        guard ProcessControl.isLocal(host: bindHost) else {
            throw OrchestratorError(
                "error: \(process.name) is to listen at \(process.bindEndpoints.api), and \(bindHost) is not an address of this machine; run the join on that host, or give the node this machine's address (host/bind) in the devnet's config"
            )
        }
        // Two nodes under one name would both submit as one prover: the second is refused.
        if (try? await ask(
            process.endpoints.api, AdminMessage.health, as: HealthReport.self, keys: keys, timeout: .seconds(1),
            what: "health"))
            != nil
        {
            throw OrchestratorError(
                "error: \(process.name) already answers at \(process.endpoints.api): a devnet has one node of that name. Stop that one first, or join with another --prover"
            )
        }

        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        try topology.write(to: dataDirectory.appendingPathComponent(Topology.fileName))
        if let credentials { try credentials.memberView.write(to: dataDirectory) }
        let executable = ProcessControl.binaryDirectory().appendingPathComponent(process.role.executable).path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw OrchestratorError(
                "error: cannot find the \(process.role.executable) executable at \(executable); build the package (swift build), or set DEVNET_BIN_DIR"
            )
        }
        return PreparedNode(
            executable: executable,
            arguments: [
                "--topology", dataDirectory.appendingPathComponent(Topology.fileName).path, "--name", process.name,
                "--data-dir", dataDirectory.path,
            ],
            process: process)
    }

    /// One request on a connection of its own, with `keys`; an error that says what went wrong.
    private func ask<Reply: Decodable>(
        _ endpoint: String, _ type: String, as reply: Reply.Type, keys: CurveClientKeys?, timeout: Duration,
        what: String
    ) async throws -> Reply {
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "devnet-join", clientKeys: keys)
        defer { context.terminate() }
        do {
            let client = try await RequestClient.connect(to: endpoint, on: loop)
            let answer = try await client.call(type, Empty(), as: Reply.self, timeout: timeout)
            client.close()
            await loop.shutdown()
            return answer
        } catch let error as WireError {
            await loop.shutdown()
            if error.code == .timeout {
                // A secured devnet answers no client without keys, and says nothing to it: the
                // likely cause then is the missing --credentials.
                let hint =
                    error.message.range(of: "the CURVE handshake").map { String(error.message[$0.lowerBound...]) }
                    ?? (keys == nil
                        ? "If the devnet is secured (it binds beyond loopback, or says security: curve), it answers only its credentials' keys: give them with --credentials FILE (`devnet credentials --json > FILE` where it runs). Otherwise check that this machine reaches that address and port."
                        : "Check that this machine reaches that address and port, and the credentials.")
                throw OrchestratorError(
                    "error: no answer from \(endpoint) to '\(type)' (\(what)) within \(timeout). \(hint)")
            }
            throw OrchestratorError("error: \(endpoint) refused '\(type)': \(error.code): \(error.message)")
        } catch {
            await loop.shutdown()
            throw OrchestratorError("error: cannot connect to \(endpoint): \(error)")
        }
    }
}
