import Foundation
import Testing

@testable import Orchestrator

@Suite("devnet bench: its plan, proof counters and report")
struct BenchPlanTests {
    // MARK: Proof counters

    @Test func countersSumTheNodesAndTakeTheManagersForOneProofSystem() {
        let counters = ProofCounters(
            system: "stark",
            nodes: [
                ["proofs": 3, "prove_us": 900_000, "proof_bytes": 240_000, "settled": 40],
                ["proofs": 1, "prove_us": 100_000, "proof_bytes": 80_000],
                [:],
            ],
            manager: [
                "stark_proofs_verified": 4, "stark_verify_us": 20_000, "stark_proof_bytes": 320_000,
                "reexec_proofs_verified": 9, "reexec_verify_us": 1_000,
            ])
        #expect(
            counters
                == ProofCounters(
                    proofs: 4, proveMicros: 1_000_000, proofBytes: 320_000, verified: 4, verifyMicros: 20_000,
                    verifiedBytes: 320_000))
    }

    @Test func theDifferenceGivesTheMeansPerSubBlock() {
        let before = ProofCounters(
            proofs: 1, proveMicros: 130_000, proofBytes: 76_000, verified: 1, verifyMicros: 3_000,
            verifiedBytes: 76_000)
        let after = ProofCounters(
            proofs: 5, proveMicros: 1_330_000, proofBytes: 76_000 + 4 * 102_400, verified: 5,
            verifyMicros: 3_000 + 4 * 4_500, verifiedBytes: 76_000 + 4 * 102_400)
        let figures = (after - before).figures
        #expect(figures.proved == 4)
        #expect(figures.verified == 4)
        #expect(figures.proveMsPerSubBlock == 300)
        #expect(figures.verifyMsPerSubBlock == 4.5)
        #expect(figures.proofKibPerSubBlock == 100)
    }

    @Test func nothingCountedHasNoMeans() {
        let same = ProofCounters(proofs: 2, proveMicros: 10, proofBytes: 10, verified: 2, verifyMicros: 10)
        let figures = (same - same).figures
        #expect(figures.proved == 0 && figures.verified == 0)
        #expect(figures.proveMsPerSubBlock == nil)
        #expect(figures.verifyMsPerSubBlock == nil)
        #expect(figures.proofKibPerSubBlock == nil)
    }

    @Test func aCounterThatWentDownCountsFromZero() {
        let before = ProofCounters(proofs: 10, proveMicros: 5_000, verified: 10, verifyMicros: 700)
        let after = ProofCounters(proofs: 3, proveMicros: 1_500, verified: 12, verifyMicros: 900)
        let difference = after - before
        #expect(difference.proofs == 3)
        #expect(difference.proveMicros == 1_500)
        #expect(difference.verified == 2)
        #expect(difference.verifyMicros == 200)
    }

    // MARK: The --proof-system option

    @Test(arguments: [("reexec", ["reexec"]), ("stark", ["stark"]), ("both", ["reexec", "stark"])])
    func theOptionNamesTheProofSystems(text: String, systems: [String]) {
        #expect(BenchProofSystems(rawValue: text)?.systems == systems)
    }

    @Test func anUnknownProofSystemIsNotAnOption() {
        #expect(BenchProofSystems(rawValue: "snark") == nil)
        #expect(BenchProofSystems(rawValue: "Both") == nil)
    }

    // MARK: The plan

    private func suite(quick: Bool, systems: [String], transactions: Int? = nil) -> BenchSuite {
        BenchSuite(
            quick: quick, startupRuns: 1, startupNodes: [1], latencyTransactions: transactions,
            proofSystems: systems, basePort: 32000)
    }

    /// (part, threads, max_sub_block, proof system, transactions per thread) of each run.
    private func rows(_ runs: [BenchRun]) -> [String] {
        runs.map {
            "\($0.part.rawValue) \($0.shape.threads) \($0.shape.maxSubBlock ?? 0) \($0.shape.proofSystem) \($0.shape.transactionsPerThread)"
                + ($0.skipped == nil ? "" : " skipped")
        }
    }

    @Test func aFullBenchOfBothRunsEachStepWithReexecThenStark() {
        #expect(
            rows(suite(quick: false, systems: ["reexec", "stark"]).plan()) == [
                "latency 1 0 reexec 10000", "latency 1 0 stark 1000",
                "throughput 1 0 reexec 10000", "throughput 1 0 stark 2000",
                "throughput 2 0 reexec 10000", "throughput 2 0 stark 2000",
                "throughput 4 0 reexec 10000", "throughput 8 0 reexec 10000",
                "cost 1 16 reexec 10000", "cost 1 16 stark 320",
                "cost 1 256 reexec 10000", "cost 1 256 stark 1024",
                "cost 1 4096 reexec 40000", "cost 1 4096 stark 8192",
            ])
    }

    @Test func aQuickBenchLeavesOutStarkAtTheLargestCap() {
        let runs = suite(quick: true, systems: ["reexec", "stark"]).plan()
        #expect(
            rows(runs) == [
                "latency 1 0 reexec 200", "latency 1 0 stark 50",
                "throughput 1 0 reexec 300", "throughput 1 0 stark 100",
                "throughput 2 0 reexec 300", "throughput 2 0 stark 100",
                "throughput 4 0 reexec 300",
                "cost 1 16 reexec 160", "cost 1 16 stark 64",
                "cost 1 256 reexec 600", "cost 1 256 stark 512",
                "cost 1 4096 reexec 600", "cost 1 4096 stark 8192 skipped",
            ])
        #expect(runs.last?.skipped?.contains("--quick") == true)
    }

    @Test func oneProofSystemRunsOnlyItsOwnRuns() {
        let reexec = suite(quick: false, systems: ["reexec"]).plan()
        #expect(reexec.allSatisfy { $0.shape.proofSystem == "reexec" && $0.skipped == nil })
        #expect(reexec.count == 8)
        let stark = suite(quick: true, systems: ["stark"]).plan()
        #expect(stark.allSatisfy { $0.shape.proofSystem == "stark" })
        #expect(
            rows(stark).filter { $0.hasPrefix("throughput") } == [
                "throughput 1 0 stark 100", "throughput 2 0 stark 100",
            ])
    }

    @Test func transactionsSetsEveryLatencyRun() {
        let runs = suite(quick: true, systems: ["reexec", "stark"], transactions: 30).plan()
        #expect(runs.filter { $0.part == .latency }.map(\.shape.transactionsPerThread) == [30, 30])
    }

    @Test func starkAtTheLargestCapHasEveryTransactionInFlightAtOnce() throws {
        let run = try #require(
            suite(quick: false, systems: ["stark"]).plan().first { $0.part == .cost && $0.shape.maxSubBlock == 4096 })
        #expect(run.shape.senders * run.shape.window >= run.shape.transactionsPerThread)
        #expect(run.shape.settleTimeout > .seconds(60))
    }

    @Test func reexecKeepsItsWindowsAndTimeout() {
        let runs = suite(quick: false, systems: ["reexec"]).plan()
        #expect(runs.map(\.shape.window) == [1, 64, 64, 64, 64, 64, 64, 512])
        #expect(runs.allSatisfy { $0.shape.settleTimeout == .seconds(60) })
    }

    @Test func runsAreLabelledWithTheirProofSystem() {
        let labels = suite(quick: true, systems: ["stark"]).plan().map(\.label)
        #expect(labels.first == "latency, 1 thread, stark")
        #expect(labels.contains("throughput, 2 thread(s), stark"))
        #expect(labels.last == "cost, max_sub_block 4096, stark")
    }

    // MARK: The report

    private func report() -> BenchReport {
        let reexecProofs = BenchReport.ProofFigures(
            proved: 40, proveMsPerSubBlock: 0.05, proofKibPerSubBlock: 0.5, verified: 40, verifyMsPerSubBlock: 1.25)
        let starkProofs = BenchReport.ProofFigures(
            proved: 8, proveMsPerSubBlock: 812.5, proofKibPerSubBlock: 96.25, verified: 8, verifyMsPerSubBlock: 4.5)
        func latency(_ system: String, _ proofs: BenchReport.ProofFigures?) -> BenchReport.Latency {
            .init(
                proofSystem: system, blockMode: "instant", senders: 10, window: 1, submitted: 50, settled: 50,
                failed: 0, refused: 0, p50Ms: 1, p90Ms: 2, p99Ms: 3, maxMs: 4, meanMs: 1.5, proofs: proofs)
        }
        func cost(_ system: String, _ cap: Int, _ proofs: BenchReport.ProofFigures?) -> BenchReport.Cost {
            .init(
                proofSystem: system, maxSubBlock: cap, submitted: 64, settled: 64, failed: 0, refused: 0,
                subBlocks: 4, meanSubBlock: 16, largestSubBlock: 16, managerCpuMs: 80, managerCpuUsPerTx: 1250,
                proofs: proofs)
        }
        return BenchReport(
            machine: .init(cores: 2, memoryGib: 24, build: "release"),
            signatures: .init(signUs: 25, verifyUs: 50, cores: 2, proofSystems: ["reexec", "stark"]), quick: true,
            startup: [],
            latency: [latency("reexec", reexecProofs), latency("stark", nil)],
            throughput: [
                .init(
                    threads: 1, proofSystem: "reexec", submitted: 1_400, settled: 1_400, failed: 0, refused: 0,
                    seconds: 2, settledPerSecond: 700, fractionOfCryptoLimit: 0.035, subBlocks: 40, meanSubBlock: 35,
                    largestSubBlock: 64, proofs: reexecProofs),
                .init(
                    threads: 1, proofSystem: "stark", submitted: 100, settled: 100, failed: 0, refused: 0, seconds: 2,
                    settledPerSecond: 50, fractionOfCryptoLimit: nil, subBlocks: 8, meanSubBlock: 12.5,
                    largestSubBlock: 30, proofs: starkProofs),
            ],
            cost: [cost("reexec", 16, reexecProofs), cost("stark", 16, starkProofs)],
            skipped: [
                .init(
                    part: "cost", proofSystem: "stark", threads: 1, maxSubBlock: 4096, reason: "not run with --quick")
            ],
            peakRss: [], failures: [])
    }

    @Test func theTablesShowBothProofSystemsAndTheirProofFigures() throws {
        let lines = report().table().split(separator: "\n").map(String.init)
        /// A line's cells: text between runs of two or more spaces.
        func cells(_ line: String) -> [String] {
            line.split(separator: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let proofHeader = ["PROVE ms/SUB-BLOCK", "VERIFY ms/SUB-BLOCK", "PROOF KiB"]

        let latencyHeader = try #require(lines.firstIndex { $0.hasPrefix("PROOF ") && $0.contains("p50 ms") })
        #expect(Array(cells(lines[latencyHeader]).suffix(3)) == proofHeader)
        #expect(cells(lines[latencyHeader + 1]).first == "reexec")
        #expect(Array(cells(lines[latencyHeader + 1]).suffix(3)) == ["0.05", "1.25", "0.50"])
        #expect(cells(lines[latencyHeader + 2]).first == "stark")
        #expect(Array(cells(lines[latencyHeader + 2]).suffix(3)) == ["-", "-", "-"])

        let throughputHeader = try #require(lines.firstIndex { $0.hasPrefix("THREADS ") })
        #expect(Array(cells(lines[throughputHeader]).suffix(3)) == proofHeader)
        #expect(Array(cells(lines[throughputHeader + 2]).suffix(3)) == ["812.50", "4.50", "96.25"])

        let costHeader = try #require(lines.firstIndex { $0.hasPrefix("PROOF ") && $0.contains("MAX SUB-BLOCK") })
        #expect(Array(cells(lines[costHeader]).suffix(3)) == proofHeader)
        #expect(cells(lines[costHeader + 1]).prefix(2) == ["reexec", "16"])
        #expect(Array(cells(lines[costHeader + 2]).suffix(5)) == ["80", "1250.0", "812.50", "4.50", "96.25"])
        #expect(cells(lines[costHeader + 3]) == ["stark", "4096", "not run with --quick"])
        // The note does not widen the columns it runs over.
        #expect(lines[costHeader + 3].count < lines[costHeader + 2].count)
    }

    @Test func theJSONCarriesTheProofFiguresAndTheSkippedRuns() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try report().json().utf8)) as? [String: Any]
        let latency = try #require(object?["latency"] as? [[String: Any]])
        #expect(latency.compactMap { $0["proof_system"] as? String } == ["reexec", "stark"])
        let cost = try #require(object?["cost"] as? [[String: Any]])
        let proofs = try #require(cost.last?["proofs"] as? [String: Any])
        #expect(proofs["prove_ms_per_sub_block"] as? Double == 812.5)
        #expect(proofs["verify_ms_per_sub_block"] as? Double == 4.5)
        #expect(proofs["proof_kib_per_sub_block"] as? Double == 96.25)
        #expect(proofs["proved"] as? Int == 8)
        #expect(proofs["verified"] as? Int == 8)
        let skipped = try #require(object?["skipped"] as? [[String: Any]])
        #expect(skipped.first?["max_sub_block"] as? Int == 4096)
        #expect(skipped.first?["proof_system"] as? String == "stark")
        let totals = try #require(object?["totals"] as? [String: Any])
        #expect(totals["submitted"] as? Int == 50 + 50 + 1_400 + 100 + 64 + 64)
    }

    // MARK: The crypto-bound limit

    @Test func theLimitIsTheCoresOverTwoVerificationsPerTransaction() {
        // 2 cores / (2 × 50 µs) = 20,000 tx/s.
        #expect(BenchReport.CryptoLimit.limit(cores: 2, verifications: 2, verifyUs: 50) == 20_000)
        #expect(BenchReport.CryptoLimit.limit(cores: 8, verifications: 2, verifyUs: 40) == 100_000)
        #expect(BenchReport.CryptoLimit.limit(cores: 2, verifications: 3, verifyUs: 50) == 2_000_000.0 / 150)
        #expect(BenchReport.CryptoLimit.limit(cores: 2, verifications: 2, verifyUs: 0) == 0)
        #expect(BenchReport.CryptoLimit.limit(cores: 0, verifications: 2, verifyUs: 50) == 0)
    }

    @Test func reexecCountsTheNodeAndTheManager() {
        let reexec = BenchReport.CryptoLimit(proofSystem: "reexec", cores: 2, verifyUs: 50)
        #expect(reexec.verificationsPerTx == 2)
        #expect(reexec.txPerSecond == 20_000)
        #expect(reexec.boundBy == "signatures")
    }

    @Test func starkHasTheSameLimitButIsBoundByProving() {
        let stark = BenchReport.CryptoLimit(proofSystem: "stark", cores: 2, verifyUs: 50)
        #expect(stark.verificationsPerTx == 2)
        #expect(stark.txPerSecond == 20_000)
        #expect(stark.boundBy == "proving")
    }

    @Test func theRatesAreTheInversesOfTheMeanTimes() {
        let signatures = BenchReport.Signatures(signUs: 25, verifyUs: 50, cores: 2, proofSystems: ["reexec"])
        #expect(signatures.signsPerSecond == 40_000)
        #expect(signatures.verifiesPerSecond == 20_000)
        #expect(signatures.limits.map(\.proofSystem) == ["reexec"])
    }

    @Test func settledTxPerSecondIsAFractionOfItsProofSystemsLimit() {
        let signatures = BenchReport.Signatures(signUs: 25, verifyUs: 50, cores: 2, proofSystems: ["reexec", "stark"])
        #expect(signatures.fraction(settledPerSecond: 700, proofSystem: "reexec") == 0.035)
        #expect(signatures.fraction(settledPerSecond: 150, proofSystem: "stark") == 0.0075)
        #expect(signatures.fraction(settledPerSecond: 700, proofSystem: "snark") == nil)
        let unmeasured = BenchReport.Signatures(signUs: 0, verifyUs: 0, cores: 2, proofSystems: ["reexec"])
        #expect(unmeasured.fraction(settledPerSecond: 700, proofSystem: "reexec") == nil)
    }

    @Test(arguments: [(0.035, "3.5%"), (0.0074, "0.7%"), (0.5, "50.0%"), (1.2, "120.0%")])
    func theFractionPrintsAsAPercentage(fraction: Double, text: String) {
        #expect(BenchReport.percent(fraction) == text)
    }

    @Test(arguments: [
        (20_000.0, "20,000"), (13_333.3, "13,300"), (19_876.0, "19,900"), (725.4, "725"), (1_234_567.0, "1,230,000"),
    ])
    func ratesPrintWithThreeSignificantFigures(value: Double, text: String) {
        #expect(BenchReport.rate(value) == text)
    }

    @Test func theThroughputTableHasTheFractionBesideSettledTxPerSecond() throws {
        let lines = report().table().split(separator: "\n").map(String.init)
        func cells(_ line: String) -> [String] {
            line.split(separator: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let header = try #require(lines.firstIndex { $0.hasPrefix("THREADS ") })
        let headerCells = cells(lines[header])
        let column = try #require(headerCells.firstIndex(of: "OF CRYPTO LIMIT"))
        #expect(headerCells[column - 1] == "SETTLED TX/S")
        #expect(cells(lines[header + 1])[column - 1] == "700")
        #expect(cells(lines[header + 1])[column] == "3.5%")
        #expect(cells(lines[header + 2])[column] == "-")
    }

    @Test func theHeaderGivesTheRatesTheLimitAndHowItWasComputed() {
        let table = report().table()
        #expect(
            table.contains(
                "Signatures: swift-crypto Curve25519.Signing (Ed25519), one core: sign 25.0 µs (40,000/s), verify 50.0 µs (20,000/s)"
            ))
        #expect(table.contains("Crypto-bound limit: 2 cores / (2 verifications × 50.0 µs) = 20,000 tx/s."))
        #expect(table.contains("by the node at submit and by the manager"))
        #expect(table.contains("  reexec: 20,000 tx/s\n"))
        #expect(table.contains("  stark: 20,000 tx/s; proving, not signatures, bounds stark"))
        // Before the first table.
        #expect(table.range(of: "Crypto-bound limit")!.lowerBound < table.range(of: "Start-up")!.lowerBound)
    }

    @Test func theJSONCarriesTheRatesTheLimitsAndTheFraction() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try report().json().utf8)) as? [String: Any]
        let signatures = try #require(object?["signatures"] as? [String: Any])
        #expect(signatures["sign_us"] as? Double == 25)
        #expect(signatures["verify_us"] as? Double == 50)
        #expect(signatures["signs_per_second"] as? Double == 40_000)
        #expect(signatures["verifies_per_second"] as? Double == 20_000)
        #expect(signatures["cores"] as? Int == 2)
        #expect((signatures["library"] as? String)?.contains("Ed25519") == true)
        let limits = try #require(signatures["limits"] as? [[String: Any]])
        #expect(limits.compactMap { $0["proof_system"] as? String } == ["reexec", "stark"])
        #expect(limits.first?["tx_per_second"] as? Double == 20_000)
        #expect(limits.first?["verifications_per_tx"] as? Int == 2)
        #expect(limits.compactMap { $0["bound_by"] as? String } == ["signatures", "proving"])
        let throughput = try #require(object?["throughput"] as? [[String: Any]])
        #expect(throughput.first?["fraction_of_crypto_limit"] as? Double == 0.035)
        // A row without a limit leaves the field out.
        #expect(throughput.last?["fraction_of_crypto_limit"] == nil)
    }
}
