import Foundation
import Testing

/// `devnet dump` and `devnet up --load` on real processes: a devnet saved to one file and started
/// again in another data directory on other ports.
@Suite("dump and load on real processes", .serialized)
struct DumpEndToEndTests {
    /// The thread's canonical record: sequence, state root and program.
    private func thread(_ devnet: TestDevnet, _ name: String) throws -> [String: String] {
        let record = try devnet.json("thread", name)
        return [
            "sequence": "\(record["sequence"] as? Int ?? -1)", "root": record["state_root"] as? String ?? "",
            "program": record["program_hash"] as? String ?? "",
        ]
    }

    /// Alice's next thread nonce, as the token node answers it.
    private func threadNonce(_ devnet: TestDevnet, of name: String) throws -> Int {
        let address = try devnet.json("request", "sequencer", "accounts")["accounts"] as? [[String: Any]] ?? []
        let hex = try #require(address.first { $0["name"] as? String == name }?["address"] as? String)
        return try devnet.json("request", "node-token", "nonce", "{\"address\": \"\(hex)\"}")["nonce"] as? Int ?? -1
    }

    private func load(_ file: String, into devnet: TestDevnet) throws -> CommandResult {
        try devnet.command(
            "up", "--load", file, "--base-port", "\(devnet.basePort)", "--timeout", "\(30 * TestTimeouts.scale)")
    }

