import DevnetAPI
public import DevnetProtocol
import Foundation
import ThreadVM
import Yams
import ZKCore

/// The devnet's configuration, as written in `devnet.yaml`.
public struct DevnetConfig: Sendable, Equatable {
    /// The seed every account key is derived from. Same seed, same accounts.
    public var seed: UInt64 = 42
    /// The address every process is reached at, unless ``hosts`` says otherwise.
    public var host: String = "127.0.0.1"
    /// The address every process binds, unless ``hosts`` says otherwise; nil binds ``host``.
    public var bind: String?
    /// Per process (by name: `sequencer`, `manager`, `node-<thread>`): its own address and bind
    /// address, for a devnet across hosts.
    public var hosts: [String: ProcessHost] = [:]
    /// Whether the endpoints need the devnet's credentials (CurveZMQ).
    public var security: SecurityMode = .auto
    /// The first TCP port; every process takes three consecutive ports from here.
    public var basePort: Int = 27100
    /// How the sequencer closes blocks.
    public var blockMode: BlockMode = .instant
    /// One entry per thread; each gets its own thread node.
    public var threads: [ThreadSpec] = []
    /// Whether the daemons answer fault hooks (pause, resume, tamper) on their admin endpoints.
    public var faultHooks = false
    /// The first port of the daemons' Prometheus `/metrics` endpoints (one per process, in
    /// topology order); nil serves none.
    public var metricsPort: Int?

    public init() {}

    /// Where one process is reached and where it binds.
    public struct ProcessHost: Sendable, Equatable {
        /// The address others connect to; nil: the devnet's ``DevnetConfig/host``.
        public var host: String?
        /// The address it binds; nil: the devnet's ``DevnetConfig/bind``, else its own ``host``.
        public var bind: String?

        public init(host: String? = nil, bind: String? = nil) {
            self.host = host
            self.bind = bind
        }
    }

    /// The address `name` is reached at and the one it binds.
    func addresses(of name: String) -> (advertise: String, bind: String) {
        let own = hosts[name]
        let advertise = own?.host ?? host
        return (advertise, own?.bind ?? bind ?? advertise)
    }

    /// The contracts shipped with the devnet.
    public static let knownContracts = ["token", "achievements", "karts", "counter"]
    /// The proof systems a thread can pin.
    /// The proof systems the daemons run (the manager verifies with them, the nodes prove).
    public static let knownProofSystems = ProofSystems.standard.names

    /// Why a thread with `proofSystem` cannot run OS `version`, or nil when it can.
    static func osVersionProblem(_ version: UInt32, proofSystem: String) -> String? {
        guard OSVersion.supported.contains(version) else {
            return
                "OS version \(version) is not supported (supported: \(OSVersion.supported.sorted().map(String.init).joined(separator: ", ")))"
        }
        if let required = OSVersion.required(byProofSystem: proofSystem), required != version {
            return
                "proof system '\(proofSystem)' proves OS version \(required) only; set os_version to \(required) or leave it out"
        }
        return nil
    }

    /// Ports per process: api, admin, events.
    static let portsPerProcess = 3

    /// Settings given on the command line, which win over the file.
    public struct Overrides: Sendable {
        public var seed: UInt64?
        public var basePort: Int?
        public var faultHooks: Bool?
        public var metricsPort: Int?
        public init(seed: UInt64? = nil, basePort: Int? = nil, faultHooks: Bool? = nil, metricsPort: Int? = nil) {
            self.seed = seed
            self.basePort = basePort
            self.faultHooks = faultHooks
            self.metricsPort = metricsPort
        }
    }

