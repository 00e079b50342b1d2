import ArgumentParser
import Foundation
import Orchestrator

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

    func run() async throws {
        try await reportingErrors {
            let path = config ?? "devnet.yaml"
            let devnet: DevnetConfig
            do {
                devnet = try DevnetConfig.load(path: path).merging(
                    .init(
                        seed: seed, basePort: basePort, faultHooks: faultHooks ? true : nil, metricsPort: metricsPort),
                    file: path)
            } catch {
                throw OrchestratorError.usage("error: \(error)")
            }
            var options = KubernetesManifests.Options()
            options.image = image
            options.namespace = namespace
            options.clusterDomain = clusterDomain
            options.storageSize = storageSize
            options.storageClass = storageClass
            let documents: [KubernetesManifests.Document]
            do {
                documents = try KubernetesManifests.render(devnet, options: options)
            } catch let error as KubernetesManifests.RenderError {
                throw OrchestratorError.usage("error: \(path): \(error.message)")
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
        }
    }
}

struct KubernetesProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Ask a daemon's admin endpoint for its health; exit 0 if it answers (with an accepted status).",
        discussion: """
            What the pods' startup, liveness and readiness probes run. Without --accept any answer \
            counts (the daemon is up); with it, only the statuses given (e.g. --accept healthy).
            """
    )

    @Argument(help: "The admin endpoint, e.g. tcp://127.0.0.1:27101.")
    var endpoint: String

    @Option(help: "A health status that counts as passing (healthy, syncing, …); repeat for several.")
    var accept: [String] = []

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    func validate() throws {
        try validateSeconds(timeout)
        guard endpoint.hasPrefix("tcp://") else {
            throw ValidationError("'\(endpoint)' is not a tcp:// endpoint, e.g. tcp://127.0.0.1:27101")
        }
    }

    func run() async throws {
        guard let report = await Orchestrator.health(atAdmin: endpoint, timeout: .seconds(timeout)) else {
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
