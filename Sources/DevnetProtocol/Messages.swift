import Foundation

/// Message types every daemon answers, on its admin endpoint and (except `shutdown`) on its API endpoint.
public enum AdminMessage {
    /// Liveness and identity: replies with ``HealthReport``.
    public static let health = "health"
    /// Counters: replies with ``DaemonStats``.
    public static let stats = "stats"
    /// Graceful stop: replies with ``ShutdownReply``, then the daemon exits. Admin endpoint only.
    public static let shutdown = "shutdown"
    /// Gap fetch of published events: ``EventsRequest`` → ``EventsReply``.
    public static let events = "events"
    /// A network fault on this process's connection to a peer: ``NetFaultRequest`` →
    /// ``NetFaultsReply``. Admin endpoint only, with fault hooks on.
    public static let netFault = "net_fault"
    /// Lifts network faults: ``NetHealRequest`` → ``NetFaultsReply``. Admin endpoint only, with
    /// fault hooks on.
    public static let netHeal = "net_heal"
    /// The devnet's topology as this process runs it: `{}` → ``Topology``. What a node joining
    /// from another host starts from (`devnet node --join`).
    public static let topology = "topology"
}

/// A network fault on the connection from this process to `peer` (a process of the topology
/// that this process sends requests to), for the requests it sends (`out`) or the replies it gets
/// back (`back`).
public struct NetFaultRequest: Codable, Sendable, Equatable, ValidatedPayload {
    public var peer: String
    /// `out` or `back`.
    public var direction: String
    /// Drop every message: a partition.
    public var partition: Bool?
    /// Hold each message this many milliseconds (0…60000).
    public var delayMs: Int?
    /// Plus up to this many more, at random (0…60000).
    public var jitterMs: Int?
    /// Drop this fraction of the messages, at random (0…1).
    public var drop: Double?

    public init(
        peer: String, direction: String, partition: Bool? = nil, delayMs: Int? = nil, jitterMs: Int? = nil,
        drop: Double? = nil
    ) {
        self.peer = peer
        self.direction = direction
        self.partition = partition
        self.delayMs = delayMs
        self.jitterMs = jitterMs
        self.drop = drop
    }

    public func validate() throws {
        guard ["out", "back"].contains(direction) else {
            throw WireError(.badPayload, "direction must be out or back, not '\(direction)'")
        }
        for (name, value) in [("delay_ms", delayMs), ("jitter_ms", jitterMs)] {
            if let value, !(0...60_000).contains(value) {
                throw WireError(.badPayload, "\(name) must be 0…60000, not \(value)")
            }
        }
        if let drop, !(0...1).contains(drop) {
            throw WireError(.badPayload, "drop must be a fraction 0…1, not \(drop)")
        }
        guard partition == true || (delayMs ?? 0) > 0 || (jitterMs ?? 0) > 0 || (drop ?? 0) > 0 else {
            throw WireError(.badPayload, "the fault does nothing: give partition, delay_ms, jitter_ms or drop")
        }
    }
}

/// Lifts the network faults toward `peer`, or all of them when it is absent.
public struct NetHealRequest: Codable, Sendable, Equatable {
    public var peer: String?
    public init(peer: String? = nil) { self.peer = peer }
}

/// The network faults a process applies after the request.
public struct NetFaultsReply: Codable, Sendable, Equatable {
    public struct Fault: Codable, Sendable, Equatable {
        public var peer: String
        public var direction: String
        public var partition: Bool
        public var delayMs: Int
        public var jitterMs: Int
        public var drop: Double

        public init(peer: String, direction: String, partition: Bool, delayMs: Int, jitterMs: Int, drop: Double) {
            self.peer = peer
            self.direction = direction
            self.partition = partition
            self.delayMs = delayMs
            self.jitterMs = jitterMs
            self.drop = drop
        }
    }

    public var faults: [Fault]
    /// How many rules a `net_heal` lifted.
    public var healed: Int?

    public init(faults: [Fault], healed: Int? = nil) {
        self.faults = faults
        self.healed = healed
    }
}

/// An empty request or reply body, encoded as `{}`.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// The role a process plays in the devnet.
public enum ProcessRole: String, Codable, Sendable, CaseIterable {
    case sequencer
    case manager
    case threadNode = "thread-node"

    /// The executable that plays this role.
    public var executable: String {
        switch self {
        case .sequencer: "l2-sequencer"
        case .manager: "thread-manager"
        case .threadNode: "thread-node"
        }
    }
}