    /// This configuration with the command line's settings on top.
    ///
    /// - Throws: ``ConfigError`` when the ports it needs do not fit in 1024…65535.
    public func merging(_ overrides: Overrides, file: String = "command line") throws -> DevnetConfig {
        var merged = self
        if let seed = overrides.seed { merged.seed = seed }
        if let basePort = overrides.basePort { merged.basePort = basePort }
        if let faultHooks = overrides.faultHooks { merged.faultHooks = faultHooks }
        if let metricsPort = overrides.metricsPort { merged.metricsPort = metricsPort }
        let last = merged.basePort + (2 + merged.threads.count) * Self.portsPerProcess - 1
        guard merged.basePort >= 1024, last <= 65535 else {
            throw ConfigError(
                file: file, line: 0, column: 0, key: "base_port",
                message:
                    "\(merged.basePort) leaves no room: \(2 + merged.threads.count) processes need ports \(merged.basePort)…\(last), which must lie in 1024…65535"
            )
        }
        if let metrics = merged.metricsPort {
            let processes = 2 + merged.threads.count
            let lastMetrics = metrics + processes - 1
            guard metrics >= 1024, lastMetrics <= 65535 else {
                throw ConfigError(
                    file: file, line: 0, column: 0, key: "metrics_port",
                    message:
                        "\(metrics) leaves no room: \(processes) processes need metrics ports \(metrics)…\(lastMetrics), which must lie in 1024…65535"
                )
            }
            guard lastMetrics < merged.basePort || metrics > last else {
                throw ConfigError(
                    file: file, line: 0, column: 0, key: "metrics_port",
                    message:
                        "metrics ports \(metrics)…\(lastMetrics) overlap the endpoints' ports \(merged.basePort)…\(last); choose a metrics_port outside them"
                )
            }
        }
        return merged
    }

    /// Every process with its endpoints: sequencer, manager, then one node per thread.
    public func topology() -> Topology {
        var processes: [ProcessSpec] = []
        func endpoints(slot: Int, host: String) -> Endpoints {
            let first = basePort + slot * Self.portsPerProcess
            return Endpoints(
                api: "tcp://\(host):\(first)", admin: "tcp://\(host):\(first + 1)",
                events: "tcp://\(host):\(first + 2)",
                metrics: metricsPort.map { "http://\(host):\($0 + slot)/metrics" }
            )
        }
        var bindHosts: [String] = []
        func spec(_ name: String, _ role: ProcessRole, slot: Int) -> ProcessSpec {
            let (advertise, bind) = addresses(of: name)
            bindHosts.append(bind)
            var spec = ProcessSpec(name: name, role: role, endpoints: endpoints(slot: slot, host: advertise))
            if bind != advertise { spec.bind = endpoints(slot: slot, host: bind) }
            return spec
        }
        var sequencer = spec("sequencer", .sequencer, slot: 0)
        sequencer.blockMode = blockMode
        processes.append(sequencer)
        processes.append(spec("manager", .manager, slot: 1))
        for (index, thread) in threads.enumerated() {
            var node = spec(thread.nodeName, .threadNode, slot: 2 + index)
            node.thread = thread
            processes.append(node)
        }
        return Topology(
            seed: seed, processes: processes, faultHooks: faultHooks ? true : nil,
            security: security.resolved(bindHosts: bindHosts))
    }
}

/// A configuration file error that names the file, line, column and key.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// The dotted path of the key at fault, e.g. `threads[1].proof_system`.
    public var key: String
    public var message: String

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

