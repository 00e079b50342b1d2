import DevnetClient
import DevnetProtocol
import Foundation
import Logging
import Metrics
public import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Serves one daemon's API and admin endpoints and runs its role until shutdown.
///
/// Each message is handled on its own: a bad or failing one gets an error reply and is counted,
/// and the next one is served. Graceful shutdown comes from SIGTERM/SIGINT (through the
/// service group) or from an admin `shutdown` request.
public final class DaemonRuntime<Role: DaemonRole>: Service {
    private enum State {
        case serving
        case stopping
    }

    private struct Counters {
        var requests: UInt64 = 0
        var errorReplies: UInt64 = 0
        var badMessages: UInt64 = 0
    }

    /// The largest request a daemon reads; larger ones get a `BAD_ENVELOPE` reply.
    public static var maxRequestBytes: Int { DaemonMain.maxRequestBytes }

    /// The most requests one endpoint handles at once. Beyond it the endpoint reads no more until
    /// one finishes, and libzmq holds back the peers; the other endpoint is not affected, so
    /// `health` on the admin endpoint answers while the api endpoint is flooded.
    public static var maxConcurrentRequests: Int { 16_384 }

    private let context: DaemonContext
    private let role: Role
    private let loop: SocketLoop
    private let api: SocketHandle
    private let admin: SocketHandle
    private let eventLog: EventLog
    private let startedAt = ContinuousClock.now
    private let state = Mutex(State.serving)
    private let counters = Mutex(Counters())
    private let apiSlots = RequestSlots(maxConcurrentRequests)
    private let adminSlots = RequestSlots(maxConcurrentRequests)
    private let peerWarnings: WarningThrottle
    /// Refused CURVE handshakes so far; nil on an open devnet.
    private let refusedHandshakes: @Sendable () -> UInt64?

    init(
        context: DaemonContext, role: Role, loop: SocketLoop, api: SocketHandle, admin: SocketHandle,
        eventLog: EventLog,
        refusedHandshakes: @escaping @Sendable () -> UInt64? = { nil }
    ) {
        self.refusedHandshakes = refusedHandshakes
        self.context = context
        self.role = role
        self.loop = loop
        self.api = api
        self.admin = admin
        self.eventLog = eventLog
        peerWarnings = WarningThrottle(logger: context.logger)
    }

    public func run() async throws {
        let apiRouter = commonRoutes().merging(role.apiRoutes())
        var adminRouter = commonRoutes()
        adminRouter.on(AdminMessage.netFault, NetFaultRequest.self) { [context] request in
            try context.requireFaultHooks(AdminMessage.netFault)
            let endpoint = try Self.peerEndpoint(request.peer, context: context)
            NetworkFaults.shared.add(
                NetworkFaults.Rule(
                    partitioned: request.partition ?? false, delayMs: request.delayMs ?? 0,
                    jitterMs: request.jitterMs ?? 0, drop: request.drop ?? 0),
                endpoint: endpoint, direction: request.direction == "out" ? .out : .back)
            context.logger.notice(
                "network fault toward \(request.peer) (\(request.direction)): \(Self.describe(request)) (fault hook)")
            return Self.faults(context)
        }
        adminRouter.on(AdminMessage.netHeal, NetHealRequest.self) { [context] request in
            try context.requireFaultHooks(AdminMessage.netHeal)
            let endpoint = try request.peer.map { try Self.peerEndpoint($0, context: context) }
            let healed = NetworkFaults.shared.heal(endpoint: endpoint)
            context.logger.notice("network healed toward \(request.peer ?? "every peer") (fault hook)")
            var reply = Self.faults(context)
            reply.healed = healed
            return reply
        }
        adminRouter.on(AdminMessage.shutdown, Empty.self) { [self] _ in
            context.logger.info("shutdown requested on the admin endpoint")
            return ShutdownReply()
        }
        let frozenAdmin = adminRouter.merging(role.adminRoutes())
        context.logger.info(
            "serving",
            metadata: [
                "api": "\(context.spec.endpoints.api)", "admin": "\(context.spec.endpoints.admin)",
                "events": "\(context.spec.endpoints.events)", "pid": "\(getpid())", "boot": "\(context.bootCount)",
            ]
        )
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: RuntimePart.self) { group in
                group.addTask {
                    await self.serve(self.api, router: apiRouter, endpoint: "api", slots: self.apiSlots)
                    return .endpoint
                }
                group.addTask {
                    await self.serve(self.admin, router: frozenAdmin, endpoint: "admin", slots: self.adminSlots)
                    return .endpoint
                }
                group.addTask {
                    await self.runRole()
                    return .role
                }
                // The endpoints end together when shutdown closes them; then stop the role too.
                var endpointsDone = 0
                while endpointsDone < 2, let part = try await group.next() {
                    if part == .endpoint { endpointsDone += 1 }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.context.logger.info("graceful shutdown: finishing the current message and closing endpoints")
            self.beginStopping()
        }
        context.logger.info("stopped serving")
    }

