import DevnetClient
import DevnetProtocol
import DevnetStorage
import Foundation
import Logging
import ServiceLifecycle
import ZeroMQ

/// What every daemon executable is told on its command line.
public struct DaemonOptions: Sendable {
    /// The `topology.json` the orchestrator wrote.
    public var topologyPath: String
    /// This process's name in the topology.
    public var name: String
    /// The devnet's data directory; the process keeps its files in `<dataDirectory>/<name>/`.
    public var dataDirectory: String

    public init(topologyPath: String, name: String, dataDirectory: String) {
        self.topologyPath = topologyPath
        self.name = name
        self.dataDirectory = dataDirectory
    }
}

/// A failure before the daemon could start serving, with the exit code it ends with.
public struct DaemonStartError: Error, CustomStringConvertible {
    public enum Code: Int32, Sendable {
        case badConfiguration = 2
        case endpointUnavailable = 3
        case alreadyRunning = 4
        case storage = 5
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The shared `main` of every daemon.
public enum DaemonMain {
    /// The largest request a daemon reads; larger ones get a `BAD_ENVELOPE` reply.
    public static let maxRequestBytes = 16 * 1024 * 1024

    /// The options of the api and admin ROUTER sockets.
    static var requestOptions: SocketOptions {
        var options = SocketOptions()
        // libzmq drops a connection that sends more than this without a word; the runtime refuses
        // anything over ``maxRequestBytes`` itself, with a reply and a log line.
        options.maxMessageSize = 4 * Int64(maxRequestBytes)
        // Per peer: a client with 1000 requests unread waits (TCP pushes back) until the daemon
        // catches up; a client that leaves 10,000 replies unread loses further ones. A busy client
        // keeps hundreds of requests in flight on one connection (a submit and a waiting
        // `tx_status` per transaction), and reads them as fast as they come; this bounds what one
        // peer that does not read at all can make the daemon hold.
        options.receiveHighWaterMark = 1000
        options.sendHighWaterMark = 10_000
        // What the runtime has read but not yet started; little, so that when the endpoint is
        // busy the backlog stays in libzmq, fairly queued across peers, and a new peer's
        // `health` is among the next requests read.
        options.inboundLimit = InboundLimit(messages: 64, bytes: 64 * 1024 * 1024)
        // Every peer is on this machine; one that has not finished its handshake by now never will.
        options.handshakeInterval = 5000
        // Let the last replies (the answer to `shutdown`, say) leave before the process exits.
        options.linger = 200
        return options
    }

    /// The longest subscription the events endpoint takes, in bytes of topic prefix. Topics are
    /// short words like `block`. A peer that sends a longer one is disconnected.
    ///
    /// Short, because libzmq stores a subscription at a node per byte before the daemon can count
    /// it, and takes a burst of them from one connection in one go: the shorter they are, the
    /// less a burst costs before ``maxEventSubscriptions`` drops it.
    public static let maxSubscriptionBytes = 64

    /// The most distinct subscriptions the events endpoint holds; one more drops every subscriber.
    ///
    /// Daemons publish a handful of topics (`block`, `receipt`, `outcome`), so a subscriber needs
    /// one subscription or a few. Each one costs up to a node per byte in libzmq, which stores it
    /// before the daemon hears of it; beyond this many the daemon closes the endpoint and binds
    /// it again, which frees them all. Subscribers reconnect by themselves and fetch what they
    /// missed with an `events` request.
    public static let maxEventSubscriptions = 1024

    /// The options of the events XPUB socket.
    static var eventOptions: SocketOptions {
        var options = SocketOptions()
        // What the socket receives are subscriptions, each kept in a tree with a node per byte:
        // without this limit one subscription of 50 MiB costs gigabytes.
        // libzmq counts the framing too: a ZMTP 3.1 SUBSCRIBE command is 10 bytes before its topic.
        options.maxMessageSize = Int64(maxSubscriptionBytes) + 10
        options.maxSubscriptions = maxEventSubscriptions
        // One subscription at a time per subscriber: libzmq stores what a connection sends for as
        // long as it keeps coming, so a deeper queue lets a burst run far past the limit before
        // the count sees it (100 here let 25 000 in at once; 1 keeps a burst to a few MB).
        options.receiveHighWaterMark = 1
        // Per subscriber: one that does not read loses events beyond this, and fetches the gap
        // with an `events` request. The payloads themselves are shared between subscribers.
        options.sendHighWaterMark = 1000
        options.handshakeInterval = 5000
        // Events are never lost for good (gap fetches), so closing need not wait for them.
        options.linger = 0
        return options
    }

    /// Starts a daemon of the given role and serves until a graceful shutdown. Exits the process
    /// with a clear message and a non-zero code if it cannot start.
    public static func run<Role: DaemonRole>(_ role: Role.Type, options: DaemonOptions) async -> Never {
        LineLogHandler.bootstrap()
        let logger = Logger(label: options.name)
        do {
            try await serve(role, options: options, logger: logger)
            exit(0)
        } catch let error as DaemonStartError {
            logger.critical("cannot start: \(error.message)")
            exit(error.code.rawValue)
        } catch {
            logger.critical("stopped on an unexpected error: \(error)")
            exit(1)
        }
    }

