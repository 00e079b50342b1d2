import DevnetAPI
import DevnetProtocol
import Foundation
import ThreadVM
import ZKCore

extension Orchestrator {
    /// What `devnet attach` adds to a running devnet.
    public struct AttachOptions: Sendable {
        /// The thread the node runs: a new one, or one the devnet already has (a second prover).
        public var thread: String
        /// The contract of a new thread: a shipped contract's name, or a `.tasm` file (an absolute
        /// path, or relative to the working directory); defaults to the thread's name when that is
        /// a shipped contract.
        public var contract: String?
        /// `NAME=VALUE` values for the contract's `.const`s; a value is a number or a thread name.
        public var constants: [String]
        public var proofSystem: String?
        /// The OS version of a new thread; defaults to the proof system's (1, or 2 for `stark`).
        public var osVersion: UInt32?
        public var maxSubBlock: Int?
        /// The prover account index (`prover-<thread>-<n>`); defaults to the first one no node uses.
        public var prover: Int?
        /// The node's first port (api; admin and events follow); defaults to the next free slot.
        public var port: Int?

        public init(
            thread: String, contract: String? = nil, proofSystem: String? = nil, osVersion: UInt32? = nil,
            maxSubBlock: Int? = nil, prover: Int? = nil, port: Int? = nil, constants: [String] = []
        ) {
            self.constants = constants
            self.osVersion = osVersion
            self.thread = thread
            self.contract = contract
            self.proofSystem = proofSystem
            self.maxSubBlock = maxSubBlock
            self.prover = prover
            self.port = port
        }
    }

