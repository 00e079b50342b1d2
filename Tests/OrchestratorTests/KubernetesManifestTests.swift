import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import Yams

@testable import Orchestrator

@Suite("Kubernetes manifests: one StatefulSet and Service per daemon, the topology in a ConfigMap, DNS names")
struct KubernetesManifestTests {
    private static let defaultConfig = """
        seed: 42
        base_port: 27100
        threads:
          - name: token
          - name: achievements
          - name: karts
          - name: counter
        """

    private func config(_ text: String = Self.defaultConfig) throws -> DevnetConfig {
        try DevnetConfig.parse(text, file: "test.yaml")
    }

    /// One set of keys for the suite (generating them needs libzmq's CURVE).
    private static let credentials = Result { try DevnetCredentials.generate() }

    /// Options with the devnet's credentials, which a secured devnet's Secret needs.
    private func options(namespace: String? = nil) throws -> KubernetesManifests.Options {
        var options = KubernetesManifests.Options()
        options.credentials = try Self.credentials.get()
        if let namespace { options.namespace = namespace }
        return options
    }

    /// The documents parsed back, as a client would read them.
    private func objects(_ documents: [KubernetesManifests.Document]) throws -> [[String: Any]] {
        try documents.map { document in
            let object = try #require(try Yams.load(yaml: document.yaml) as? [String: Any], "\(document.yaml)")
            return object
        }
    }

    private func objects(_ kind: String, in all: [[String: Any]]) -> [[String: Any]] {
        all.filter { $0["kind"] as? String == kind }
    }

    private func name(_ object: [String: Any]) -> String? {
        (object["metadata"] as? [String: Any])?["name"] as? String
    }

    private func path(_ object: Any?, _ keys: String...) -> Any? {
        var current = object
        for key in keys {
            if let index = Int(key), let list = current as? [Any] {
                current = index < list.count ? list[index] : nil
            } else {
                current = (current as? [String: Any])?[key]
            }
        }
        return current
    }

    /// RFC 1035 labels, checked here independently of the renderer's own check.
    private func isDNSLabel(_ name: String) -> Bool {
        name.range(of: "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", options: .regularExpression) != nil
    }

