import DevnetAPI
import DevnetProtocol
import Foundation
import ThreadVM
import Yams
import ZKCore

extension Scenario {
    /// Reads and checks a scenario file: every thread, node, account, entrypoint, name and mark it
    /// refers to must exist at that point of the scenario.
    ///
    /// - Parameter base: the configuration the scenario's `topology` applies to, unless the file
    ///   names its own with `config`.
    /// - Throws: ``ConfigError`` naming the file, line, column and key at fault.
    public static func load(path: String, base: DevnetConfig) throws -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(
                file: path, line: 0, column: 0, key: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, file: path, base: base)
    }

    public static func parse(_ text: String, file: String, base: DevnetConfig) throws -> Scenario {
        guard let root = try ConfigReader.compose(text, file: file) else {
            throw ConfigError(
                file: file, line: 0, column: 0, key: "", message: "the file is empty; a scenario needs steps")
        }
        var parser = ScenarioParser(reader: ConfigReader(file: file))
        return try parser.scenario(root, file: file, base: base)
    }
}

/// Walks a scenario's YAML, keeping what is known so far (threads, nodes, names, marks) to check
/// each step against what the steps before it set up.
struct ScenarioParser {
    let reader: ConfigReader

    enum Label {
        case threadTx(node: String)
        case l2
        case submission(node: String)
        case loadPhase(thread: String)
    }

    private var topology = Topology(seed: 0, processes: [])
    private var programs: TopologyPrograms?
    private var accounts = DevAccounts.derive(seed: 0)
    private var labels: [String: Label] = [:]
    private var marks: Set<String> = []
    /// The load phases so far, in order, and how many there were when each mark was set.
    private var phases: [String] = []
    private var phasesAtMark: [String: Int] = [:]
    private var loadSteps: UInt64 = 0
    /// Names given by `capture` steps so far.
    private var captured: Set<String> = []
    /// What the parser knew when each snapshot step ran, to go back to at a `revert` to it.
    private var snapshots: [String: Saved] = [:]
    /// The nodes paused and not resumed yet, with the line of the `pause`.
    private var paused: [String: Int] = [:]

    private struct Saved {
        var topology: Topology
        var programs: TopologyPrograms?
        var labels: [String: Label]
    }

    init(reader: ConfigReader) {
        self.reader = reader
    }

    static let topKeys = ["name", "description", "seed", "config", "topology", "steps"]
    static let actions = [
        "send", "transfer", "wait", "mine", "sleep", "attach", "upgrade", "kill", "restart", "pause", "resume",
        "tamper", "mark", "snapshot", "revert", "partition", "delay", "drop", "heal",
        "expect", "load", "parallel", "invariants", "sabotage", "capture",
    ]

    mutating func scenario(_ root: Node, file: String, base: DevnetConfig) throws -> Scenario {
        let top = try reader.mapping(root, path: "", allowed: Self.topKeys)
        var config = base
        if let node = top["config"] {
            let relative = try reader.string(node, path: "config")
            let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
            let path = relative.hasPrefix("/") ? relative : directory.appendingPathComponent(relative).path
            config = try DevnetConfig.load(path: path)
        }
        var fixedPorts = false
        if let node = top["topology"] {
            try config.apply(node, reader: reader, path: "topology")
            if case let .mapping(mapping) = node, mapping["base_port"] != nil { fixedPorts = true }
        }
        if let node = top["seed"] {
            config.seed = UInt64(try reader.integer(node, path: "seed", in: 0...Int.max))
        }
        config.faultHooks = true
        guard !config.threads.isEmpty else {
            throw reader.error(top["topology"] ?? root, "topology.threads", "the devnet needs at least one thread")
        }
        topology = config.topology()
        accounts = DevAccounts.derive(seed: config.seed)
        programs = try TopologyPrograms(topology: topology)

        let name =
            try top["name"].map { try reader.string($0, path: "name") }
            ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let description = try top["description"].map { try reader.string($0, path: "description") }
        guard let stepsNode = top["steps"] else {
            throw reader.error(root, "steps", "missing key 'steps' (the list of what the scenario does)")
        }
        var steps: [Scenario.Step] = []
        try expand(try reader.sequence(stepsNode, path: "steps"), path: "steps", bindings: [:], into: &steps)
        guard !steps.isEmpty else {
            throw reader.error(stepsNode, "steps", "the list is empty; a scenario needs at least one step")
        }
        return Scenario(
            file: file, name: name, description: description, config: config, fixedPorts: fixedPorts, steps: steps)
    }

    // MARK: Loops

    /// The most steps a scenario may have once its loops are unrolled.
    static let maxSteps = 10_000

    /// Reads `nodes` as steps, unrolling `repeat` and `for_each` loops: their steps are read once
    /// per iteration with the loop's variable put for `${NAME}` in every string, so each
    /// iteration is checked like any step (line numbers stay the loop body's).
    private mutating func expand(
        _ nodes: [Node], path: String, bindings: [String: String], into steps: inout [Scenario.Step]
    ) throws {
        for (index, raw) in nodes.enumerated() {
            let at = "\(path)[\(index)]"
            guard case let .mapping(mapping) = raw, mapping["repeat"] != nil || mapping["for_each"] != nil else {
                steps.append(try step(substitute(raw, bindings), path: at))
                continue
            }
            let fields = try reader.mapping(raw, path: at, allowed: ["repeat", "for_each", "steps"])
            if fields["repeat"] != nil, let other = fields["for_each"] {
                throw reader.error(
                    other, "\(at).for_each", "a loop is repeat or for_each, not both; nest one in the other")
            }
            guard let body = fields["steps"] else {
                throw reader.error(raw, at, "a loop needs steps: the list of steps to run on each iteration")
            }
            let inner = try reader.sequence(body, path: "\(at).steps")
            guard !inner.isEmpty else { throw reader.error(body, "\(at).steps", "the list is empty") }
            var iterations: [(name: String, value: String)] = []
            if let node = fields["repeat"] {
                // repeat: 3, or repeat: {times: 3, as: n}; the variable counts from 1.
                var name = "i"
                var times = node
                if case .mapping = node {
                    let loop = try reader.mapping(node, path: "\(at).repeat", allowed: ["times", "as"])
                    guard let count = loop["times"] else {
                        throw reader.error(node, "\(at).repeat", "needs times: how many iterations")
                    }
                    times = count
                    if let variable = loop["as"] { name = try variableName(variable, path: "\(at).repeat.as") }
                }
                let count = try reader.integer(times, path: "\(at).repeat", in: 1...1_000)
                iterations = (1...count).map { (name, "\($0)") }
            } else if let node = fields["for_each"] {
                // for_each: {user: [alice, bob]}: one variable and its values.
                guard case let .mapping(loop) = node, loop.count == 1, let (key, values) = loop.first else {
                    throw reader.error(
                        node, "\(at).for_each",
                        "should be one variable and its values, e.g. for_each: {user: [alice, bob]}")
                }
                let name = try variableName(key, path: "\(at).for_each")
                let list = try reader.sequence(values, path: "\(at).for_each.\(name)")
                guard !list.isEmpty else { throw reader.error(values, "\(at).for_each.\(name)", "the list is empty") }
                iterations = try list.enumerated().map { offset, value in
                    (name, try reader.string(substitute(value, bindings), path: "\(at).for_each.\(name)[\(offset)]"))
                }
            }
            for iteration in iterations {
                var inside = bindings
                inside[iteration.name] = iteration.value
                try expand(
                    inner, path: "\(at)[\(iteration.name)=\(iteration.value)].steps", bindings: inside, into: &steps)
                guard steps.count <= Self.maxSteps else {
                    throw reader.error(
                        raw, at,
                        "the loops unroll to more than \(Self.maxSteps) steps; use a load step for many transactions")
                }
            }
        }
    }