    /// The node `attach` would start, checked against the devnet's topology.
    ///
    /// - Throws: ``OrchestratorError`` (exit 2) naming the option at fault.
    static func plannedNode(_ options: AttachOptions, topology: Topology) throws -> ThreadSpec {
        let name = options.thread
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw OrchestratorError.usage("error: thread name '\(name)' may only use letters, digits, '-' and '_'")
        }
        let nodes = topology.processes.compactMap(\.thread).filter { $0.name == name }
        if let existing = nodes.first {
            if let contract = options.contract, contract != existing.contract {
                throw OrchestratorError.usage(
                    "error: thread '\(name)' runs contract '\(existing.contract)', not '\(contract)'; a second prover runs the same contract"
                )
            }
            if let proofSystem = options.proofSystem, proofSystem != existing.proofSystem {
                throw OrchestratorError.usage(
                    "error: thread '\(name)' is pinned to proof system '\(existing.proofSystem)', not '\(proofSystem)'")
            }
            if let osVersion = options.osVersion, osVersion != existing.pinnedOSVersion {
                throw OrchestratorError.usage(
                    "error: thread '\(name)' is pinned to OS version \(existing.pinnedOSVersion), not \(osVersion)")
            }
            let used = Set(nodes.map(\.proverIndex))
            let index: Int
            if let wanted = options.prover {
                guard !used.contains(wanted) else {
                    throw OrchestratorError.usage(
                        "error: prover-\(name)-\(wanted) already has a node (\(ThreadSpec(name: name, contract: "", proofSystem: "", prover: wanted).nodeName)); choose another --prover"
                    )
                }
                index = wanted
            } else if let free = (1...DevAccounts.proversPerThread).first(where: { !used.contains($0) }) {
                index = free
            } else {
                throw OrchestratorError.usage(
                    "error: thread '\(name)' already has a node for each of its \(DevAccounts.proversPerThread) prover accounts"
                )
            }
            guard (1...DevAccounts.proversPerThread).contains(index) else {
                throw OrchestratorError.usage(
                    "error: --prover \(index) is out of range: a thread has prover accounts 1…\(DevAccounts.proversPerThread)"
                )
            }
            var spec = existing
            spec.prover = index
            spec.attached = true
            spec.maxSubBlock = options.maxSubBlock ?? existing.maxSubBlock
            return spec
        }
        let contract: String
        if let given = options.contract, ContractFiles.isPath(given) {
            contract = given  // read below
        } else if let given = options.contract {
            guard DevnetConfig.knownContracts.contains(given) else {
                throw OrchestratorError.usage(
                    "error: unknown contract '\(given)' (shipped: \(DevnetConfig.knownContracts.joined(separator: ", ")))"
                )
            }
            contract = given
        } else if DevnetConfig.knownContracts.contains(name) {
            contract = name
        } else {
            throw OrchestratorError.usage(
                "error: thread '\(name)' is new; say which contract it runs with --contract (one of: \(DevnetConfig.knownContracts.joined(separator: ", ")))"
            )
        }
        let proofSystem = options.proofSystem ?? "reexec"
        guard DevnetConfig.knownProofSystems.contains(proofSystem) else {
            throw OrchestratorError.usage(
                "error: unknown proof system '\(proofSystem)' (one of: \(DevnetConfig.knownProofSystems.joined(separator: ", ")))"
            )
        }
        if let osVersion = options.osVersion,
            let problem = DevnetConfig.osVersionProblem(osVersion, proofSystem: proofSystem)
        {
            throw OrchestratorError.usage("error: --os-version: \(problem)")
        }
        if let index = options.prover, !(1...DevAccounts.proversPerThread).contains(index) {
            throw OrchestratorError.usage(
                "error: --prover \(index) is out of range: a thread has prover accounts 1…\(DevAccounts.proversPerThread)"
            )
        }
        var spec = ThreadSpec(
            name: name, contract: contract, proofSystem: proofSystem, osVersion: options.osVersion,
            maxSubBlock: options.maxSubBlock, prover: options.prover, attached: true)
        if !options.constants.isEmpty {
            let threads = topology.processes.compactMap(\.thread?.name) + [name]
            spec.constants = try ContractFiles.constants(options.constants, threads: threads)
        }
        do {
            if ContractFiles.isPath(contract) {
                try ContractFiles.load(contract, relativeTo: ContractFiles.workingDirectory, into: &spec)
            }
            if spec.source != nil || spec.constants != nil || spec.pinnedOSVersion != OSVersion.current {
                try ContractFiles.program(of: spec)
            }
        } catch {
            throw error.usage
        }
        return spec
    }

    /// Adds a thread node to the running devnet: a new thread, or another prover for a thread it
    /// has. Records it in the topology and state files (so `status`, `down` and `restart` know
    /// it), funds a new thread's provers, starts the node and waits until it is healthy.
    ///
    /// - Returns: the new process's name.
    @discardableResult
    public func attach(_ options: AttachOptions, timeout: Duration = .seconds(30)) async throws -> String {
        guard var state = DevnetState.load(from: dataDirectory), !state.alive.isEmpty else {
            throw OrchestratorError(
                "error: no devnet is running in \(dataDirectory.path); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        let topologyURL = dataDirectory.appendingPathComponent(Topology.fileName)
        var topology = try Topology.load(from: topologyURL)
        let spec = try Self.plannedNode(options, topology: topology)
        let isNewThread = !topology.processes.contains { $0.thread?.name == spec.name }
        let name = spec.nodeName
        guard topology.process(named: name) == nil else {
            throw OrchestratorError.usage("error: this devnet already has a process named \(name)")
        }
        guard let sequencer = topology.first(.sequencer) else {
            throw OrchestratorError("error: the devnet in \(dataDirectory.path) has no sequencer in its topology")
        }
        // tcp://host:port of the sequencer's api endpoint: slot 0 of the devnet's ports.
        let parts = sequencer.endpoints.api.split(separator: ":")
        guard parts.count == 3, let basePort = Int(parts[2]) else {
            throw OrchestratorError("error: cannot read the sequencer's endpoint \(sequencer.endpoints.api)")
        }
        let host = String(parts[1].dropFirst(2))
        let used = Set(
            topology.processes.flatMap { process in
                [process.endpoints.api, process.endpoints.admin, process.endpoints.events].compactMap {
                    $0.split(separator: ":").last.flatMap { Int($0) }
                }
            })
        var first = options.port ?? basePort + topology.processes.count * DevnetConfig.portsPerProcess
        func free(_ port: Int) -> Bool {
            (port..<port + DevnetConfig.portsPerProcess).allSatisfy {
                !used.contains($0) && ProcessControl.portIsFree(host: host, port: $0)
            }
        }
        if options.port == nil {
            while first + 2 <= 65535, !free(first) { first += DevnetConfig.portsPerProcess }
        }
        guard first >= 1024, first + 2 <= 65535, free(first) else {
            throw OrchestratorError(
                "error: ports \(first)…\(first + 2) for \(name) are not free; choose others with --port")
        }
        // A devnet that serves metrics serves them on its new node too, on the next free port.
        let metricsPorts = topology.processes.compactMap { $0.endpoints.metricsAddress?.port }
        var metrics: String?
        if var port = metricsPorts.max().map({ $0 + 1 }) {
            while port <= 65535, used.contains(port) || !ProcessControl.portIsFree(host: host, port: port) { port += 1 }
            if port <= 65535 { metrics = "http://\(host):\(port)/metrics" }
        }
        let process = ProcessSpec(
            name: name, role: .threadNode,
            endpoints: Endpoints(
                api: "tcp://\(host):\(first)", admin: "tcp://\(host):\(first + 1)",
                events: "tcp://\(host):\(first + 2)",
                metrics: metrics
            ),
            thread: spec)

        if isNewThread {
            let session = try DevnetClientSession(self)
            do {
                _ = try await session.call(
                    "sequencer", SequencerAdminMessage.fundThread, FundThreadRequest(thread: spec.name),
                    as: FundThreadReply.self, endpoint: .admin, timeout: .seconds(10))
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        }
        topology.processes.append(process)
        try topology.write(to: topologyURL)

        var record = DevnetState.Process(
            name: name, role: .threadNode, pid: 0, startTime: nil, endpoints: process.endpoints, log: logPath(of: name))
        try await launch(&record, in: &state, doing: "starting", timeout: timeout)
        return name
    }
}