    @Test("one StatefulSet of one replica with a data volume claim per daemon, running its executable")
    func statefulSets() throws {
        let config = try config()
        let topology = config.topology()
        let all = try objects(KubernetesManifests.render(config, options: options()))
        let sets = objects("StatefulSet", in: all)
        #expect(
            sets.map(name) == ["sequencer", "manager", "node-token", "node-achievements", "node-karts", "node-counter"])
        #expect(objects("Namespace", in: all).count == 1)
        #expect(objects("ConfigMap", in: all).count == 1)
        #expect(objects("Secret", in: all).count == 1)
        for (set, process) in zip(sets, topology.processes) {
            #expect(path(set, "apiVersion") as? String == "apps/v1")
            #expect(path(set, "metadata", "namespace") as? String == "zkthreads-devnet")
            #expect(path(set, "spec", "replicas") as? Int == 1)
            #expect(path(set, "spec", "serviceName") as? String == name(set))
            let claim = try #require(path(set, "spec", "volumeClaimTemplates", "0") as? [String: Any])
            #expect(path(claim, "metadata", "name") as? String == "data")
            #expect(path(claim, "spec", "accessModes") as? [String] == ["ReadWriteOnce"])
            #expect(path(claim, "spec", "resources", "requests", "storage") as? String == "1Gi")
            let container = try #require(path(set, "spec", "template", "spec", "containers", "0") as? [String: Any])
            #expect(
                container["command"] as? [String] == [
                    "/opt/zkthreads-devnet/bin/\(process.role.executable)", "--topology",
                    "/etc/zkthreads-devnet/topology/topology.json", "--name", process.name, "--data-dir",
                    "/var/lib/zkthreads-devnet",
                ])
            let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
            #expect(
                mounts.contains {
                    $0["name"] as? String == "data" && $0["mountPath"] as? String == "/var/lib/zkthreads-devnet"
                })
            // The selector picks the pod template's labels, and only this daemon's.
            let selector = try #require(path(set, "spec", "selector", "matchLabels") as? [String: String])
            let labels = try #require(path(set, "spec", "template", "metadata", "labels") as? [String: String])
            #expect(selector.allSatisfy { labels[$0.key] == $0.value })
            #expect(selector["zkthreads-devnet/process"] == name(set))
            // Requests are strings Kubernetes parses as quantities, not YAML numbers.
            #expect(path(container, "resources", "requests", "cpu") is String)
            #expect(path(container, "resources", "requests", "memory") is String)
        }
    }

    @Test("each Service exposes exactly its daemon's ports from the topology, by the container ports' names")
    func servicePorts() throws {
        let config = try config("base_port: 31000\nmetrics_port: 32000\nthreads: [{name: token}, {name: counter}]")
        let topology = config.topology()
        let all = try objects(KubernetesManifests.render(config, options: options()))
        let services = objects("Service", in: all)
        let sets = objects("StatefulSet", in: all)
        #expect(services.map(name) == ["sequencer", "manager", "node-token", "node-counter"])
        for (index, process) in topology.processes.enumerated() {
            let expected = [
                ("api", process.endpoints.api), ("admin", process.endpoints.admin),
                ("events", process.endpoints.events), ("metrics", process.endpoints.metrics!),
            ].map { ($0.0, Int($0.1.split(separator: ":").last!.split(separator: "/").first!)!) }
            let ports = try #require(path(services[index], "spec", "ports") as? [[String: Any]])
            #expect(ports.map { $0["name"] as? String } == expected.map(\.0))
            #expect(ports.map { $0["port"] as? Int } == expected.map(\.1))
            #expect(ports.map { $0["targetPort"] as? String } == expected.map(\.0))
            let containerPorts = try #require(
                path(sets[index], "spec", "template", "spec", "containers", "0", "ports") as? [[String: Any]])
            #expect(containerPorts.map { $0["name"] as? String } == expected.map(\.0))
            #expect(containerPorts.map { $0["containerPort"] as? Int } == expected.map(\.1))
            #expect(path(services[index], "spec", "publishNotReadyAddresses") as? Bool == true)
            #expect(
                path(services[index], "spec", "selector") as? [String: String]
                    == path(sets[index], "spec", "selector", "matchLabels") as? [String: String])
            let annotations = try #require(
                path(sets[index], "spec", "template", "metadata", "annotations") as? [String: String])
            #expect(annotations["prometheus.io/port"] == "\(expected[3].1)")
        }
    }

    @Test("the ConfigMap holds the topology: endpoints advertised at the Services' DNS names, bound on every interface")
    func configMap() throws {
        var config = try config("seed: 7\nfault_hooks: true\nthreads: [{name: token}, {name: counter}]")
        config.threads[1].source = "; a user contract\n.entry increment\n"
        config.threads[1].contract = "my-counter"
        let topology = config.topology()
        let all = try objects(KubernetesManifests.render(config, options: options(namespace: "dn")))
        let configMap = try #require(objects("ConfigMap", in: all).first)
        let data = try #require(configMap["data"] as? [String: String])
        #expect(Set(data.keys) == ["topology.json", "contract-counter.tasm"])
        #expect(data["contract-counter.tasm"] == "; a user contract\n.entry increment\n")
        let shared = try WireCodec.makeDecoder().decode(Topology.self, from: Data(data["topology.json"]!.utf8))
        #expect(shared.seed == 7)
        #expect(shared.faultHooks == true)
        // Pods bind beyond loopback: the devnet is secured, whatever its config's host.
        #expect(shared.security == .curve)
        #expect(shared.processes.map(\.name) == topology.processes.map(\.name))
        #expect(shared.processes.map(\.thread) == topology.processes.map(\.thread))
        #expect(shared.processes[2].endpoints.api == "tcp://node-token.dn.svc.cluster.local:27106")
        #expect(shared.processes[0].endpoints.admin == "tcp://sequencer.dn.svc.cluster.local:27101")
        for (process, original) in zip(shared.processes, topology.processes) {
            let bind = try #require(process.bind, "\(process.name) binds its advertised DNS name")
            for (advertised, bound, local) in [
                (process.endpoints.api, bind.api, original.endpoints.api),
                (process.endpoints.admin, bind.admin, original.endpoints.admin),
                (process.endpoints.events, bind.events, original.endpoints.events),
            ] {
                let port = String(local.split(separator: ":").last!)
                #expect(advertised == "tcp://\(process.name).dn.svc.cluster.local:\(port)")
                #expect(bound == "tcp://0.0.0.0:\(port)")
            }
        }
        // A change of topology changes the pods' annotation, so applying it restarts them.
        let sets = objects("StatefulSet", in: all)
        let key = "zkthreads-devnet/config-sha256"
        let checksum = path(sets[0], "spec", "template", "metadata", "annotations", key) as? String
        #expect(checksum?.count == 64)
        config.seed = 8
        let other = try objects(KubernetesManifests.render(config, options: options(namespace: "dn")))
        #expect(
            path(objects("StatefulSet", in: other)[0], "spec", "template", "metadata", "annotations", key) as? String
                != checksum)
    }

    @Test(
        "the Secret holds the member's credentials, mounted where the daemons read them; never the orchestrator's key")
    func secret() throws {
        let credentials = try Self.credentials.get()
        let documents = try KubernetesManifests.render(try config(), options: options())
        let all = try objects(documents)
        let secret = try #require(objects("Secret", in: all).first)
        let data = try #require(secret["data"] as? [String: String])
        #expect(Set(data.keys) == ["devnet.json"])
        let file = try #require(data["devnet.json"].flatMap { Data(base64Encoded: $0) })
        let member = try JSONDecoder().decode(DevnetCredentials.MemberFile.self, from: file)
        #expect(member == credentials.memberFile)
        #expect(try DevnetCredentials(memberFile: member) == credentials.memberView)
        // The orchestrator's secret key is nowhere in the manifests, plain or base64.
        let admin = try #require(credentials.adminSecretKey?.z85)
        let stream = KubernetesManifests.stream(documents)
        #expect(!stream.contains(admin))
        #expect(!stream.contains(Data(admin.utf8).base64EncodedString().prefix(40)))
        for set in objects("StatefulSet", in: all) {
            let volumes = try #require(path(set, "spec", "template", "spec", "volumes") as? [[String: Any]])
            #expect(
                volumes.contains {
                    $0["name"] as? String == "credentials"
                        && path($0, "secret", "secretName") as? String == "zkthreads-devnet-credentials"
                })
            let mounts = try #require(
                path(set, "spec", "template", "spec", "containers", "0", "volumeMounts") as? [[String: Any]])
            #expect(
                mounts.contains {
                    $0["name"] as? String == "credentials"
                        && $0["mountPath"] as? String == "/var/lib/zkthreads-devnet/credentials"
                })
        }
        // A secured devnet without credentials, and security: none, are refused.
        #expect(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(try config(), options: .init())
        }
        let open = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(try config("security: none\nthreads: [{name: token}]"), options: options())
        }
        #expect(open.message.contains("security: none"))
    }

    @Test("every object name is a DNS label; thread names are mapped to lower case with '-' for '_'")
    func names() throws {
        let config = try config("threads: [{name: My_Token, contract: token}, {name: counter}]")
        let documents = try KubernetesManifests.render(config, options: options())
        for object in try objects(documents) {
            let objectName = try #require(name(object))
            #expect(isDNSLabel(objectName), "\(objectName)")
        }
        #expect(documents.filter { $0.kind == "StatefulSet" }.map(\.name).contains("node-my-token"))
        // The daemon keeps its own name: only Kubernetes names are mapped.
        let set = try #require(
            objects(documents).first { name($0) == "node-my-token" && $0["kind"] as? String == "StatefulSet" })
        let command = try #require(path(set, "spec", "template", "spec", "containers", "0", "command") as? [String])
        #expect(command[3...4] == ["--name", "node-My_Token"])
    }

    @Test(
        "a thread whose node name is no DNS label is refused, naming the thread",
        arguments: ["tökén", "token-", "a_", String(repeating: "t", count: 48)])
    func badThreadName(_ thread: String) throws {
        let config = try config("threads: [{name: counter}, {name: '\(thread)', contract: token}]")
        let error = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(config, options: options())
        }
        #expect(error.message.contains("thread '\(thread)'"), "\(error.message)")
        #expect(error.message.contains("Rename the thread"), "\(error.message)")
    }

    @Test("two threads that map to one Kubernetes name are refused, naming both")
    func collidingNames() throws {
        let config = try config("threads: [{name: my_token, contract: token}, {name: My-Token, contract: token}]")
        let error = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(config, options: options())
        }
        #expect(error.message.contains("thread 'my_token'") && error.message.contains("thread 'My-Token'"))
        #expect(error.message.contains("node-my-token"))
    }

    @Test(
        "probes ask the api endpoint for health with the member's keys; readiness also accepts syncing with on-demand blocks"
    )
    func probes() throws {
        for (mode, ready) in [("instant", ["healthy"]), ("on_demand", ["healthy", "syncing"])] {
            let config = try config("sequencer: {block_mode: \(mode)}\nthreads: [{name: token}]")
            let all = try objects(KubernetesManifests.render(config, options: options()))
            for (set, process) in zip(objects("StatefulSet", in: all), config.topology().processes) {
                let container = try #require(path(set, "spec", "template", "spec", "containers", "0"))
                let api = "tcp://127.0.0.1:\(process.endpoints.api.split(separator: ":").last!)"
                let probe = [
                    "/opt/zkthreads-devnet/bin/devnet", "k8s", "probe", api, "--credentials",
                    "/var/lib/zkthreads-devnet/credentials/devnet.json",
                ]
                #expect(path(container, "startupProbe", "exec", "command") as? [String] == probe)
                #expect(path(container, "livenessProbe", "exec", "command") as? [String] == probe)
                #expect(
                    path(container, "readinessProbe", "exec", "command") as? [String]
                        == probe + ready.flatMap { ["--accept", $0] })
            }
        }
    }

    @Test("a node joining a devnet elsewhere: only its objects, the devnet's own endpoints kept, the next prover")
    func joining() throws {
        let devnet = try config("host: 192.168.1.10\nbase_port: 28000\nthreads: [{name: token}, {name: counter}]")
            .topology()
        #expect(devnet.security == .curve)
        let documents = try KubernetesManifests.joining(devnet, thread: "token", prover: nil, options: options())
        #expect(documents.map(\.kind) == ["Namespace", "ConfigMap", "Secret", "Service", "StatefulSet"])
        #expect(documents.last?.name == "node-token-2")
        let all = try objects(documents)
        let data = try #require(objects("ConfigMap", in: all).first?["data"] as? [String: String])
        let topology = try WireCodec.makeDecoder().decode(Topology.self, from: Data(data["topology.json"]!.utf8))
        #expect(topology.processes.map(\.name) == devnet.processes.map(\.name) + ["node-token-2"])
        #expect(Array(topology.processes.prefix(devnet.processes.count)) == devnet.processes)
        #expect(topology.security == .curve)
        let node = try #require(topology.processes.last)
        #expect(node.thread?.proverIndex == 2)
        #expect(node.thread?.attached == true)
        // Its ports follow every port the devnet uses.
        #expect(node.endpoints.api == "tcp://node-token-2.zkthreads-devnet.svc.cluster.local:28012")
        #expect(node.bind?.api == "tcp://0.0.0.0:28012")
        let service = try #require(objects("Service", in: all).first)
        #expect(
            (path(service, "spec", "ports") as? [[String: Any]])?.map { $0["port"] as? Int } == [28012, 28013, 28014])

        // A user contract goes in the ConfigMap under its thread's name, not the node's.
        var custom = devnet
        custom.processes[3].thread?.source = "; mine\n"
        let withSource = try objects(
            KubernetesManifests.joining(custom, thread: "counter", prover: nil, options: options()))
        let keys = (objects("ConfigMap", in: withSource).first?["data"] as? [String: String]).map { Set($0.keys) }
        #expect(keys == ["topology.json", "contract-counter.tasm"])

        // A prover index in use, a thread the devnet lacks, and a devnet on loopback are refused.
        #expect(throws: (any Error).self) {
            try KubernetesManifests.joining(devnet, thread: "token", prover: 1, options: options())
        }
        let missing = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.joining(devnet, thread: "karts", prover: nil, options: options())
        }
        #expect(missing.message.contains("no thread 'karts'") && missing.message.contains("token, counter"))
        let local = try config("threads: [{name: token}]").topology()
        let loopback = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.joining(local, thread: "token", prover: nil, options: options())
        }
        #expect(loopback.message.contains("tcp://127.0.0.1:27100") && loopback.message.contains("host:"))
    }

    @Test("a STARK node asks for a core and a GiB; strings that look like numbers stay strings")
    func starkResources() throws {
        let config = try config("threads: [{name: token, proof_system: stark}]")
        let all = try objects(KubernetesManifests.render(config, options: options()))
        let node = try #require(objects("StatefulSet", in: all).last)
        let requests = path(node, "spec", "template", "spec", "containers", "0", "resources", "requests")
        #expect(path(requests, "cpu") as? String == "1")
        #expect(path(requests, "memory") as? String == "1Gi")
    }

    @Test("bad options are refused, naming the option")
    func badOptions() throws {
        var options = try self.options()
        options.namespace = "Dev_Net"
        let error = try #require(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(try config(), options: options)
        }
        #expect(error.message.contains("namespace 'Dev_Net'"))
        options = try self.options()
        options.image = "has space"
        #expect(throws: KubernetesManifests.RenderError.self) {
            try KubernetesManifests.render(try config(), options: options)
        }
    }

    @Test("files: namespace, topology and credentials first, then one file per daemon with its Service and StatefulSet")
    func files() throws {
        let documents = try KubernetesManifests.render(try config("threads: [{name: token}]"), options: options())
        let files = KubernetesManifests.files(documents)
        #expect(
            files.map(\.name) == [
                "00-namespace.yaml", "01-topology.yaml", "02-credentials.yaml", "10-sequencer.yaml",
                "11-manager.yaml", "12-node-token.yaml",
            ])
        let sequencer = try #require(files.first { $0.name == "10-sequencer.yaml" })
        let kinds = try Yams.load_all(yaml: sequencer.contents).map { ($0 as? [String: Any])?["kind"] as? String }
        #expect(kinds == ["Service", "StatefulSet"])
        #expect(KubernetesManifests.stream(documents).components(separatedBy: "\n---\n").count == documents.count)
    }
}
