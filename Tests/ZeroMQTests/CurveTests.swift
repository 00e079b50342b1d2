import DevnetClient
import DevnetProtocol
import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

/// What a loop reported, for assertions.
private final class Notes: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }

    /// Whether a line matching `condition` arrives within 10 s (reports come from other threads).
    func eventually(_ condition: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if all.contains(where: condition) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

@Suite("CurveZMQ", .timeLimit(.minutes(2)))
struct CurveTests {
    let server = try! CurveKeyPair.generate()
    let member = try! CurveKeyPair.generate()
    let admin = try! CurveKeyPair.generate()

    /// A CURVE echo server letting in `allowed`, on a loop of its own that reports to `notes`.
    private func startEcho(
        _ context: ZMQContext, allowed: [CurveKey: String], label: String = "test endpoint", notes: Notes
    ) async throws -> (SocketLoop, SocketHandle) {
        let loop = SocketLoop(context: context, name: "curve-server") { notes.add($0) }
        var options = SocketOptions()
        options.curve = .server(server, CurveAccess(label: label, allowed: allowed))
        let socket = try await loop.open(.router, options: options, bind: ["tcp://127.0.0.1:*"])
        Task {
            for await frames in socket.messages {
                guard frames.count == 3, let (envelope, payload) = try? WireCodec.decodeMessage(frames.dropFirst())
                else { continue }
                var reply = envelope
                reply.status = .ok
                loop.send([frames[0], try WireCodec.encode(reply), payload], on: socket.id)
            }
        }
        return (loop, socket)
    }

    /// Whether one `echo` request through a client loop with `keys` gets its reply in time.
    private func answered(_ endpoint: String, keys: CurveClientKeys?, timeout: Duration = .milliseconds(500))
        async throws -> Bool
    {
        try await attempt(endpoint, keys: keys, timeout: timeout) == nil
    }

    /// One `echo` request: nil when it is answered, else the timeout's message.
    private func attempt(_ endpoint: String, keys: CurveClientKeys?, timeout: Duration = .milliseconds(500))
        async throws -> String?
    {
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "curve-client", clientKeys: keys)
        let client = try await RequestClient.connect(to: endpoint, on: loop)
        var failure: String?
        do {
            let reply = try await client.call("echo", 7, as: Int.self, timeout: timeout)
            if reply != 7 { failure = "wrong reply \(reply)" }
        } catch let error as WireError where error.code == .timeout {
            failure = error.message
        }
        client.close()
        await loop.shutdown()
        context.terminate()
        return failure
    }

    @Test func keysReadAndWriteAsZ85AndHex() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.count == 40)
        #expect(try CurveKey(text: pair.secretKey.z85) == pair.secretKey)
        #expect(try CurveKey(text: pair.publicKey.hex) == pair.publicKey)
        #expect(try CurveKey(bytes: pair.publicKey.bytes) == pair.publicKey)
        // The public key is a function of the secret one.
        #expect(try CurveKeyPair(secretKey: pair.secretKey).publicKey == pair.publicKey)
        // The Z85 test vector of ZeroMQ RFC 32: 86 4F D2 6F B5 59 F7 5B is "HelloWorld".
        var bytes = Data([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])
        bytes.append(Data(repeating: 0, count: 24))
        #expect(try CurveKey(bytes: bytes).z85.hasPrefix("HelloWorld"))
        #expect(throws: CurveKeyError.self) { try CurveKey(text: "short") }
        #expect(throws: CurveKeyError.self) { try CurveKey(bytes: Data(count: 31)) }
        #expect(!pair.description.contains(pair.secretKey.z85))
    }

    @Test func aClientWithTheRightKeysGetsReplies() async throws {
        let context = ZMQContext()
        let notes = Notes()
        let (loop, socket) = try await startEcho(context, allowed: [member.publicKey: "member"], notes: notes)
        let endpoint = socket.boundEndpoints[0]
        #expect(
            try await answered(
                endpoint, keys: CurveClientKeys(client: member, serverKey: server.publicKey), timeout: .seconds(20)))
        #expect(context.refusedHandshakes == 0)
        await loop.shutdown()
        context.terminate()
    }

    @Test func clientsWithoutKeysOrWithWrongKeysGetNothing() async throws {
        let context = ZMQContext()
        let notes = Notes()
        let (loop, socket) = try await startEcho(
            context, allowed: [member.publicKey: "member"], label: "sequencer api endpoint", notes: notes)
        let endpoint = socket.boundEndpoints[0]
        // No keys at all: the handshake fails on the mechanism, before the ZAP handler; the
        // server's monitor reports it with the peer's address.
        #expect(try await !answered(endpoint, keys: nil))
        #expect(
            await notes.eventually {
                $0.contains("sequencer api endpoint failed the CURVE handshake") && $0.contains("127.0.0.1:")
            })
        // A key the server does not list: refused by the ZAP handler, counted and reported; the
        // client's timeout says the server refused its key.
        let stranger = try CurveKeyPair.generate()
        let refused = try await attempt(endpoint, keys: CurveClientKeys(client: stranger, serverKey: server.publicKey))
        #expect(refused?.contains("refused this client's key") == true)
        #expect(context.refusedHandshakes >= 1)
        #expect(
            await notes.eventually {
                $0.contains(stranger.publicKey.z85) && $0.contains("sequencer api endpoint")
                    && $0.contains("127.0.0.1")
            })
        // The member's key with the wrong server key: the client cannot complete the handshake,
        // and says the server key is wrong.
        let impostor = try CurveKeyPair.generate()
        let mismatched = try await attempt(
            endpoint, keys: CurveClientKeys(client: member, serverKey: impostor.publicKey))
        #expect(mismatched?.contains("not this server's") == true)
        // The wrong server key's retries (every few ms) are reported once, not once each.
        #expect(notes.all.filter { $0.contains("failed the CURVE handshake") }.count < 10)
        // The server still serves the right client after all that.
        #expect(
            try await answered(
                endpoint, keys: CurveClientKeys(client: member, serverKey: server.publicKey), timeout: .seconds(20)))
        await loop.shutdown()
        context.terminate()
    }

    @Test func anAdminOnlyEndpointRefusesAMemberKey() async throws {
        let context = ZMQContext()
        let notes = Notes()
        let (loop, socket) = try await startEcho(
            context, allowed: [admin.publicKey: "orchestrator"], label: "sequencer admin endpoint", notes: notes)
        let endpoint = socket.boundEndpoints[0]
        #expect(try await !answered(endpoint, keys: CurveClientKeys(client: member, serverKey: server.publicKey)))
        #expect(await notes.eventually { $0.contains("sequencer admin endpoint") && $0.contains(member.publicKey.z85) })
        #expect(
            try await answered(
                endpoint, keys: CurveClientKeys(client: admin, serverKey: server.publicKey), timeout: .seconds(20)))
        await loop.shutdown()
        context.terminate()
    }

    @Test func aClosedServerSocketsDomainIsForgotten() async throws {
        let context = ZMQContext()
        let notes = Notes()
        let (loop, socket) = try await startEcho(context, allowed: [member.publicKey: "member"], notes: notes)
        let handler = try context.zapHandler()
        let verdict = handler.decide(
            domain: "zkthreads-1", address: "10.0.0.1", mechanism: "CURVE", credentials: [member.publicKey.bytes])
        #expect(verdict.status == "200" && verdict.user == "member")
        loop.close(socket.id)
        await loop.shutdown()
        let after = handler.decide(
            domain: "zkthreads-1", address: "10.0.0.1", mechanism: "CURVE", credentials: [member.publicKey.bytes])
        #expect(after.status == "400")
        context.terminate()
    }

    @Test func eventsReachACurveSubscriber() async throws {
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "curve-pub")
        var options = SocketOptions()
        options.curve = .server(server, CurveAccess(label: "events endpoint", allowed: [member.publicKey: "member"]))
        let publisher = try await loop.open(.pub, options: options, bind: ["tcp://127.0.0.1:*"])
        let clientContext = ZMQContext()
        let clientLoop = SocketLoop(
            context: clientContext, name: "curve-sub",
            clientKeys: CurveClientKeys(client: member, serverKey: server.publicKey))
        let subscriber = try await clientLoop.open(
            .sub, options: .subscriber([""]), connect: [publisher.boundEndpoints[0]])
        // A PUB drops what it sends before the subscription arrives: send until one gets through.
        let sender = Task {
            while !Task.isCancelled {
                loop.send([Data("block".utf8), Data("hello".utf8)], on: publisher.id)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        var iterator = subscriber.messages.makeAsyncIterator()
        let first = await iterator.next()
        sender.cancel()
        #expect(first == [Data("block".utf8), Data("hello".utf8)])
        await clientLoop.shutdown()
        clientContext.terminate()
        await loop.shutdown()
        context.terminate()
    }
}