extension DevnetConfig {
    /// Reads and validates a configuration file.
    ///
    /// - Throws: ``ConfigError`` naming the file, line, column and key of the first problem.
    public static func load(path: String) throws -> DevnetConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(
                file: path, line: 0, column: 0, key: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates configuration text; `file` is only used in errors.
    public static func parse(_ text: String, file: String) throws -> DevnetConfig {
        var config = DevnetConfig()
        guard let root = try ConfigReader.compose(text, file: file) else { return config }
        try config.apply(root, reader: ConfigReader(file: file), path: "")
        return config
    }

    /// The keys of a configuration file.
    static let keys = [
        "seed", "host", "bind", "security", "base_port", "metrics_port", "fault_hooks", "sequencer", "manager",
        "threads",
    ]

    /// Applies the keys of a configuration mapping on top of this configuration; `path` prefixes
    /// the keys named in errors (e.g. `topology` inside a scenario file).
    mutating func apply(_ root: Node, reader: ConfigReader, path prefix: String) throws {
        func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }
        let top = try reader.mapping(root, path: prefix, allowed: Self.keys)
        if let node = top["seed"] {
            self.seed = UInt64(try reader.integer(node, path: key("seed"), in: 0...Int.max))
        }
        if let node = top["host"] {
            self.host = try reader.address(node, path: key("host"))
        }
        if let node = top["bind"] {
            self.bind = try reader.address(node, path: key("bind"))
        }
        if let node = top["security"] {
            let mode = try reader.choice(
                node, path: key("security"), from: SecurityMode.allCases.map(\.rawValue), noun: "security")
            self.security = SecurityMode(rawValue: mode) ?? .auto
        }
        if let node = top["manager"] {
            let manager = try reader.mapping(node, path: key("manager"), allowed: ["host", "bind"])
            try readHost(manager, process: "manager", path: key("manager"), reader: reader)
        }
        if let node = top["fault_hooks"] {
            self.faultHooks = try reader.boolean(node, path: key("fault_hooks"))
        }
        if let node = top["base_port"] {
            self.basePort = try reader.integer(node, path: key("base_port"), in: 1024...65000)
        }
        if let node = top["metrics_port"] {
            self.metricsPort = try reader.integer(node, path: key("metrics_port"), in: 1024...65000)
        }
        if let node = top["sequencer"] {
            let sequencer = try reader.mapping(
                node, path: key("sequencer"), allowed: ["block_mode", "block_interval_ms", "host", "bind"])
            try readHost(sequencer, process: "sequencer", path: key("sequencer"), reader: reader)
            var mode = "instant"
            if let node = sequencer["block_mode"] {
                mode = try reader.choice(
                    node, path: key("sequencer.block_mode"), from: ["instant", "interval", "on_demand"])
            }
            var interval: Int?
            if let node = sequencer["block_interval_ms"] {
                interval = try reader.integer(node, path: key("sequencer.block_interval_ms"), in: 1...3_600_000)
            }
            switch mode {
            case "interval":
                self.blockMode = .interval(milliseconds: interval ?? 1000)
            case "on_demand":
                self.blockMode = .onDemand
            default:
                self.blockMode = .instant
            }
            if interval != nil, mode != "interval", let node = sequencer["block_interval_ms"] {
                throw reader.error(
                    node, key("sequencer.block_interval_ms"), "only applies when block_mode is interval (it is \(mode))"
                )
            }
        }
        if let node = top["threads"] {
            var names: Set<String> = []
            var threads: [ThreadSpec] = []
            // Constants are resolved once every thread name is known.
            var pendingConstants: [(index: Int, path: String, node: Node)] = []
            for (index, item) in try reader.sequence(node, path: key("threads")).enumerated() {
                let path = key("threads[\(index)]")
                let fields = try reader.mapping(
                    item, path: path,
                    allowed: [
                        "name", "contract", "constants", "proof_system", "os_version", "max_sub_block", "min_sub_block",
                        "seal_after_ms", "host", "bind",
                    ])
                guard let nameNode = fields["name"] else {
                    throw reader.error(item, path, "missing key 'name'")
                }
                let name = try reader.string(nameNode, path: "\(path).name")
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty else {
                    throw reader.error(nameNode, "\(path).name", "'\(name)' may only use letters, digits, '-' and '_'")
                }
                guard names.insert(name).inserted else {
                    throw reader.error(nameNode, "\(path).name", "thread '\(name)' is defined twice")
                }
                // A thread named after a shipped contract runs that contract unless told otherwise.
                var contract: String
                var contractFile: (node: Node, value: String)?
                if let node = fields["contract"],
                    ContractFiles.isPath(try reader.string(node, path: "\(path).contract"))
                {
                    contract = try reader.string(node, path: "\(path).contract")
                    contractFile = (node, contract)
                } else if let node = fields["contract"] {
                    contract = try reader.choice(
                        node, path: "\(path).contract", from: Self.knownContracts, noun: "contract")
                } else if Self.knownContracts.contains(name) {
                    contract = name
                } else {
                    throw reader.error(
                        item, path, "missing key 'contract' (one of: \(Self.knownContracts.joined(separator: ", ")))")
                }
                var proofSystem = "reexec"
                if let node = fields["proof_system"] {
                    proofSystem = try reader.choice(
                        node, path: "\(path).proof_system", from: Self.knownProofSystems, noun: "proof system")
                }
                let osVersion = try fields["os_version"].map {
                    try reader.osVersion($0, path: "\(path).os_version", proofSystem: proofSystem)
                }
                var maxSubBlock: Int?
                if let node = fields["max_sub_block"] {
                    maxSubBlock = try reader.integer(node, path: "\(path).max_sub_block", in: 1...65536)
                }
                var spec = ThreadSpec(
                    name: name, contract: contract, proofSystem: proofSystem, osVersion: osVersion,
                    maxSubBlock: maxSubBlock)
                if let node = fields["min_sub_block"] {
                    let value = try reader.integer(node, path: "\(path).min_sub_block", in: 1...65536)
                    guard value <= maxSubBlock ?? 256 else {
                        throw reader.error(
                            node, "\(path).min_sub_block",
                            "\(value) is more than the thread's max_sub_block (\(maxSubBlock ?? 256)); a sub-block could never reach it"
                        )
                    }
                    spec.minSubBlock = value
                }
                if let node = fields["seal_after_ms"] {
                    spec.sealAfterMs = try reader.integer(node, path: "\(path).seal_after_ms", in: 0...60_000)
                }
                if let contractFile {
                    do {
                        try ContractFiles.load(contractFile.value, relativeTo: reader.file, into: &spec)
                    } catch {
                        throw reader.error(contractFile.node, "\(path).contract", error.text)
                    }
                }
                try readHost(fields, process: spec.nodeName, path: path, reader: reader)
                threads.append(spec)
                if let node = fields["constants"] {
                    pendingConstants.append((threads.count - 1, "\(path).constants", node))
                }
            }
            let threadNames = threads.map(\.name)
            for pending in pendingConstants {
                threads[pending.index].constants = try reader.constants(
                    pending.node, path: pending.path, threads: threadNames)
            }
            // Every contract assembles now, before anything starts, and passes the static
            // checks of its thread's OS version.
            for (index, spec) in threads.enumerated()
            where spec.source != nil || spec.constants != nil || spec.pinnedOSVersion != OSVersion.current {
                do {
                    try ContractFiles.program(of: spec)
                } catch {
                    throw reader.error(error, key: key("threads[\(index)].contract"))
                }
            }
            self.threads = threads
        }
        try checkSecurity(top, reader: reader, path: prefix)
    }

