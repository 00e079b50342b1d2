public import Foundation
public import DevnetProtocol
import Synchronization

/// Numbers and remembers published events, so subscribers can fill gaps with an `events` request.
///
/// Sequence numbers start at 1 and have no gaps. The most recent `capacity` events are kept.
public final class EventLog: Sendable {
    private struct State {
        var nextSeq: UInt64 = 1
        var recent: [PublishedEvent] = []
        var start = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    /// Assigns the next sequence number to an event and keeps it.
    public func append(topic: String, payload: Data) -> UInt64 {
        state.withLock { state in
            let seq = state.nextSeq
            state.nextSeq += 1
            let event = PublishedEvent(seq: seq, topic: topic, payload: String(decoding: payload, as: UTF8.self))
            if state.recent.count < capacity {
                state.recent.append(event)
            } else {
                state.recent[state.start] = event
                state.start = (state.start + 1) % capacity
            }
            return seq
        }
    }

    /// Events with `seq >= fromSeq`, oldest first, at most `limit` of them.
    public func events(from fromSeq: UInt64, limit: Int) -> EventsReply {
        state.withLock { state in
            let count = state.recent.count
            var events: [PublishedEvent] = []
            for offset in 0..<count where events.count < limit {
                let event = state.recent[(state.start + offset) % count]
                if event.seq >= fromSeq { events.append(event) }
            }
            let first = count == 0 ? state.nextSeq : state.recent[state.start].seq
            return EventsReply(events: events, lastSeq: state.nextSeq - 1, firstAvailableSeq: first)
        }
    }
}
