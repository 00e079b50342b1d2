import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The sequencer and the manager start from a checkpoint (their state saved with the log
/// position it covers) and replay only the log after it, on real processes.
@Suite("checkpoints on real processes", .serialized)
struct CheckpointEndToEndTests {
    private func thread(_ devnet: TestDevnet, _ name: String) throws -> (sequence: Int, root: String) {
        let record = try devnet.json("thread", name)
        return (record["sequence"] as? Int ?? -1, record["state_root"] as? String ?? "")
    }

    private func log(_ devnet: TestDevnet, _ process: String) -> String {
        let path = devnet.dataDirectory.appendingPathComponent("logs/\(process).log").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    private func occurrences(_ text: String, in devnet: TestDevnet, _ process: String) -> Int {
        log(devnet, process).components(separatedBy: text).count - 1
    }

    /// Runs SQL on a database file with the sqlite3 shell.
    private func sql(_ database: URL, _ statement: String) throws {
        let result = try run("/usr/bin/sqlite3", [database.path, statement])
        try #require(result.status == 0, "sqlite3 \(statement): \(result.stderr)")
    }

    private func sendSome(_ devnet: TestDevnet, _ round: Int) throws {
        for (index, user) in ["alice", "bob", "carol"].enumerated() {
            let sent = try devnet.json("send", "token", "mint", user, "\(round * 10 + index + 1)", "--from", user)
            #expect(sent["status"] as? String == "settled")
        }
        #expect(try devnet.command("transfer", "--from", "dave", "--to", "erin", "\(round + 1)").status == 0)
    }

    @Test func aRevertStartsFromTheSnapshotsCheckpointAndAFoiledOneFallsBackToTheWholeLog() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        for round in 0..<3 { try sendSome(devnet, round) }

        let snapshot = try devnet.command("snapshot", "mid")
        try #require(snapshot.status == 0, "devnet snapshot failed: \(snapshot.stderr)")
        #expect(snapshot.stdout.contains("checkpoints in"))
        #expect(!snapshot.stderr.contains("no checkpoint"))
        let saved = try devnet.ledgerAccounts()
        let savedThread = try thread(devnet, "token")
        let savedBalances = try ["alice", "bob", "carol"].map { try devnet.view("token", "balance_of", $0) }
        #expect(savedThread.sequence >= 1)
        // Each snapshot database holds one checkpoint.
        let folder = devnet.dataDirectory.appendingPathComponent("snapshots/mid")
        for process in ["sequencer", "manager"] {
            let count = try run(
                "/usr/bin/sqlite3",
                [folder.appendingPathComponent("\(process).sqlite").path, "SELECT COUNT(*) FROM checkpoint"])
            #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(process)")
        }

        for round in 3..<5 { try sendSome(devnet, round) }
        #expect(try devnet.ledgerAccounts() != saved)

        func expectTheSnapshotsState(_ note: String) throws {
            #expect(try devnet.ledgerAccounts() == saved, "\(note): balances and nonces")
            let reverted = try thread(devnet, "token")
            #expect(reverted.sequence == savedThread.sequence, "\(note): sequence")
            #expect(reverted.root == savedThread.root, "\(note): state root")
            #expect(
                try ["alice", "bob", "carol"].map { try devnet.view("token", "balance_of", $0) } == savedBalances,
                "\(note): token balances")
        }

        let fromCheckpoint = "the log: the checkpoint at log position"
        let before = (
            occurrences(fromCheckpoint, in: devnet, "sequencer"), occurrences(fromCheckpoint, in: devnet, "manager")
        )
        let revert = try devnet.command("revert", "mid")
        try #require(revert.status == 0, "devnet revert failed: \(revert.stderr)")
        try expectTheSnapshotsState("from the checkpoints")
        #expect(occurrences(fromCheckpoint, in: devnet, "sequencer") == before.0 + 1)
        #expect(occurrences(fromCheckpoint, in: devnet, "manager") == before.1 + 1)
        // The devnet goes on from there, and a restart (from the checkpoint and the log after it)
        // keeps what it did.
        try sendSome(devnet, 9)
        let moved = try devnet.ledgerAccounts()
        let movedThread = try thread(devnet, "token")
        #expect(try devnet.command("restart", "manager").status == 0)
        #expect(try devnet.command("restart", "sequencer").status == 0)
        #expect(try devnet.ledgerAccounts() == moved)
        #expect(try thread(devnet, "token") == movedThread)

        // A checkpoint of another format (the manager's) and a truncated one (the sequencer's) are
        // ignored, saying so, and the daemons replay their whole logs into the same state.
        try sql(folder.appendingPathComponent("manager.sqlite"), "UPDATE checkpoint SET format = format + 1000")
        try sql(folder.appendingPathComponent("sequencer.sqlite"), "UPDATE checkpoint SET state = substr(state, 1, 40)")
        let ignored = "ignoring the saved checkpoint"
        let ignoredBefore = (occurrences(ignored, in: devnet, "sequencer"), occurrences(ignored, in: devnet, "manager"))
        let again = try devnet.command("revert", "mid")
        try #require(again.status == 0, "devnet revert failed: \(again.stderr)")
        try expectTheSnapshotsState("from the whole logs")
        #expect(occurrences(ignored, in: devnet, "sequencer") == ignoredBefore.0 + 1)
        #expect(occurrences(ignored, in: devnet, "manager") == ignoredBefore.1 + 1)
        #expect(log(devnet, "manager").contains("this build reads format"))
        #expect(log(devnet, "sequencer").contains("do not match their checksum"))
        try sendSome(devnet, 12)
    }

    /// `kill -9` of the sequencer or the manager while it writes a checkpoint (or just before or
    /// after) loses nothing: each restart gives the balances, nonces, sequence and root it had.
    @Test func killingADaemonAroundACheckpointLosesNothing() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        var random = SystemRandomNumberGenerator()
        var requests: [Process] = []
        defer { for request in requests where request.isRunning { request.terminate() } }
        for round in 0..<6 {
            try sendSome(devnet, round)
            let accounts = try devnet.ledgerAccounts()
            let record = try thread(devnet, "token")
            let victim = round % 2 == 0 ? "manager" : "sequencer"
            let pid = try #require(
                try devnet.status().first { $0["name"] as? String == victim }?["pid"] as? Int, "\(victim)'s pid")
            // Ask both for a checkpoint without waiting, and kill one a moment later.
            for process in ["sequencer", "manager"] {
                let request = Process()
                request.executableURL = URL(fileURLWithPath: devnet.devnet)
                request.arguments = [
                    "request", process, "checkpoint", "--admin", "--data-dir", devnet.dataDirectory.path,
                ]
                request.standardOutput = FileHandle.nullDevice
                request.standardError = FileHandle.nullDevice
                try request.run()
                requests.append(request)
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...40, using: &random)))
            kill(pid_t(pid), SIGKILL)
            let restart = try devnet.command("restart", victim)
            try #require(restart.status == 0, "devnet restart \(victim) failed: \(restart.stderr)")
            #expect(try devnet.ledgerAccounts() == accounts, "round \(round), \(victim) killed")
            #expect(try thread(devnet, "token") == record, "round \(round), \(victim) killed")
        }
        // Both start from what the last round left, and go on.
        let accounts = try devnet.ledgerAccounts()
        let record = try thread(devnet, "token")
        #expect(try devnet.command("restart", "manager").status == 0)
        #expect(try devnet.command("restart", "sequencer").status == 0)
        #expect(try devnet.ledgerAccounts() == accounts)
        #expect(try thread(devnet, "token") == record)
        try sendSome(devnet, 7)
    }
}