    @Test func aLoadedDevnetHasTheSameStateOnOtherPortsAndGoesOn() async throws {
        let first = try TestDevnet(threads: ["token"])
        defer { first.tearDown() }
        let second = try TestDevnet(threads: ["token"])
        defer { second.tearDown() }
        try #require(try first.up().status == 0)

        // An L2 transfer and thread transactions, settled.
        #expect(try first.command("transfer", "--from", "alice", "--to", "bob", "1000").status == 0)
        #expect(
            try first.json("send", "token", "mint", "alice", "100", "--from", "alice")["status"] as? String == "settled"
        )
        #expect(
            try first.json("send", "token", "transfer", "bob", "30", "--from", "alice")["status"] as? String
                == "settled")

        let file = first.dataDirectory.appendingPathComponent("saved.dump").path
        let dump = try first.command("dump", file)
        try #require(dump.status == 0, "devnet dump failed: \(dump.stderr)")
        #expect(dump.stdout.contains("dumped the devnet to \(file): "))
        #expect(dump.stdout.contains("3 databases, 1 thread, L2 height"))
        #expect(FileManager.default.fileExists(atPath: file))
        // Nothing of the dump stays in the data directory, and the devnet ran on.
        #expect(
            try FileManager.default.contentsOfDirectory(
                atPath: first.dataDirectory.appendingPathComponent("snapshots").path
            )
            .filter { !$0.hasPrefix(".lock") && $0 != "genesis" } == [])
        #expect(try first.status().allSatisfy { $0["status"] as? String == "healthy" })

        let saved = try first.ledgerAccounts()
        let savedThread = try thread(first, "token")
        #expect(saved["alice"]?["nonce"] == 1)
        #expect(savedThread["sequence"] != "0")

        // Loaded into another data directory (which holds only a config file) on other ports.
        let loaded = try load(file, into: second)
        try #require(loaded.status == 0, "devnet up --load failed: \(loaded.stderr)")
        #expect(loaded.stdout.contains("state checked: L2 height"))
        #expect(loaded.stdout.contains("devnet up from \(file) in"))
        let endpoints = try second.status().compactMap { $0["endpoints"] as? [String: Any] }.compactMap {
            $0["api"] as? String
        }
        #expect(
            endpoints == [0, 3, 6].map { "tcp://127.0.0.1:\(second.basePort + $0)" })
        #expect(try second.status().allSatisfy { $0["status"] as? String == "healthy" })

        // The same accounts, balances, nonces, fees, thread state and thread nonces.
        #expect(try second.ledgerAccounts() == saved)
        #expect(try thread(second, "token") == savedThread)
        #expect(try second.view("token", "balance_of", "alice") == "70")
        #expect(try second.view("token", "balance_of", "bob") == "30")
        #expect(try threadNonce(second, of: "alice") == threadNonce(first, of: "alice"))
        #expect(try threadNonce(second, of: "alice") == 2)

        // The loaded devnet settles new transactions of both kinds; the first one is untouched.
        #expect(
            try second.json("send", "token", "transfer", "bob", "7", "--from", "alice")["status"] as? String
                == "settled")
        #expect(try second.view("token", "balance_of", "bob") == "37")
        #expect(try thread(second, "token")["sequence"] == "\(Int(savedThread["sequence"]!)! + 1)")
        #expect(try second.command("transfer", "--from", "alice", "--to", "carol", "5").status == 0)
        #expect(try second.ledgerAccounts()["alice"]?["nonce"] == 2)
        #expect(try second.ledgerAccounts()["carol"]?["balance"] == (saved["carol"]?["balance"] ?? 0) + 5)
        #expect(try first.view("token", "balance_of", "bob") == "30")
        #expect(try first.ledgerAccounts() == saved)

        // Loading again over a devnet is refused, and so is a damaged copy of the dump.
        let again = try load(file, into: second)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already holds a devnet"))
        let damaged = first.dataDirectory.appendingPathComponent("damaged.dump").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count - 5000).write(to: URL(fileURLWithPath: damaged))
        let third = try TestDevnet(threads: ["token"])
        defer { third.tearDown() }
        let refused = try load(damaged, into: third)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(damaged) is truncated"))
        // Nothing started and no database was put in place.
        #expect(try third.command("status").stderr.contains("no devnet in"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: third.dataDirectory.path).sorted() == [
                "devnet.yaml"
            ])

        // A dump whose manifest says another state root than its databases hold is started, found
        // out, and stopped.
        let root = try #require(savedThread["root"])
        let wrong = String(repeating: "0", count: root.count)
        let tampered = first.dataDirectory.appendingPathComponent("tampered.dump").path
        let manifestEnd = try #require(bytes.range(of: Data("topology.json\0".utf8), options: .backwards))
        var edited = bytes
        let at = try #require(edited.range(of: Data(root.utf8), in: 0..<manifestEnd.lowerBound))
        edited.replaceSubrange(at, with: Data(wrong.utf8))
        try edited.write(to: URL(fileURLWithPath: tampered))
        let mismatch = try load(tampered, into: third)
        #expect(mismatch.status == 1)
        #expect(
            mismatch.stderr.contains("is not in the dumped state: thread token's state root is \(root), not \(wrong)"))
        #expect(try third.command("status").stderr.contains("no devnet in"))

        #expect(try second.command("down").status == 0)
        #expect(try first.command("down").status == 0)
    }

    @Test func aTransactionWaitingForABlockAtTheDumpSettlesInTheLoadedDevnet() async throws {
        let first = try TestDevnet(threads: ["token"], sequencer: "block_mode: on_demand")
        defer { first.tearDown() }
        let second = try TestDevnet(threads: ["token"])
        defer { second.tearDown() }
        try #require(try first.up().status == 0)
        func pending(_ devnet: TestDevnet) throws -> Int {
            try devnet.json("request", "sequencer", "chain")["pending"] as? Int ?? -1
        }
        try await first.eventually("the token thread registered") {
            _ = try first.command("mine")
            return try first.command("thread", "token").status == 0
        }
        try await first.eventually("no transaction pending") { try pending(first) == 0 }
        let sent = try first.json("send", "token", "mint", "alice", "50", "--from", "alice", "--no-wait")
        let hash = try #require(sent["tx_hash"] as? String)
        try await first.eventually("the sub-block at the sequencer") { try pending(first) == 1 }

        let file = first.dataDirectory.appendingPathComponent("pending.dump").path
        let dump = try first.command("dump", file)
        try #require(dump.status == 0, "devnet dump failed: \(dump.stderr)")
        let loaded = try load(file, into: second)
        try #require(loaded.status == 0, "devnet up --load failed: \(loaded.stderr)")
        func status(_ devnet: TestDevnet) throws -> String? {
            try devnet.json("tx-status", "token", hash)["status"] as? String
        }
        #expect(try status(second) != "settled")
        #expect(try pending(second) >= 1)
        _ = try second.command("mine")
        try await second.eventually("the mint settled in the loaded devnet") { try status(second) == "settled" }
        #expect(try second.view("token", "balance_of", "alice") == "50")
        #expect(try second.json("thread", "token")["sequence"] as? Int == 1)
        // The first devnet still waits for its block.
        #expect(try status(first) != "settled")
    }
}
