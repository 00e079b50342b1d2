public import DevnetClient
public import DevnetProtocol
public import Foundation
public import ZeroMQ

/// Whether a devnet's endpoints need its credentials, as `security:` in devnet.yaml says.
public enum SecurityMode: String, Sendable, Equatable, CaseIterable {
    /// CurveZMQ when any process binds beyond loopback, open otherwise. The default.
    case auto
    /// CurveZMQ on every endpoint, loopback too.
    case curve
    /// Open, as on loopback: refused for a devnet that binds beyond loopback.
    case none

    /// The security a devnet binding at `bindHosts` gets.
    func resolved(bindHosts: [String]) -> Topology.Security? {
        switch self {
        case .curve: .curve
        case .none: nil
        case .auto: bindHosts.allSatisfy(Self.isLoopback) ? nil : .curve
        }
    }

    /// Whether `host` is only reachable from this machine: 127.0.0.0/8, `localhost` or `::1`.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension Orchestrator {
    /// The credentials of the devnet in this data directory when it is secured (nil when it is
    /// open), with the orchestrator's key.
    ///
    /// - Throws: ``OrchestratorError`` when the devnet is secured and its credentials are
    ///   missing or damaged.
    public func credentials() throws -> DevnetCredentials? {
        let url = dataDirectory.appendingPathComponent(Topology.fileName)
        guard let topology = try? Topology.load(from: url), topology.isSecured else { return nil }
        return try credentials(for: topology)
    }

    func credentials(for topology: Topology) throws -> DevnetCredentials? {
        guard topology.isSecured else { return nil }
        do {
            guard let credentials = try DevnetCredentials.load(from: dataDirectory) else {
                throw OrchestratorError(
                    "error: the devnet in \(dataDirectory.path) is secured but has no credentials in \(DevnetCredentials.directory(in: dataDirectory).path); they are written by the `devnet up` that started it"
                )
            }
            return credentials
        } catch let error as CredentialsError {
            throw OrchestratorError("error: \(error.message)")
        }
    }

    /// The keys the orchestrator's clients connect with: nil for an open devnet.
    func clientKeys() throws -> CurveClientKeys? {
        try credentials()?.orchestratorClient
    }

    func clientKeys(for topology: Topology) throws -> CurveClientKeys? {
        try credentials(for: topology)?.orchestratorClient
    }

    /// Generates the credentials of a secured devnet if its data directory has none yet.
    func prepareCredentials(for topology: Topology) throws {
        guard topology.isSecured else { return }
        do {
            try Curve.requireAvailable()
            let existing = try DevnetCredentials.load(from: dataDirectory)
            if existing == nil {
                try DevnetCredentials.generate().write(to: dataDirectory)
                output(
                    "secured with CurveZMQ: new credentials in \(DevnetCredentials.directory(in: dataDirectory).path) (`devnet credentials` prints what a client or joining node needs)"
                )
            } else if existing?.adminSecretKey == nil {
                throw OrchestratorError(
                    "error: \(DevnetCredentials.directory(in: dataDirectory).path) has no \(DevnetCredentials.orchestratorFile): this orchestrator cannot reach the admin endpoints. Use the data directory of the orchestrator that created the credentials, or remove the folder to start over with new ones."
                )
            }
        } catch let error as CurveUnavailableError {
            throw OrchestratorError("error: \(error)")
        } catch let error as CredentialsError {
            throw OrchestratorError("error: \(error.message)")
        }
    }
}

/// What `devnet credentials` prints: what a client or a node on another host needs to connect.
public struct CredentialsReport: Encodable, Sendable {
    /// `curve`, or `open` for a devnet that needs no credentials.
    public var security: String
    /// The member's credentials (the `devnet.json` file's fields); nil for an open devnet.
    public var credentials: DevnetCredentials.MemberFile?
    /// Where each process is reached.
    public var endpoints: [String: Endpoints]

    public func encode(to encoder: any Encoder) throws {
        // The member file's keys at the top level, so that the output reads as a `devnet.json`.
        try credentials?.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(security, forKey: .security)
        try container.encode(endpoints, forKey: .endpoints)
    }

    enum Keys: String, CodingKey {
        case security, endpoints
    }

    /// The report as people read it.
    public var text: String {
        guard let credentials else {
            return "this devnet is open: it binds on loopback only and needs no credentials (security: none or auto)"
        }
        let endpointLines = endpoints.keys.sorted().map { name in
            "  \(name): api \(endpoints[name]!.api), events \(endpoints[name]!.events)"
        }
        return """
            secured with CurveZMQ: every endpoint encrypts, and lets in only these keys
            server public key    \(credentials.serverPublicKey)   (every endpoint; curve_serverkey)
            member public key    \(credentials.memberPublicKey)   (curve_publickey)
            member secret key    \(credentials.memberSecretKey)   (curve_secretkey; SECRET)
            server secret key    \(credentials.serverSecretKey)   (SECRET: only a node on another host needs it, to serve)
            admin public key     \(credentials.adminPublicKey)   (admin endpoints let in only this key; its secret stays with the orchestrator)
            endpoints:
            \(endpointLines.joined(separator: "\n"))
            `devnet credentials --json > devnet.json` writes them as a file a node or a client reads (docs/wire-protocol.md, Security).
            """
    }
}

extension Orchestrator {
    /// What a client or a node joining from another host needs to connect to this devnet.
    public func credentialsReport() throws -> CredentialsReport {
        let url = dataDirectory.appendingPathComponent(Topology.fileName)
        let topology: Topology
        do {
            topology = try Topology.load(from: url)
        } catch {
            throw OrchestratorError(
                "error: no devnet in \(dataDirectory.path) (cannot read \(url.path)); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        let credentials = try credentials(for: topology)
        return CredentialsReport(
            security: credentials == nil ? "open" : "curve", credentials: credentials?.memberFile,
            endpoints: Dictionary(uniqueKeysWithValues: topology.processes.map { ($0.name, $0.endpoints) }))
    }

    /// The line under `devnet status` that says whether the devnet is open or secured.
    public static func securityLine(_ rows: [ProcessStatus], dataDirectory: String) -> String {
        if rows.first?.security == "curve" {
            return
                "security: CurveZMQ: traffic is encrypted and only holders of the credentials connect (`devnet credentials --data-dir \(dataDirectory)`); admin endpoints let in the orchestrator's key only"
        }
        return "security: open: the endpoints are on loopback and need no credentials"
    }
}