    /// Runs the role's background work until cancelled. An error is logged and the work starts
    /// again after a pause: the daemon keeps serving whatever went wrong.
    private func runRole() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await role.run()
                return
            } catch is CancellationError {
                return
            } catch {
                context.logger.error("background work failed: \(error); starting it again in \(delay)")
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Closes both endpoints; their message streams finish after what was already received.
    private func beginStopping() {
        let first = state.withLock { state in
            defer { state = .stopping }
            return state != .stopping
        }
        guard first else { return }
        // Requests still buffered are not started: the endpoints stop at once, even under a flood.
        apiSlots.close()
        adminSlots.close()
        loop.close(api.id)
        loop.close(admin.id)
    }

    /// The api endpoint of the process named `peer`, which is where this process's requests go.
    private static func peerEndpoint(_ peer: String, context: DaemonContext) throws -> String {
        guard let process = context.topology.process(named: peer) else {
            throw WireError(
                .notFound,
                "no process named '\(peer)' in the topology; it has: \(context.topology.processes.map(\.name).joined(separator: ", "))"
            )
        }
        return process.endpoints.api
    }

    private static func faults(_ context: DaemonContext) -> NetFaultsReply {
        NetFaultsReply(
            faults: NetworkFaults.shared.active.map { active in
                let peer =
                    context.topology.processes.first { $0.endpoints.api == active.endpoint }?.name ?? active.endpoint
                return NetFaultsReply.Fault(
                    peer: peer, direction: active.direction.rawValue, partition: active.rule.partitioned,
                    delayMs: active.rule.delayMs, jitterMs: active.rule.jitterMs, drop: active.rule.drop)
            })
    }

    private static func describe(_ request: NetFaultRequest) -> String {
        var parts: [String] = []
        if request.partition == true { parts.append("partition") }
        if let delay = request.delayMs, delay > 0 { parts.append("delay \(delay) ms") }
        if let jitter = request.jitterMs, jitter > 0 { parts.append("jitter \(jitter) ms") }
        if let drop = request.drop, drop > 0 { parts.append("drop \(drop)") }
        return parts.joined(separator: ", ")
    }

    private func commonRoutes() -> Router {
        var router = Router()
        router.on(AdminMessage.health, Empty.self) { [self] _ in health() }
        router.on(AdminMessage.stats, Empty.self) { [self] _ in stats() }
        router.on(AdminMessage.events, EventsRequest.self) { [eventLog] request in
            eventLog.events(from: request.fromSeq, limit: min(request.limit ?? 1000, 10_000))
        }
        router.on(AdminMessage.topology, Empty.self) { [context] _ in context.topology }
        return router
    }

    private var uptimeMs: UInt64 {
        let elapsed = ContinuousClock.now - startedAt
        return UInt64(elapsed.components.seconds) * 1000
            + UInt64(elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    private func health() -> HealthReport {
        let stopping = state.withLock { $0 != .serving }
        let notReady = stopping ? nil : role.notReady()
        return HealthReport(
            name: context.name, role: Role.role, pid: getpid(),
            status: stopping ? "stopping" : notReady == nil ? "healthy" : "syncing", detail: notReady,
            uptimeMs: uptimeMs, bootCount: context.bootCount, endpoints: context.spec.endpoints
        )
    }

    private func stats() -> DaemonStats {
        let counted = counters.withLock { $0 }
        let published = eventLog.events(from: UInt64.max, limit: 0).lastSeq
        var stats = DaemonStats(
            name: context.name, role: Role.role, uptimeMs: uptimeMs, requests: counted.requests,
            errorReplies: counted.errorReplies, badMessages: counted.badMessages,
            eventsPublished: published, counters: role.counters()
        )
        stats.refusedHandshakes = refusedHandshakes()
        return stats
    }

    private func serve(_ socket: SocketHandle, router: Router, endpoint: String, slots: RequestSlots) async {
        for await frames in socket.messages {
            // A ROUTER prefixes the sender's routing id; what follows is the message.
            guard let peer = frames.first, frames.count >= 2 else {
                counters.withLock { $0.badMessages += 1 }
                peerWarnings.warning("dropped a message without a routing id on the \(endpoint) endpoint")
                continue
            }
            let message = frames.dropFirst()
            let size = message.reduce(0) { $0 + $1.count }
            if size > Self.maxRequestBytes {
                counters.withLock {
                    $0.badMessages += 1
                    $0.errorReplies += 1
                }
                let error = WireError(
                    .badEnvelope, "the message is \(size) bytes; the limit is \(Self.maxRequestBytes)")
                peerWarnings.warning("refused an oversized message on the \(endpoint) endpoint: \(error.message)")
                loop.send([peer] + WireCodec.errorReply(to: WireCodec.peekEnvelope(message), error), on: socket.id)
                continue
            }
            let envelope: Envelope
            let payload: Data
            do {
                (envelope, payload) = try WireCodec.decodeRequest(message)
            } catch {
                counters.withLock {
                    $0.badMessages += 1
                    $0.errorReplies += 1
                }
                peerWarnings.warning("bad message on the \(endpoint) endpoint: \(error.message)")
                loop.send([peer] + WireCodec.errorReply(to: WireCodec.peekEnvelope(message), error), on: socket.id)
                continue
            }
            // Each request runs on its own, so one that waits (a submission waiting for its block,
            // say) holds up no other. Replies may therefore come in any order; clients match ids.
            guard await slots.acquire() else { break }
            Task {
                await self.respond(
                    to: envelope, payload: payload, peer: peer, socket: socket.id, router: router, endpoint: endpoint)
                slots.release()
            }
        }
    }

    private func respond(
        to envelope: Envelope, payload: Data, peer: Data, socket: SocketID, router: Router, endpoint: String
    ) async {
        let (reply, error) = await router.respond(to: envelope, payload: payload, endpoint: endpoint)
        counters.withLock {
            $0.requests += 1
            if error != nil { $0.errorReplies += 1 }
        }
        Counter(
            label: DevnetMetrics.requests,
            dimensions: [("endpoint", endpoint), ("status", error == nil ? "ok" : "error")]
        ).increment()
        if let error, error.code == .internalError {
            context.logger.error("\(envelope.type) failed: \(error.message)")
        }
        loop.send([peer] + reply, on: socket)
        // Stop only once the answer to `shutdown` is queued ahead of the close.
        if endpoint == "admin", envelope.type == AdminMessage.shutdown, error == nil { beginStopping() }
    }
}

extension Router {
    /// This router's handlers plus `other`'s; `other` wins on a clash.
    func merging(_ other: Router) -> Router {
        var merged = self
        merged.absorb(other)
        return merged
    }
}

/// Which of a runtime's concurrent parts finished.
private enum RuntimePart: Sendable {
    case endpoint
    case role
}