    /// An amount: a whole number, or a sum of numbers, captured `${NAME}` values and (with
    /// `window`, when it is a change since a mark) `fees_paid`.
    private func amount(_ node: Node, path: String, window: Bool) throws -> AmountExpression {
        let text = try reader.string(node, path: path)
        let amount: AmountExpression
        do {
            amount = try AmountExpression(text)
        } catch {
            throw reader.error(node, path, error.message)
        }
        if amount.usesFees, !window {
            throw reader.error(
                node, path, "fees_paid is the fees paid since a mark: use since: MARK with change: instead of equals:")
        }
        if let unknown = amount.names.first(where: { !captured.contains($0) }) {
            throw reader.error(
                node, path,
                "no earlier capture step names \(unknown)"
                    + (captured.isEmpty ? "" : " (captured so far: \(captured.sorted().joined(separator: ", ")))"))
        }
        return amount
    }

    private func variableName(_ node: Node, path: String) throws -> String {
        let name = try reader.string(node, path: path)
        guard let first = name.first, first.isLetter || first == "_",
            name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else {
            throw reader.error(
                node, path, "'\(name)' is not a variable name: letters, digits and _, not starting with a digit")
        }
        return name
    }

    /// `node` with `${NAME}` replaced by its value in every string, keys included.
    private func substitute(_ node: Node, _ bindings: [String: String]) -> Node {
        guard !bindings.isEmpty else { return node }
        switch node {
        case let .scalar(scalar):
            var text = scalar.string
            guard text.contains("${") else { return node }
            for (name, value) in bindings { text = text.replacingOccurrences(of: "${\(name)}", with: value) }
            return .scalar(Node.Scalar(text, Tag(.implicit), scalar.style, scalar.mark))
        case let .mapping(mapping):
            return .mapping(
                Node.Mapping(
                    mapping.map { (substitute($0.key, bindings), substitute($0.value, bindings)) }, mapping.tag,
                    mapping.style, mapping.mark))
        case let .sequence(sequence):
            return .sequence(
                Node.Sequence(sequence.map { substitute($0, bindings) }, sequence.tag, sequence.style, sequence.mark))
        case .alias:
            return node
        }
    }

    // MARK: Steps

    private mutating func step(_ node: Node, path: String) throws -> Scenario.Step {
        let fields = try reader.mapping(node, path: path, allowed: Self.actions + ["timeout"])
        let present = Self.actions.filter { fields[$0] != nil }
        guard present.count == 1, let kind = present.first, let body = fields[kind] else {
            throw reader.error(
                node, path,
                present.isEmpty
                    ? "a step needs one action (one of: \(Self.actions.joined(separator: ", ")))"
                    : "a step does one thing; this one has \(present.joined(separator: " and ")). Split it into steps"
            )
        }
        let timeout = try fields["timeout"].map { try duration($0, path: "\(path).timeout") }
        let at = "\(path).\(kind)"
        let (action, summary) = try self.action(kind, body, path: at)
        return Scenario.Step(line: node.mark?.line ?? 0, action: action, timeout: timeout, summary: summary)
    }

    private mutating func action(_ kind: String, _ node: Node, path: String) throws -> (Scenario.Action, String) {
        switch kind {
        case "send":
            let send = try self.send(node, path: path)
            let args = send.arguments.joined(separator: " ")
            return (
                .send(send),
                "send \(send.thread) \(send.entrypoint)\(args.isEmpty ? "" : " " + args) from \(send.from)"
                    + (send.node == "node-\(send.thread)" ? "" : " via \(send.node)")
                    + (send.label.map { " as \($0)" } ?? "")
            )
        case "transfer":
            let transfer = try self.transfer(node, path: path)
            return (
                .transfer(transfer),
                "transfer \(transfer.amount) from \(transfer.from) to \(transfer.to)"
                    + (transfer.maxFee.map { " max fee \($0)" } ?? "") + (transfer.label.map { " as \($0)" } ?? "")
            )
        case "wait":
            let fields = try reader.mapping(node, path: path, allowed: ["settled", "final", "thread", "sequence"])
            if fields["settled"] != nil, let final = fields["final"] {
                throw reader.error(final, "\(path).final", "give settled or final, not both; use two wait steps")
            }
            if let names = fields["settled"] ?? fields["final"] {
                let key = fields["settled"] != nil ? "settled" : "final"
                let list = try self.names(names, path: "\(path).\(key)")
                for (index, name) in list.enumerated() {
                    try requireLabel(name, names, path: "\(path).\(key)[\(index)]")
                }
                return (
                    .waitSettled(list, allowFailed: key == "final"), "wait until \(list.joined(separator: ", ")) \(key)"
                )
            }
            guard let threadNode = fields["thread"], let sequenceNode = fields["sequence"] else {
                throw reader.error(
                    node, path, "say what to wait for: settled: [names], final: [names], or thread + sequence")
            }
            let thread = try self.thread(threadNode, path: "\(path).thread")
            let sequence = UInt64(try reader.integer(sequenceNode, path: "\(path).sequence", in: 0...Int.max))
            return (
                .waitSequence(thread: thread, sequence: sequence),
                "wait until thread \(thread) reaches sequence \(sequence)"
            )
        case "mine":
            var blocks = 1
            if case .scalar = node, node.string != "" { blocks = try reader.integer(node, path: path, in: 1...10_000) }
            return (.mine(blocks), blocks == 1 ? "mine a block" : "mine \(blocks) blocks")
        case "sleep":
            let length = try duration(node, path: path)
            return (.sleep(length), "sleep \(length)")
        case "attach":
            return try attach(node, path: path)
        case "upgrade":
            return try upgrade(node, path: path)
        case "kill", "restart":
            let name = try process(node, path: path)
            // A node started again comes back unpaused.
            paused[name] = nil
            return (kind == "kill" ? .kill(name) : .restart(name), "\(kind == "kill" ? "kill -9" : "restart") \(name)")
        case "pause", "resume":
            let name = try self.node(node, path: path)
            if kind == "pause" { paused[name] = node.mark?.line ?? 0 } else { paused[name] = nil }
            return (kind == "pause" ? .pause(name) : .resume(name), "\(kind) \(name)'s submissions")
        case "tamper":
            let fields = try reader.mapping(node, path: path, allowed: ["node", "fault", "as"])
            guard let nodeNode = fields["node"], let faultNode = fields["fault"] else {
                throw reader.error(node, path, "needs node and fault")
            }
            let name = try self.node(nodeNode, path: "\(path).node")
            let faultName = try reader.choice(
                faultNode, path: "\(path).fault", from: Tamper.allCases.map(\.rawValue), noun: "fault")
            let fault = Tamper(rawValue: faultName)!
            let label = try fields["as"].map { try newLabel($0, path: "\(path).as", .submission(node: name)) }
            let name2 = label ?? "\(name)-\(faultName)-\(labels.count)"
            if label == nil { labels[name2] = .submission(node: name) }
            return (
                .tamper(node: name, fault: fault, label: name2),
                "tamper with \(name)'s next submission: \(faultName)" + (label.map { " as \($0)" } ?? "")
            )
        case "capture":
            let fields = try reader.mapping(node, path: path, allowed: ["as", "balance", "fees_paid", "call"])
            let sources = ["balance", "fees_paid", "call"].filter { fields[$0] != nil }
            guard let nameNode = fields["as"], sources.count == 1, let kind = sources.first, let body = fields[kind]
            else {
                throw reader.error(
                    node, path,
                    "needs as: NAME and one of balance: ACCOUNT, fees_paid: ACCOUNT or call: {thread, entrypoint, args}"
                )
            }
            let name = try variableName(nameNode, path: "\(path).as")
            let source: Scenario.CaptureSource
            let what: String
            switch kind {
            case "balance", "fees_paid":
                let account = try self.account(body, path: "\(path).\(kind)")
                source = kind == "balance" ? .balance(account: account) : .feesPaid(account: account)
                what = "\(kind == "balance" ? "the balance" : "the fees paid") of \(account)"
            default:
                let call = try reader.mapping(
                    body, path: "\(path).call", allowed: ["thread", "entrypoint", "args", "caller"])
                guard let threadNode = call["thread"], let entryNode = call["entrypoint"] else {
                    throw reader.error(body, "\(path).call", "needs thread and entrypoint")
                }
                let thread = try self.thread(threadNode, path: "\(path).call.thread")
                let entrypoint = try reader.string(entryNode, path: "\(path).call.entrypoint")
                let arguments = try self.arguments(call["args"], path: "\(path).call.args")
                try checkCall(
                    thread: thread, entrypoint: entrypoint, arguments: arguments, node: entryNode,
                    path: "\(path).call", view: true)
                let caller = try call["caller"].map { try account($0, path: "\(path).call.caller") }
                source = .call(thread: thread, entrypoint: entrypoint, arguments: arguments, caller: caller)
                what = "\(thread).\(entrypoint)(\(arguments.joined(separator: ", ")))"
            }
            captured.insert(name)
            return (.capture(name: name, source: source), "capture \(what) as \(name)")
        case "sabotage":
            let fields = try reader.mapping(node, path: path, allowed: ["fault", "thread"])
            guard let faultNode = fields["fault"], let threadNode = fields["thread"] else {
                throw reader.error(node, path, "needs fault (apply_twice) and thread")
            }
            _ = try reader.choice(faultNode, path: "\(path).fault", from: ["apply_twice"], noun: "sabotage")
            let thread = try thread(threadNode, path: "\(path).thread")
            return (
                .applyTwice(thread: thread),
                "sabotage the manager: apply the next sub-block of \(thread) twice (test-only)"
            )
        case "mark":
            let name = try reader.string(node, path: path)
            guard marks.insert(name).inserted else {
                throw reader.error(node, path, "mark '\(name)' is set twice; give each mark its own name")
            }
            phasesAtMark[name] = phases.count
            return (.mark(name), "mark \(name)")
        case "load":
            return try load(node, path: path)
        case "parallel":
            return try parallel(node, path: path)
        case "invariants":
            return try invariants(node, path: path)
        case "snapshot", "revert":
            return try snapshotOrRevert(kind, node, path: path)
        case "partition", "delay", "drop":
            return try networkFault(kind, node, path: path)
        case "heal":
            if case .scalar = node, (try? reader.string(node, path: path)) == "all" {
                return (.heal(between: []), "heal every network fault")
            }
            let fields = try reader.mapping(node, path: path, allowed: ["between"])
            guard let between = fields["between"] else {
                throw reader.error(node, path, "give `heal: all`, or `heal: {between: [a, b]}`")
            }
            let pair = try pair(between, path: "\(path).between")
            return (.heal(between: [pair.0, pair.1]), "heal the network between \(pair.0) and \(pair.1)")
        default:
            return try expect(node, path: path)
        }
    }

