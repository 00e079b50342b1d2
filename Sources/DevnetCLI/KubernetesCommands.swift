import ArgumentParser
import DevnetClient
import DevnetProtocol
import Foundation
import Orchestrator
import ZeroMQ

/// `devnet k8s`: Kubernetes manifests of a devnet, and the probe their pods run.
struct Kubernetes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Kubernetes manifests of a devnet (docs/deploy.md).",
        subcommands: [KubernetesRender.self, KubernetesProbe.self]
    )
}

struct KubernetesRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write the Kubernetes manifests of the devnet of a config file.",
        discussion: """
            A StatefulSet (with a volume claim for its database) and a Service per daemon, the \
            topology and user contracts in a ConfigMap, the credentials in a Secret. Without --out \
            the manifests go to standard output, for `kubectl apply -f -`. See docs/deploy.md.
            """
    )

    @Argument(help: "The topology file (default devnet.yaml).")
    var config: String?

    @Option(help: "Write one file per object group into this directory instead of standard output.")
    var out: String?

    @Option(help: "The image built from the Containerfile.")
    var image = KubernetesManifests.Options().image

    @Option(help: "The namespace of every object; part of every endpoint's DNS name.")
    var namespace = KubernetesManifests.Options().namespace

    @Option(help: "The cluster's DNS domain.")
    var clusterDomain = KubernetesManifests.Options().clusterDomain

    @Option(help: "The size of each daemon's volume claim.")
    var storageSize = KubernetesManifests.Options().storageSize

    @Option(help: "The storage class of the volume claims (default: the cluster's default).")
    var storageClass: String?

    @Option(help: "Use this first TCP port instead of the config's base_port.")
    var basePort: Int?

    @Option(help: "Use this seed instead of the config's.")
    var seed: UInt64?

    @Option(help: "Serve Prometheus /metrics on every daemon, from this port up, as metrics_port does in the config.")
    var metricsPort: Int?

    @Flag(help: "Let the daemons answer fault hooks (pause, resume, tamper), as fault_hooks: true does.")
    var faultHooks = false

    @Option(
        help: ArgumentHelp(
            "Render only a thread node that joins the devnet running elsewhere whose data directory (or topology.json) this is, as one more prover of --thread.",
            valueName: "data-dir"))
    var join: String?

    @Option(help: "With --join: the thread the node proves.")
    var thread: String?

    @Option(help: "With --join: the prover account index (prover-<thread>-<n>); default the first one no node uses.")
    var prover: Int?

    @Option(
        help: ArgumentHelp(
            "Where the devnet's CurveZMQ credentials are kept: DIR/credentials/, created there if missing (default: --out; with --join, the joined devnet's data directory).",
            valueName: "dir"))
    var credentials: String?

    func validate() throws {
        if join != nil {
            if let config {
                throw ValidationError("'\(config)': --join renders from the devnet's topology; give no config file")
            }
            if thread == nil { throw ValidationError("--join needs --thread NAME: the thread the node proves") }
            if seed != nil || basePort != nil || metricsPort != nil || faultHooks {
                throw ValidationError(
                    "--seed, --base-port, --metrics-port and --fault-hooks are the devnet's own with --join")
            }
        } else if thread != nil || prover != nil {
            throw ValidationError("--thread and --prover go with --join")
        }
    }

    /// The data directory whose `credentials/` folder holds the devnet's keys.
    private var credentialsDataDirectory: String? {
        if let credentials { return credentials }
        if let join {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: join, isDirectory: &isDirectory)
            return isDirectory.boolValue ? join : URL(fileURLWithPath: join).deletingLastPathComponent().path
        }
        return out
    }

    private var credentialsFolder: String? {
        credentialsDataDirectory.map { DevnetCredentials.directory(in: URL(fileURLWithPath: $0)).path }
    }

    /// The credentials the Secret gets: a joined devnet's own (which must exist), else those kept
    /// in the credentials directory, or new ones (`isNew`) to be written there once the
    /// manifests render.
    private func loadCredentials() throws -> (credentials: DevnetCredentials, isNew: Bool) {
        do {
            if let directory = credentialsDataDirectory,
                let existing = try DevnetCredentials.load(from: URL(fileURLWithPath: directory))
            {
                return (existing, false)
            }
            if let join, credentials == nil {
                throw OrchestratorError.usage(
                    "error: --join \(join): the devnet has no credentials in \(credentialsFolder ?? join); a node joins a secured devnet with its keys: pass --credentials with the data directory that holds them (`devnet credentials --json` prints them)"
                )
            }
            try Curve.requireAvailable()
            return (try DevnetCredentials.generate(), true)
        } catch let error as CredentialsError {
            throw OrchestratorError.usage("error: \(error.message)")
        } catch let error as CurveUnavailableError {
            throw OrchestratorError("error: \(error)")
        }
    }

    /// The topology of the devnet `--join` names: its data directory's topology.json, or that file.
    private func joinedTopology(_ path: String) throws -> Topology {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file =
            isDirectory.boolValue ? URL(fileURLWithPath: path).appendingPathComponent(Topology.fileName).path : path
        guard exists, FileManager.default.fileExists(atPath: file) else {
            throw OrchestratorError.usage(
                "error: --join \(path): no \(Topology.fileName) there; give the data directory of a devnet that `devnet up` started (or its topology.json)"
            )
        }
        do {
            return try Topology.load(from: URL(fileURLWithPath: file))
        } catch {
            throw OrchestratorError.usage("error: --join: cannot read the topology \(file): \(error)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let path = join ?? config ?? "devnet.yaml"
            var devnet = DevnetConfig()
            if join == nil {
                do {
                    devnet = try DevnetConfig.load(path: path).merging(
                        .init(
                            seed: seed, basePort: basePort, faultHooks: faultHooks ? true : nil,
                            metricsPort: metricsPort),
                        file: path)
                } catch {
                    throw OrchestratorError.usage("error: \(error)")
                }
            }
            var options = KubernetesManifests.Options()
            options.image = image
            options.namespace = namespace
            options.clusterDomain = clusterDomain
            options.storageSize = storageSize
            options.storageClass = storageClass
            let (credentials, isNew) = try loadCredentials()
            options.credentials = credentials
            let documents: [KubernetesManifests.Document]
            do {
                if let join, let thread {
                    documents = try KubernetesManifests.joining(
                        joinedTopology(join), thread: thread, prover: prover, options: options)
                } else {
                    documents = try KubernetesManifests.render(devnet, options: options)
                }
            } catch let error as KubernetesManifests.RenderError {
                throw OrchestratorError.usage("error: \(path): \(error.message)")
            }
            // New keys are kept before anything uses them: the orchestrator's stays with them.
            if isNew {
                guard let directory = credentialsDataDirectory else {
                    throw OrchestratorError.usage(
                        "error: the devnet is secured with CurveZMQ on Kubernetes, and its new keys must be kept somewhere: pass --out DIR (they go in DIR/credentials/) or --credentials DIR"
                    )
                }
                do {
                    try credentials.write(to: URL(fileURLWithPath: directory))
                } catch {
                    throw OrchestratorError(
                        "error: cannot write the devnet's credentials into \(credentialsFolder ?? directory): \(error.localizedDescription)"
                    )
                }
            }
            guard let out else {
                print(KubernetesManifests.stream(documents), terminator: "")
                return
            }
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for file in KubernetesManifests.files(documents) {
                    try Data(file.contents.utf8).write(
                        to: directory.appendingPathComponent(file.name), options: .atomic)
                }
            } catch {
                throw OrchestratorError("error: cannot write the manifests into \(out): \(error.localizedDescription)")
            }
            let daemons = documents.filter { $0.kind == "StatefulSet" }.count
            print(
                "wrote \(documents.count) objects (\(daemons) daemons) in namespace \(namespace) to \(out); apply them with: kubectl apply -f \(out)"
            )
            if let folder = credentialsFolder {
                print(
                    "the devnet's credentials are in \(folder) (the orchestrator's key stays there, out of the cluster); keep them for clients and joining nodes"
                )
            }
        }
    }
}

