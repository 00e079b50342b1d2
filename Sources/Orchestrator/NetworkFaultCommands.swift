public import DevnetProtocol
import Foundation

/// A network fault between two processes of the devnet, as `devnet fault` and the scenario
/// steps `partition`, `delay`, `drop` and `heal` give it.
public struct NetworkFault: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case partition
        /// Fixed milliseconds, plus up to `jitterMs` at random.
        case delay(ms: Int, jitterMs: Int)
        /// A fraction 0…1 of the messages.
        case drop(Double)
    }

    public var kind: Kind
    /// The two processes; with `oneWay`, only the messages from the first to the second.
    public var between: (String, String)
    public var oneWay: Bool

    public init(_ kind: Kind, between a: String, _ b: String, oneWay: Bool = false) {
        self.kind = kind
        between = (a, b)
        self.oneWay = oneWay
    }

    public static func == (lhs: NetworkFault, rhs: NetworkFault) -> Bool {
        lhs.kind == rhs.kind && lhs.between == rhs.between && lhs.oneWay == rhs.oneWay
    }

    /// Which process sends requests to which: thread nodes to the sequencer and the manager, the
    /// sequencer to the manager. Replies travel back on the same connections.
    static func client(of a: ProcessRole, and b: ProcessRole) -> Bool? {
        switch (a, b) {
        case (.threadNode, .sequencer), (.threadNode, .manager), (.sequencer, .manager): true
        case (.sequencer, .threadNode), (.manager, .threadNode), (.manager, .sequencer): false
        default: nil
        }
    }

    /// The requests that carry out the fault: for each direction, the process whose connection
    /// it is (the one that sends the requests) and what to set on it.
    ///
    /// - Throws: ``OrchestratorError`` naming a process that is not in the topology, or two
    ///   processes that exchange no messages.
    public func requests(in topology: Topology) throws -> [(process: String, request: NetFaultRequest)] {
        let (a, b) = between
        func role(_ name: String) throws -> ProcessRole {
            guard let process = topology.process(named: name) else {
                throw OrchestratorError(
                    "error: this devnet has no process '\(name)' (it has: \(topology.processes.map(\.name).joined(separator: ", ")))"
                )
            }
            return process.role
        }
        guard a != b else {
            throw OrchestratorError("error: a network fault needs two different processes, not \(a) twice")
        }
        guard let aCallsB = Self.client(of: try role(a), and: try role(b)) else {
            throw OrchestratorError(
                "error: \(a) and \(b) exchange no messages (thread nodes talk to the sequencer and the manager, the sequencer to the manager), so there is nothing to cut or slow between them"
            )
        }
        func request(peer: String, direction: String) -> NetFaultRequest {
            switch kind {
            case .partition: NetFaultRequest(peer: peer, direction: direction, partition: true)
            case let .delay(ms, jitter):
                NetFaultRequest(peer: peer, direction: direction, delayMs: ms, jitterMs: jitter)
            case let .drop(fraction): NetFaultRequest(peer: peer, direction: direction, drop: fraction)
            }
        }
        // Messages from a to b are the requests of a (if a is the client) or the replies to b.
        let aToB = aCallsB ? (a, request(peer: b, direction: "out")) : (b, request(peer: a, direction: "back"))
        let bToA = aCallsB ? (a, request(peer: b, direction: "back")) : (b, request(peer: a, direction: "out"))
        return oneWay ? [aToB] : [aToB, bToA]
    }

    /// What the fault does, for output and reports: `partition node-token → sequencer`.
    public var summary: String {
        let arrow = oneWay ? "→" : "↔"
        let what: String
        switch kind {
        case .partition: what = "partition"
        case let .delay(ms, jitter): what = "delay \(ms) ms" + (jitter > 0 ? " ± up to \(jitter) ms" : "")
        case let .drop(fraction): what = "drop \(Int((fraction * 100).rounded())) %"
        }
        return "\(what) \(between.0) \(arrow) \(between.1)"
    }
}

extension DevnetClientSession {
    /// Sets `fault` on the processes whose connections carry the messages it names.
    public func apply(_ fault: NetworkFault) async throws {
        for (process, request) in try fault.requests(in: topology) {
            _ = try await call(process, AdminMessage.netFault, request, as: NetFaultsReply.self, endpoint: .admin)
        }
    }

    /// Lifts the network faults between `a` and `b`, or every one when `between` is nil; returns
    /// how many rules were lifted.
    @discardableResult
    public func heal(between: (String, String)? = nil) async throws -> Int {
        var targets: [(String, NetHealRequest)] = []
        if let (a, b) = between {
            for name in [a, b] where topology.process(named: name) == nil {
                throw OrchestratorError(
                    "error: this devnet has no process '\(name)' (it has: \(topology.processes.map(\.name).joined(separator: ", ")))"
                )
            }
            targets = [(a, NetHealRequest(peer: b)), (b, NetHealRequest(peer: a))]
        } else {
            targets = topology.processes.map { ($0.name, NetHealRequest()) }
        }
        var healed = 0
        for (process, request) in targets {
            healed +=
                try await call(process, AdminMessage.netHeal, request, as: NetFaultsReply.self, endpoint: .admin)
                .healed ?? 0
        }
        return healed
    }
}
