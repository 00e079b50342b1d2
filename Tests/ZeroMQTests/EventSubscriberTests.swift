import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import ZeroMQ

@Suite("EventSubscriber")
struct EventSubscriberTests {
    @Test func missedEventsAreFetchedAndOrderIsKept() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let id = UUID().uuidString
        let publisher = try await loop.open(.pub, bind: ["inproc://events-\(id)"])
        let api = try await loop.open(.router, bind: ["inproc://api-\(id)"])
        let all = (1...10).map {
            PublishedEvent(seq: UInt64($0), topic: $0 % 2 == 0 ? "block" : "receipt", payload: "{\"n\":\($0)}")
        }
        // The API endpoint serves gap fetches from the full history.
        let server = Task {
            for await frames in api.messages {
                guard let (envelope, payload) = try? WireCodec.decodeMessage(frames.dropFirst()),
                    let request = try? WireCodec.decode(EventsRequest.self, from: payload, messageType: envelope.type)
                else { continue }
                let events = Array(all.filter { $0.seq >= request.fromSeq }.prefix(request.limit ?? 1000))
                let reply = EventsReply(events: events, lastSeq: 10, firstAvailableSeq: 1)
                loop.send([frames[0]] + (try WireCodec.reply(to: envelope, payload: reply)), on: api.id)
            }
        }
        let subscriber = try await EventSubscriber.connect(
            events: "inproc://events-\(id)", api: "inproc://api-\(id)", topics: ["block"], fromSeq: 3, on: loop
        )
        // Live: only 8 and 10 are published; the rest must come from the gap fetches.
        for seq in [8, 10] {
            let event = all[seq - 1]
            loop.send(
                try WireCodec.event(topic: event.topic, seq: event.seq, payload: Data(event.payload.utf8)),
                on: publisher.id)
        }
        var received: [UInt64] = []
        for await event in subscriber.events {
            received.append(event.seq)
            #expect(event.topic == "block")
            if received.count == 4 { break }
        }
        #expect(received == [4, 6, 8, 10])
        subscriber.close()
        server.cancel()
        await loop.shutdown()
        context.terminate()
    }
}
