import Crypto
public import DevnetClient
public import DevnetProtocol
import Foundation
import Yams

/// The Kubernetes manifests of a devnet, as `devnet k8s render` writes them.
///
/// Pure: a topology and options in, YAML documents out; nothing is read or written. Every daemon
/// of the topology becomes a StatefulSet of one pod with a volume claim for its SQLite data
/// directory, and a Service of the same name that exposes its endpoints (api, admin, events and
/// metrics, on the ports the topology gives them). The daemons find each other through the
/// Services' DNS names: the topology in the ConfigMap advertises every endpoint as
/// `tcp://<service>.<namespace>.svc.<cluster domain>:<port>`, and has each daemon bind the same
/// port on every interface of its pod (`0.0.0.0`; libzmq cannot bind a DNS name).
///
/// Pods bind beyond loopback, so the devnet is secured with CurveZMQ: the member's credentials
/// (`devnet.json`, never the orchestrator's secret) go in a Secret that every pod mounts where
/// the daemons read them, `<data dir>/credentials/`.
public enum KubernetesManifests {
    /// What the manifests are rendered with, beside the topology.
    public struct Options: Sendable, Equatable {
        /// The namespace every object goes in; part of every endpoint's DNS name.
        public var namespace = "zkthreads-devnet"
        /// The image built from the repository's `Containerfile`.
        public var image = "zkthreads-devnet:latest"
        /// The cluster's DNS domain (kubelet's `--cluster-domain`).
        public var clusterDomain = "cluster.local"
        /// The size of each daemon's volume claim.
        public var storageSize = "1Gi"
        /// The storage class of the volume claims; nil for the cluster's default.
        public var storageClass: String?
        /// The devnet's CurveZMQ keys. Only what a member holds goes in the Secret (the
        /// orchestrator's secret key, if these have it, does not); required for a secured devnet.
        public var credentials: DevnetCredentials?

        public init() {}
    }

    /// One YAML document: a Kubernetes object.
    public struct Document: Sendable, Equatable {
        /// `Namespace`, `ConfigMap`, `Secret`, `Service` or `StatefulSet`.
        public var kind: String
        /// The object's name.
        public var name: String
        /// The process the object belongs to (`sequencer`, `node-token`, …), nil for shared ones.
        public var process: String?
        /// The document, without the `---` separator.
        public var yaml: String
    }

    /// A topology or option that cannot be rendered; `message` names what is at fault and what to do.
    public struct RenderError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Where the image keeps the executables (the `Containerfile` installs them there).
    public static let binDirectory = "/opt/zkthreads-devnet/bin"
    /// Where each pod's volume claim is mounted: the daemon's `--data-dir`.
    public static let dataDirectory = "/var/lib/zkthreads-devnet"
    /// Where each pod sees the ConfigMap: the topology and the user contracts.
    public static let topologyDirectory = "/etc/zkthreads-devnet/topology"
    /// Where each pod sees the credentials Secret: where the daemons read them.
    public static let credentialsDirectory = dataDirectory + "/credentials"
    /// The member's credentials file the daemons and the probes read.
    public static var credentialsFile: String { credentialsDirectory + "/" + DevnetCredentials.memberFile }
    /// The user and group the daemons run as (the image's `devnet` user).
    public static let userID = 10001
    /// The ConfigMap holding the topology files and the user contracts.
    public static let configMapName = "zkthreads-devnet-topology"
    /// The Secret holding the credentials.
    public static let secretName = "zkthreads-devnet-credentials"
    /// The label every object carries; with ``processLabel`` it selects one daemon's pod.
    static let appLabel = "app.kubernetes.io/name"
    static let appName = "zkthreads-devnet"
    static let processLabel = "zkthreads-devnet/process"
    /// The longest object name a daemon may have: a StatefulSet's pods carry a
    /// `controller-revision-hash` label of its name plus 11 characters, and a label value is at
    /// most 63.
    public static let maxNameLength = 52
    /// ConfigMaps hold at most 1 MiB.
    static let maxConfigMapBytes = 1_048_576