    /// `partition`, `delay` and `drop`: `{between: [a, b], one_way: false}` plus `ms` and
    /// `jitter_ms` for a delay, `fraction` for a drop.
    private func networkFault(_ kind: String, _ node: Node, path: String) throws -> (Scenario.Action, String) {
        let extra = ["delay": ["ms", "jitter_ms"], "drop": ["fraction"]][kind] ?? []
        let fields = try reader.mapping(node, path: path, allowed: ["between", "one_way"] + extra)
        guard let between = fields["between"] else {
            throw reader.error(node, path, "needs between: [process, process]")
        }
        let pair = try pair(between, path: "\(path).between")
        let oneWay = try fields["one_way"].map { try reader.boolean($0, path: "\(path).one_way") } ?? false
        let fault: NetworkFault.Kind
        switch kind {
        case "delay":
            guard let msNode = fields["ms"] else { throw reader.error(node, path, "needs ms (milliseconds)") }
            let ms = try reader.integer(msNode, path: "\(path).ms", in: 0...60_000)
            let jitter =
                try fields["jitter_ms"].map { try reader.integer($0, path: "\(path).jitter_ms", in: 0...60_000) } ?? 0
            guard ms + jitter > 0 else { throw reader.error(msNode, "\(path).ms", "a delay of 0 ms does nothing") }
            fault = .delay(ms: ms, jitterMs: jitter)
        case "drop":
            guard let fractionNode = fields["fraction"] else {
                throw reader.error(node, path, "needs fraction (0…1, the share of messages lost)")
            }
            let text = try reader.string(fractionNode, path: "\(path).fraction")
            guard let fraction = Double(text), fraction > 0, fraction <= 1 else {
                throw reader.error(fractionNode, "\(path).fraction", "'\(text)' is not a fraction in (0, 1]")
            }
            fault = .drop(fraction)
        default:
            fault = .partition
        }
        let networkFault = NetworkFault(fault, between: pair.0, pair.1, oneWay: oneWay)
        return (.networkFault(networkFault), networkFault.summary)
    }

    /// Two processes of the topology that exchange messages.
    private func pair(_ node: Node, path: String) throws -> (String, String) {
        let items = try reader.sequence(node, path: path)
        guard items.count == 2 else {
            throw reader.error(node, path, "name two processes, e.g. [node-token, sequencer]")
        }
        let a = try process(items[0], path: "\(path)[0]")
        let b = try process(items[1], path: "\(path)[1]")
        guard a != b else { throw reader.error(items[1], "\(path)[1]", "name two different processes, not \(a) twice") }
        let roles = [a, b].map { name in topology.processes.first { $0.name == name }!.role }
        guard NetworkFault.client(of: roles[0], and: roles[1]) != nil else {
            throw reader.error(
                node, path,
                "\(a) and \(b) exchange no messages (thread nodes talk to the sequencer and the manager, the sequencer to the manager)"
            )
        }
        return (a, b)
    }

    /// `snapshot: NAME` saves the devnet under a new name; `revert: NAME` goes back to one an
    /// earlier step saved, of the same processes. After a revert, the names given since that
    /// snapshot are gone (their transactions are), and later steps are checked against the
    /// programs the threads ran then.
    private mutating func snapshotOrRevert(_ kind: String, _ node: Node, path: String) throws -> (
        Scenario.Action, String
    ) {
        let name = try reader.string(node, path: path)
        do {
            try SnapshotStore.validate(name)
        } catch let error as OrchestratorError {
            throw reader.error(
                node, path, error.message.hasPrefix("error: ") ? String(error.message.dropFirst(7)) : error.message)
        }
        if kind == "revert", let (pausedNode, line) = paused.min(by: { $0.key < $1.key }) {
            throw reader.error(
                node, path,
                "\(pausedNode) is paused (line \(line)); a revert stops and starts every daemon, which would resume it. Add `resume: \(pausedNode)` before this step"
            )
        }
        if kind == "snapshot" {
            guard snapshots[name] == nil else {
                throw reader.error(node, path, "snapshot '\(name)' is taken twice; give each snapshot its own name")
            }
            snapshots[name] = Saved(topology: topology, programs: programs, labels: labels)
            return (.snapshot(name), "snapshot \(name)")
        }
        guard let saved = snapshots[name] else {
            throw reader.error(
                node, path,
                "no snapshot '\(name)' before this step"
                    + (snapshots.isEmpty
                        ? "; take one with a `snapshot: \(name)` step"
                        : " (snapshots: \(snapshots.keys.sorted().joined(separator: ", ")))"))
        }
        let then = Set(saved.topology.processes.map(\.name))
        let added = topology.processes.map(\.name).filter { !then.contains($0) }
        guard added.isEmpty else {
            throw reader.error(
                node, path,
                "snapshot '\(name)' was taken before \(added.joined(separator: ", ")) \(added.count == 1 ? "was" : "were") attached; a revert needs the processes the snapshot has. Take the snapshot after the attach step"
            )
        }
        topology = saved.topology
        programs = saved.programs
        labels = saved.labels
        // The load phases run since the snapshot are gone with their transactions.
        phases = phases.filter { labels[$0] != nil }
        // Every daemon starts again, unpaused.
        paused = [:]
        return (.revert(name), "revert to \(name)")
    }

