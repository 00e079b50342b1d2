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
    private let pending = Mutex<[UInt64: CheckedContinuation<RawReply, any Error>]>([:])
    private let nextID = Atomic<UInt64>(1)

    private init(loop: SocketLoop, socket: SocketID, endpoint: String) {
        self.loop = loop
        self.socket = socket
        self.endpoint = endpoint
    }

    /// Connects to a daemon's ROUTER endpoint. The connection completes in the background;
    /// requests sent before it does are queued.
    public static func connect(to endpoint: String, on loop: SocketLoop) async throws -> RequestClient {
        let handle = try await loop.open(.dealer, connect: [endpoint])
        let client = RequestClient(loop: loop, socket: handle.id, endpoint: endpoint)
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
        let endpoint = self.endpoint
        return try await withThrowingTaskGroup(of: RawReply?.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    self.pending.withLock { $0[id] = continuation }
                    self.loop.send(frames, on: self.socket)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let reply = result { return reply }
                // The timer fired first: take the continuation back and fail it.
                if let continuation = self.pending.withLock({ $0.removeValue(forKey: id) }) {
                    continuation.resume(
                        throwing: WireError(.timeout, "no reply to '\(type)' from \(endpoint) within \(timeout)"))
                }
            }
            throw WireError(.timeout, "no reply to '\(type)' from \(endpoint) within \(timeout)")
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

    private func deliver(_ frames: [Data]) {
        guard let (envelope, payload) = try? WireCodec.decodeMessage(frames), let id = envelope.id else { return }
        let continuation = pending.withLock { $0.removeValue(forKey: id) }
        continuation?.resume(returning: RawReply(envelope: envelope, payload: payload))
    }

    private func failAll(_ error: WireError) {
        let waiting = pending.withLock { pending -> [CheckedContinuation<RawReply, any Error>] in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}
