import Foundation
import Testing

@Suite("devnet bench on real processes")
struct BenchTests {
    /// `devnet bench --quick --json` runs every part with both proof systems and its counts add up.
    /// No speed is asserted.
    @Test func quickBenchReportsEveryFieldAndItsCountsAddUp() async throws {
        // The largest bench devnet has 4 thread nodes: 6 processes of 3 ports each.
        let (basePort, lock) = try PortBlocks.reserve(count: 6 * 3)
        defer { close(lock) }
        let devnet = binaryDirectory.appendingPathComponent("devnet").path
        // At the lowest priority, so its load does not slow the tests running beside it, and waited
        // for on a thread of its own rather than blocking a cooperative one.
        let result = try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        try run(
                            "/usr/bin/nice",
                            [
                                "-n", "19", devnet, "bench", "--quick", "--json", "--proof-system", "both",
                                "--base-port", "\(basePort)",
                            ])
                    })
            }.start()
        }
        try #require(result.status == 0, "devnet bench failed:\n\(result.stderr.suffix(2000))")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let report = try #require(object as? [String: Any], "not a JSON object:\n\(result.stdout)")

        for key in [
            "machine", "quick", "startup", "latency", "throughput", "cost", "skipped", "peak_rss", "failures", "totals",
        ] {
            #expect(report[key] != nil, "missing \(key)")
        }
        #expect(report["quick"] as? Bool == true)
        let machine = try #require(report["machine"] as? [String: Any])
        for key in ["cores", "memory_gib", "build"] { #expect(machine[key] != nil, "machine.\(key) missing") }

        let startup = try #require(report["startup"] as? [[String: Any]])
        #expect(!startup.isEmpty)
        for row in startup {
            for key in ["thread_nodes", "processes", "runs", "median_ms", "min_ms", "max_ms", "samples_ms"] {
                #expect(row[key] != nil, "startup.\(key) missing")
            }
        }

        /// Every accepted transaction settled or failed; returns (submitted, settled, failed).
        func counts(_ row: [String: Any], _ place: String) -> (Int, Int, Int) {
            let submitted = row["submitted"] as? Int ?? -1
            let settled = row["settled"] as? Int ?? -1
            let failed = row["failed"] as? Int ?? -1
            #expect(submitted > 0, "\(place): nothing submitted")
            #expect(
                submitted == settled + failed, "\(place): \(submitted) submitted, \(settled) settled, \(failed) failed")
            #expect(row["refused"] as? Int != nil, "\(place).refused missing")
            return (submitted, settled, failed)
        }
        var total = (0, 0, 0)
        func add(_ value: (Int, Int, Int)) { total = (total.0 + value.0, total.1 + value.1, total.2 + value.2) }

        /// Every run proved and verified sub-blocks, and says what that cost per sub-block.
        func proofs(_ row: [String: Any], _ place: String) {
            guard let proofs = row["proofs"] as? [String: Any] else {
                Issue.record("\(place).proofs missing")
                return
            }
            #expect((proofs["proved"] as? Int ?? 0) > 0, "\(place): nothing proved")
            #expect((proofs["verified"] as? Int ?? 0) > 0, "\(place): nothing verified")
            for key in ["prove_ms_per_sub_block", "verify_ms_per_sub_block", "proof_kib_per_sub_block"] {
                #expect(proofs[key] as? Double != nil, "\(place).proofs.\(key) missing")
            }
        }

        let latency = try #require(report["latency"] as? [[String: Any]])
        #expect(latency.compactMap { $0["proof_system"] as? String } == ["reexec", "stark"])
        for row in latency {
            for key in [
                "proof_system", "block_mode", "senders", "window", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms",
            ] {
                #expect(row[key] != nil, "latency.\(key) missing")
            }
            add(counts(row, "latency"))
            proofs(row, "latency")
        }

        let throughput = try #require(report["throughput"] as? [[String: Any]])
        #expect(throughput.compactMap { $0["threads"] as? Int } == [1, 1, 2, 2, 4])
        #expect(
            throughput.compactMap { $0["proof_system"] as? String } == ["reexec", "stark", "reexec", "stark", "reexec"])
        for row in throughput {
            for key in [
                "proof_system", "seconds", "settled_per_second", "sub_blocks", "mean_sub_block", "largest_sub_block",
            ] {
                #expect(row[key] != nil, "throughput.\(key) missing")
            }
            add(counts(row, "throughput"))
            proofs(row, "throughput")
        }

        let cost = try #require(report["cost"] as? [[String: Any]])
        // stark at the 4096 cap is left out with --quick, and says so.
        #expect(cost.compactMap { $0["max_sub_block"] as? Int } == [16, 16, 256, 256, 4096])
        #expect(cost.compactMap { $0["proof_system"] as? String } == ["reexec", "stark", "reexec", "stark", "reexec"])
        let skipped = try #require(report["skipped"] as? [[String: Any]])
        #expect(skipped.count == 1)
        #expect(skipped.first?["max_sub_block"] as? Int == 4096)
        #expect(skipped.first?["proof_system"] as? String == "stark")
        for row in cost {
            for key in [
                "proof_system", "sub_blocks", "mean_sub_block", "largest_sub_block", "manager_cpu_ms",
                "manager_cpu_us_per_tx",
            ] {
                #expect(row[key] != nil, "cost.\(key) missing")
            }
            #expect((row["sub_blocks"] as? Int ?? 0) > 0)
            add(counts(row, "cost"))
            proofs(row, "cost")
        }

        let peak = try #require(report["peak_rss"] as? [[String: Any]])
        #expect(peak.count == latency.count + throughput.count + cost.count)
        for phase in peak {
            let processes = try #require(phase["processes"] as? [[String: Any]])
            #expect(Set(processes.compactMap { $0["role"] as? String }) == ["sequencer", "manager", "thread-node"])
            #expect(processes.allSatisfy { ($0["peak_rss_kib"] as? Int ?? 0) > 0 })
        }

        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["submitted"] as? Int == total.0)
        #expect(totals["settled"] as? Int == total.1)
        #expect(totals["failed"] as? Int == total.2)
        #expect(total.0 == total.1 + total.2)
    }
}
