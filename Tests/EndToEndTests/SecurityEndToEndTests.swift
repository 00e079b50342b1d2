import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import ZeroMQ

/// A devnet secured with CurveZMQ, on real processes: its daemons talk to each other with the
/// members' key, the orchestrator reaches every endpoint with its own, and nobody else gets in.
@Suite("Secured devnet", .serialized)
struct SecurityEndToEndTests {
    /// Whether `health` on `endpoint` is answered, from a client on a loop with `keys`.
    private func answers(_ endpoint: String, keys: CurveClientKeys?, timeout: Duration) async throws -> Bool {
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "security-e2e", clientKeys: keys)
        let client = try await RequestClient.connect(to: endpoint, on: loop)
        var answered = false
        do {
            answered =
                try await client.call(AdminMessage.health, Empty(), as: HealthReport.self, timeout: timeout)
                .status == "healthy"
        } catch let error as WireError where error.code == .timeout {
            answered = false
        }
        client.close()
        await loop.shutdown()
        context.terminate()
        return answered
    }

    @Test func onlyHoldersOfTheCredentialsGetIn() async throws {
        let devnet = try TestDevnet(threads: ["token"], extra: "security: curve\n")
        defer { devnet.tearDown() }
        let up = try devnet.up()
        #expect(up.status == 0, "devnet up failed: \(up.stderr)")
        #expect(up.stdout.contains("secured with CurveZMQ"))

        // Status reaches every admin endpoint with the orchestrator's key, and says so.
        let rows = try devnet.status()
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0["status"] as? String == "healthy" && $0["security"] as? String == "curve" })
        #expect(try devnet.command("status").stdout.contains("security: CurveZMQ"))

        // A thread transaction settles: node, sequencer and manager talk to each other over CURVE.
        let send = try devnet.command("send", "token", "mint", "alice", "25", "--from", "alice")
        #expect(send.status == 0, "send failed: \(send.stderr)")
        #expect(try devnet.view("token", "balance_of", "alice") == "25")

        // What a joining node or client gets from `devnet credentials --json`.
        let printed = try devnet.json("credentials", "--json")
        #expect(printed["security"] as? String == "curve")
        let credentials = try DevnetCredentials(
            memberFile: JSONDecoder().decode(
                DevnetCredentials.MemberFile.self, from: JSONSerialization.data(withJSONObject: printed)))
        #expect(printed["admin_secret_key"] == nil)
        let orchestrator = try #require(try DevnetCredentials.load(from: devnet.dataDirectory))
        #expect(orchestrator.memberView == credentials)
        let admin = try #require(orchestrator.admin)

        let sequencer = try #require(rows.first { $0["name"] as? String == "sequencer" })
        let endpoints = try #require(sequencer["endpoints"] as? [String: String])
        let api = try #require(endpoints["api"])
        let adminEndpoint = try #require(endpoints["admin"])
        let short = TestTimeouts.seconds(1)
        let long = TestTimeouts.seconds(20)

        // No keys, keys of another devnet, or a key of its own with the devnet's (public) server
        // key: no reply at all.
        #expect(try await !answers(api, keys: nil, timeout: short))
        let stranger = try DevnetCredentials.generate()
        #expect(try await !answers(api, keys: stranger.memberClient, timeout: short))
        let intruder = CurveClientKeys(client: stranger.member, serverKey: credentials.server.publicKey)
        #expect(try await !answers(api, keys: intruder, timeout: short))
        // The member's key opens the api endpoint but not the admin one; the orchestrator's opens both.
        #expect(try await answers(api, keys: credentials.memberClient, timeout: long))
        #expect(try await !answers(adminEndpoint, keys: credentials.memberClient, timeout: short))
        #expect(
            try await answers(
                adminEndpoint, keys: CurveClientKeys(client: admin, serverKey: credentials.server.publicKey),
                timeout: long))

        // The refusals are in the sequencer's log, with the peer's address.
        let log = try String(
            contentsOf: devnet.dataDirectory.appendingPathComponent("logs/sequencer.log"), encoding: .utf8)
        #expect(log.contains("refused a connection to the sequencer admin endpoint from 127.0.0.1"))
        #expect(log.contains("refused a connection to the sequencer api endpoint from 127.0.0.1"))
        #expect(log.contains(stranger.member.publicKey.z85))
        // ... and counted in its stats: the intruder's key on api, the member's on admin.
        let stats = try devnet.json("request", "sequencer", "stats")
        #expect((stats["refused_handshakes"] as? Int ?? 0) >= 2, "\(stats)")

        // Events reach a subscriber holding the member's key, gap fetches included.
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "security-events", clientKeys: credentials.memberClient)
        let subscriber = try await EventSubscriber.connect(
            events: try #require(endpoints["events"]), api: api, topics: ["block"], on: loop)
        var iterator = subscriber.events.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.topic == "block")
        subscriber.close()
        await loop.shutdown()
        context.terminate()

        // devnet node --join: refused with another devnet's key, for a thread the topology lacks,
        // and under the name of a node that already answers.
        let manager = try #require(
            (rows.first { $0["name"] as? String == "manager" }?["endpoints"] as? [String: String])?["api"])
        let good = devnet.dataDirectory.appendingPathComponent("member.json")
        try JSONSerialization.data(withJSONObject: printed).write(to: good)
        let wrong = devnet.dataDirectory.appendingPathComponent("wrong.json")
        var other = stranger.memberFile
        other.serverPublicKey = credentials.server.publicKey.z85
        other.serverSecretKey = credentials.server.secretKey.z85
        try JSONEncoder().encode(other).write(to: wrong)
        func join(_ thread: String, _ file: URL) throws -> CommandResult {
            try run(
                devnet.devnet,
                [
                    "node", "--join", manager, "--thread", thread, "--credentials", file.path, "--data-dir",
                    devnet.dataDirectory.appendingPathComponent("joined").path, "--timeout", "2",
                ])
        }
        let refused = try join("token", wrong)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("the server refused this client's key"), "\(refused.stderr)")
        let unknown = try join("dice", good)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no node for thread 'dice'"), "\(unknown.stderr)")
        let twice = try join("token", good)
        #expect(twice.status != 0)
        #expect(twice.stderr.contains("node-token already answers"), "\(twice.stderr)")
        // Without --credentials the devnet answers nothing; the error says to give them.
        let keyless = try run(
            devnet.devnet,
            [
                "node", "--join", manager, "--thread", "token", "--data-dir",
                devnet.dataDirectory.appendingPathComponent("joined").path, "--timeout", "2",
            ])
        #expect(keyless.status != 0)
        #expect(keyless.stderr.contains("give them with --credentials FILE"), "\(keyless.stderr)")

        // down stops every process through its admin endpoint, without signals.
        let down = try devnet.command("down")
        #expect(down.status == 0)
        #expect(!down.stdout.contains("SIGKILL"))
    }

    @Test func aLoopbackDevnetStaysOpenAndSaysSo() async throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        #expect(try devnet.up().status == 0)
        #expect(try devnet.status().allSatisfy { $0["security"] as? String == "open" })
        #expect(try devnet.command("status").stdout.contains("security: open"))
        #expect(try devnet.command("credentials").stdout.contains("open"))
        #expect(try devnet.json("request", "sequencer", "stats")["refused_handshakes"] == nil)
        let api = try #require(
            (try devnet.status().first { $0["name"] as? String == "sequencer" }?["endpoints"] as? [String: String])?[
                "api"])
        #expect(try await answers(api, keys: nil, timeout: TestTimeouts.seconds(20)))
    }
}