struct KubernetesProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Ask a daemon for its health; exit 0 if it answers (with an accepted status).",
        discussion: """
            What the pods' startup, liveness and readiness probes run. Without --accept any answer \
            counts (the daemon is up); with it, only the statuses given (e.g. --accept healthy).
            """
    )

    @Argument(
        help:
            "The daemon's api endpoint (or its admin endpoint, which only the orchestrator's key gets past), e.g. tcp://127.0.0.1:27100."
    )
    var endpoint: String

    @Option(help: "A health status that counts as passing (healthy, syncing, …); repeat for several.")
    var accept: [String] = []

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    @Option(
        help: ArgumentHelp(
            "The member's credentials file (devnet.json) of a secured devnet, to connect with its keys.",
            valueName: "file"))
    var credentials: String?

    func validate() throws {
        try validateSeconds(timeout)
        guard endpoint.hasPrefix("tcp://") else {
            throw ValidationError("'\(endpoint)' is not a tcp:// endpoint, e.g. tcp://127.0.0.1:27101")
        }
    }

    func run() async throws {
        var keys: CurveClientKeys?
        if let credentials {
            do {
                keys = try DevnetCredentials.load(memberFile: URL(fileURLWithPath: credentials)).memberClient
            } catch {
                FileHandle.standardError.write(Data("\(error.message)\n".utf8))
                throw ExitCode(2)
            }
        }
        guard let report = await Orchestrator.health(at: endpoint, clientKeys: keys, timeout: .seconds(timeout)) else {
            FileHandle.standardError.write(Data("no answer to health at \(endpoint) within \(timeout) s\n".utf8))
            throw ExitCode(1)
        }
        let detail = report.detail.map { " (\($0))" } ?? ""
        guard accept.isEmpty || accept.contains(report.status) else {
            FileHandle.standardError.write(
                Data(
                    "\(report.name) is \(report.status)\(detail), not \(accept.joined(separator: " or "))\n".utf8))
            throw ExitCode(1)
        }
        print("\(report.name) is \(report.status)\(detail)")
    }
}