    /// The devnet's credentials when its topology is secured (what a member holds), else nil.
    static func loadCredentials(_ topology: Topology, options: DaemonOptions) throws -> DevnetCredentials? {
        guard topology.isSecured else { return nil }
        let dataDirectory = URL(fileURLWithPath: options.dataDirectory)
        let file = DevnetCredentials.directory(in: dataDirectory).appendingPathComponent(DevnetCredentials.memberFile)
        do {
            guard let credentials = try DevnetCredentials.load(from: dataDirectory) else {
                throw DaemonStartError(
                    code: .badConfiguration,
                    message:
                        "the devnet is secured (security: curve in \(options.topologyPath)) but \(file.path) does not exist; `devnet up` writes it, and `devnet credentials --json` prints it for a node on another host"
                )
            }
            try Curve.requireAvailable()
            return credentials.memberView
        } catch let error as CredentialsError {
            throw DaemonStartError(code: .badConfiguration, message: error.message)
        } catch let error as CurveUnavailableError {
            throw DaemonStartError(code: .badConfiguration, message: error.description)
        }
    }

    static func serve<Role: DaemonRole>(_ role: Role.Type, options: DaemonOptions, logger: Logger) async throws {
        let topology: Topology
        do {
            topology = try Topology.load(from: URL(fileURLWithPath: options.topologyPath))
        } catch {
            throw DaemonStartError(
                code: .badConfiguration, message: "cannot read the topology file \(options.topologyPath): \(error)")
        }
        guard let spec = topology.process(named: options.name) else {
            let names = topology.processes.map(\.name).joined(separator: ", ")
            throw DaemonStartError(
                code: .badConfiguration,
                message: "no process named '\(options.name)' in \(options.topologyPath); it has: \(names)"
            )
        }
        guard spec.role == Role.role else {
            throw DaemonStartError(
                code: .badConfiguration,
                message:
                    "'\(spec.name)' is a \(spec.role.rawValue) in the topology; start it with \(spec.role.executable), not \(Role.role.executable)"
            )
        }

        let directory = URL(fileURLWithPath: options.dataDirectory).appendingPathComponent(spec.name, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lock = try InstanceLock.acquire(in: directory, name: spec.name, role: Role.role)
        defer { lock.release() }

        let database: ProcessDatabase
        let bootCount: Int
        do {
            database = try ProcessDatabase(
                path: directory.appendingPathComponent("state.sqlite").path, migrations: Role.migrations)
            bootCount = try database.recordBoot()
        } catch {
            throw DaemonStartError(code: .storage, message: "cannot open the database in \(directory.path): \(error)")
        }

        let credentials = try loadCredentials(topology, options: options)
        let zmq = ZMQContext()
        // What the loops report comes from peers (dropped replies, refused handshakes, say): a
        // flood of it is throttled.
        let diagnostics = WarningThrottle(logger: logger)
        let loop = SocketLoop(context: zmq, name: "\(spec.name)-zmq") { note in diagnostics.warning(note) }
        // The events endpoint has a thread of its own: whatever its subscribers send, requests
        // are still read and answered.
        let eventsLoop = SocketLoop(context: zmq, name: "\(spec.name)-events") { note in diagnostics.warning(note) }
        let endpoints = spec.bindEndpoints
        func bind(_ type: SocketType, _ endpoint: String, _ label: String) async throws -> SocketHandle {
            var (loop, options) = type == .xpub ? (eventsLoop, eventOptions) : (loop, requestOptions)
            if let credentials {
                // Admin endpoints let in the orchestrator only; the others, members too.
                let name = "\(spec.name) \(label) endpoint"
                options.curve = .server(
                    credentials.server,
                    label == "admin" ? credentials.adminAccess(label: name) : credentials.memberAccess(label: name))
            }
            do {
                return try await loop.open(type, options: options, bind: [endpoint])
            } catch let error as ZMQError {
                let hint =
                    error.isAddressInUse
                    ? " Another process holds this port: stop it, or choose another base_port in devnet.yaml (or pass --base-port)."
                    : ""
                throw DaemonStartError(
                    code: .endpointUnavailable,
                    message: "cannot bind the \(label) endpoint \(endpoint) of \(spec.name): \(error.reason).\(hint)"
                )
            }
        }
        let api: SocketHandle
        let admin: SocketHandle
        let events: SocketHandle
        do {
            api = try await bind(.router, endpoints.api, "api")
            admin = try await bind(.router, endpoints.admin, "admin")
            events = try await bind(.xpub, endpoints.events, "events")
        } catch {
            await loop.shutdown()
            await eventsLoop.shutdown()
            zmq.terminate()
            throw error
        }

        var metrics: MetricsEndpoint?
        if let address = endpoints.metricsAddress {
            MetricsEndpoint.bootstrap()
            do {
                metrics = try MetricsEndpoint(host: address.host, port: address.port, logger: logger)
            } catch {
                await loop.shutdown()
                await eventsLoop.shutdown()
                zmq.terminate()
                throw DaemonStartError(
                    code: .endpointUnavailable,
                    message:
                        "cannot serve metrics at \(endpoints.metrics ?? ""): \(error). Another process may hold the port: stop it, or choose another metrics_port in devnet.yaml."
                )
            }
        }
        defer { metrics?.stop() }

        let eventLog: EventLog
        do {
            eventLog = try EventLog(database: database)
        } catch {
            throw DaemonStartError(code: .storage, message: "cannot read the event log in \(directory.path): \(error)")
        }
        let context = DaemonContext(
            spec: spec, topology: topology, directory: directory, database: database, logger: logger,
            bootCount: bootCount, clientKeys: credentials?.memberClient,
            publisher: EventPublisher(loop: eventsLoop, socket: events.id, log: eventLog)
        )
        let secured = credentials != nil
        let runtime = DaemonRuntime(
            context: context, role: try Role(context: context), loop: loop, api: api, admin: admin, eventLog: eventLog,
            refusedHandshakes: { [zmq] in secured ? zmq.refusedHandshakes : nil }
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: runtime, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: spec.name)
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        await loop.shutdown()
        await eventsLoop.shutdown()
        zmq.terminate()
        logger.info("stopped")
    }
}