    /// Reads a process's `host` and `bind` keys.
    private mutating func readHost(_ fields: [String: Node], process: String, path: String, reader: ConfigReader)
        throws
    {
        var own = hosts[process] ?? ProcessHost()
        if let node = fields["host"] { own.host = try reader.address(node, path: "\(path).host") }
        if let node = fields["bind"] { own.bind = try reader.address(node, path: "\(path).bind") }
        if own != ProcessHost() { hosts[process] = own }
    }

    /// Refuses `security: none` for a devnet that binds beyond loopback.
    private func checkSecurity(_ top: [String: Node], reader: ConfigReader, path prefix: String) throws {
        guard security == .none, let node = top["security"] else { return }
        let names = ["sequencer", "manager"] + threads.map(\.nodeName)
        if let open = names.first(where: { !SecurityMode.isLoopback(addresses(of: $0).bind) }) {
            throw reader.error(
                node, prefix.isEmpty ? "security" : "\(prefix).security",
                "none would leave \(open) open to anyone who can reach \(addresses(of: open).bind); a devnet that binds beyond loopback is secured: use auto or curve"
            )
        }
    }
}

/// Walks a YAML node tree, checking keys and types and remembering where each node is.
struct ConfigReader {
    let file: String

    func error(_ node: Node, _ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, key: key, message: message)
    }

    /// The node tree of YAML text (nil when it is empty), or a ``ConfigError`` with the line and
    /// column of a syntax error.
    static func compose(_ text: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, line: 0, column: 0, key: "", message: "not valid YAML: \(error)")
        }
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let detail = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return ConfigError(
                file: file, line: mark.line, column: mark.column, key: "", message: "not valid YAML: \(detail)")
        default:
            return ConfigError(file: file, line: 0, column: 0, key: "", message: "not valid YAML: \(error)")
        }
    }

    /// A mapping whose keys are all in `allowed`; returns its values by key.
    func mapping(_ node: Node, path: String, allowed: [String]) throws -> [String: Node] {
        guard case let .mapping(mapping) = node else {
            throw error(node, path, "should be a mapping of keys to values")
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let hint = Self.closest(to: key, in: allowed).map { " Did you mean '\($0)'?" } ?? ""
                throw error(keyNode, full, "unknown key (expected one of: \(allowed.joined(separator: ", "))).\(hint)")
            }
            guard values[key] == nil else {
                throw error(keyNode, full, "is given twice")
            }
            values[key] = value
        }
        return values
    }

    /// A `constants:` mapping: each `.const` name with its value, a number or a thread of
    /// `threads` (standing for its id).
    func constants(_ node: Node, path: String, threads: [String]) throws -> [String: UInt64] {
        var constants: [String: UInt64] = [:]
        for (nameNode, valueNode) in try pairs(node, path: path) {
            let name = try string(nameNode, path: path)
            switch ContractFiles.constant(try string(valueNode, path: "\(path).\(name)"), threads: threads) {
            case .success(let value): constants[name] = value
            case .failure(let problem): throw error(valueNode, "\(path).\(name)", problem.message)
            }
        }
        return constants
    }

    /// An `os_version:` value: a supported version, and the one `proofSystem` proves if it
    /// proves only one (`stark` proves version 2).
    func osVersion(_ node: Node, path: String, proofSystem: String) throws -> UInt32 {
        let value = try integer(node, path: path, in: 0...Int(UInt32.max))
        if let problem = DevnetConfig.osVersionProblem(UInt32(value), proofSystem: proofSystem) {
            throw error(node, path, problem)
        }
        return UInt32(value)
    }

    /// A contract that does not assemble, at its place in the contract file, with the key that
    /// named it.
    func error(_ problem: ContractProblem, key: String) -> ConfigError {
        ConfigError(
            file: problem.file ?? file, line: problem.line, column: problem.column, key: key, message: problem.message)
    }

    /// The key/value pairs of a mapping, in order, keys being any scalars.
    func pairs(_ node: Node, path: String) throws -> [(Node, Node)] {
        guard case let .mapping(mapping) = node else {
            throw error(node, path, "should be a mapping of names to values")
        }
        return mapping.map { ($0.key, $0.value) }
    }

    /// An address: an IPv4 address (`localhost` reads as 127.0.0.1, `0.0.0.0` binds every
    /// interface) or, for where others connect, a DNS name.
    func address(_ node: Node, path: String) throws -> String {
        let host = try string(node, path: path)
        if host == "localhost" { return "127.0.0.1" }
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) == 1 { return host }
        let isName =
            !host.isEmpty && host.count <= 253 && host.first?.isLetter == true
            && host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." }
        guard isName, !path.hasSuffix("bind") else {
            throw error(
                node, path,
                path.hasSuffix("bind")
                    ? "'\(host)' is not an IPv4 address such as 0.0.0.0 (every interface) or 10.0.0.2"
                    : "'\(host)' is not an IPv4 address such as 127.0.0.1, or a host name")
        }
        return host
    }

    func sequence(_ node: Node, path: String) throws -> [Node] {
        guard case let .sequence(sequence) = node else {
            throw error(node, path, "should be a list")
        }
        return Array(sequence)
    }

    func string(_ node: Node, path: String) throws -> String {
        guard case let .scalar(scalar) = node else {
            throw error(node, path, "should be a string")
        }
        return scalar.string
    }

    func boolean(_ node: Node, path: String) throws -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw error(node, path, "should be true or false, not '\(node.string ?? "a \(Self.kind(node))")'")
        }
        return value
    }

    func integer(_ node: Node, path: String, in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar = node, let value = node.int else {
            throw error(node, path, "should be a whole number, not '\(node.string ?? "a \(Self.kind(node))")'")
        }
        guard range.contains(value) else {
            throw error(node, path, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    func choice(_ node: Node, path: String, from options: [String], noun: String = "value") throws -> String {
        let value = try string(node, path: path)
        guard options.contains(value) else {
            let hint = Self.closest(to: value, in: options).map { " Did you mean '\($0)'?" } ?? ""
            throw error(
                node, path, "unknown \(noun) '\(value)' (expected one of: \(options.joined(separator: ", "))).\(hint)")
        }
        return value
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: "mapping"
        case .sequence: "list"
        case .scalar: "scalar"
        case .alias: "alias"
        }
    }

    /// The option nearest to a misspelling, if one is close enough to be a likely typo.
    static func closest(to word: String, in options: [String]) -> String? {
        let scored = options.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, word.count / 3) else { return nil }
        return best
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