    private mutating func send(_ node: Node, path: String) throws -> Scenario.Send {
        let fields = try reader.mapping(
            node, path: path, allowed: ["thread", "entrypoint", "args", "from", "node", "as"])
        guard let threadNode = fields["thread"], let entryNode = fields["entrypoint"], let fromNode = fields["from"]
        else {
            throw reader.error(node, path, "needs thread, entrypoint and from (and args, if the entrypoint takes any)")
        }
        let thread = try self.thread(threadNode, path: "\(path).thread")
        let from = try account(fromNode, path: "\(path).from")
        let entrypoint = try reader.string(entryNode, path: "\(path).entrypoint")
        let arguments = try self.arguments(fields["args"], path: "\(path).args")
        try checkCall(
            thread: thread, entrypoint: entrypoint, arguments: arguments, node: entryNode, path: path, view: false)
        let target =
            thread == Scenario.Load.l2
            ? "sequencer" : try fields["node"].map { try self.node($0, path: "\(path).node") } ?? "node-\(thread)"
        if let spec = topology.process(named: target)?.thread, spec.name != thread {
            throw reader.error(
                fields["node"] ?? node, "\(path).node", "\(target) runs thread \(spec.name), not \(thread)")
        }
        let label = try fields["as"].map { try newLabel($0, path: "\(path).as", .threadTx(node: target)) }
        return Scenario.Send(
            thread: thread, node: target, from: from, entrypoint: entrypoint, arguments: arguments, label: label)
    }

    private mutating func transfer(_ node: Node, path: String) throws -> Scenario.Transfer {
        let fields = try reader.mapping(
            node, path: path, allowed: ["from", "to", "amount", "max_fee", "as", "rejected", "wait"])
        guard let fromNode = fields["from"], let toNode = fields["to"], let amountNode = fields["amount"] else {
            throw reader.error(node, path, "needs from, to and amount")
        }
        let from = try account(fromNode, path: "\(path).from")
        let to = try account(toNode, path: "\(path).to")
        let amount = UInt64(try reader.integer(amountNode, path: "\(path).amount", in: 0...Int.max))
        let maxFee = try fields["max_fee"].map {
            UInt64(try reader.integer($0, path: "\(path).max_fee", in: 0...Int.max))
        }
        let rejected = try fields["rejected"].map { try reader.string($0, path: "\(path).rejected") }
        let wait = try fields["wait"].map { try reader.boolean($0, path: "\(path).wait") } ?? true
        if rejected != nil, let name = fields["as"] {
            throw reader.error(name, "\(path).as", "a transfer rejected at admission has no receipt to name; drop 'as'")
        }
        let label = try fields["as"].map { try newLabel($0, path: "\(path).as", .l2) }
        return Scenario.Transfer(
            from: from, to: to, amount: amount, maxFee: maxFee, label: label, rejected: rejected, wait: wait)
    }

