import DevnetProtocol
public import Foundation
import Synchronization
public import ZeroMQ

/// One event as a subscriber receives it.
public struct ReceivedEvent: Sendable {
    public var seq: UInt64
    public var topic: String
    public var payload: Data

    /// Decodes the payload.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try WireCodec.decode(T.self, from: payload, messageType: topic)
    }
}

/// Follows a daemon's events in order and without gaps.
///
/// It subscribes to every topic of the events endpoint, and whenever a sequence number jumps it asks
/// the daemon's API endpoint for the missed events (`events`), so the stream it yields has every
/// event from `fromSeq` on, exactly once, in order. Events of other topics are filtered out after
/// the gap check.
///
/// A daemon whose events endpoint is flooded with subscriptions drops every subscriber
/// (docs/wire-protocol.md, Limits); the socket reconnects by itself, and the first event after
/// that reveals the gap, filled the same way.
public final class EventSubscriber: Sendable {
    public let events: AsyncStream<ReceivedEvent>
    private let loop: SocketLoop
    private let socket: SocketID
    private let client: RequestClient
    private let continuation: AsyncStream<ReceivedEvent>.Continuation
    /// Set by ``close()``: the follower stops asking for missed events.
    private let closed = Atomic<Bool>(false)

    private init(
        events: AsyncStream<ReceivedEvent>, continuation: AsyncStream<ReceivedEvent>.Continuation, loop: SocketLoop,
        socket: SocketID, client: RequestClient
    ) {
        self.events = events
        self.continuation = continuation
        self.loop = loop
        self.socket = socket
        self.client = client
    }

    private var isClosed: Bool { closed.load(ordering: .relaxed) }

    /// Subscribes and starts delivering from `fromSeq` (1: everything the daemon still keeps).
    public static func connect(
        events endpoint: String,
        api: String,
        topics: Set<String>? = nil,
        fromSeq: UInt64 = 1,
        on loop: SocketLoop
    ) async throws -> EventSubscriber {
        let handle = try await loop.open(.sub, options: .subscriber([""]), connect: [endpoint])
        let client = try await RequestClient.connect(to: api, on: loop)
        let (stream, continuation) = AsyncStream.makeStream(of: ReceivedEvent.self)
        let subscriber = EventSubscriber(
            events: stream, continuation: continuation, loop: loop, socket: handle.id, client: client)
        let messages = handle.messages
        Task {
            var next = fromSeq
            func deliver(_ event: ReceivedEvent) {
                guard event.seq == next else { return }
                next += 1
                if topics?.contains(event.topic) ?? true { continuation.yield(event) }
            }
            /// One `events` request, asked again until it is answered: a busy or restarting
            /// daemon delays the events, it does not lose them. Nil once the subscriber is closed.
            func fetch() async -> EventsReply? {
                while !subscriber.isClosed {
                    do {
                        return try await client.call(
                            AdminMessage.events, EventsRequest(fromSeq: next, limit: 1000), as: EventsReply.self,
                            timeout: .seconds(5))
                    } catch let error as WireError where error.code == .shuttingDown {
                        return nil
                    } catch {
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                return nil
            }
            /// Fetches events [next, upTo) from the API endpoint.
            func fill(upTo end: UInt64?) async {
                while end.map({ next < $0 }) ?? true {
                    guard let reply = await fetch() else { return }
                    if reply.firstAvailableSeq > next { next = reply.firstAvailableSeq }
                    let before = next
                    for event in reply.events where end.map({ event.seq < $0 }) ?? true {
                        deliver(ReceivedEvent(seq: event.seq, topic: event.topic, payload: Data(event.payload.utf8)))
                    }
                    if next == before || next > reply.lastSeq { return }
                }
            }
            // Whatever was published before we connected.
            await fill(upTo: nil)
            for await frames in messages {
                guard let (topic, envelope, payload) = try? WireCodec.decodeEvent(frames), let seq = envelope.seq else {
                    continue
                }
                if seq > next { await fill(upTo: seq) }
                deliver(ReceivedEvent(seq: seq, topic: topic, payload: payload))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            loop.close(handle.id)
            client.close()
        }
        return subscriber
    }

    /// Stops following; the event stream finishes.
    public func close() {
        closed.store(true, ordering: .relaxed)
        loop.close(socket)
        client.close()
        continuation.finish()
    }
}
