import Foundation
import Testing

/// `devnet scenario run` and `devnet attach` on real processes.
@Suite("scenarios, end to end")
struct ScenarioTests {
    private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL
    private var devnet: String { binaryDirectory.appendingPathComponent("devnet").path }

    /// Runs `devnet scenario run` with its own work directory and a reserved block of ports.
    private func runScenario(_ arguments: [String], workDirectory: URL) throws -> CommandResult {
        let (base, lock) = try PortBlocks.reserve(count: 30)
        defer { close(lock) }
        return try run(
            devnet,
            ["scenario", "run"] + arguments + ["--work-dir", workDirectory.path, "--base-port", "\(base)"])
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "scenario-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theSameSeedAndStepsGiveTheSameCanonicalRoots() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let scenario = repository.appendingPathComponent("Scenarios/happy-path.yaml").path
        var roots: [[String: String]] = []
        for attempt in 1...2 {
            let report = work.appendingPathComponent("run-\(attempt).json")
            let result = try runScenario([scenario, "--json", report.path], workDirectory: work)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            let results = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [[String: Any]])
            #expect(results.first?["passed"] as? Bool == true)
            roots.append(try #require(results.first?["roots"] as? [String: String]))
        }
        #expect(Set(roots[0].keys) == ["token", "counter"])
        #expect(roots[0].values.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isHexDigit) })
        #expect(roots[0] == roots[1])
        // A passing scenario leaves nothing behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).allSatisfy { $0.hasSuffix(".json") })
    }

