import CZeroMQ
public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Identifies a socket owned by a ``SocketLoop``.
public struct SocketID: Hashable, Sendable, CustomStringConvertible {
    let raw: Int
    public var description: String { "socket#\(raw)" }
}

/// A socket opened on a ``SocketLoop``: its id, the endpoints it bound, and its inbound messages.
public struct SocketHandle: Sendable {
    public let id: SocketID
    public let type: SocketType
    /// The endpoints actually bound, with wildcard ports resolved, in the order requested.
    public let boundEndpoints: [String]
    /// Every multipart message the socket receives, in order. Finishes when the socket closes.
    /// Its buffer is bounded by ``SocketOptions/inboundLimit``: take messages promptly, or the
    /// socket stops reading and its peers are held back. An XPUB's subscriptions are read by the
    /// loop itself (see ``SocketOptions/maxSubscriptions``): its sequence stays empty.
    public let messages: InboundMessages
}

/// Runs every socket of a process on one dedicated thread with a `zmq_poll` loop.
///
/// libzmq sockets are not thread-safe and their calls block, so they never touch the cooperative
/// thread pool. Async code talks to the loop through a command queue and a wake-up pipe that sits
/// in the poll set; inbound messages come back through one bounded ``InboundMessages`` per socket.
public final class SocketLoop: Sendable {
    private enum Command {
        case open(
            SocketID, SocketType, SocketOptions, bind: [String], connect: [String],
            InboundQueue, CheckedContinuation<[String], any Error>)
        case send(SocketID, [Data])
        case close(SocketID)
        /// Nothing to do: a consumer made room, so the loop polls for input again.
        case wake
        case stop(CheckedContinuation<Void, Never>)
    }

    private struct Shared {
        var commands: [Command] = []
        var nextID = 1
        var stopped = false
    }

    private let shared = Mutex(Shared())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let diagnostics: @Sendable (String) -> Void
    /// The CURVE keys of every socket opened here that only connects and has none of its own.
    public let clientKeys: CurveClientKeys?
    /// Why each CURVE client socket's last handshake failed, until one succeeds.
    private let failures = HandshakeFailures()

