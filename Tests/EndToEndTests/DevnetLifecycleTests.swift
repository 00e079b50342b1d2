import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import ZeroMQ

@Suite("devnet up, status, down on real processes", .serialized)
struct DevnetLifecycleTests {
    @Test func upStatusGarbageDown() async throws {
        let devnet = try TestDevnet()
        defer { devnet.tearDown() }

        let up = try devnet.up()
        #expect(up.status == 0, "devnet up failed: \(up.stderr)")
        #expect(up.stdout.contains("devnet up in"))
        for name in ["sequencer", "manager", "node-token", "node-achievements", "node-karts", "node-counter"] {
            #expect(up.stdout.contains(name))
        }

        let rows = try devnet.status()
        #expect(rows.count == 6)
        #expect(rows.allSatisfy { $0["status"] as? String == "healthy" })
        let pids = rows.compactMap { $0["pid"] as? Int }.map(Int32.init)
        #expect(pids.count == 6)
        #expect(pids.allSatisfy(processIsRunning))

        // Garbage on every endpoint of a daemon: an error reply, and the daemon keeps serving.
        let sequencer = try #require(rows.first { $0["name"] as? String == "sequencer" })
        let endpoints = try #require(sequencer["endpoints"] as? [String: String])
        let context = ZMQContext()
        let loop = SocketLoop(context: context)
        for endpoint in [endpoints["api"]!, endpoints["admin"]!] {
            let raw = try await loop.open(.dealer, connect: [endpoint])
            var replies = raw.messages.makeAsyncIterator()
            for garbage in [
                [Data("garbage".utf8)], [Data([0xff, 0xfe, 0x00]), Data([1])], [Data("{}".utf8), Data(), Data()],
            ] {
                loop.send(garbage, on: raw.id)
                let reply = try #require(await replies.next())
                let (envelope, payload) = try WireCodec.decodeMessage(reply)
                #expect(envelope.status == .error)
                let error = try WireCodec.makeDecoder().decode(WireError.self, from: payload)
                #expect(error.code == .badEnvelope)
            }
            loop.close(raw.id)
            let client = try await RequestClient.connect(to: endpoint, on: loop)
            let health = try await client.call(
                AdminMessage.health, Empty(), as: HealthReport.self, timeout: TestTimeouts.seconds(5))
            #expect(health.status == "healthy")
            #expect(health.name == "sequencer")
            let stats = try await client.call(
                AdminMessage.stats, Empty(), as: DaemonStats.self, timeout: TestTimeouts.seconds(5))
            #expect(stats.badMessages >= 3)
            client.close()
        }
        await loop.shutdown()
        context.terminate()

        // A second devnet on the same data directory is refused.
        let again = try devnet.up()
        #expect(again.status != 0)
        #expect(again.stderr.contains("already running"))

        let logs = try devnet.command("logs", "sequencer")
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("bad message"))
        let unknown = try devnet.command("logs", "nobody")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no process named 'nobody'"))

        let down = try devnet.command("down")
        #expect(down.status == 0, "devnet down failed: \(down.stderr)")
        #expect(down.stdout.contains("stopped sequencer"))
        #expect(!down.stdout.contains("SIGKILL"))
        #expect(pids.allSatisfy { !processIsRunning($0) })
        // Each daemon logged a graceful stop.
        let managerLog = try String(
            contentsOf: devnet.dataDirectory.appendingPathComponent("logs/manager.log"), encoding: .utf8)
        #expect(managerLog.contains("stopped"))
    }

    @Test func aPortInUseIsNamed() throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        let context = ZMQContext()
        let squatter = try Socket(context: context, type: .router)
        // The manager's admin port: base + 3 (manager's first port) + 1.
        try squatter.bind("tcp://127.0.0.1:\(devnet.basePort + 4)")
        defer { squatter.close() }
        let up = try devnet.up()
        #expect(up.status != 0)
        #expect(up.stderr.contains("port \(devnet.basePort + 4) is already in use"))
        #expect(up.stderr.contains("admin endpoint"))
        #expect(up.stderr.contains("manager"))
    }

    @Test func aDaemonThatDiesWhileStartingStopsTheRest() throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        // A bin folder whose thread-node fails at once, beside the real sequencer and manager.
        let bin = devnet.dataDirectory.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for name in ["devnet", "l2-sequencer", "thread-manager"] {
            try FileManager.default.createSymbolicLink(
                at: bin.appendingPathComponent(name), withDestinationURL: binaryDirectory.appendingPathComponent(name))
        }
        let broken = bin.appendingPathComponent("thread-node")
        try "#!/bin/sh\necho 'fatal: simulated start-up failure of a thread node' >&2\nexit 7\n".write(
            to: broken, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: broken.path)

        let up = try devnet.up(environment: ["DEVNET_BIN_DIR": bin.path])
        #expect(up.status != 0)
        #expect(up.stderr.contains("node-counter"))
        #expect(up.stderr.contains("exited with status 7"))
        #expect(up.stderr.contains("simulated start-up failure"))
        // The sequencer and manager it had started are gone too.
        let state = devnet.dataDirectory.appendingPathComponent("devnet.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any]
        let pids = ((json?["processes"] as? [[String: Any]]) ?? []).compactMap { $0["pid"] as? Int }.map(Int32.init)
        #expect(pids.count == 3)
        #expect(pids.allSatisfy { !processIsRunning($0) })
    }

    @Test func sigtermStopsADaemonGracefully() async throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        let up = try devnet.up()
        try #require(up.status == 0, "devnet up failed: \(up.stderr)")
        let rows = try devnet.status()
        let node = try #require(rows.first { $0["name"] as? String == "node-counter" })
        let pid = Int32(try #require(node["pid"] as? Int))
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + TestTimeouts.seconds(10)
        while processIsRunning(pid), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!processIsRunning(pid))
        let log = try String(
            contentsOf: devnet.dataDirectory.appendingPathComponent("logs/node-counter.log"), encoding: .utf8)
        #expect(log.contains("graceful shutdown"))
        #expect(log.contains("stopped"))
        let after = try devnet.status()
        #expect(after.first { $0["name"] as? String == "node-counter" }?["status"] as? String == "dead")
        #expect(after.first { $0["name"] as? String == "sequencer" }?["status"] as? String == "healthy")
    }

    @Test func badConfigExitsWithCodeTwoNamingTheKey() throws {
        let devnet = try TestDevnet()
        defer { devnet.tearDown() }
        try "seed: 1\nthreads:\n  - name: t\n    proof_sytem: stark\n".write(
            toFile: devnet.configPath, atomically: true, encoding: .utf8)
        let up = try devnet.up()
        #expect(up.status == 2)
        #expect(up.stderr.contains("devnet.yaml:4:5"))
        #expect(up.stderr.contains("threads[0].proof_sytem"))
        #expect(up.stderr.contains("Did you mean 'proof_system'?"))
    }
}
