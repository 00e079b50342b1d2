public import DevnetProtocol
public import DevnetStorage
public import Foundation
public import Logging
public import ZeroMQ

/// What one kind of daemon adds to the shared runtime: its schema, its API and its background work.
public protocol DaemonRole: Sendable {
    /// The role this daemon plays.
    static var role: ProcessRole { get }

    /// The daemon's own schema migrations, appended to the shared ones. Names are permanent.
    static var migrations: [Migration] { get }

    /// Builds the role once the database is open and the endpoints are bound.
    init(context: DaemonContext) throws

    /// The message types the API endpoint answers, beyond `health`, `stats` and `events`.
    func apiRoutes() -> Router

    /// Message types the admin endpoint answers beyond `health`, `stats`, `events` and
    /// `shutdown`: devnet controls such as fault hooks.
    func adminRoutes() -> Router

    /// Role-specific counters for `stats`.
    func counters() -> [String: UInt64]

    /// Why the role cannot yet answer from the state it must (health reports `syncing`), or nil.
    func notReady() -> String?

    /// Background work (block timers, submission loops). Returns or throws `CancellationError`
    /// when the task is cancelled at shutdown.
    func run() async throws
}

extension DaemonRole {
    public static var migrations: [Migration] { [] }
    public func apiRoutes() -> Router { Router() }
    public func adminRoutes() -> Router { Router() }
    public func counters() -> [String: UInt64] { [:] }
    public func notReady() -> String? { nil }
    public func run() async throws {}
}

/// Everything a role needs from the runtime.
public struct DaemonContext: Sendable {
    public let spec: ProcessSpec
    public let topology: Topology
    /// The process's own folder in the data directory.
    public let directory: URL
    public let database: ProcessDatabase
    public let logger: Logger
    /// How many times this process has started on this data directory, this start included.
    public let bootCount: Int
    /// The CURVE keys this process connects to its peers with when the devnet is secured (the
    /// members' keys); nil on an open devnet. Give them to every ``SocketLoop`` the role opens.
    public let clientKeys: CurveClientKeys?
    let publisher: EventPublisher

    public var name: String { spec.name }

    /// A socket loop for the role's connections to its peers: with the devnet's client keys when
    /// it is secured, and reporting what goes wrong on them (a refused CURVE handshake, say) to
    /// the log, throttled.
    public func clientLoop(context: ZMQContext, name: String) -> SocketLoop {
        let warnings = WarningThrottle(logger: logger)
        return SocketLoop(context: context, name: name, clientKeys: clientKeys) { note in warnings.warning(note) }
    }

    /// Refuses a fault hook unless the devnet was started with `fault_hooks: true`.
    public func requireFaultHooks(_ hook: String) throws {
        guard topology.faultHooks == true else {
            throw WireError(
                .faultHooksDisabled,
                "\(name) refuses '\(hook)': fault hooks are off. Start the devnet with `fault_hooks: true` in its config or `devnet up --fault-hooks` (scenario runs turn them on)."
            )
        }
    }

    /// Publishes an event on the events endpoint with the next sequence number.
    @discardableResult
    public func publish(_ topic: String, _ payload: some Encodable) throws -> UInt64 {
        try publisher.publish([(topic, WireCodec.encode(payload))])[0]
    }

    /// An event to publish: its topic and its payload, encoded.
    public struct Event: Sendable {
        let topic: String
        let payload: Data

        public init(_ topic: String, _ payload: some Encodable) throws {
            self.topic = topic
            self.payload = try WireCodec.encode(payload)
        }
    }

    /// Publishes several events with consecutive sequence numbers, kept in one database
    /// transaction: one commit instead of one per event.
    public func publish(_ events: [Event]) throws {
        _ = try publisher.publish(events.map { ($0.topic, $0.payload) })
    }
}

/// Sends events on the process's events socket and keeps them for gap fetches.
struct EventPublisher: Sendable {
    let loop: SocketLoop
    let socket: SocketID
    let log: EventLog

    func publish(_ events: [(topic: String, payload: Data)]) throws -> [UInt64] {
        let seqs = try log.append(events)
        for (event, seq) in zip(events, seqs) {
            loop.send(try WireCodec.event(topic: event.topic, seq: seq, payload: event.payload), on: socket)
        }
        return seqs
    }
}