    /// Starts the loop thread.
    ///
    /// - Parameters:
    ///   - context: the process's libzmq context.
    ///   - name: the thread's name, for debuggers and logs.
    ///   - clientKeys: CURVE keys for the sockets opened here that connect without binding
    ///     (request clients, subscribers) and set no ``SocketOptions/curve`` of their own; nil
    ///     leaves them without security. A devnet that is secured gives its members' keys here.
    ///   - diagnostics: called on the loop thread for dropped messages and socket errors, and on
    ///     the context's ZAP handler thread for refused CURVE handshakes (with the peer's address).
    public init(
        context: ZMQContext,
        name: String = "zmq-loop",
        clientKeys: CurveClientKeys? = nil,
        diagnostics: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.clientKeys = clientKeys
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            fatalError("cannot create the socket loop's wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.diagnostics = diagnostics
        let engine = Engine(context: context, wakeFD: fds[0], diagnostics: diagnostics, failures: failures)
        let thread = Thread { [self] in
            engine.run(takeCommands: { self.takeCommands() }, takeFinalCommands: { self.takeFinalCommands() })
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Opens a socket, binds and connects it, and starts delivering its messages.
    ///
    /// - Throws: ``ZMQError`` naming the endpoint that could not be bound or connected.
    public func open(
        _ type: SocketType,
        options: SocketOptions = SocketOptions(),
        bind: [String] = [],
        connect: [String] = []
    ) async throws -> SocketHandle {
        var options = options
        if options.curve == nil, bind.isEmpty, let clientKeys { options.curve = .client(clientKeys) }
        let queue = InboundQueue(limit: options.inboundLimit) { [weak self] in _ = self?.enqueue(.wake) }
        let id = shared.withLock { state -> SocketID in
            defer { state.nextID += 1 }
            return SocketID(raw: state.nextID)
        }
        let bound = try await withCheckedThrowingContinuation { (result: CheckedContinuation<[String], any Error>) in
            if !enqueue(.open(id, type, options, bind: bind, connect: connect, queue, result)) {
                result.resume(throwing: ZMQError(code: ETERM, operation: "open \(type) socket"))
            }
        }
        return SocketHandle(id: id, type: type, boundEndpoints: bound, messages: InboundMessages(queue: queue))
    }

    /// Why the last CURVE handshake of a socket that connects failed (the server refused its key,
    /// say), or nil when it has not failed since its last success. A request that gets no reply
    /// can say this instead of only that it timed out.
    public func handshakeFailure(of socket: SocketID) -> String? {
        failures.get(socket)
    }

    /// Queues a multipart message for sending. Never blocks; the loop sends it in order.
    public func send(_ frames: [Data], on socket: SocketID) {
        _ = enqueue(.send(socket, frames))
    }

    /// Closes a socket and finishes its message stream.
    public func close(_ socket: SocketID) {
        _ = enqueue(.close(socket))
    }

    /// Closes every socket and stops the thread. Later calls do nothing.
    public func shutdown() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            if !enqueue(.stop(done)) { done.resume() }
        }
    }

    /// Appends a command and wakes the loop if it might be sleeping. False once stopped.
    private func enqueue(_ command: Command) -> Bool {
        let (accepted, wake) = shared.withLock { state -> (Bool, Bool) in
            guard !state.stopped else { return (false, false) }
            if case .stop = command { state.stopped = true }
            state.commands.append(command)
            return (true, state.commands.count == 1)
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
        return accepted
    }

    deinit {
        // Only here, once nothing can write a wake-up byte any more: the thread held `self` until
        // it ended, so closing earlier could make a late `write` raise SIGPIPE.
        _ = systemClose(wakeRead)
        _ = systemClose(wakeWrite)
    }

    /// The last commands, taken as the loop ends; later ones are refused by ``enqueue(_:)``.
    private func takeFinalCommands() -> [Command] {
        shared.withLock { state in
            state.stopped = true
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    private func takeCommands() -> [Command] {
        shared.withLock { state in
            defer { state.commands.removeAll(keepingCapacity: true) }
            return state.commands
        }
    }

    /// The state that lives on the loop thread only.
    private final class Engine: @unchecked Sendable {
        struct Entry {
            var socket: Socket
            let inbound: InboundQueue
            let options: SocketOptions
            /// Where the socket is bound, wildcard ports resolved: where it binds again.
            let endpoints: [String]
            var outbox: [[Data]] = []
            var outboxStart = 0
            /// XPUB only: every topic subscribed to since the socket was bound.
            var topics: Set<Data> = []
        }

        let context: ZMQContext
        let wakeFD: Int32
        let diagnostics: @Sendable (String) -> Void
        let failures: HandshakeFailures
        var sockets: [SocketID: Entry] = [:]
        /// The handshake monitors of CURVE sockets.
        var monitors: [SocketID: HandshakeMonitor] = [:]
        /// XPUB sockets closed for too many subscriptions, until their endpoints are free again.
        var rebinding: [SocketID: Rebinding] = [:]
        var stopRequests: [CheckedContinuation<Void, Never>] = []

        init(
            context: ZMQContext, wakeFD: Int32, diagnostics: @escaping @Sendable (String) -> Void,
            failures: HandshakeFailures
        ) {
            self.context = context
            self.wakeFD = wakeFD
            self.diagnostics = diagnostics
            self.failures = failures
        }

        /// Watches a CURVE socket's handshakes; a monitor that cannot start is reported, not fatal.
        func startMonitor(_ id: SocketID, _ entry: Entry, isServer: Bool) {
            guard entry.options.curve != nil else { return }
            var label = "\(entry.socket.type) \(id)"
            if case let .server(_, access) = entry.options.curve { label = access.label }
            do {
                monitors[id] = try HandshakeMonitor(entry.socket, context: context, isServer: isServer, label: label)
            } catch {
                diagnostics("cannot watch the CURVE handshakes of \(label): \(error)")
            }
        }

        func stopMonitor(_ id: SocketID) {
            monitors.removeValue(forKey: id)?.stop()
            failures.set(id, nil)
        }

        struct Rebinding {
            let entry: Entry
            var attempts = 0
        }

        func run(takeCommands: () -> [Command], takeFinalCommands: () -> [Command]) {
            var items: [zmq_pollitem_t] = []
            var ids: [SocketID] = []
            var monitorIDs: [SocketID] = []
            while stopRequests.isEmpty {
                items.removeAll(keepingCapacity: true)
                ids.removeAll(keepingCapacity: true)
                monitorIDs.removeAll(keepingCapacity: true)
                items.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
                for (id, entry) in sockets {
                    // A full inbound buffer: leave the messages in libzmq, whose high-water mark
                    // then holds the peers back, until the consumer makes room (a `.wake`).
                    var events: Int16 = entry.inbound.isFull && entry.socket.type != .xpub ? 0 : Int16(ZMQ_POLLIN)
                    if entry.outboxStart < entry.outbox.count { events |= Int16(ZMQ_POLLOUT) }
                    items.append(zmq_pollitem_t(socket: entry.socket.handle, fd: 0, events: events, revents: 0))
                    ids.append(id)
                }
                for (id, monitor) in monitors {
                    items.append(
                        zmq_pollitem_t(socket: monitor.socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
                    monitorIDs.append(id)
                }
                // A socket waiting to bind again tries every 10 ms: its old listener closes in
                // libzmq's own threads, a moment after the socket itself.
                let rc = zmq_poll(&items, Int32(items.count), rebinding.isEmpty ? -1 : 10)
                if rc < 0 {
                    let error = ZMQError.last("poll")
                    if error.code == EINTR { continue }
                    diagnostics("socket loop stopped: \(error)")
                    break
                }
                for (index, id) in ids.enumerated() {
                    let revents = items[index + 1].revents
                    if revents & Int16(ZMQ_POLLIN) != 0 { drainInbound(id) }
                    if revents & Int16(ZMQ_POLLOUT) != 0 { flush(id) }
                }
                for (index, id) in monitorIDs.enumerated()
                where items[1 + ids.count + index].revents & Int16(ZMQ_POLLIN) != 0 {
                    monitors[id]?.drain(record: { failures.set(id, $0) }, report: diagnostics)
                }
                if items[0].revents & Int16(ZMQ_POLLIN) != 0 {
                    var buffer = [UInt8](repeating: 0, count: 256)
                    while read(wakeFD, &buffer, buffer.count) > 0 {}
                    for command in takeCommands() { handle(command) }
                }
                for id in Array(rebinding.keys) { bindAgain(id) }
            }
            for command in takeFinalCommands() {
                if case let .open(_, type, _, _, _, inbound, result) = command {
                    inbound.finish()
                    result.resume(throwing: ZMQError(code: ETERM, operation: "open \(type) socket"))
                } else {
                    handle(command)
                }
            }
            for id in Array(sockets.keys) + Array(rebinding.keys) { closeSocket(id) }
            for request in stopRequests { request.resume() }
        }

        func handle(_ command: Command) {
            switch command {
            case let .open(id, type, options, bind, connect, inbound, result):
                var options = options
                do {
                    // A CURVE server gets a ZAP domain of its own, which the context's handler
                    // answers with the socket's access list.
                    if case let .server(_, access) = options.curve {
                        options.zapDomain = try context.zapHandler().register(access, report: diagnostics)
                    }
                    let socket = try Socket(context: context, type: type, options: options)
                    let entry = Entry(socket: socket, inbound: inbound, options: options, endpoints: [])
                    startMonitor(id, entry, isServer: !bind.isEmpty)
                    var bound: [String] = []
                    do {
                        for endpoint in bind { bound.append(try socket.bind(endpoint)) }
                        for endpoint in connect { try socket.connect(endpoint) }
                    } catch {
                        stopMonitor(id)
                        socket.close()
                        throw error
                    }
                    sockets[id] = Entry(socket: socket, inbound: inbound, options: options, endpoints: bound)
                    result.resume(returning: bound)
                } catch {
                    if let domain = options.zapDomain { try? context.zapHandler().unregister(domain) }
                    inbound.finish()
                    result.resume(throwing: error)
                }
            case let .send(id, frames):
                guard sockets[id] != nil else {
                    // Its subscribers are gone and reconnecting; they fetch what they missed.
                    if rebinding[id] != nil { return }
                    diagnostics("dropped a message for \(id): the socket is closed")
                    return
                }
                sockets[id]!.outbox.append(frames)
                flush(id)
            case let .close(id):
                closeSocket(id)
            case .wake:
                break
            case let .stop(done):
                stopRequests.append(done)
            }
        }

        func drainInbound(_ id: SocketID) {
            guard let entry = sockets[id] else { return }
            if entry.socket.type == .xpub { return countSubscriptions(id) }
            // A bounded batch per wake-up keeps one busy socket from starving the others.
            for _ in 0..<1024 {
                do {
                    guard let message = try entry.socket.receive(dontWait: true) else { return }
                    if !entry.inbound.push(message) { return }
                } catch {
                    diagnostics("receive on \(id) failed: \(error)")
                    return
                }
            }
        }

        func flush(_ id: SocketID) {
            guard var entry = sockets[id] else { return }
            defer { sockets[id] = entry }
            while entry.outboxStart < entry.outbox.count {
                let frames = entry.outbox[entry.outboxStart]
                do {
                    if try !entry.socket.send(frames, dontWait: true) {
                        // A ROUTER would block only on one peer's full queue: drop that reply
                        // rather than hold up every other peer's behind it.
                        guard entry.socket.type == .router else { break }
                        diagnostics("dropped a reply on ROUTER \(id): the peer's queue is full (it is not reading)")
                    }
                } catch {
                    // EHOSTUNREACH from a ROUTER: the peer is gone. Drop this reply, keep the rest.
                    diagnostics("dropped a message on \(entry.socket.type) \(id): \(error)")
                }
                entry.outboxStart += 1
            }
            if entry.outboxStart == entry.outbox.count {
                entry.outbox.removeAll(keepingCapacity: true)
                entry.outboxStart = 0
            }
        }

        /// Reads an XPUB's subscriptions and drops every subscriber once there are too many.
        ///
        /// libzmq has already stored each subscription it hands over, and has no call to refuse
        /// one or to drop one peer: closing the socket is the only way to free them. Frames that
        /// are not subscriptions (`0x01` + topic) are read and dropped, so they cannot pile up
        /// in libzmq either.
        func countSubscriptions(_ id: SocketID) {
            guard let socket = sockets[id]?.socket else { return }
            for _ in 0..<1024 {
                let message: [Data]
                do {
                    guard let received = try socket.receive(dontWait: true) else { return }
                    message = received
                } catch {
                    diagnostics("receive on \(id) failed: \(error)")
                    return
                }
                // An unsubscription (0x00) is not counted down: a peer could send one for a topic
                // that another peer holds, and libzmq would pass it on all the same.
                for frame in message where frame.first == 1 {
                    sockets[id]!.topics.insert(Data(frame.dropFirst()))
                }
                let count = sockets[id]!.topics.count
                if let limit = sockets[id]!.options.maxSubscriptions, count > limit {
                    dropSubscribers(id, count: count, limit: limit)
                    return
                }
            }
        }

        /// Closes an XPUB, and with it every subscription libzmq holds, and binds it again.
        func dropSubscribers(_ id: SocketID, count: Int, limit: Int) {
            guard var entry = sockets.removeValue(forKey: id) else { return }
            diagnostics(
                "dropped every subscriber of \(entry.socket.type) \(id) on \(entry.endpoints.joined(separator: ", ")): \(count) distinct subscriptions, over the limit of \(limit); it binds again and they reconnect"
            )
            stopMonitor(id)
            entry.socket.close()
            entry.topics = []
            // An XPUB never holds messages back (it drops them per subscriber), so this is empty.
            entry.outbox = []
            entry.outboxStart = 0
            rebinding[id] = Rebinding(entry: entry)
            bindAgain(id)
        }

        /// Opens a socket closed by ``countSubscriptions(_:)`` again on the same endpoints.
        func bindAgain(_ id: SocketID) {
            guard var pending = rebinding[id] else { return }
            var entry = pending.entry
            do {
                let socket = try Socket(context: context, type: entry.socket.type, options: entry.options)
                entry.socket = socket
                startMonitor(id, entry, isServer: true)
                do {
                    for endpoint in entry.endpoints { try socket.bind(endpoint) }
                } catch {
                    stopMonitor(id)
                    socket.close()
                    throw error
                }
                rebinding[id] = nil
                sockets[id] = entry
                if pending.attempts >= 100 { diagnostics("\(id) is bound again after \(pending.attempts) attempts") }
            } catch {
                pending.attempts += 1
                rebinding[id] = pending
                // The old listener usually closes within milliseconds; say so if it takes a second.
                if pending.attempts == 100 { diagnostics("\(id) cannot bind again yet (\(error)); still trying") }
            }
        }

        func closeSocket(_ id: SocketID) {
            if let pending = rebinding.removeValue(forKey: id) {
                forgetDomain(of: pending.entry)
                pending.entry.inbound.finish()
                return
            }
            guard let entry = sockets.removeValue(forKey: id) else { return }
            stopMonitor(id)
            entry.socket.close()
            forgetDomain(of: entry)
            entry.inbound.finish()
        }

        /// A closed CURVE server's ZAP domain: handshakes still arriving on it are refused.
        func forgetDomain(of entry: Entry) {
            if let domain = entry.options.zapDomain { try? context.zapHandler().unregister(domain) }
        }
    }
}

/// The last handshake failure of each CURVE client socket, shared by the loop thread and callers.
final class HandshakeFailures: Sendable {
    private let table = Mutex<[SocketID: String]>([:])

    func set(_ id: SocketID, _ failure: String?) {
        table.withLock { $0[id] = failure }
    }

    func get(_ id: SocketID) -> String? {
        table.withLock { $0[id] }
    }
}

/// `close(2)`, named apart from ``SocketLoop/close(_:)``.
private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.close(fd)
    #else
        Darwin.close(fd)
    #endif
}
