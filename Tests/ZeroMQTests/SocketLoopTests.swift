import DevnetClient
import DevnetProtocol
import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

@Suite("SocketLoop")
struct SocketLoopTests {
    /// An echo server on the loop: replies to every request with its own payload.
    private func startEcho(
        _ loop: SocketLoop, endpoint: String, delayFor: @escaping @Sendable (Data) -> Duration = { _ in .zero }
    ) async throws -> SocketHandle {
        let server = try await loop.open(.router, bind: [endpoint])
        Task {
            for await frames in server.messages {
                guard frames.count == 3, let (envelope, payload) = try? WireCodec.decodeMessage(frames.dropFirst())
                else { continue }
                let delay = delayFor(payload)
                Task {
                    if delay > .zero { try? await Task.sleep(for: delay) }
                    var reply = envelope
                    reply.status = .ok
                    loop.send([frames[0], try WireCodec.encode(reply), payload], on: server.id)
                }
            }
        }
        return server
    }

    @Test func requestsAreMatchedToRepliesById() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let server = try await startEcho(loop, endpoint: "tcp://127.0.0.1:*") { payload in
            // Later requests answer sooner, so replies arrive out of order.
            let n = Int(String(decoding: payload, as: UTF8.self)) ?? 0
            return .milliseconds(max(0, 50 - n))
        }
        let client = try await RequestClient.connect(to: server.boundEndpoints[0], on: loop)
        let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for n in 0..<50 {
                group.addTask {
                    // Generous: this is about matching replies, not speed, and CI machines are busy.
                    let reply = try await client.call("echo", n, as: Int.self, timeout: .seconds(60))
                    return (n, reply)
                }
            }
            var pairs: [(Int, Int)] = []
            for try await pair in group { pairs.append(pair) }
            return pairs
        }
        #expect(answers.count == 50)
        #expect(answers.allSatisfy { $0.0 == $0.1 })
        client.close()
        await loop.shutdown()
        context.terminate()
    }

    @Test func aRequestWithoutReplyTimesOutNamingTheEndpoint() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        // A ROUTER that never answers.
        let silent = try await loop.open(.router, bind: ["tcp://127.0.0.1:*"])
        let client = try await RequestClient.connect(to: silent.boundEndpoints[0], on: loop)
        await #expect {
            _ = try await client.send("health", Empty(), timeout: .milliseconds(100))
        } throws: { error in
            guard let error = error as? WireError else { return false }
            return error.code == .timeout && error.message.contains(silent.boundEndpoints[0])
                && error.message.contains("health")
        }
        await loop.shutdown()
        context.terminate()
    }

    @Test func bindErrorsReachTheCaller() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let first = try await loop.open(.router, bind: ["tcp://127.0.0.1:*"])
        await #expect {
            _ = try await loop.open(.router, bind: [first.boundEndpoints[0]])
        } throws: { error in
            (error as? ZMQError)?.isAddressInUse == true
        }
        await loop.shutdown()
        context.terminate()
    }

    @Test func repliesToGonePeersAreReportedNotFatal() async throws {
        let context = ZMQContext()
        let notes = Mutex<[String]>([])
        let loop = SocketLoop(context: context) { note in notes.withLock { $0.append(note) } }
        let server = try await loop.open(.router, bind: ["inproc://gone-\(UUID().uuidString)"])
        loop.send([Data("no-such-peer".utf8), Data("x".utf8)], on: server.id)
        // The loop is still alive and serving after the drop.
        let echo = try await startEcho(loop, endpoint: "inproc://alive-\(UUID().uuidString)")
        let client = try await RequestClient.connect(to: echo.boundEndpoints[0], on: loop)
        #expect(try await client.call("echo", "still here", as: String.self, timeout: .seconds(60)) == "still here")
        #expect(notes.withLock { $0.contains { $0.contains("dropped") } })
        await loop.shutdown()
        context.terminate()
    }

    /// Sends small messages without waiting until libzmq refuses one; returns how many went.
    private func sendUntilRefused(_ socket: Socket, from first: Int, upTo limit: Int) throws -> Int {
        var sent = 0
        while sent < limit, try socket.send([Data("\(first + sent)".utf8)], dontWait: true) { sent += 1 }
        return sent
    }

    @Test(.timeLimit(.minutes(1)))
    func aConsumerThatFallsBehindHoldsTheSenderBack() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let endpoint = "inproc://backpressure-\(UUID().uuidString)"
        var options = SocketOptions()
        options.receiveHighWaterMark = 10
        options.inboundLimit = InboundLimit(messages: 5, bytes: 1 << 20)
        let server = try await loop.open(.pair, options: options, bind: [endpoint])
        var clientOptions = SocketOptions()
        clientOptions.sendHighWaterMark = 10
        let client = try Socket(context: context, type: .pair, options: clientOptions)
        try client.connect(endpoint)

        // Nobody reads the server's messages. The loop takes what its buffer holds and then
        // leaves the rest in libzmq, so the sender is soon refused instead of filling memory.
        let attempts = 100_000
        var sent = try sendUntilRefused(client, from: 0, upTo: attempts)
        // Keep trying for a while: libzmq lets a refused sender go on as soon as the loop reads.
        let until = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < until, sent < attempts {
            try await Task.sleep(for: .milliseconds(2))
            sent += try sendUntilRefused(client, from: sent, upTo: attempts - sent)
        }
        #expect(sent > 0)
        #expect(sent < 1000, "the sender got \(sent) messages out with nobody reading")

        // Once the consumer reads, the loop reads again: every message arrives, in order.
        var received: [Int] = []
        var messages = server.messages.makeAsyncIterator()
        while received.count < sent, let frames = await messages.next() {
            received.append(Int(String(decoding: frames[0], as: UTF8.self)) ?? -1)
        }
        #expect(received == Array(0..<sent))
        // And the sender may send again (libzmq tells it so a moment after the reads).
        var resumed = false
        for _ in 0..<200 where !resumed {
            resumed = try client.send([Data("\(sent)".utf8)], dontWait: true)
            if !resumed { try await Task.sleep(for: .milliseconds(10)) }
        }
        try #require(resumed)
        #expect(await messages.next() == [Data("\(sent)".utf8)])
        client.close()
        await loop.shutdown()
        context.terminate()
    }

    @Test func shutdownFinishesMessageStreams() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let socket = try await loop.open(.router, bind: ["inproc://finish-\(UUID().uuidString)"])
        let drained = Task { () -> Int in
            var count = 0
            for await _ in socket.messages { count += 1 }
            return count
        }
        await loop.shutdown()
        #expect(await drained.value == 0)
        // Opening after shutdown fails instead of hanging.
        await #expect(throws: ZMQError.self) { _ = try await loop.open(.dealer) }
        context.terminate()
    }

    /// Publishes on `publisher` every 20 ms until `subscriber` receives something; false after 10 s.
    private func publishUntilReceived(_ loop: SocketLoop, on publisher: SocketID, by subscriber: SocketHandle) async
        -> Bool
    {
        let publishing = Task {
            while !Task.isCancelled {
                loop.send([Data("block".utf8), Data("{}".utf8)], on: publisher)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { publishing.cancel() }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var messages = subscriber.messages.makeAsyncIterator()
                return await messages.next() != nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// An XPUB with a subscription limit on the loop, and what the loop reports.
    private func openLimitedXPUB(_ loop: SocketLoop, limit: Int) async throws -> SocketHandle {
        var options = SocketOptions()
        options.maxSubscriptions = limit
        return try await loop.open(.xpub, options: options, bind: ["tcp://127.0.0.1:*"])
    }

    @Test(.timeLimit(.minutes(1)))
    func anXPUBOverItsSubscriptionLimitDropsEverySubscriberAndBindsAgain() async throws {
        let context = ZMQContext()
        let notes = Mutex<[String]>([])
        let loop = SocketLoop(context: context) { note in notes.withLock { $0.append(note) } }
        let publisher = try await openLimitedXPUB(loop, limit: 8)
        let endpoint = publisher.boundEndpoints[0]
        let subscriber = try await loop.open(.sub, options: .subscriber([""]), connect: [endpoint])
        #expect(await publishUntilReceived(loop, on: publisher.id, by: subscriber))

        // Twenty distinct subscriptions from one peer: one past the limit, every subscriber goes.
        let flood = try Socket(context: context, type: .sub, options: .subscriber((0..<20).map { "topic-\($0)" }))
        try flood.connect(endpoint)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, notes.withLock({ $0.isEmpty }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        flood.close()
        let first = try #require(notes.withLock { $0.first })
        #expect(first.contains("9 distinct subscriptions, over the limit of 8"), "\(first)")
        #expect(first.contains(endpoint))

        // The socket is bound again on the same endpoint, and the subscriber, reconnected by
        // libzmq, receives again.
        #expect(await publishUntilReceived(loop, on: publisher.id, by: subscriber))
        #expect(publisher.boundEndpoints == [endpoint])
        await loop.shutdown()
        context.terminate()
    }

    @Test(.timeLimit(.minutes(1)))
    func subscribersThatComeAndGoOnTheSameTopicsCountOnce() async throws {
        let context = ZMQContext()
        let notes = Mutex<[String]>([])
        let loop = SocketLoop(context: context) { note in notes.withLock { $0.append(note) } }
        let publisher = try await openLimitedXPUB(loop, limit: 2)
        // Each round the topics lose their last subscriber and gain a first one again.
        for _ in 0..<5 {
            let subscriber = try await loop.open(
                .sub, options: .subscriber(["", "block"]), connect: [publisher.boundEndpoints[0]])
            #expect(await publishUntilReceived(loop, on: publisher.id, by: subscriber))
            loop.close(subscriber.id)
            for await _ in subscriber.messages {}
        }
        #expect(notes.withLock { $0 } == [])
        await loop.shutdown()
        context.terminate()
    }

    @Test func anXPUBHandsNoSubscriptionsToItsConsumer() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        let publisher = try await openLimitedXPUB(loop, limit: 100)
        let subscriber = try await loop.open(.sub, options: .subscriber(["block"]), connect: publisher.boundEndpoints)
        #expect(await publishUntilReceived(loop, on: publisher.id, by: subscriber))
        await loop.shutdown()
        var received = 0
        for await _ in publisher.messages { received += 1 }
        #expect(received == 0)
        context.terminate()
    }
}