    /// The Kubernetes name of a process: its name in lower case with `_` as `-`.
    ///
    /// - Throws: ``RenderError`` naming the thread (or process) when the result is not a DNS
    ///   label that Services accept (RFC 1035: a–z, 0–9 and `-`, starting with a letter, ending
    ///   with a letter or digit, at most ``maxNameLength`` characters).
    public static func objectName(of process: ProcessSpec) throws -> String {
        let mapped = String(process.name.lowercased().map { $0 == "_" ? "-" : $0 })
        guard isDNSLabel(mapped, maxLength: maxNameLength) else {
            let subject =
                process.thread.map { "thread '\($0.name)' (its node '\(process.name)')" } ?? "process '\(process.name)'"
            throw RenderError(
                message:
                    "\(subject) has no Kubernetes name: '\(mapped)' is not a DNS label (a–z, 0–9 and '-', starting with a letter, ending with a letter or digit, at most \(maxNameLength) characters). Rename the thread in the config, e.g. to '\(suggestion(for: process.thread?.name ?? process.name))'."
            )
        }
        return mapped
    }

    /// Whether `name` is an RFC 1035 label of at most `maxLength` characters.
    public static func isDNSLabel(_ name: String, maxLength: Int = 63) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= maxLength else { return false }
        func letter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7a }
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        return letter(first) && (letter(last) || digit(last))
            && bytes.allSatisfy { letter($0) || digit($0) || $0 == 0x2d }
    }

    /// A name like `name` that maps to a DNS label, for error messages.
    static func suggestion(for name: String) -> String {
        var ascii = String(
            name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" }
        )
        while ascii.contains("--") { ascii = ascii.replacingOccurrences(of: "--", with: "-") }
        ascii = ascii.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if ascii.first.map({ !$0.isLetter }) ?? true { ascii = "t-" + ascii }
        return String(ascii.prefix(maxNameLength - "node-".count)).trimmingCharacters(
            in: CharacterSet(charactersIn: "-"))
    }

    /// The DNS name of a process's Service.
    public static func serviceHost(_ objectName: String, options: Options) -> String {
        "\(objectName).\(options.namespace).svc.\(options.clusterDomain)"
    }

    /// `topology` with every endpoint advertised at its process's Service DNS name and bound on
    /// every interface, same ports. Processes not in `inCluster` (nil: all are) keep their
    /// endpoints: they run elsewhere.
    public static func clusterTopology(
        _ topology: Topology, options: Options, inCluster: Set<String>? = nil
    ) throws -> Topology {
        var result = topology
        for index in result.processes.indices where inCluster?.contains(result.processes[index].name) ?? true {
            let host = serviceHost(try objectName(of: result.processes[index]), options: options)
            let process = result.processes[index]
            result.processes[index].endpoints = try rehost(process, host: host)
            result.processes[index].bind = try rehost(process, host: "0.0.0.0")
        }
        return result
    }

    /// A process's endpoints on another host, same schemes, ports and paths.
    static func rehost(_ process: ProcessSpec, host: String) throws -> Endpoints {
        func move(_ endpoint: String, _ label: String) throws -> String {
            guard let url = URLComponents(string: endpoint), let scheme = url.scheme, let port = url.port else {
                throw RenderError(
                    message:
                        "the \(label) endpoint '\(endpoint)' of \(process.name) has no port; a Kubernetes Service needs one (scheme://host:port)"
                )
            }
            return "\(scheme)://\(host):\(port)\(url.path)"
        }
        let endpoints = process.endpoints
        return Endpoints(
            api: try move(endpoints.api, "api"), admin: try move(endpoints.admin, "admin"),
            events: try move(endpoints.events, "events"), metrics: try endpoints.metrics.map { try move($0, "metrics") }
        )
    }

    /// The named ports of a process, in order: api, admin, events, and metrics when it has them.
    public static func ports(of process: ProcessSpec) throws -> [(name: String, port: Int)] {
        var result: [(String, Int)] = []
        for (name, endpoint) in [
            ("api", process.endpoints.api), ("admin", process.endpoints.admin), ("events", process.endpoints.events),
            ("metrics", process.endpoints.metrics),
        ] {
            guard let endpoint else { continue }
            guard let port = URLComponents(string: endpoint)?.port, (1...65535).contains(port) else {
                throw RenderError(message: "the \(name) endpoint '\(endpoint)' of \(process.name) has no valid port")
            }
            result.append((name, port))
        }
        return result
    }

    /// The topology file in the ConfigMap, which every daemon reads.
    public static let topologyFile = topologyDirectory + "/" + Topology.fileName

    /// Every manifest of the devnet of `config`, secured with CurveZMQ (its pods bind beyond
    /// loopback).
    ///
    /// - Throws: ``RenderError`` for `security: none`, which a devnet reachable beyond loopback
    ///   may not have.
    public static func render(_ config: DevnetConfig, options: Options) throws -> [Document] {
        guard config.security != .none else {
            throw RenderError(
                message:
                    "security: none cannot run on Kubernetes: every pod binds beyond loopback, where the devnet must be secured. Remove security: none (auto secures it)"
            )
        }
        var topology = config.topology()
        topology.security = .curve
        return try render(topology, options: options)
    }

    /// Every manifest of `topology`: the Namespace, the ConfigMap, the Secret, then a Service and
    /// a StatefulSet per daemon, in the topology's order. With `inCluster`, only those processes
    /// run in the cluster; the others run elsewhere and are reached at their own endpoints.
    ///
    /// - Throws: ``RenderError`` naming the process, thread or option at fault.
    public static func render(
        _ topology: Topology, options: Options, inCluster: Set<String>? = nil
    ) throws -> [Document] {
        guard isDNSLabel(options.namespace) else {
            throw RenderError(
                message:
                    "namespace '\(options.namespace)' is not a DNS label (a–z, 0–9 and '-', starting with a letter, at most 63 characters); choose another --namespace"
            )
        }
        guard !options.image.isEmpty, !options.image.contains(where: \.isWhitespace) else {
            throw RenderError(message: "image '\(options.image)' is not an image reference; pass --image NAME:TAG")
        }
        guard options.clusterDomain.split(separator: ".").allSatisfy({ isDNSLabel(String($0)) }) else {
            throw RenderError(
                message: "cluster domain '\(options.clusterDomain)' is not a DNS name; pass --cluster-domain")
        }
        guard !topology.isSecured || options.credentials != nil else {
            throw RenderError(message: "the devnet is secured (CurveZMQ) and no credentials were given for its Secret")
        }
        // Names first: every process's, refusing two that map to one name.
        var names: [String: String] = [:]
        var owners: [String: ProcessSpec] = [:]
        let local = topology.processes.filter { inCluster?.contains($0.name) ?? true }
        for process in local {
            let name = try objectName(of: process)
            if let other = owners[name] {
                throw RenderError(
                    message:
                        "\(describe(other)) and \(describe(process)) both map to the Kubernetes name '\(name)' (lower case, '_' as '-'); rename one of the threads in the config"
                )
            }
            owners[name] = process
            names[process.name] = name
        }
        for process in topology.processes where process.role == .threadNode && process.thread == nil {
            throw RenderError(message: "thread node '\(process.name)' names no thread in the topology")
        }

        let cluster = try clusterTopology(topology, options: options, inCluster: inCluster)
        var files: [(String, String)] = [(Topology.fileName, try json(cluster))]
        var contractKeys: Set<String> = []
        for process in local {
            guard let thread = process.thread, let source = thread.source else { continue }
            let key = "contract-\(String(thread.name.lowercased().map { $0 == "_" ? "-" : $0 })).tasm"
            // A second prover of a thread runs the same contract: one copy.
            if contractKeys.insert(key).inserted { files.append((key, source)) }
        }
        let size = files.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
        guard size <= maxConfigMapBytes else {
            throw RenderError(
                message:
                    "the topology and contracts take \(size) bytes, more than the 1 MiB a ConfigMap holds; use fewer or smaller contracts"
            )
        }
        var secret: [(String, String)] = []
        if let credentials = options.credentials {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            secret.append(
                (
                    DevnetCredentials.memberFile,
                    String(decoding: try encoder.encode(credentials.memberFile), as: UTF8.self)
                ))
        }
        // Pods restart when the topology or the credentials change.
        let checksum = SHA256.hash(
            data: Data((files + secret).map { "\($0.0)\u{0}\($0.1)\u{0}" }.joined().utf8)
        ).map { String(format: "%02x", $0) }.joined()

        var documents: [Document] = []
        func add(_ kind: String, _ name: String, process: String? = nil, _ spec: [(String, YAMLValue)]) throws {
            let object: YAMLValue = .map(
                [
                    ("apiVersion", .string(kind == "StatefulSet" ? "apps/v1" : "v1")), ("kind", .string(kind)),
                    ("metadata", metadata(name, process: process, namespaced: kind != "Namespace", options: options)),
                ] + spec)
            documents.append(Document(kind: kind, name: name, process: process, yaml: try object.yaml()))
        }
        try add("Namespace", options.namespace, [])
        try add("ConfigMap", configMapName, [("data", .map(files.map { ($0.0, .string($0.1)) }))])
        try add(
            "Secret", secretName,
            [
                ("type", .string("Opaque")),
                ("data", .map(secret.map { ($0.0, .string(Data($0.1.utf8).base64EncodedString())) })),
            ])

        let readyStatuses = HealthProbe.up(topology).sorted()
        for process in cluster.processes where names[process.name] != nil {
            let name = names[process.name]!
            let ports = try ports(of: process)
            try add(
                "Service", name, process: process.name,
                [
                    (
                        "spec",
                        .map([
                            ("selector", selector(name)),
                            // Peers connect while a daemon is still starting (and a thread node
                            // stays `syncing` until the sequencer and manager answer it), so the
                            // DNS name resolves whether or not the pod is ready.
                            ("publishNotReadyAddresses", .bool(true)),
                            (
                                "ports",
                                .list(
                                    ports.map {
                                        .map([
                                            ("name", .string($0.name)), ("port", .int($0.port)),
                                            ("targetPort", .string($0.name)), ("protocol", .string("TCP")),
                                        ])
                                    })
                            ),
                        ])
                    )
                ])
            try add(
                "StatefulSet", name, process: process.name,
                statefulSet(
                    process, name: name, ports: ports, readyStatuses: readyStatuses, secured: topology.isSecured,
                    checksum: checksum, options: options))
        }
        return documents
    }

    /// The manifests of a thread node that runs in the cluster as one more prover of `thread`,
    /// for a devnet running elsewhere (a laptop, say) whose topology is `devnet`: the Namespace,
    /// the ConfigMap (the devnet's topology with the node added at its Service's DNS name), the
    /// Secret, and the node's Service and StatefulSet. The node reaches the sequencer and the
    /// manager at the endpoints `devnet` names, so those must be addresses the pods can route to.
    ///
    /// - Parameters:
    ///   - prover: the prover account index (`prover-<thread>-<n>`); nil for the first one no
    ///     node of the devnet uses.
    /// - Throws: ``RenderError`` when the devnet has no such thread, or its sequencer or manager
    ///   listens on loopback only; ``OrchestratorError`` for a prover index that is taken.
    public static func joining(
        _ devnet: Topology, thread: String, prover: Int?, options: Options
    ) throws -> [Document] {
        let threads = devnet.processes.compactMap(\.thread?.name).reduce(into: [String]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        guard threads.contains(thread) else {
            throw RenderError(
                message:
                    "the devnet has no thread '\(thread)' (it has: \(threads.joined(separator: ", "))); a node in the cluster joins as one more prover of a thread the devnet has, so add the thread there first (devnet attach \(thread) --contract …)"
            )
        }
        for role in [ProcessRole.sequencer, .manager] {
            guard let process = devnet.first(role) else {
                throw RenderError(message: "the devnet's topology has no \(role.rawValue)")
            }
            let host = URLComponents(string: process.endpoints.api)?.host ?? ""
            guard !isLoopback(host) else {
                throw RenderError(
                    message:
                        "the devnet's \(process.name) is at \(process.endpoints.api), which pods cannot reach; start the devnet with host: set to an address the cluster routes to (the machine's LAN or VPN address)"
                )
            }
        }
        var spec = try Orchestrator.plannedNode(.init(thread: thread, prover: prover), topology: devnet)
        spec.attached = true
        // Ports after every port the devnet uses: the node's own, in its pod.
        let first =
            (try devnet.processes.flatMap { try ports(of: $0).map(\.port) }.max() ?? 27100) + 1
        guard first + 2 <= 65535 else {
            throw RenderError(message: "the devnet uses ports up to 65535; there are none left for the node")
        }
        let node = ProcessSpec(
            name: spec.nodeName, role: .threadNode,
            endpoints: Endpoints(
                api: "tcp://0.0.0.0:\(first)", admin: "tcp://0.0.0.0:\(first + 1)",
                events: "tcp://0.0.0.0:\(first + 2)"),
            thread: spec)
        var topology = devnet
        topology.processes.append(node)
        return try render(topology, options: options, inCluster: [node.name])
    }

    /// Whether `host` is a loopback or wildcard address, which other machines cannot connect to.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "0.0.0.0" || host == "::1" || host == "[::1]"
            || host.isEmpty
    }

    /// The documents as one YAML stream, for `kubectl apply -f -`.
    public static func stream(_ documents: [Document]) -> String {
        documents.map { "---\n" + $0.yaml }.joined()
    }

    /// The documents as files for `kubectl apply -f DIR` (which applies them in name order):
    /// the namespace, the ConfigMap and Secret, then one file per daemon with its Service and
    /// StatefulSet.
    public static func files(_ documents: [Document]) -> [(name: String, contents: String)] {
        var result: [(String, [Document])] = []
        for document in documents {
            let file: String
            switch document.kind {
            case "Namespace": file = "00-namespace.yaml"
            case "ConfigMap": file = "01-topology.yaml"
            case "Secret": file = "02-credentials.yaml"
            default:
                let processes = documents.compactMap(\.process).reduce(into: [String]()) {
                    if !$0.contains($1) { $0.append($1) }
                }
                let index = processes.firstIndex(of: document.process ?? "") ?? 0
                file = String(format: "%02d-%@.yaml", 10 + index, document.name)
            }
            if let at = result.firstIndex(where: { $0.0 == file }) {
                result[at].1.append(document)
            } else {
                result.append((file, [document]))
            }
        }
        return result.map { ($0.0, stream($0.1)) }
    }

    // MARK: objects

    static func describe(_ process: ProcessSpec) -> String {
        process.thread.map { "thread '\($0.name)' (node '\(process.name)')" } ?? "process '\(process.name)'"
    }

    static func isConfigKey(_ key: String) -> Bool {
        !key.isEmpty && key.count <= 253 && key != "." && key != ".."
            && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    static func labels(_ process: String?) -> YAMLValue {
        var pairs: [(String, YAMLValue)] = [
            (appLabel, .string(appName)), ("app.kubernetes.io/part-of", .string(appName)),
        ]
        if let process { pairs.append((processLabel, .string(process))) }
        return .map(pairs)
    }

    static func selector(_ name: String) -> YAMLValue {
        .map([(appLabel, .string(appName)), (processLabel, .string(name))])
    }

    static func metadata(_ name: String, process: String?, namespaced: Bool, options: Options) -> YAMLValue {
        var pairs: [(String, YAMLValue)] = [("name", .string(name))]
        if namespaced { pairs.append(("namespace", .string(options.namespace))) }
        // The process label carries the object name (a valid label value), not the raw process name.
        pairs.append(("labels", labels(process == nil ? nil : name)))
        return .map(pairs)
    }

    /// What a daemon asks the scheduler for: a STARK prover needs a core and about a GiB for
    /// sub-blocks of 256 transfers (docs/stark.md); the others idle at tens of MiB.
    static func resources(of process: ProcessSpec) -> YAMLValue {
        let (cpu, memory): (String, String)
        switch process.role {
        case .sequencer, .manager: (cpu, memory) = ("250m", "256Mi")
        case .threadNode: (cpu, memory) = process.thread?.proofSystem == "stark" ? ("1", "1Gi") : ("100m", "128Mi")
        }
        return .map([("requests", .map([("cpu", .string(cpu)), ("memory", .string(memory))]))])
    }

    /// An exec probe that asks the daemon's api endpoint for `health` (see `devnet k8s probe`):
    /// the api endpoint lets members in, the admin endpoint only the orchestrator, whose key
    /// stays out of the cluster.
    static func probe(
        apiPort: Int, secured: Bool, accepting statuses: [String], period: Int, failures: Int
    ) -> YAMLValue {
        var command: [YAMLValue] = [
            .string("\(binDirectory)/devnet"), .string("k8s"), .string("probe"),
            .string("tcp://127.0.0.1:\(apiPort)"),
        ]
        if secured { command += [.string("--credentials"), .string(credentialsFile)] }
        for status in statuses { command += [.string("--accept"), .string(status)] }
        return .map([
            ("exec", .map([("command", .list(command))])), ("periodSeconds", .int(period)),
            ("timeoutSeconds", .int(5)), ("failureThreshold", .int(failures)),
        ])
    }

    static func statefulSet(
        _ process: ProcessSpec, name: String, ports: [(name: String, port: Int)], readyStatuses: [String],
        secured: Bool, checksum: String, options: Options
    ) -> [(String, YAMLValue)] {
        let apiPort = ports.first { $0.name == "api" }!.port
        var annotations: [(String, YAMLValue)] = [("zkthreads-devnet/config-sha256", .string(checksum))]
        if let metrics = ports.first(where: { $0.name == "metrics" }) {
            annotations += [
                ("prometheus.io/scrape", .string("true")), ("prometheus.io/port", .string("\(metrics.port)")),
                ("prometheus.io/path", .string("/metrics")),
            ]
        }
        let container: YAMLValue = .map([
            ("name", .string(process.role.executable)),
            ("image", .string(options.image)),
            ("imagePullPolicy", .string("IfNotPresent")),
            (
                "command",
                .list(
                    [
                        "\(binDirectory)/\(process.role.executable)", "--topology",
                        topologyFile, "--name", process.name, "--data-dir",
                        dataDirectory,
                    ].map(YAMLValue.string))
            ),
            (
                "ports",
                .list(
                    ports.map {
                        .map([
                            ("name", .string($0.name)), ("containerPort", .int($0.port)), ("protocol", .string("TCP")),
                        ])
                    })
            ),
            // Started: the daemon answers `health` at all, after replaying its log (which can
            // take minutes after a long run: up to 10 minutes here). Alive: it still answers.
            // Ready: it answers `healthy` (or `syncing` too with on-demand blocks, where a node
            // cannot sync before its registration is mined).
            ("startupProbe", probe(apiPort: apiPort, secured: secured, accepting: [], period: 2, failures: 300)),
            ("livenessProbe", probe(apiPort: apiPort, secured: secured, accepting: [], period: 10, failures: 3)),
            (
                "readinessProbe",
                probe(
                    apiPort: apiPort, secured: secured, accepting: readyStatuses, period: 5, failures: 3)
            ),
            ("resources", resources(of: process)),
            (
                "securityContext",
                .map([
                    ("allowPrivilegeEscalation", .bool(false)), ("readOnlyRootFilesystem", .bool(true)),
                    ("capabilities", .map([("drop", .list([.string("ALL")]))])),
                ])
            ),
            (
                "volumeMounts",
                .list([
                    .map([("name", .string("data")), ("mountPath", .string(dataDirectory))]),
                    .map([
                        ("name", .string("topology")), ("mountPath", .string(topologyDirectory)),
                        ("readOnly", .bool(true)),
                    ]),
                    .map([
                        ("name", .string("credentials")), ("mountPath", .string(credentialsDirectory)),
                        ("readOnly", .bool(true)),
                    ]),
                    // The root filesystem is read-only; SQLite may still want a temporary file.
                    .map([("name", .string("tmp")), ("mountPath", .string("/tmp"))]),
                ])
            ),
        ])
        var claim: [(String, YAMLValue)] = [
            ("accessModes", .list([.string("ReadWriteOnce")])),
            ("resources", .map([("requests", .map([("storage", .string(options.storageSize))]))])),
        ]
        if let storageClass = options.storageClass { claim.append(("storageClassName", .string(storageClass))) }
        return [
            (
                "spec",
                .map([
                    ("serviceName", .string(name)),
                    ("replicas", .int(1)),
                    ("selector", .map([("matchLabels", selector(name))])),
                    (
                        "template",
                        .map([
                            ("metadata", .map([("labels", labels(name)), ("annotations", .map(annotations))])),
                            (
                                "spec",
                                .map([
                                    // No SEQUENCER_PORT-style variables: the daemons read the topology.
                                    ("enableServiceLinks", .bool(false)),
                                    ("terminationGracePeriodSeconds", .int(30)),
                                    (
                                        "securityContext",
                                        .map([
                                            ("runAsNonRoot", .bool(true)), ("runAsUser", .int(userID)),
                                            ("runAsGroup", .int(userID)), ("fsGroup", .int(userID)),
                                        ])
                                    ),
                                    ("containers", .list([container])),
                                    (
                                        "volumes",
                                        .list([
                                            .map([
                                                ("name", .string("topology")),
                                                ("configMap", .map([("name", .string(configMapName))])),
                                            ]),
                                            .map([
                                                ("name", .string("credentials")),
                                                (
                                                    "secret",
                                                    .map([
                                                        ("secretName", .string(secretName)),
                                                        ("defaultMode", .int(0o440)),
                                                    ])
                                                ),
                                            ]),
                                            .map([("name", .string("tmp")), ("emptyDir", .map([]))]),
                                        ])
                                    ),
                                ])
                            ),
                        ])
                    ),
                    (
                        "volumeClaimTemplates",
                        .list([
                            .map([
                                ("metadata", .map([("name", .string("data")), ("labels", labels(name))])),
                                ("spec", .map(claim)),
                            ])
                        ])
                    ),
                ])
            )
        ]
    }

    static func json(_ topology: Topology) throws -> String {
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.formUnion([.prettyPrinted, .sortedKeys])
        return String(decoding: try encoder.encode(topology), as: UTF8.self) + "\n"
    }
}

