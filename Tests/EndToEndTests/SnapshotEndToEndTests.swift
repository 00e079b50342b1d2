import Foundation
import Testing

/// `devnet snapshot`, `revert` and `reset` on real processes.
@Suite("snapshot, revert and reset on real processes", .serialized)
struct SnapshotEndToEndTests {
    /// The thread's canonical sequence and state root.
    private func thread(_ devnet: TestDevnet, _ name: String) throws -> (sequence: Int, root: String) {
        let record = try devnet.json("thread", name)
        return (record["sequence"] as? Int ?? -1, record["state_root"] as? String ?? "")
    }

    @Test func revertBringsEveryProcessBackAndTheDevnetGoesOn() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        let up = try devnet.up()
        try #require(up.status == 0, "devnet up failed: \(up.stderr)")
        #expect(up.stdout.contains("saved snapshot genesis"))
        let genesis = try devnet.ledgerAccounts()
        let genesisThread = try thread(devnet, "token")

        // An L2 transfer and a thread transaction, both settled.
        #expect(try devnet.command("transfer", "--from", "alice", "--to", "bob", "1000").status == 0)
        #expect(
            try devnet.json("send", "token", "mint", "alice", "100", "--from", "alice")["status"] as? String
                == "settled")

        let pids = try devnet.status().compactMap { $0["pid"] as? Int }
        let snapshot = try devnet.command("snapshot", "mid")
        try #require(snapshot.status == 0, "devnet snapshot failed: \(snapshot.stderr)")
        #expect(snapshot.stdout.contains("snapshot mid saved in"))
        #expect(snapshot.stdout.contains("every daemon paused for"))
        // The daemons were paused, not restarted.
        #expect(try devnet.status().compactMap { $0["pid"] as? Int } == pids)
        #expect(try devnet.status().allSatisfy { $0["status"] as? String == "healthy" })
        let saved = try devnet.ledgerAccounts()
        let savedThread = try thread(devnet, "token")
        #expect(saved["alice"]?["nonce"] == 1)
        #expect(savedThread.sequence >= 1)
        #expect(try devnet.view("token", "balance_of", "alice") == "100")

        // More of both: balances, the nonce and the thread's value move on.
        #expect(
            try devnet.json("send", "token", "transfer", "bob", "30", "--from", "alice")["status"] as? String
                == "settled")
        #expect(try devnet.command("transfer", "--from", "alice", "--to", "carol", "500").status == 0)
        #expect(try devnet.ledgerAccounts() != saved)
        #expect(try devnet.ledgerAccounts()["alice"]?["nonce"] == 2)
        #expect(try thread(devnet, "token").sequence > savedThread.sequence)
        #expect(try devnet.view("token", "balance_of", "bob") == "30")

        let revert = try devnet.command("revert", "mid")
        try #require(revert.status == 0, "devnet revert failed: \(revert.stderr)")
        #expect(revert.stdout.contains("reverted to snapshot mid in"))
        #expect(try devnet.ledgerAccounts() == saved)
        let reverted = try thread(devnet, "token")
        #expect(reverted.sequence == savedThread.sequence)
        #expect(reverted.root == savedThread.root)
        #expect(try devnet.view("token", "balance_of", "alice") == "100")
        #expect(try devnet.view("token", "balance_of", "bob") == "0")
        #expect(try devnet.status().allSatisfy { $0["status"] as? String == "healthy" })

        // The devnet accepts and settles new transactions from there.
        #expect(
            try devnet.json("send", "token", "transfer", "bob", "7", "--from", "alice")["status"] as? String
                == "settled")
        #expect(try devnet.view("token", "balance_of", "bob") == "7")
        #expect(try thread(devnet, "token").sequence == savedThread.sequence + 1)
        #expect(try devnet.command("transfer", "--from", "alice", "--to", "dave", "1").status == 0)
        #expect(try devnet.ledgerAccounts()["alice"]?["nonce"] == 2)

        // An unknown name fails naming the snapshots there are; the list shows both.
        let unknown = try devnet.command("revert", "nope")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no snapshot named 'nope' (snapshots: genesis, mid)"))
        let list = try devnet.command("snapshot", "--list")
        #expect(list.stdout.contains("genesis"))
        #expect(list.stdout.contains("mid"))
        let taken = try devnet.command("snapshot", "mid")
        #expect(taken.status == 2)
        #expect(taken.stderr.contains("snapshot 'mid' already exists"))

        // Reset: back to the state up started in.
        let reset = try devnet.command("reset")
        try #require(reset.status == 0, "devnet reset failed: \(reset.stderr)")
        #expect(try devnet.ledgerAccounts() == genesis)
        #expect(try thread(devnet, "token") == genesisThread)
        #expect(try devnet.view("token", "balance_of", "alice") == "0")
        #expect(try devnet.json("send", "token", "mint", "bob", "5", "--from", "bob")["status"] as? String == "settled")

        // The snapshot survived both reverts; deleting it takes it off the list.
        #expect(try devnet.command("revert", "mid").status == 0)
        #expect(try devnet.view("token", "balance_of", "alice") == "100")
        #expect(try devnet.command("snapshot", "--delete", "mid").status == 0)
        #expect(!(try devnet.command("snapshot", "--list").stdout.contains("mid")))
    }

    @Test func aTransactionInFlightAtTheSnapshotIsInFlightAgainAfterTheRevert() async throws {
        let devnet = try TestDevnet(threads: ["token"], sequencer: "block_mode: on_demand")
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        func pending() throws -> Int { try devnet.json("request", "sequencer", "chain")["pending"] as? Int ?? -1 }
        try await devnet.eventually("the token thread registered") {
            _ = try devnet.command("mine")
            return try devnet.command("thread", "token").status == 0
        }
        try await devnet.eventually("no transaction pending") { try pending() == 0 }

        // The node's sub-block waits at the sequencer for a block.
        let sent = try devnet.json("send", "token", "mint", "alice", "50", "--from", "alice", "--no-wait")
        let hash = try #require(sent["tx_hash"] as? String)
        try await devnet.eventually("the sub-block at the sequencer") { try pending() == 1 }
        #expect(try devnet.command("snapshot", "in-flight").status == 0)
        func status() throws -> String? { try devnet.json("tx-status", "token", hash)["status"] as? String }
        #expect(try status() != "settled")
        // The snapshot paused the node without restarting it: it did not submit the sub-block again.
        #expect(try pending() == 1)

        _ = try devnet.command("mine")
        try await devnet.eventually("the mint settled") { try status() == "settled" }
        #expect(try devnet.view("token", "balance_of", "alice") == "50")

        // Back: the block never happened; the same sub-block waits again and settles at the next one.
        #expect(try devnet.command("revert", "in-flight").status == 0)
        #expect(try status() != "settled")
        #expect(try devnet.view("token", "balance_of", "alice") == "0")
        // The node, started again, also submits the sub-block a second time (as after any restart
        // with a sub-block waiting at the sequencer); that copy reverts, and the mint applies once.
        #expect(try pending() >= 1)
        _ = try devnet.command("mine")
        try await devnet.eventually("the mint settled again") { try status() == "settled" }
        #expect(try devnet.view("token", "balance_of", "alice") == "50")
        #expect(try devnet.json("thread", "token")["sequence"] as? Int == 1)
    }

    @Test func aSnapshotOfOtherProcessesIsRefusedAndNothingStops() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        #expect(try devnet.command("snapshot").stdout.contains("snapshot snap-1 saved"))
        let attached = try devnet.command("attach", "dice", "--contract", "counter", "--port", "\(devnet.basePort + 9)")
        try #require(attached.status == 0, "\(attached.stderr)")
        let pids = try devnet.status().compactMap { $0["pid"] as? Int }
        let refused = try devnet.command("revert", "snap-1")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("snapshot 'snap-1' was taken of another set of processes"))
        #expect(refused.stderr.contains("node-dice"))
        let reset = try devnet.command("reset")
        #expect(reset.status == 1)
        #expect(reset.stderr.contains("node-dice"))
        // Nothing was stopped.
        #expect(try devnet.status().compactMap { $0["pid"] as? Int } == pids)
        // A snapshot taken now has the new node, and a revert to it works.
        #expect(try devnet.command("snapshot").stdout.contains("snapshot snap-2 saved"))
        #expect(try devnet.command("revert", "snap-2").status == 0)
        #expect(try devnet.status().allSatisfy { $0["status"] as? String == "healthy" })

        // A start slower than --timeout leaves the daemons starting instead of stopping them.
        let hurried = try devnet.command("revert", "snap-2", "--timeout", "0.001")
        #expect(hurried.status == 1)
        #expect(hurried.stderr.contains("They are still starting"))
        try await devnet.eventually("every process healthy again") {
            try devnet.status().allSatisfy { $0["status"] as? String == "healthy" }
        }
    }

    @Test func ctrlCAfterASnapshotStepStillStopsTheScenariosDevnet() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-ctrl-c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("sleepy.yaml")
        try """
        topology:
          threads: [{name: counter}]
        steps:
          - snapshot: s
          - sleep: 60s
        """.write(to: file, atomically: true, encoding: .utf8)
        let (base, lock) = try PortBlocks.reserve(count: 24)
        defer { close(lock) }
        let process = Process()
        process.executableURL = binaryDirectory.appendingPathComponent("devnet")
        let runs = work.appendingPathComponent("runs")
        process.arguments = ["scenario", "run", file.path, "--work-dir", runs.path, "--base-port", "\(base)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the snapshot step is done: its manifest is there.
        var run: URL?
        let deadline = ContinuousClock.now + TestTimeouts.seconds(30)
        while run == nil, ContinuousClock.now < deadline {
            run = (try? FileManager.default.contentsOfDirectory(atPath: runs.path))?.lazy
                .map { runs.appendingPathComponent($0) }
                .first {
                    FileManager.default.fileExists(atPath: $0.appendingPathComponent("snapshots/s/manifest.json").path)
                }
            try await Task.sleep(for: .milliseconds(50))
        }
        let directory = try #require(run)
        let recorded = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("devnet.json")))
                as? [String: Any])
        let pids = (recorded["processes"] as? [[String: Any]] ?? []).compactMap { $0["pid"] as? Int32 }
        #expect(pids.count == 3)
        #expect(pids.allSatisfy(processIsRunning))
        // The snapshot gave the runner its own Ctrl-C handling back: it stops the devnet and exits 130.
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(pids.allSatisfy { !processIsRunning($0) })
    }
}