/// A process's three endpoints.
public struct Endpoints: Codable, Sendable, Equatable {
    /// ROUTER for the daemon's service requests.
    public var api: String
    /// ROUTER for health, stats, shutdown and fault hooks.
    public var admin: String
    /// PUB for events.
    public var events: String
    /// Prometheus metrics over HTTP, `http://host:port/metrics`; nil when the devnet runs without.
    public var metrics: String?

    public init(api: String, admin: String, events: String, metrics: String? = nil) {
        self.api = api
        self.admin = admin
        self.events = events
        self.metrics = metrics
    }

    /// The host and port of ``metrics``, nil when there is none or it is not `http://host:port/…`.
    public var metricsAddress: (host: String, port: Int)? {
        guard let metrics, let url = URL(string: metrics), url.scheme == "http", let host = url.host,
            let port = url.port
        else { return nil }
        return (host, port)
    }
}

/// The reply to `health`.
public struct HealthReport: Codable, Sendable, Equatable {
    public var name: String
    public var role: ProcessRole
    public var pid: Int32
    /// `healthy`; `syncing` while the process serves but cannot yet answer from the state it
    /// must (a thread node before it has synced with the manager; `detail` says what it waits
    /// for); `stopping` once a shutdown has begun.
    public var status: String
    /// What a `syncing` process waits for.
    public var detail: String?
    public var uptimeMs: UInt64
    /// How many times this process has started on this data directory (from its database).
    public var bootCount: Int
    public var endpoints: Endpoints
    public var protocolVersion: Int

    public init(
        name: String, role: ProcessRole, pid: Int32, status: String, detail: String? = nil, uptimeMs: UInt64,
        bootCount: Int, endpoints: Endpoints, protocolVersion: Int = WireProtocol.version
    ) {
        self.detail = detail
        self.name = name
        self.role = role
        self.pid = pid
        self.status = status
        self.uptimeMs = uptimeMs
        self.bootCount = bootCount
        self.endpoints = endpoints
        self.protocolVersion = protocolVersion
    }
}

/// The reply to `stats`: counters since the process started.
public struct DaemonStats: Codable, Sendable, Equatable {
    public var name: String
    public var role: ProcessRole
    public var uptimeMs: UInt64
    /// Well-formed requests handled, on both endpoints.
    public var requests: UInt64
    /// Requests answered with an error reply (including bad ones).
    public var errorReplies: UInt64
    /// Messages that were not a valid envelope + payload.
    public var badMessages: UInt64
    /// Events published on the PUB endpoint.
    public var eventsPublished: UInt64
    /// Role-specific counters, e.g. blocks produced.
    public var counters: [String: UInt64]
    /// On a secured devnet: CURVE handshakes the process refused because the client's key is
    /// not one the endpoint lets in (nil on an open devnet).
    public var refusedHandshakes: UInt64?

    public init(
        name: String, role: ProcessRole, uptimeMs: UInt64, requests: UInt64, errorReplies: UInt64,
        badMessages: UInt64, eventsPublished: UInt64, counters: [String: UInt64]
    ) {
        self.name = name
        self.role = role
        self.uptimeMs = uptimeMs
        self.requests = requests
        self.errorReplies = errorReplies
        self.badMessages = badMessages
        self.eventsPublished = eventsPublished
        self.counters = counters
    }
}

/// The reply to `shutdown`.
public struct ShutdownReply: Codable, Sendable, Equatable {
    public var stopping: Bool
    public init(stopping: Bool = true) { self.stopping = stopping }
}

/// A request for published events with `seq >= fromSeq`, to fill a gap a subscriber saw.
public struct EventsRequest: Codable, Sendable, Equatable {
    public var fromSeq: UInt64
    public var limit: Int?
    public init(fromSeq: UInt64, limit: Int? = nil) {
        self.fromSeq = fromSeq
        self.limit = limit
    }
}

/// One published event, as returned by a gap fetch.
public struct PublishedEvent: Codable, Sendable, Equatable {
    public var seq: UInt64
    public var topic: String
    /// The event payload, as the JSON text it was published with.
    public var payload: String

    public init(seq: UInt64, topic: String, payload: String) {
        self.seq = seq
        self.topic = topic
        self.payload = payload
    }
}

/// The reply to `events`.
public struct EventsReply: Codable, Sendable, Equatable {
    public var events: [PublishedEvent]
    /// The newest sequence number published so far.
    public var lastSeq: UInt64
    /// The oldest sequence number still kept; older events are gone.
    public var firstAvailableSeq: UInt64

    public init(events: [PublishedEvent], lastSeq: UInt64, firstAvailableSeq: UInt64) {
        self.events = events
        self.lastSeq = lastSeq
        self.firstAvailableSeq = firstAvailableSeq
    }
}