/// A YAML value with its type kept: strings are quoted wherever a plain scalar would read as
/// something else (`"42"`, `"true"`, `""`), so Kubernetes gets a string where it expects one.
indirect enum YAMLValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([YAMLValue])
    case map([(String, YAMLValue)])

    var node: Node {
        switch self {
        case .string(let text): .scalar(.init(text, Tag(.str), Self.style(of: text)))
        case .int(let value): .scalar(.init(String(value), Tag(.int), .plain))
        case .bool(let value): .scalar(.init(value ? "true" : "false", Tag(.bool), .plain))
        case .list(let items): .sequence(.init(items.map(\.node)))
        case .map(let pairs):
            .mapping(.init(pairs.map { (Node.scalar(.init($0.0, Tag(.str), Self.style(of: $0.0))), $0.1.node) }))
        }
    }

    /// Plain only for words no YAML reader takes for a number, boolean or null; literal blocks
    /// for multi-line text; double quotes for the rest.
    static func style(of text: String) -> Node.Scalar.Style {
        if text.contains("\n") { return .literal }
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]
        let plain =
            text.first.map { $0.isASCII && $0.isLetter } ?? false && !reserved.contains(text.lowercased())
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./".contains($0)) }
        return plain ? .plain : .doubleQuoted
    }

    func yaml() throws -> String {
        try Yams.serialize(node: node, width: -1, allowUnicode: true)
    }
}
