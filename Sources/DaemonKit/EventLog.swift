public import DevnetProtocol
public import DevnetStorage
public import Foundation
import GRDB
import Synchronization

/// Numbers and remembers published events, so subscribers can fill gaps with an `events` request.
///
/// Sequence numbers start at 1 and have no gaps, across restarts when the log is kept in the
/// process's database. The most recent `capacity` events are served from memory.
public final class EventLog: Sendable {
    private struct State {
        var nextSeq: UInt64 = 1
        var recent: [PublishedEvent] = []
        var start = 0
    }

    private let state = Mutex(State())
    private let database: ProcessDatabase?
    public let capacity: Int

    /// A log in memory only.
    public init(capacity: Int = 65_536) {
        self.capacity = capacity
        database = nil
    }

    /// A log kept in the `events` table of a process database; resumes numbering where it stopped.
    public init(database: ProcessDatabase, capacity: Int = 65_536) throws {
        self.capacity = capacity
        self.database = database
        let recent = try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, topic, payload FROM events ORDER BY seq DESC LIMIT ?", arguments: [capacity]
            )
            .reversed()
            .map { PublishedEvent(seq: UInt64($0["seq"] as Int64), topic: $0["topic"], payload: $0["payload"]) }
        }
        state.withLock { state in
            state.recent = recent
            state.nextSeq = (recent.last?.seq ?? 0) + 1
        }
    }

    /// Assigns the next sequence number to an event and keeps it.
    public func append(topic: String, payload: Data) throws -> UInt64 {
        try append([(topic, payload)])[0]
    }

    /// Assigns consecutive sequence numbers to `events`, in order, and keeps them all in one
    /// database transaction (all or none).
    public func append(_ events: [(topic: String, payload: Data)]) throws -> [UInt64] {
        try state.withLock { state in
            let first = state.nextSeq
            let published = events.enumerated().map { offset, event in
                PublishedEvent(
                    seq: first + UInt64(offset), topic: event.topic,
                    payload: String(decoding: event.payload, as: UTF8.self))
            }
            try database?.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO events(seq, topic, payload) VALUES (?, ?, ?)")
                for event in published {
                    try insert.execute(arguments: [Int64(event.seq), event.topic, event.payload])
                }
            }
            for event in published {
                state.nextSeq += 1
                if state.recent.count < capacity {
                    state.recent.append(event)
                } else {
                    state.recent[state.start] = event
                    state.start = (state.start + 1) % capacity
                }
            }
            return published.map(\.seq)
        }
    }

    /// The most payload bytes one `events` reply carries, well under any client's message limit.
    public static let maxReplyBytes = 4 * 1024 * 1024

    /// Events with `seq >= fromSeq`, oldest first, at most `limit` of them and about
    /// ``maxReplyBytes`` of payload (at least one event, so a client always makes progress).
    public func events(from fromSeq: UInt64, limit: Int) -> EventsReply {
        state.withLock { state in
            let count = state.recent.count
            var events: [PublishedEvent] = []
            var bytes = 0
            for offset in 0..<count where events.count < limit {
                let event = state.recent[(state.start + offset) % count]
                guard event.seq >= fromSeq else { continue }
                bytes += event.payload.utf8.count
                if bytes > Self.maxReplyBytes, !events.isEmpty { break }
                events.append(event)
            }
            let first = count == 0 ? state.nextSeq : state.recent[state.start].seq
            return EventsReply(events: events, lastSeq: state.nextSeq - 1, firstAvailableSeq: first)
        }
    }
}
