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

        let zmq = ZMQContext()
        let loop = SocketLoop(context: zmq, name: "\(spec.name)-zmq") { [logger] note in
            logger.warning("\(note)")
        }
        let endpoints = spec.endpoints
        var server = SocketOptions()
        // libzmq drops a connection that sends more than this without a word; the runtime refuses
        // anything over ``DaemonRuntime/maxRequestBytes`` itself, with a reply and a log line.
        server.maxMessageSize = 4 * Int64(DaemonRuntime<Role>.maxRequestBytes)
        // Let the last replies (the answer to `shutdown`, say) leave before the process exits.
        server.linger = 200
        func bind(_ type: SocketType, _ endpoint: String, _ label: String) async throws -> SocketHandle {
            do {
                return try await loop.open(type, options: server, bind: [endpoint])
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
            events = try await bind(.pub, endpoints.events, "events")
        } catch {
            await loop.shutdown()
            zmq.terminate()
            throw error
        }

        let eventLog: EventLog
        do {
            eventLog = try EventLog(database: database)
        } catch {
            throw DaemonStartError(code: .storage, message: "cannot read the event log in \(directory.path): \(error)")
        }
        let context = DaemonContext(
            spec: spec, topology: topology, directory: directory, database: database, logger: logger,
            bootCount: bootCount, publisher: EventPublisher(loop: loop, socket: events.id, log: eventLog)
        )
        let runtime = DaemonRuntime(
            context: context, role: try Role(context: context), loop: loop, api: api, admin: admin, eventLog: eventLog
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
        zmq.terminate()
        logger.info("stopped")
    }
}
