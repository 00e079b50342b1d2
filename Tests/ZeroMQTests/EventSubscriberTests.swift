import DevnetClient
import DevnetProtocol
import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("EventSubscriber")
struct EventSubscriberTests {
    /// A fake daemon: a PUB endpoint and an API endpoint that serves `events` from what it has
    /// "published" so far, counting the requests.
    final class FakePublisher: Sendable {
        let history = Mutex<[PublishedEvent]>([])
        let requests = Atomic<Int>(0)
        let loop: SocketLoop
        let publisher: SocketHandle
        let api: SocketHandle

        init(loop: SocketLoop, id: String) async throws {
            self.loop = loop
            publisher = try await loop.open(.pub, bind: ["inproc://events-\(id)"])
            api = try await loop.open(.router, bind: ["inproc://api-\(id)"])
        }

        func serve() async {
            for await frames in api.messages {
                guard let (envelope, payload) = try? WireCodec.decodeMessage(frames.dropFirst()),
                    let request = try? WireCodec.decode(EventsRequest.self, from: payload, messageType: envelope.type)
                else { continue }
                requests.add(1, ordering: .relaxed)
                let all = history.withLock { $0 }
                let events = Array(all.filter { $0.seq >= request.fromSeq }.prefix(request.limit ?? 1000))
                let reply = EventsReply(events: events, lastSeq: all.last?.seq ?? 0, firstAvailableSeq: 1)
                if let replyFrames = try? WireCodec.reply(to: envelope, payload: reply) {
                    loop.send([frames[0]] + replyFrames, on: api.id)
                }
            }
        }

        /// Records event `seq`; sends it on the PUB socket only when `live`.
        func publish(_ seq: UInt64, live: Bool) throws {
            let event = PublishedEvent(seq: seq, topic: seq % 2 == 0 ? "block" : "receipt", payload: "{\"n\":\(seq)}")
            history.withLock { $0.append(event) }
            if live {
                loop.send(
                    try WireCodec.event(topic: event.topic, seq: seq, payload: Data(event.payload.utf8)),
                    on: publisher.id)
            }
        }
    }

    @Test func missedEventsAreFetchedAndOrderIsKept() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let id = UUID().uuidString
        let fake = try await FakePublisher(loop: loop, id: id)
        let server = Task { await fake.serve() }
        try fake.publish(1, live: true)
        try fake.publish(2, live: true)
        let subscriber = try await EventSubscriber.connect(
            events: "inproc://events-\(id)", api: "inproc://api-\(id)", on: loop)
        var received: [UInt64] = []
        var iterator = subscriber.events.makeAsyncIterator()
        // Bounded: a subscriber that never fetches fails here instead of hanging.
        let firstWatchdog = Task {
            try await Task.sleep(for: .seconds(60))
            subscriber.close()
        }
        // 1 and 2 come from the first fetch, whatever the subscription saw.
        while received.count < 2, let event = await iterator.next() { received.append(event.seq) }
        firstWatchdog.cancel()
        #expect(received == [1, 2])
        let before = fake.requests.load(ordering: .relaxed)
        // 3…5 are "lost" on the way; 6 arrives live and reveals the gap.
        for seq: UInt64 in 3...5 { try fake.publish(seq, live: false) }
        try fake.publish(6, live: true)
        // Bounded: a subscriber that never fills the gap fails here instead of hanging.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            subscriber.close()
        }
        while received.count < 6, let event = await iterator.next() { received.append(event.seq) }
        watchdog.cancel()
        #expect(received == [1, 2, 3, 4, 5, 6])
        #expect(fake.requests.load(ordering: .relaxed) > before, "the gap was filled by a request")
        subscriber.close()
        server.cancel()
        await loop.shutdown()
        context.terminate()
    }

    @Test func topicsAreFilteredAfterTheGapCheck() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let id = UUID().uuidString
        let fake = try await FakePublisher(loop: loop, id: id)
        let server = Task { await fake.serve() }
        for seq: UInt64 in 1...6 { try fake.publish(seq, live: false) }
        let subscriber = try await EventSubscriber.connect(
            events: "inproc://events-\(id)", api: "inproc://api-\(id)", topics: ["block"], fromSeq: 3, on: loop
        )
        var received: [UInt64] = []
        for await event in subscriber.events {
            received.append(event.seq)
            #expect(event.topic == "block")
            if received.count == 2 { break }
        }
        #expect(received == [4, 6])
        subscriber.close()
        server.cancel()
        await loop.shutdown()
        context.terminate()
    }
}
