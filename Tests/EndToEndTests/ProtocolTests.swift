import Foundation
import Testing

/// The protocol on real processes, driven through the `devnet` client commands.
@Suite("zkThreads protocol on real processes", .serialized)
struct ProtocolTests {
    private func balance(_ devnet: TestDevnet, _ account: String) throws -> Int {
        let table = try devnet.command("accounts").stdout
        guard let line = table.split(separator: "\n").first(where: { $0.hasPrefix(account + " ") }),
            let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.flatMap({
                Int($0)
            })
        else { throw TestFailure("no balance for \(account) in:\n\(table)") }
        return value
    }

    private func totalSupply(_ devnet: TestDevnet) throws -> String {
        try devnet.command("accounts").stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func aTokenTransferOnAThreadSettles() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        let up = try devnet.up()
        try #require(up.status == 0, "devnet up failed: \(up.stderr)")
        let supply = try totalSupply(devnet)
        let proverBefore = try balance(devnet, "prover-token-1")

        let mint = try devnet.json("send", "token", "mint", "alice", "1000", "--from", "alice")
        #expect(mint["status"] as? String == "settled")
        let transfer = try devnet.json("send", "token", "transfer", "bob", "300", "--from", "alice")
        #expect(transfer["status"] as? String == "settled")
        #expect(transfer["sub_block"] as? Int == 2)
        #expect(
            try devnet.command("call", "token", "balance_of", "bob").stdout.trimmingCharacters(
                in: .whitespacesAndNewlines) == "300")
        #expect(
            try devnet.command("call", "token", "balance_of", "alice").stdout.trimmingCharacters(
                in: .whitespacesAndNewlines) == "700")

        let record = try devnet.json("thread", "token")
        #expect(record["sequence"] as? Int == 2)
        #expect(record["proof_system"] as? String == "reexec")
        // The prover paid for the registration and both sub-blocks; the supply did not change.
        #expect(try balance(devnet, "prover-token-1") < proverBefore)
        #expect(try balance(devnet, "sequencer") > 0)
        #expect(try totalSupply(devnet) == supply)

        // A transfer above the balance is included and fails, with the reason.
        let tooMuch = try devnet.command("send", "token", "transfer", "bob", "5000", "--from", "alice")
        #expect(tooMuch.status != 0)
        #expect(tooMuch.stdout.contains("insufficient balance"))
        #expect(try devnet.command("call", "token", "balance_of", "bob").stdout.contains("300"))

        // Refusals before signing name what is wrong.
        let badArgument = try devnet.command("send", "token", "transfer", "bob", "lots", "--from", "alice")
        #expect(badArgument.status == 2)
        #expect(badArgument.stderr.contains("'amount'"))
        let badEntrypoint = try devnet.command("send", "token", "steal", "--from", "alice")
        #expect(badEntrypoint.stderr.contains("unknown entrypoint 'steal'"))
        let badAccount = try devnet.command("send", "token", "transfer", "bob", "1", "--from", "mallory")
        #expect(badAccount.stderr.contains("unknown account 'mallory'"))
        let badThread = try devnet.command("call", "tokens", "balance_of", "bob")
        #expect(badThread.stderr.contains("no thread 'tokens'"))
    }

    @Test func feeTransfersAndAdmission() async throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        let supply = try totalSupply(devnet)
        let bob = try balance(devnet, "bob")
        let receipt = try devnet.json("transfer", "--from", "alice", "--to", "bob", "1234")
        #expect(receipt["status"] as? String == "accepted")
        let fee = try #require(receipt["fee_charged"] as? Int)
        #expect(fee > 0)
        #expect(try balance(devnet, "bob") == bob + 1234)

        // More than the balance: included, reverted, and the fee is still charged.
        let reverted = try devnet.command("transfer", "--from", "carol", "--to", "bob", "999999999999999")
        #expect(reverted.status != 0)
        #expect(reverted.stdout.contains("INSUFFICIENT_FUNDS"))
        #expect(try balance(devnet, "carol") < 1_000_000_000_000)

        // A max fee below the cost is rejected at admission and costs nothing.
        let dave = try balance(devnet, "dave")
        let rejected = try devnet.command("transfer", "--from", "dave", "--to", "bob", "1", "--max-fee", "1")
        #expect(rejected.status != 0)
        #expect(rejected.stderr.contains("FEE_TOO_LOW"))
        #expect(try balance(devnet, "dave") == dave)
        #expect(try totalSupply(devnet) == supply)
    }

    @Test func aKartUnlocksOnlyAfterTheAchievement() async throws {
        let devnet = try TestDevnet(threads: ["achievements", "karts"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        let early = try devnet.command("send", "karts", "unlock_kart", "1", "3", "--from", "bob")
        #expect(early.status != 0)
        #expect(early.stdout.contains("level not completed"))
        let done = try devnet.json("send", "achievements", "complete_level", "3", "--from", "bob")
        #expect(done["status"] as? String == "settled")
        let unlock = try devnet.json("send", "karts", "unlock_kart", "1", "3", "--from", "bob")
        #expect(unlock["status"] as? String == "settled")
        #expect(try devnet.command("call", "karts", "has_kart", "bob", "1").stdout.contains("true"))
        #expect(try devnet.command("call", "karts", "has_kart", "carol", "1").stdout.contains("false"))
    }

    @Test func aStaleCrossThreadReadRevertsAndTheProverPays() async throws {
        let devnet = try TestDevnet(threads: ["achievements", "karts"], sequencer: "block_mode: on_demand")
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        func pending() throws -> Int { try devnet.json("request", "sequencer", "chain")["pending"] as? Int ?? -1 }
        // The nodes register their threads; blocks come only when mined.
        try await devnet.eventually("both threads registered") {
            _ = try devnet.command("mine")
            return try devnet.command("thread", "karts").status == 0
                && devnet.command("thread", "achievements").status == 0
        }
        try await devnet.eventually("no transaction pending") { try pending() == 0 }

        // Achievements moves first in the block, after karts read the old value.
        _ = try devnet.json("send", "achievements", "complete_level", "5", "--from", "bob", "--no-wait")
        try await devnet.eventually("the achievements sub-block at the sequencer") { try pending() == 1 }
        _ = try devnet.json("send", "karts", "unlock_kart", "2", "5", "--from", "bob", "--no-wait")
        try await devnet.eventually("the karts sub-block at the sequencer") { try pending() == 2 }
        let proverBefore = try balance(devnet, "prover-karts-1")
        _ = try devnet.command("mine")

        let events = try devnet.json("request", "sequencer", "events", "{\"from_seq\": 1, \"limit\": 10000}")
        let receipts = (events["events"] as? [[String: Any]] ?? []).filter { $0["topic"] as? String == "receipt" }
            .compactMap {
                ($0["payload"] as? String).flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }
        let stale = try #require(
            receipts.first { ($0["revert"] as? [String: Any])?["code"] as? String == "STALE_CROSS_READ" })
        #expect(stale["status"] as? String == "reverted")
        let fee = try #require(stale["fee_charged"] as? Int)
        #expect(fee > 0)
        #expect(try balance(devnet, "prover-karts-1") == proverBefore - fee)
        #expect(try devnet.json("thread", "achievements")["sequence"] as? Int == 1)
        #expect(try devnet.json("thread", "karts")["sequence"] as? Int == 0)

        // The karts node re-syncs, rebases the unlock onto the new value and settles it.
        try await devnet.eventually("the rebased karts sub-block at the sequencer") { try pending() == 1 }
        _ = try devnet.command("mine")
        try await devnet.eventually("the kart unlocked") {
            try devnet.command("call", "karts", "has_kart", "bob", "2").stdout.contains("true")
        }
        #expect(try devnet.json("thread", "karts")["sequence"] as? Int == 1)
    }

    @Test func aManagerKilledMidRunLosesNothingAndAppliesNothingTwice() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        _ = try devnet.json("send", "token", "mint", "alice", "100", "--from", "alice")
        var hashes: [String] = []
        for round in 0..<12 {
            if round == 4 {
                let manager = try #require(try devnet.status().first { $0["name"] as? String == "manager" })
                kill(Int32(try #require(manager["pid"] as? Int)), SIGKILL)
            }
            if round == 8 {
                let restart = try devnet.command("restart", "manager")
                #expect(restart.status == 0, "restart failed: \(restart.stderr)")
            }
            let sent = try devnet.json("send", "token", "transfer", "bob", "1", "--from", "alice", "--no-wait")
            hashes.append(try #require(sent["tx_hash"] as? String))
        }
        for hash in hashes {
            let status = try devnet.json("tx-status", "token", hash)
            if status["status"] as? String != "settled" {
                try await devnet.eventually("\(hash.prefix(12)) settled", within: 40) {
                    try devnet.json("tx-status", "token", hash)["status"] as? String == "settled"
                }
            }
        }
        #expect(try devnet.command("call", "token", "balance_of", "bob").stdout.contains("12"))
        #expect(try devnet.command("call", "token", "balance_of", "alice").stdout.contains("88"))
        let log = try String(
            contentsOf: devnet.dataDirectory.appendingPathComponent("logs/manager.log"), encoding: .utf8)
        #expect(log.contains("restored from the log"))
        // The restarted manager holds the same canonical state the node built on.
        let node = try devnet.json("request", "node-token", "node_info")
        let record = try devnet.json("thread", "token")
        #expect(node["canonical_sequence"] as? Int == record["sequence"] as? Int)
    }

    @Test func aSequencerAndANodeKilledMidRunResumeWithNothingLost() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        let supply = try totalSupply(devnet)
        _ = try devnet.json("send", "token", "mint", "alice", "100", "--from", "alice")
        func pid(_ name: String) throws -> Int32 {
            let row = try #require(try devnet.status().first { $0["name"] as? String == name })
            return Int32(try #require(row["pid"] as? Int))
        }
        var hashes: [String] = []
        func send() throws {
            let sent = try devnet.json("send", "token", "transfer", "bob", "1", "--from", "alice", "--no-wait")
            hashes.append(try #require(sent["tx_hash"] as? String))
        }
        for _ in 0..<4 { try send() }
        kill(try pid("sequencer"), SIGKILL)
        for _ in 0..<3 { try send() }
        #expect(try devnet.command("restart", "sequencer").status == 0)
        for _ in 0..<2 { try send() }
        kill(try pid("node-token"), SIGKILL)
        #expect(try devnet.command("restart", "node-token").status == 0)
        for _ in 0..<2 { try send() }
        for hash in hashes {
            try await devnet.eventually("\(hash.prefix(12)) settled", within: 40) {
                try devnet.json("tx-status", "token", hash)["status"] as? String == "settled"
            }
        }
        #expect(try devnet.command("call", "token", "balance_of", "bob").stdout.contains("\(hashes.count)"))
        #expect(try devnet.command("call", "token", "balance_of", "alice").stdout.contains("\(100 - hashes.count)"))
        #expect(try totalSupply(devnet) == supply)
        let log = try String(
            contentsOf: devnet.dataDirectory.appendingPathComponent("logs/sequencer.log"), encoding: .utf8)
        #expect(log.contains("after replaying the log"))
    }
}