    private mutating func upgrade(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        let fields = try reader.mapping(node, path: path, allowed: ["thread", "contract", "constants", "as"])
        guard let threadNode = fields["thread"], let contractNode = fields["contract"] else {
            throw reader.error(node, path, "needs thread and contract (a .tasm file or a shipped contract)")
        }
        let thread = try self.thread(threadNode, path: "\(path).thread")
        let text = try reader.string(contractNode, path: "\(path).contract")
        guard var spec = topology.processes.compactMap(\.thread).first(where: { $0.name == thread }) else {
            throw reader.error(threadNode, "\(path).thread", "no thread '\(thread)' in this scenario's devnet")
        }
        var contract = text
        if ContractFiles.isPath(text) {
            contract = ContractFiles.resolve(text, relativeTo: reader.file)
            do {
                try ContractFiles.load(contract, relativeTo: reader.file, into: &spec)
            } catch {
                throw reader.error(contractNode, "\(path).contract", error.text)
            }
        } else {
            spec.contract = try reader.choice(
                contractNode, path: "\(path).contract", from: DevnetConfig.knownContracts, noun: "contract")
            spec.source = nil
            spec.sourceFile = nil
        }
        let values = try fields["constants"].map {
            try reader.constants($0, path: "\(path).constants", threads: topology.processes.compactMap(\.thread?.name))
        }
        spec.constants = values
        // At run time the values go as numbers: thread names are resolved already.
        let constants = (values ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        do {
            try ContractFiles.program(of: spec)
        } catch {
            throw reader.error(error, key: "\(path).contract")
        }
        // Later steps are checked against the new program's ABI.
        for index in topology.processes.indices where topology.processes[index].thread?.name == thread {
            topology.processes[index].thread = spec
        }
        programs = try TopologyPrograms(topology: topology)
        let label =
            try fields["as"].map { try newLabel($0, path: "\(path).as", .l2) } ?? "upgrade-\(thread)-\(labels.count)"
        if fields["as"] == nil { labels[label] = .l2 }
        return (
            .upgrade(thread: thread, contract: contract, constants: constants, label: label),
            "upgrade \(thread) to \(spec.contract)" + (fields["as"] != nil ? " as \(label)" : "")
        )
    }

    private mutating func attach(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        let fields = try reader.mapping(
            node, path: path,
            allowed: ["thread", "contract", "constants", "proof_system", "os_version", "max_sub_block", "prover"])
        guard let threadNode = fields["thread"] else {
            throw reader.error(node, path, "needs thread: a new thread's name, or one the devnet has (a second prover)")
        }
        let proofSystem = try fields["proof_system"].map {
            try reader.choice(
                $0, path: "\(path).proof_system", from: DevnetConfig.knownProofSystems, noun: "proof system")
        }
        let options = Orchestrator.AttachOptions(
            thread: try reader.string(threadNode, path: "\(path).thread"),
            contract: try fields["contract"].map { node in
                let text = try reader.string(node, path: "\(path).contract")
                // A contract file is relative to the scenario file.
                if ContractFiles.isPath(text) { return ContractFiles.resolve(text, relativeTo: reader.file) }
                return try reader.choice(
                    node, path: "\(path).contract", from: DevnetConfig.knownContracts, noun: "contract")
            },
            proofSystem: proofSystem,
            osVersion: try fields["os_version"].map {
                try reader.osVersion($0, path: "\(path).os_version", proofSystem: proofSystem ?? ReexecProofSystem.name)
            },
            maxSubBlock: try fields["max_sub_block"].map {
                try reader.integer($0, path: "\(path).max_sub_block", in: 1...65536)
            },
            prover: try fields["prover"].map {
                try reader.integer($0, path: "\(path).prover", in: 1...DevAccounts.proversPerThread)
            },
            constants: try fields["constants"].map { node in
                let threads =
                    topology.processes.compactMap(\.thread?.name) + [
                        try reader.string(threadNode, path: "\(path).thread")
                    ]
                return try reader.constants(node, path: "\(path).constants", threads: threads)
                    .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            } ?? []
        )
        let spec: ThreadSpec
        do {
            spec = try Orchestrator.plannedNode(options, topology: topology)
        } catch let error as OrchestratorError {
            throw reader.error(
                node, path, error.message.hasPrefix("error: ") ? String(error.message.dropFirst(7)) : error.message)
        }
        let endpoints = Endpoints(api: "", admin: "", events: "")
        topology.processes.append(
            ProcessSpec(name: spec.nodeName, role: .threadNode, endpoints: endpoints, thread: spec))
        programs = try TopologyPrograms(topology: topology)
        let what =
            topology.processes.filter({ $0.thread?.name == spec.name }).count > 1
            ? "prover \(spec.proverIndex) for thread \(spec.name)" : "new thread \(spec.name) (\(spec.contract))"
        return (.attach(options, node: spec.nodeName), "attach \(spec.nodeName): \(what)")
    }

    // MARK: Loads and invariants

    static let loadKeys = [
        "thread", "entrypoint", "args", "transfer", "from", "senders", "count", "duration", "rate", "wait", "node",
        "as", "nemesis",
    ]

    private mutating func load(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        let fields = try reader.mapping(node, path: path, allowed: Self.loadKeys)
        if let transferNode = fields["transfer"] {
            return try finishLoad(
                node, fields, path: path, thread: Scenario.Load.l2, entrypoint: "transfer",
                generators: try transferGenerators(transferNode, fields, path: path))
        }
        guard let threadNode = fields["thread"], let entryNode = fields["entrypoint"] else {
            throw reader.error(
                node, path,
                "needs thread and entrypoint (or transfer: {to, amount} for L2 transfers), and count or duration with rate"
            )
        }
        let thread = try self.thread(threadNode, path: "\(path).thread")
        let entrypoint = try reader.string(entryNode, path: "\(path).entrypoint")
        var generators: [Scenario.Generator] = []
        if let argsNode = fields["args"] {
            let items = (try? reader.sequence(argsNode, path: "\(path).args")) ?? [argsNode]
            for (index, item) in items.enumerated() {
                generators.append(try generator(item, path: "\(path).args[\(index)]"))
            }
        }
        // Every value each generator can give must fit the ABI (the others at their first value).
        let firsts = generators.map { $0.samples[0] }
        try checkCall(
            thread: thread, entrypoint: entrypoint, arguments: firsts, node: entryNode, path: path, view: false)
        for (index, generator) in generators.enumerated() {
            for sample in generator.samples.dropFirst() {
                var arguments = firsts
                arguments[index] = sample
                try checkCall(
                    thread: thread, entrypoint: entrypoint, arguments: arguments, node: entryNode, path: path,
                    view: false)
            }
        }
        return try finishLoad(node, fields, path: path, thread: thread, entrypoint: entrypoint, generators: generators)
    }

    /// A transfer load's `transfer: {to, amount}`: an account (or `{account: any}`, or a choice
    /// of accounts) and an amount (a number, a range or a choice of numbers).
    private func transferGenerators(_ node: Node, _ fields: [String: Node], path: String) throws
        -> [Scenario.Generator]
    {
        if let key = ["thread", "entrypoint", "args", "node"].first(where: { fields[$0] != nil }) {
            throw reader.error(
                fields[key]!, "\(path).\(key)",
                "a transfer load sends L2 fee-token transfers to the sequencer: it takes no \(key)")
        }
        let at = "\(path).transfer"
        let transfer = try reader.mapping(node, path: at, allowed: ["to", "amount"])
        guard let toNode = transfer["to"], let amountNode = transfer["amount"] else {
            throw reader.error(node, at, "needs to (an account, {account: any} or {choice: […]}) and amount")
        }
        let to = try generator(toNode, path: "\(at).to")
        if case .range = to { throw reader.error(toNode, "\(at).to", "to is an account, not a range") }
        for sample in to.samples where !accountNames.contains(sample) {
            let hint = ConfigReader.closest(to: sample, in: accountNames).map { " Did you mean '\($0)'?" } ?? ""
            throw reader.error(toNode, "\(at).to", "unknown account '\(sample)'.\(hint)")
        }
        let amount = try generator(amountNode, path: "\(at).amount")
        for sample in amount.samples {
            guard let value = UInt64(sample), value > 0 else {
                throw reader.error(amountNode, "\(at).amount", "'\(sample)' is not an amount: a whole number above 0")
            }
        }
        if case .anyAccount = amount { throw reader.error(amountNode, "\(at).amount", "an amount is a number") }
        return [to, amount]
    }

    /// What every load reads after what it calls: its senders, size, rate, name and nemesis.
    private mutating func finishLoad(
        _ node: Node, _ fields: [String: Node], path: String, thread: String, entrypoint: String,
        generators: [Scenario.Generator]
    ) throws -> (Scenario.Action, String) {
        var senders: [String]
        if let fromNode = fields["from"] {
            if let extra = fields["senders"] {
                throw reader.error(
                    extra, "\(path).senders", "give from (the accounts that send) or senders (how many users), not both"
                )
            }
            if case .mapping = fromNode {
                let from = try reader.mapping(fromNode, path: "\(path).from", allowed: ["choice"])
                guard let list = from["choice"] else {
                    throw reader.error(fromNode, "\(path).from", "write from: NAME or from: {choice: [NAME, …]}")
                }
                senders = try reader.sequence(list, path: "\(path).from.choice").enumerated().map {
                    try account($0.element, path: "\(path).from.choice[\($0.offset)]")
                }
                guard !senders.isEmpty else {
                    throw reader.error(list, "\(path).from.choice", "the list is empty; name the accounts that send")
                }
            } else {
                senders = [try account(fromNode, path: "\(path).from")]
            }
            if Set(senders).count != senders.count {
                throw reader.error(fromNode, "\(path).from", "an account is named twice; name each sender once")
            }
        } else {
            let count =
                try fields["senders"].map {
                    try reader.integer($0, path: "\(path).senders", in: 1...DevAccounts.userNames.count)
                } ?? 1
            senders = Array(DevAccounts.userNames.prefix(count))
        }
        let rate = try fields["rate"].map { node -> Double in
            let text = try reader.string(node, path: "\(path).rate")
            guard let value = Double(text), value > 0, value <= 100_000 else {
                throw reader.error(
                    node, "\(path).rate", "'\(text)' is not a rate; give transactions per second, above 0")
            }
            return value
        }
        let count: Int
        switch (fields["count"], fields["duration"]) {
        case let (countNode?, nil):
            count = try reader.integer(countNode, path: "\(path).count", in: 1...100_000)
        case let (nil, durationNode?):
            let length = try duration(durationNode, path: "\(path).duration")
            guard let rate else {
                throw reader.error(
                    durationNode, "\(path).duration",
                    "a duration needs a rate (transactions per second) to say how many")
            }
            let seconds = Double(length.components.seconds) + Double(length.components.attoseconds) / 1e18
            count = max(1, Int((rate * seconds).rounded()))
            guard count <= 100_000 else {
                throw reader.error(
                    durationNode, "\(path).duration", "rate × duration is \(count) transactions; at most 100000")
            }
        case let (_?, durationNode?):
            throw reader.error(durationNode, "\(path).duration", "give count or duration, not both")
        case (nil, nil):
            throw reader.error(node, path, "say how many: count: N, or duration: D with rate: R")
        }
        let waitEach = try fields["wait"].map { try reader.boolean($0, path: "\(path).wait") } ?? false
        let target = try fields["node"].map { try self.node($0, path: "\(path).node") } ?? "node-\(thread)"
        if let spec = topology.process(named: target)?.thread, spec.name != thread {
            throw reader.error(
                fields["node"] ?? node, "\(path).node", "\(target) runs thread \(spec.name), not \(thread)")
        }
        let name =
            try fields["as"].map { try newLabel($0, path: "\(path).as", .loadPhase(thread: thread)) }
            ?? "load-\(loadSteps + 1)"
        if fields["as"] == nil {
            guard labels[name] == nil else {
                throw reader.error(node, path, "the default name '\(name)' is taken; name this load with as:")
            }
            labels[name] = .loadPhase(thread: thread)
        }
        let nemesis = try fields["nemesis"].map { try self.nemesis($0, path: "\(path).nemesis", node: target) }
        loadSteps += 1
        phases.append(name)
        let load = Scenario.Load(
            name: name, thread: thread, node: target, entrypoint: entrypoint, arguments: generators, senders: senders,
            count: count, rate: rate, waitEach: waitEach, stream: loadSteps, nemesis: nemesis)
        let args = generators.map(\.description).joined(separator: " ")
        let what =
            thread == Scenario.Load.l2
            ? "L2 transfer to \(generators[0]) of \(generators[1])"
            : "\(thread) \(entrypoint)\(args.isEmpty ? "" : " " + args)"
        return (
            .load(load),
            "load \(name): \(count) × \(what) from "
                + (senders.count == 1 ? senders[0] : "\(senders.count) senders")
                + (rate.map { " at \(String(format: "%g", $0))/s" } ?? "") + (waitEach ? ", each waiting" : "")
                + (nemesis.map {
                    " with a nemesis every \($0.every): \($0.faults.map(\.rawValue).joined(separator: ", "))"
                }
                    ?? "")
        )
    }

    /// `parallel: [{load: …}, {load: …}]`: load phases that run at the same time.
    private mutating func parallel(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        let items = try reader.sequence(node, path: path)
        guard items.count >= 2 else {
            throw reader.error(node, path, "give two or more load steps to run at the same time (one is a plain load)")
        }
        var loads: [Scenario.Load] = []
        var summaries: [String] = []
        var senders: [String: (line: Int, index: Int)] = [:]
        for (index, item) in items.enumerated() {
            let fields = try reader.mapping(item, path: "\(path)[\(index)]", allowed: ["load"])
            guard let body = fields["load"] else {
                throw reader.error(item, "\(path)[\(index)]", "each entry is a load: {load: {thread: …}}")
            }
            let (action, summary) = try load(body, path: "\(path)[\(index)].load")
            guard case let .load(load) = action else { continue }
            // Two phases signing for one account on one thread would race for its nonces.
            for sender in load.senders {
                if let other = senders["\(load.thread) \(sender)"] {
                    throw reader.error(
                        body, "\(path)[\(index)].load",
                        "\(sender) sends on thread \(load.thread) in this load and in load \(other.index + 1) (line \(other.line)): loads that run at the same time need their own senders per thread"
                    )
                }
                senders["\(load.thread) \(sender)"] = (body.mark?.line ?? 0, index)
            }
            loads.append(load)
            summaries.append(summary)
        }
        return (.parallel(loads), "in parallel: " + summaries.joined(separator: " | "))
    }

    /// A load's `nemesis`: `every`, `faults` (default all) and `targets` (default the load's node).
    private func nemesis(_ node: Node, path: String, node loadNode: String) throws -> Scenario.Nemesis {
        let fields = try reader.mapping(node, path: path, allowed: ["every", "faults", "targets"])
        guard let everyNode = fields["every"] else {
            throw reader.error(node, path, "needs every: the mean time between faults (e.g. every: 2s)")
        }
        let every = try duration(everyNode, path: "\(path).every")
        guard every >= .milliseconds(100) else {
            throw reader.error(everyNode, "\(path).every", "at least 100ms between faults")
        }
        let known = Scenario.Nemesis.Fault.allCases.map(\.rawValue)
        var faults = Scenario.Nemesis.Fault.allCases
        var weights: [Int]?
        if let list = fields["faults"], case .mapping = list {
            // {kill_restart: 3, partition: 1}: each fault with its weight.
            let entries = try reader.mapping(list, path: "\(path).faults", allowed: known)
            faults = []
            weights = []
            for fault in Scenario.Nemesis.Fault.allCases {
                guard let weightNode = entries[fault.rawValue] else { continue }
                let weight = try reader.integer(
                    weightNode, path: "\(path).faults.\(fault.rawValue)", in: 0...1_000)
                guard weight > 0 else { continue }
                faults.append(fault)
                weights?.append(weight)
            }
            guard !faults.isEmpty else {
                throw reader.error(
                    list, "\(path).faults", "the weights add up to 0: give at least one fault a weight above 0")
            }
        } else if let list = fields["faults"] {
            let items = (try? reader.sequence(list, path: "\(path).faults")) ?? [list]
            faults = try items.enumerated().map {
                Scenario.Nemesis.Fault(
                    rawValue: try reader.choice(
                        $0.element, path: "\(path).faults[\($0.offset)]", from: known, noun: "fault"))!
            }
        }
        guard !faults.isEmpty else { throw reader.error(node, "\(path).faults", "the list is empty") }
        var targets = [loadNode]
        if let list = fields["targets"] {
            let items = (try? reader.sequence(list, path: "\(path).targets")) ?? [list]
            targets = try items.enumerated().map { try process($0.element, path: "\(path).targets[\($0.offset)]") }
            guard !targets.isEmpty else { throw reader.error(list, "\(path).targets", "the list is empty") }
            // Pauses and network faults act on a node (against the sequencer).
            if let other = faults.first(where: { $0 != .killRestart }),
                let index = targets.firstIndex(where: { topology.process(named: $0)?.role != .threadNode })
            {
                throw reader.error(
                    items[index], "\(path).targets[\(index)]",
                    "\(other.rawValue) acts on a thread node, and \(targets[index]) is not one; target nodes, or use only kill_restart"
                )
            }
        }
        return Scenario.Nemesis(every: every, faults: faults, weights: weights, targets: targets)
    }

    /// A load argument: a value, `{choice: [...]}`, `{range: [lo, hi]}` or `{account: any}`.
    private func generator(_ node: Node, path: String) throws -> Scenario.Generator {
        guard case .mapping = node else { return .fixed(try reader.string(node, path: path)) }
        let fields = try reader.mapping(node, path: path, allowed: ["choice", "range", "account"])
        guard fields.count == 1, let (kind, body) = fields.first else {
            throw reader.error(node, path, "a generator is one of {choice: [...]}, {range: [lo, hi]}, {account: any}")
        }
        switch kind {
        case "choice":
            let values = try reader.sequence(body, path: "\(path).choice").enumerated().map {
                try reader.string($0.element, path: "\(path).choice[\($0.offset)]")
            }
            guard !values.isEmpty else { throw reader.error(body, "\(path).choice", "the list is empty") }
            return .choice(values)
        case "range":
            let bounds = try reader.sequence(body, path: "\(path).range")
            guard bounds.count == 2 else {
                throw reader.error(body, "\(path).range", "write range: [lo, hi], two whole numbers")
            }
            let lo = try reader.integer(bounds[0], path: "\(path).range[0]", in: Int.min...Int.max)
            let hi = try reader.integer(bounds[1], path: "\(path).range[1]", in: Int.min...Int.max)
            guard lo <= hi else { throw reader.error(body, "\(path).range", "\(lo) is above \(hi); write [lo, hi]") }
            return .range(Int64(lo), Int64(hi))
        default:
            guard try reader.string(body, path: "\(path).account") == "any" else {
                throw reader.error(
                    body, "\(path).account", "write account: any (a user drawn at random), or {choice: [alice, bob]}")
            }
            return .anyAccount
        }
    }

    private func invariants(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        var checksNode = node
        var since: String?
        var threads: [String]?
        if case .mapping = node {
            let fields = try reader.mapping(node, path: path, allowed: ["check", "since", "threads"])
            guard let check = fields["check"] else {
                throw reader.error(
                    node, path,
                    "needs check: all, or a list of \(Invariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            checksNode = check
            since = try fields["since"].map { try mark($0, path: "\(path).since") }
            threads = try fields["threads"].map { list in
                let items = (try? reader.sequence(list, path: "\(path).threads")) ?? [list]
                return try items.enumerated().map { try thread($0.element, path: "\(path).threads[\($0.offset)]") }
            }
        }
        let at: String
        if case .mapping = node { at = "\(path).check" } else { at = path }
        var checks: Set<Invariant>
        if case .scalar = checksNode, checksNode.string == "all" {
            checks = Set(Invariant.allCases)
        } else {
            let items = (try? reader.sequence(checksNode, path: at)) ?? [checksNode]
            checks = []
            for (index, item) in items.enumerated() {
                let name = try reader.choice(
                    item, path: "\(at)[\(index)]", from: Invariant.allCases.map(\.rawValue) + ["all"], noun: "invariant"
                )
                if name == "all" {
                    checks.formUnion(Invariant.allCases)
                } else {
                    checks.insert(Invariant(rawValue: name)!)
                }
            }
        }
        let covered = since.map { Array(phases.dropFirst(phasesAtMark[$0] ?? 0)) } ?? phases
        // The replay checks read the whole L2 history, so they need no load phase.
        guard !covered.isEmpty || checks.isSubset(of: [.crossReads, .replay]) else {
            throw reader.error(
                node, path,
                since.map { "no load step runs after mark \($0); the invariants check load phases" }
                    ?? "no load step before this one; the invariants other than cross_reads and replay check what load phases did, so put a load step first"
            )
        }
        let names = Invariant.allCases.filter(checks.contains).map(\.rawValue)
        return (
            .invariants(Scenario.InvariantsCheck(checks: checks, since: since, threads: threads, phases: covered)),
            "check invariants \(names.joined(separator: ", ")) over "
                + (covered.isEmpty ? "the L2 history" : covered.joined(separator: ", "))
                + (threads.map { " on \($0.joined(separator: ", "))" } ?? "")
        )
    }

    // MARK: Expectations

    private static let expectations = [
        "receipt", "tx", "balance", "fees_paid", "call", "thread", "counts", "reverts",
    ]

    private func expect(_ node: Node, path: String) throws -> (Scenario.Action, String) {
        let allowed =
            Self.expectations + [
                "status", "reason", "equals", "since", "change", "at_least", "at_most", "sequence", "root",
                "accepted", "reverted", "rejected", "eventually",
            ]
        let fields = try reader.mapping(node, path: path, allowed: allowed)
        let present = Self.expectations.filter { fields[$0] != nil }
        guard present.count == 1, let kind = present.first, let subject = fields[kind] else {
            throw reader.error(
                node, path,
                present.isEmpty
                    ? "say what to check (one of: \(Self.expectations.joined(separator: ", ")))"
                    : "an expectation checks one thing; this one has \(present.joined(separator: " and "))")
        }
        func only(_ keys: [String]) throws {
            for (key, value) in fields where !keys.contains(key) && key != kind && key != "eventually" {
                throw reader.error(
                    value, "\(path).\(key)",
                    "does not apply to a \(kind) expectation (use: \(keys.joined(separator: ", ")))")
            }
        }
        let eventually = try fields["eventually"].map { try reader.boolean($0, path: "\(path).eventually") } ?? false
        let at = "\(path).\(kind)"
        let string = { (key: String) in try fields[key].map { try reader.string($0, path: "\(path).\(key)") } }
        let expectation: Scenario.Expectation
        var summary: String
        switch kind {
        case "receipt":
            try only(["status", "reason"])
            let name = try reader.string(subject, path: at)
            try requireLabel(name, subject, path: at)
            let status = try fields["status"].map {
                try reader.choice($0, path: "\(path).status", from: ["accepted", "reverted"], noun: "status")
            }
            expectation = .receipt(name: name, status: status, reason: try string("reason"))
            summary = "receipt of \(name) is \(status ?? "final")" + ((try string("reason")).map { " (\($0))" } ?? "")
        case "tx":
            try only(["status", "reason"])
            let name = try reader.string(subject, path: at)
            try requireLabel(name, subject, path: at)
            guard case .threadTx = labels[name] else {
                throw reader.error(subject, at, "'\(name)' is not a thread transaction; use receipt: \(name)")
            }
            guard let statusNode = fields["status"] else { throw reader.error(node, path, "needs status") }
            let known = ["pending", "sealed", "settled", "failed"]
            let statuses: [String]
            if case .sequence = statusNode {
                statuses = try reader.sequence(statusNode, path: "\(path).status").enumerated().map {
                    try reader.choice($0.element, path: "\(path).status[\($0.offset)]", from: known, noun: "status")
                }
                guard !statuses.isEmpty else {
                    throw reader.error(statusNode, "\(path).status", "the list is empty; give the statuses that pass")
                }
            } else {
                statuses = [try reader.choice(statusNode, path: "\(path).status", from: known, noun: "status")]
            }
            expectation = .txStatus(name: name, statuses: statuses, reason: try string("reason"))
            summary = "\(name) is \(statuses.joined(separator: " or "))"
        case "balance":
            try only(["equals", "since", "change"])
            let account = try self.account(subject, path: at)
            if let equals = fields["equals"] {
                let amount = try amount(equals, path: "\(path).equals", window: false)
                expectation = .balance(account: account, check: .equals(amount))
                summary = "balance of \(account) is \(amount)"
            } else if let since = fields["since"], let change = fields["change"] {
                let mark = try self.mark(since, path: "\(path).since")
                let amount = try amount(change, path: "\(path).change", window: true)
                expectation = .balance(account: account, check: .change(since: mark, by: amount))
                summary = "balance of \(account) changed by \(amount) since \(mark)"
            } else {
                throw reader.error(
                    node, path,
                    "needs equals: AMOUNT, or since: MARK with change: AMOUNT (e.g. change: -250 - fees_paid)")
            }
        case "fees_paid":
            try only(["since", "equals", "at_least", "at_most"])
            let account = try self.account(subject, path: at)
            let since = try fields["since"].map { try mark($0, path: "\(path).since") }
            let check = try number(fields, node: node, path: path)
            expectation = .feesPaid(account: account, since: since, check: check)
            summary = "\(account) paid \(check) in fees" + (since.map { " since \($0)" } ?? "")
        case "call":
            try only(["equals"])
            let call = try reader.mapping(subject, path: at, allowed: ["thread", "entrypoint", "args", "caller"])
            guard let threadNode = call["thread"], let entryNode = call["entrypoint"] else {
                throw reader.error(subject, at, "needs thread and entrypoint")
            }
            let thread = try self.thread(threadNode, path: "\(at).thread")
            let entrypoint = try reader.string(entryNode, path: "\(at).entrypoint")
            let arguments = try self.arguments(call["args"], path: "\(at).args")
            try checkCall(
                thread: thread, entrypoint: entrypoint, arguments: arguments, node: entryNode, path: at, view: true)
            let caller = try call["caller"].map { try account($0, path: "\(at).caller") }
            guard let equalsNode = fields["equals"] else { throw reader.error(node, path, "needs equals") }
            let equals: [String]
            if case .sequence = equalsNode {
                equals = try reader.sequence(equalsNode, path: "\(path).equals").enumerated().map {
                    try reader.string($0.element, path: "\(path).equals[\($0.offset)]")
                }
            } else {
                equals = [try reader.string(equalsNode, path: "\(path).equals")]
            }
            if equals.count == 1, equals[0].contains("${") {
                _ = try amount(equalsNode, path: "\(path).equals", window: false)
            }
            expectation = .call(
                thread: thread, entrypoint: entrypoint, arguments: arguments, caller: caller, equals: equals)
            summary =
                "\(thread).\(entrypoint)(\(arguments.joined(separator: ", "))) = \(equals.joined(separator: ", "))"
        case "reverts":
            try only(["reason", "equals", "at_least", "at_most"])
            let name = try self.node(subject, path: at)
            let check = try number(fields, node: node, path: path)
            let reason = try string("reason")
            expectation = .reverts(node: name, reason: reason, check: check)
            summary = "\(check) of \(name)'s submissions reverted" + (reason.map { " with \($0)" } ?? "")
        case "thread":
            try only(["sequence", "at_least", "root"])
            let thread = try self.thread(subject, path: at)
            var sequence: Scenario.NumberCheck?
            if fields["sequence"] != nil, let extra = fields["at_least"] {
                throw reader.error(extra, "\(path).at_least", "give sequence or at_least, not both")
            }
            if let node = fields["sequence"] {
                sequence = .equals(UInt64(try reader.integer(node, path: "\(path).sequence", in: 0...Int.max)))
            } else if let node = fields["at_least"] {
                sequence = .atLeast(UInt64(try reader.integer(node, path: "\(path).at_least", in: 0...Int.max)))
            }
            let root = try string("root")
            guard sequence != nil || root != nil else {
                throw reader.error(node, path, "needs sequence (or at_least) and/or root")
            }
            expectation = .thread(name: thread, sequence: sequence, root: root)
            summary =
                "thread \(thread)" + (sequence.map { " at sequence \($0)" } ?? "")
                + (root.map { " root \($0.prefix(12))" } ?? "")
        default:
            try only(["since", "accepted", "reverted", "rejected"])
            if case .mapping = subject {
                throw reader.error(
                    subject, at, "write counts: true and the numbers beside it (accepted: 2, reverted: 1)")
            }
            let since = try fields["since"].map { try mark($0, path: "\(path).since") }
            let count = { (key: String) in
                try fields[key].map { UInt64(try reader.integer($0, path: "\(path).\(key)", in: 0...Int.max)) }
            }
            let accepted = try count("accepted"), reverted = try count("reverted"), rejected = try count("rejected")
            guard accepted != nil || reverted != nil || rejected != nil else {
                throw reader.error(node, path, "needs at least one of accepted, reverted, rejected")
            }
            expectation = .counts(since: since, accepted: accepted, reverted: reverted, rejected: rejected)
            summary =
                "L2 counts"
                + [("accepted", accepted), ("reverted", reverted), ("rejected", rejected)].compactMap { key, value in
                    value.map { " \(key) \($0)" }
                }.joined(separator: ",") + (since.map { " since \($0)" } ?? "")
        }
        if eventually { summary = "eventually " + summary }
        return (.expect(expectation, eventually: eventually), "expect " + summary)
    }

    private func number(_ fields: [String: Node], node: Node, path: String) throws -> Scenario.NumberCheck {
        let given = ["equals", "at_least", "at_most"].filter { fields[$0] != nil }
        if given.count > 1, let extra = fields[given[1]] {
            throw reader.error(
                extra, "\(path).\(given[1])",
                "give one of equals, at_least, at_most (\(given.joined(separator: " and ")) given)")
        }
        if let node = fields["equals"] {
            return .equals(UInt64(try reader.integer(node, path: "\(path).equals", in: 0...Int.max)))
        }
        if let node = fields["at_least"] {
            return .atLeast(UInt64(try reader.integer(node, path: "\(path).at_least", in: 0...Int.max)))
        }
        if let node = fields["at_most"] {
            return .atMost(UInt64(try reader.integer(node, path: "\(path).at_most", in: 0...Int.max)))
        }
        throw reader.error(node, path, "needs equals, at_least or at_most")
    }

    // MARK: Names

    /// The name at `node`, which must be one of `known`; the error lists them and suggests one.
    private func name(_ node: Node, path: String, in known: [String], noun: String) throws -> String {
        let name = try reader.string(node, path: path)
        guard known.contains(name) else {
            let hint = ConfigReader.closest(to: name, in: known).map { " Did you mean '\($0)'?" } ?? ""
            let plural = noun.hasSuffix("s") ? noun + "es" : noun + "s"
            throw reader.error(
                node, path, "unknown \(noun) '\(name)' (\(plural): \(known.joined(separator: ", "))).\(hint)")
        }
        return name
    }

    private func thread(_ node: Node, path: String) throws -> String {
        try name(node, path: path, in: programs?.names ?? [], noun: "thread")
    }

    private func node(_ node: Node, path: String) throws -> String {
        try name(node, path: path, in: topology.processes.filter { $0.role == .threadNode }.map(\.name), noun: "node")
    }

    private func process(_ node: Node, path: String) throws -> String {
        try name(node, path: path, in: topology.processes.map(\.name), noun: "process")
    }

    /// The account names this scenario can use: the users, the fee account and the provers of its threads.
    private var accountNames: [String] {
        DevAccounts.userNames + [DevAccounts.sequencerName]
            + (programs?.names ?? []).flatMap { thread in
                (1...DevAccounts.proversPerThread).map { "prover-\(thread)-\($0)" }
            }
    }

    private func account(_ node: Node, path: String) throws -> String {
        let name = try reader.string(node, path: path)
        guard accountNames.contains(name) else {
            let hint = ConfigReader.closest(to: name, in: accountNames).map { " Did you mean '\($0)'?" } ?? ""
            throw reader.error(
                node, path,
                "unknown account '\(name)' (accounts: \(DevAccounts.userNames.joined(separator: ", ")), sequencer, prover-<thread>-<1…\(DevAccounts.proversPerThread)>).\(hint)"
            )
        }
        return name
    }

    private func mark(_ node: Node, path: String) throws -> String {
        let name = try reader.string(node, path: path)
        guard marks.contains(name) else {
            throw reader.error(
                node, path,
                "no mark '\(name)' before this step"
                    + (marks.isEmpty
                        ? "; set one with a `mark: \(name)` step"
                        : " (marks: \(marks.sorted().joined(separator: ", ")))"))
        }
        return name
    }

    private mutating func newLabel(_ node: Node, path: String, _ kind: Label) throws -> String {
        let name = try reader.string(node, path: path)
        guard !name.isEmpty, labels[name] == nil else {
            throw reader.error(node, path, "the name '\(name)' is already taken by an earlier step")
        }
        labels[name] = kind
        return name
    }

    private func requireLabel(_ name: String, _ node: Node, path: String) throws {
        guard labels[name] == nil else { return }
        let known = labels.keys.sorted()
        throw reader.error(
            node, path,
            "no earlier step is named '\(name)'"
                + (known.isEmpty
                    ? "; name a step with `as: \(name)`" : " (named so far: \(known.joined(separator: ", ")))")
        )
    }

    private func names(_ node: Node, path: String) throws -> [String] {
        if case .scalar = node { return [try reader.string(node, path: path)] }
        return try reader.sequence(node, path: path).enumerated().map {
            try reader.string($0.element, path: "\(path)[\($0.offset)]")
        }
    }

    private func arguments(_ node: Node?, path: String) throws -> [String] {
        guard let node else { return [] }
        if case .scalar = node { return [try reader.string(node, path: path)] }
        return try reader.sequence(node, path: path).enumerated().map {
            try reader.string($0.element, path: "\(path)[\($0.offset)]")
        }
    }

    /// Checks an entrypoint and its arguments against the thread's ABI (account names stand for
    /// their addresses).
    private func checkCall(
        thread: String, entrypoint: String, arguments: [String], node: Node, path: String, view: Bool
    ) throws {
        guard let program = programs?.entry(for: thread)?.program else { return }
        let resolved = arguments.map { argument in
            let (prefix, value) =
                argument.firstIndex(of: "=").map {
                    (String(argument[...$0]), String(argument[argument.index(after: $0)...]))
                } ?? ("", argument)
            return (try? accounts.account(named: value)).map { prefix + $0.address.hex } ?? argument
        }
        do {
            let entry = try program.abi.entrypoint(named: entrypoint)
            if view, !entry.isView {
                throw reader.error(node, "\(path).entrypoint", "\(thread).\(entrypoint) is not a view; send it instead")
            }
            _ = try program.abi.encodeCalldata(entrypoint: entrypoint, arguments: resolved)
        } catch let error as CalldataError {
            // A word where an address or number belongs is most likely a misspelt account.
            let word = arguments.first {
                $0.first?.isLetter == true && (try? accounts.account(named: $0)) == nil && $0 != "true" && $0 != "false"
            }
            let hint = word.map { word in
                " ('\(word)' is not an account name"
                    + (ConfigReader.closest(to: word, in: accountNames).map { "; did you mean '\($0)'?" } ?? "") + ")"
            }
            throw reader.error(node, "\(path).entrypoint", "thread \(thread): \(error.message)\(hint ?? "")")
        }
    }

    /// `500ms`, `2s`, `1.5s`, `1m`, or a number of seconds.
    private func duration(_ node: Node, path: String) throws -> Duration {
        let text = try reader.string(node, path: path).trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite {
                return .milliseconds(Int64(value * scale * 1000))
            }
        }
        if let value = Double(text), value >= 0, value.isFinite { return .milliseconds(Int64(value * 1000)) }
        throw reader.error(node, path, "'\(text)' is not a duration (write 500ms, 2s or 1m)")
    }
}