    @Test func loadsUnderANemesisKeepTheInvariantsAndASeedReplaysTheFaults() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let scenario = repository.appendingPathComponent("Scenarios/load-and-invariants.yaml").path
        func faults(_ report: URL) throws -> (seeds: [UInt64], faults: [[String]]) {
            let results = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [[String: Any]])
            #expect(results.allSatisfy { $0["passed"] as? Bool == true })
            let seeds = results.compactMap { ($0["seed"] as? NSNumber)?.uint64Value }
            let faults = results.map { result in
                let steps = result["steps"] as? [[String: Any]] ?? []
                // "nemesis 1.04s pause_resume node-counter for 0.50s": the fault and target, not the times.
                return (steps.first { $0["notes"] != nil }?["notes"] as? [String] ?? []).map {
                    $0.split(separator: " ").dropFirst(2).prefix(2).joined(separator: " ")
                }
            }
            return (seeds, faults)
        }
        let twice = work.appendingPathComponent("twice.json")
        let result = try runScenario([scenario, "--repeat", "2", "--json", twice.path], workDirectory: work)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("seed 21 (run 1 of 2)"))
        let first = try faults(twice)
        #expect(first.seeds.count == 2 && first.seeds[0] == 21 && first.seeds[1] != 21)
        #expect(first.faults.allSatisfy { !$0.isEmpty }, "\(first.faults)")
        #expect(result.stdout.contains("check invariants final_once, nonces, supply, sequences"))

        let replay = work.appendingPathComponent("replay.json")
        let again = try runScenario(
            [scenario, "--seed", "\(first.seeds[1])", "--json", replay.path], workDirectory: work)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        let replayed = try faults(replay)
        #expect(replayed.seeds == [first.seeds[1]])
        // The same faults on the same targets, in the same order (as many as the load lasted for).
        let shared = min(replayed.faults[0].count, first.faults[1].count)
        #expect(shared > 0)
        #expect(Array(replayed.faults[0].prefix(shared)) == Array(first.faults[1].prefix(shared)))
    }

    /// A manager sabotaged to apply one sub-block's transactions twice: the nodes, receipts and
    /// settlements all look right, and only the replay of the L2 history catches it, naming the
    /// sub-block, the L2 transaction and the thread transactions it carried.
    @Test func theReplayInvariantCatchesAManagerThatAppliesATransactionTwice() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("sabotaged.yaml")
        try """
        name: sabotaged
        topology:
          threads: [{name: counter}]
        steps:
          - send: {thread: counter, entrypoint: increment, args: [5], from: alice, as: first}
          - wait: {settled: [first]}
          - invariants: [replay, cross_reads]
          - sabotage: {fault: apply_twice, thread: counter}
          - send: {thread: counter, entrypoint: increment, args: [7], from: bob, as: doubled}
          - wait: {settled: [doubled]}
          - expect:
              call: {thread: counter, entrypoint: get}
              equals: 19
          - invariants: [replay]
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try runScenario([file.path], workDirectory: work)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        // The first check passed (an honest history), the second failed on the sabotaged sub-block.
        let row = result.stdout.split(separator: "\n").first { $0.hasPrefix("sabotaged ") }
        #expect(row?.contains("7/8") == true && row?.contains("FAILED") == true, "\(result.stdout)")
        #expect(result.stdout.contains("replay: thread counter sub-block 2: the receipt of "), "\(result.stdout)")
        #expect(result.stdout.contains("re-executing its transactions ("))
        #expect(result.stdout.contains("replay: thread counter: state root "))
    }

    /// On a secured devnet (CurveZMQ), a load's event subscription and requests carry the
    /// orchestrator's keys like every other client of the run.
    @Test func loadsRunOnASecuredDevnet() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("secured.yaml")
        try """
        name: secured load
        topology:
          security: curve
          threads: [{name: counter}]
        steps:
          - load: {thread: counter, entrypoint: increment, args: [{range: [1, 9]}], count: 20, senders: 2, rate: 40}
          - load: {transfer: {to: bob, amount: 5}, from: alice, count: 3}
          - invariants: all
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try runScenario([file.path], workDirectory: work)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("load-1: 20 admitted, 20 settled"), "\(result.stdout)")
    }

    @Test func aFailingScenarioExitsNonZeroKeepsItsDataAndNamesWhatItWaitedFor() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("stuck.yaml")
        try """
        name: stuck
        topology:
          threads: [{name: token}]
        steps:
          - pause: node-token
          - send: {thread: token, entrypoint: mint, args: [alice, 1], from: alice, as: held}
          - wait: {settled: [held]}
            timeout: 1s
          - mine: 1
        """.write(to: file, atomically: true, encoding: .utf8)
        let junit = work.appendingPathComponent("report.xml")
        let result = try runScenario([file.path, "--junit", junit.path], workDirectory: work)
        #expect(result.status == 1)
        #expect(result.stdout.contains("timed out waiting for held to settle; it is pending"))
        let row = result.stdout.split(separator: "\n").first { $0.hasPrefix("stuck ") }
        #expect(row?.contains("2/4") == true && row?.contains("FAILED") == true, "\(result.stdout)")
        let kept = try #require(
            result.stdout.split(separator: "\n").first { $0.contains("data and logs kept in") }
        )
        let directory = String(kept.split(separator: " ").first { $0.hasPrefix("/") } ?? "")
        #expect(FileManager.default.fileExists(atPath: directory + "/logs/node-token.log"))
        let xml = try String(contentsOf: junit, encoding: .utf8)
        #expect(xml.contains("<failure message=\"timed out waiting for held to settle"))
        #expect(xml.contains("skipped=\"1\""))
        // Its devnet was stopped all the same.
        let state = try? Data(contentsOf: URL(fileURLWithPath: directory + "/devnet.json"))
        #expect(state == nil)
    }

    @Test func aScenarioWithAnUnknownAccountFailsBeforeAnythingStarts() throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("typo.yaml")
        try """
        steps:
          - transfer: {from: alice, to: mallory, amount: 1}
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try runScenario([file.path], workDirectory: work)
        #expect(result.status == 2)
        #expect(result.stderr.contains("typo.yaml:2:"))
        #expect(result.stderr.contains("steps[0].transfer.to: unknown account 'mallory'"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path) == ["typo.yaml"])
    }

    @Test func attachAddsANodeThatSettlesAndStatusShows() async throws {
        let devnet = try TestDevnet(threads: ["token"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        let port = devnet.basePort + 9
        let refused = try devnet.command("attach", "dice")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("say which contract it runs with --contract"))

        let attached = try devnet.command("attach", "dice", "--contract", "counter", "--port", "\(port)")
        #expect(attached.status == 0, "\(attached.stderr)")
        let rows = try devnet.status()
        let row = try #require(rows.first { $0["name"] as? String == "node-dice" })
        #expect(row["status"] as? String == "healthy")
        let sent = try devnet.json("send", "dice", "increment", "6", "--from", "alice")
        #expect(sent["status"] as? String == "settled")
        #expect(try devnet.command("call", "dice", "get").stdout.contains("6"))
        // The new thread's prover was funded, and a restarted sequencer funds it the same way.
        func proverBalance() throws -> UInt64? {
            let accounts = try devnet.command("accounts").stdout
            let line = accounts.split(separator: "\n").first { $0.hasPrefix("prover-dice-1 ") }
            return line?.split(separator: " ").dropFirst(2).first.flatMap { UInt64($0) }
        }
        let before = try #require(try proverBalance())
        _ = try devnet.command("restart", "sequencer")
        let balance = try #require(try proverBalance())
        #expect(balance > 0 && balance < 1_000_000_000_000)
        #expect(balance == before)
    }

    @Test func faultHooksAreRefusedUnlessTheDevnetTurnsThemOn() throws {
        let devnet = try TestDevnet(threads: ["counter"])
        defer { devnet.tearDown() }
        try #require(try devnet.up().status == 0)
        let result = try devnet.command("request", "node-counter", "pause", "--admin")
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("FAULT_HOOKS_DISABLED"))
        let info = try devnet.json("request", "node-counter", "node_info")
        #expect(info["paused"] as? Bool == false)
    }
}

extension ScenarioTests {
    @Test func ctrlCStopsTheRunningScenariosDevnet() async throws {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("sleepy.yaml")
        try """
        topology:
          threads: [{name: counter}]
        steps:
          - sleep: 60s
        """.write(to: file, atomically: true, encoding: .utf8)
        let (base, lock) = try PortBlocks.reserve(count: 24)
        defer { close(lock) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: devnet)
        process.arguments = [
            "scenario", "run", file.path, "--work-dir", work.appendingPathComponent("runs").path, "--base-port",
            "\(base)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until its devnet is up: the data directory has a devnet.json.
        var state: URL?
        let deadline = ContinuousClock.now + TestTimeouts.seconds(30)
        while state == nil, ContinuousClock.now < deadline {
            let runs = work.appendingPathComponent("runs")
            state = (try? FileManager.default.contentsOfDirectory(atPath: runs.path))?.lazy
                .map { runs.appendingPathComponent($0).appendingPathComponent("devnet.json") }
                .first { FileManager.default.fileExists(atPath: $0.path) }
            try await Task.sleep(for: .milliseconds(50))
        }
        let devnetJSON = try #require(state)
        let recorded = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: devnetJSON)) as? [String: Any])
        let pids = (recorded["processes"] as? [[String: Any]] ?? []).compactMap { $0["pid"] as? Int32 }
        #expect(pids.count == 3)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(pids.allSatisfy { !processIsRunning($0) })
    }
}
