import Foundation
import Testing

@testable import ZeroMQ

@Suite("Socket")
struct SocketTests {
    let context = ZMQContext()

    private func roundTrip(endpoint: String) throws {
        let server = try Socket(context: context, type: .router)
        let bound = try server.bind(endpoint)
        let client = try Socket(context: context, type: .dealer)
        try client.connect(bound)
        #expect(try client.send([Data("hello".utf8), Data(), Data([0, 1, 2])], dontWait: false))
        let received = try #require(try server.receive(dontWait: false))
        // ROUTER prepends the peer's routing id; the frames follow unchanged, empty one included.
        #expect(received.count == 4)
        #expect(Array(received.dropFirst()) == [Data("hello".utf8), Data(), Data([0, 1, 2])])
        #expect(try server.send([received[0], Data("world".utf8)], dontWait: false))
        #expect(try client.receive(dontWait: false) == [Data("world".utf8)])
        client.close()
        server.close()
    }

    @Test func multipartRoundTripOverInproc() throws {
        try roundTrip(endpoint: "inproc://socket-tests-\(UUID().uuidString)")
    }

    @Test func multipartRoundTripOverIPC() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zmq-\(UUID().uuidString.prefix(8)).sock"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try roundTrip(endpoint: "ipc://\(path)")
    }

    @Test func wildcardTCPPortIsResolved() throws {
        let server = try Socket(context: context, type: .router)
        let bound = try server.bind("tcp://127.0.0.1:*")
        #expect(bound.hasPrefix("tcp://127.0.0.1:"))
        let port = try #require(Int(bound.split(separator: ":").last ?? ""))
        #expect(port > 0)
        server.close()
        try roundTrip(endpoint: "tcp://127.0.0.1:*")
    }

    @Test func bindingATakenPortSaysAddressInUse() throws {
        let first = try Socket(context: context, type: .router)
        let bound = try first.bind("tcp://127.0.0.1:*")
        let second = try Socket(context: context, type: .router)
        #expect {
            try second.bind(bound)
        } throws: { error in
            let error = try #require(error as? ZMQError)
            return error.isAddressInUse && error.description.contains(bound)
        }
    }

    @Test func receiveWithoutMessageReturnsNil() throws {
        let socket = try Socket(context: context, type: .router)
        try socket.bind("inproc://empty-\(UUID().uuidString)")
        #expect(try socket.receive(dontWait: true) == nil)
    }

    @Test func subscriberOnlySeesItsTopics() throws {
        let endpoint = "inproc://pubsub-\(UUID().uuidString)"
        let publisher = try Socket(context: context, type: .pub)
        try publisher.bind(endpoint)
        let subscriber = try Socket(context: context, type: .sub, options: .subscriber(["block"]))
        try subscriber.connect(endpoint)
        // A subscription takes a moment to reach the publisher; publish until one arrives.
        var got: [Data]?
        for _ in 0..<200 where got == nil {
            _ = try publisher.send([Data("receipt".utf8), Data("r".utf8)])
            _ = try publisher.send([Data("block".utf8), Data("b".utf8)])
            Thread.sleep(forTimeInterval: 0.005)
            got = try subscriber.receive(dontWait: true)
        }
        #expect(got == [Data("block".utf8), Data("b".utf8)])
        while let more = try subscriber.receive(dontWait: true) {
            #expect(more[0] == Data("block".utf8))
        }
    }

    @Test func oversizedMessageIsDroppedAndTheSocketKeepsWorking() throws {
        var options = SocketOptions()
        options.maxMessageSize = 1024
        let server = try Socket(context: context, type: .router, options: options)
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        let big = try Socket(context: context, type: .dealer)
        try big.connect(endpoint)
        _ = try big.send([Data(repeating: 7, count: 4096)], dontWait: false)
        let small = try Socket(context: context, type: .dealer)
        try small.connect(endpoint)
        _ = try small.send([Data("ok".utf8)], dontWait: false)
        var received: [[Data]] = []
        for _ in 0..<200 {
            if let message = try server.receive(dontWait: true) { received.append(message) }
            if !received.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        Thread.sleep(forTimeInterval: 0.05)
        while let message = try server.receive(dontWait: true) { received.append(message) }
        #expect(received.count == 1)
        #expect(received.first?.last == Data("ok".utf8))
    }

    @Test func routerMandatoryRefusesUnknownPeers() throws {
        let server = try Socket(context: context, type: .router)
        try server.bind("inproc://mandatory-\(UUID().uuidString)")
        #expect {
            try server.send([Data("nobody".utf8), Data("x".utf8)])
        } throws: { error in
            (error as? ZMQError)?.code == EHOSTUNREACH
        }
    }

    @Test func libraryVersionIsFour() {
        #expect(ZMQContext.libraryVersion.hasPrefix("4."))
    }
}
