public import DevnetProtocol
public import Foundation
import Synchronization
public import ZeroMQ

/// A reply as it came off the wire: its envelope and the raw payload.
public struct RawReply: Sendable {
    public var envelope: Envelope
    public var payload: Data

    /// Decodes an `ok` reply, or throws the daemon's ``WireError``.
    public func decode<T: Decodable>(_ type: T.Type) throws(WireError) -> T {
        if envelope.status == .error {
            throw WireCodec.decodeOrDescribe(WireError.self, payload, envelope.type)
        }
        return try WireCodec.decode(T.self, from: payload, messageType: envelope.type)
    }
}

extension WireCodec {
    static func decodeOrDescribe(_ type: WireError.Type, _ payload: Data, _ messageType: String) -> WireError {
        (try? makeDecoder().decode(WireError.self, from: payload))
            ?? WireError(.badPayload, "error reply to '\(messageType)' could not be read")
    }
}

/// Sends requests to one daemon endpoint over a DEALER socket and matches replies by request id.
///
/// Many requests may be in flight at once; nothing waits in lockstep.
public final class RequestClient: Sendable {
    private let loop: SocketLoop
    private let socket: SocketID
    public let endpoint: String
    private struct Waiting {
        var continuation: CheckedContinuation<RawReply, any Error>
        var timer: Task<Void, Never>?
    }

    private let pending = Mutex<[UInt64: Waiting]>([:])
    private let nextID = Atomic<UInt64>(1)
    /// The network faults this connection obeys (fault hooks; none unless set).
    private let faults: NetworkFaults

    private init(loop: SocketLoop, socket: SocketID, endpoint: String, faults: NetworkFaults) {
        self.loop = loop
        self.socket = socket
        self.endpoint = endpoint
        self.faults = faults
    }

    /// Connects to a daemon's ROUTER endpoint. The connection completes in the background;
    /// requests sent before it does are queued.
    ///
    /// - Parameter faults: the network faults it obeys; the process's shared table by default.
    public static func connect(
        to endpoint: String, on loop: SocketLoop, faults: NetworkFaults = .shared
    ) async throws -> RequestClient {
        let handle = try await loop.open(.dealer, connect: [endpoint])
        let client = RequestClient(loop: loop, socket: handle.id, endpoint: endpoint, faults: faults)
        let messages = handle.messages
        // The reader ends when the socket closes and its stream finishes.
        Task { [client] in
            for await frames in messages { client.deliver(frames) }
            client.failAll(WireError(.shuttingDown, "the connection to \(endpoint) was closed"))
        }
        return client
    }

    /// Sends a request and waits for its reply.
    ///
    /// - Throws: ``WireError`` with code `TIMEOUT` naming the endpoint if no reply comes in time.
    public func send(_ type: String, _ payload: some Encodable = Empty(), timeout: Duration = .seconds(5)) async throws
        -> RawReply
    {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let frames = try WireCodec.request(type: type, id: id, payload: payload)
        let timeoutError = WireError(.timeout, "no reply to '\(type)' from \(endpoint) within \(timeout)")
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RawReply, any Error>) in
                // Register before sending and before arming the timer, so every path finds it.
                pending.withLock { $0[id] = Waiting(continuation: continuation) }
                switch faults.action(endpoint: endpoint, direction: .out) {
                case .pass:
                    loop.send(frames, on: socket)
                case .drop:
                    break  // lost on the way: the timer below answers
                case .delay(let delay):
                    Task { [loop, socket] in
                        try? await Task.sleep(for: delay)
                        loop.send(frames, on: socket)
                    }
                }
                let timer = Task { [self] in
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return }
                    // A refused CURVE handshake looks like silence: say so when it is the cause.
                    if let failure = loop.handshakeFailure(of: socket) {
                        finish(
                            id,
                            with: .failure(
                                WireError(
                                    .timeout, "no reply to '\(type)' from \(endpoint) within \(timeout): \(failure)")))
                    } else {
                        finish(id, with: .failure(timeoutError))
                    }
                }
                pending.withLock { if $0[id] != nil { $0[id]?.timer = timer } else { timer.cancel() } }
            }
        } onCancel: {
            finish(id, with: .failure(CancellationError()))
        }
    }

    /// Sends a request and decodes its `ok` reply.
    public func call<Reply: Decodable>(
        _ type: String, _ payload: some Encodable = Empty(), as reply: Reply.Type, timeout: Duration = .seconds(5)
    ) async throws -> Reply {
        try await send(type, payload, timeout: timeout).decode(Reply.self)
    }

    /// Closes the socket; requests still waiting fail.
    public func close() {
        loop.close(socket)
    }

    /// Resumes the request `id` once: whichever of reply, timeout, cancellation or close comes first.
    private func finish(_ id: UInt64, with result: Result<RawReply, any Error>) {
        guard let waiting = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        waiting.timer?.cancel()
        waiting.continuation.resume(with: result)
    }

    private func deliver(_ frames: [Data]) {
        guard let (envelope, payload) = try? WireCodec.decodeMessage(frames), let id = envelope.id else { return }
        let reply = RawReply(envelope: envelope, payload: payload)
        switch faults.action(endpoint: endpoint, direction: .back) {
        case .pass:
            finish(id, with: .success(reply))
        case .drop:
            break  // lost on the way back: the request times out
        case .delay(let delay):
            Task { [self] in
                try? await Task.sleep(for: delay)
                finish(id, with: .success(reply))
            }
        }
    }

    private func failAll(_ error: WireError) {
        let ids = pending.withLock { Array($0.keys) }
        for id in ids { finish(id, with: .failure(error)) }
    }
}
