import Foundation

/// Everything `devnet bench` measures, as printed in its table and written with `--json`.
public struct BenchReport: Codable, Sendable {
    public struct Machine: Codable, Sendable {
        public var cores: Int
        public var memoryGib: Double
        /// `debug` or `release`: how the devnet binaries were built.
        public var build: String
    }

    /// What proving and verifying cost during one load run: the thread nodes' `proofs`,
    /// `prove_us` and `proof_bytes` and the manager's `<system>_proofs_verified` and
    /// `<system>_verify_us`, after the warm-up to the end of the load. A mean is nil when nothing
    /// was counted.
    public struct ProofFigures: Codable, Sendable, Equatable {
        /// Proofs the nodes made (a sub-block proved again after a revert counts again).
        public var proved: Int
        /// The nodes' mean time to prove one sub-block.
        public var proveMsPerSubBlock: Double?
        /// The mean size of a proof.
        public var proofKibPerSubBlock: Double?
        /// Proofs the manager verified.
        public var verified: Int
        /// The manager's mean time to verify one sub-block's proof.
        public var verifyMsPerSubBlock: Double?

        public init(
            proved: Int, proveMsPerSubBlock: Double?, proofKibPerSubBlock: Double?, verified: Int,
            verifyMsPerSubBlock: Double?
        ) {
            self.proved = proved
            self.proveMsPerSubBlock = proveMsPerSubBlock
            self.proofKibPerSubBlock = proofKibPerSubBlock
            self.verified = verified
            self.verifyMsPerSubBlock = verifyMsPerSubBlock
        }
    }

    /// Submit → settled on L2, one thread.
    public struct Latency: Codable, Sendable {
        public var proofSystem: String
        public var blockMode: String
        public var senders: Int
        public var window: Int
        public var submitted: Int
        public var settled: Int
        public var failed: Int
        public var refused: Int
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var meanMs: Double
        /// Nil when a daemon did not answer `stats`.
        public var proofs: ProofFigures?
    }

    /// Settled transactions per second over all threads.
    public struct Throughput: Codable, Sendable {
        public var threads: Int
        public var proofSystem: String
        public var submitted: Int
        public var settled: Int
        public var failed: Int
        public var refused: Int
        public var seconds: Double
        public var settledPerSecond: Double
        /// `settledPerSecond` over the proof system's crypto-bound limit (``Signatures``); nil
        /// when there is none.
        public var fractionOfCryptoLimit: Double?
        public var subBlocks: Int
        public var meanSubBlock: Double
        public var largestSubBlock: Int
        public var proofs: ProofFigures?
    }

    /// The manager's CPU time per settled transaction at one sub-block cap.
    public struct Cost: Codable, Sendable {
        public var proofSystem: String
        public var maxSubBlock: Int
        public var submitted: Int
        public var settled: Int
        public var failed: Int
        public var refused: Int
        public var subBlocks: Int
        public var meanSubBlock: Double
        public var largestSubBlock: Int
        public var managerCpuMs: Double
        public var managerCpuUsPerTx: Double
        public var proofs: ProofFigures?
    }

    /// A load run the bench left out, and why.
    public struct Skipped: Codable, Sendable, Equatable {
        /// `latency`, `throughput` or `cost`.
        public var part: String
        public var proofSystem: String
        public var threads: Int
        public var maxSubBlock: Int?
        public var reason: String
    }

    public struct PeakRSS: Codable, Sendable {
        public var process: String
        public var role: String
        public var peakRSSKiB: Int

        enum CodingKeys: String, CodingKey {
            case process, role
            case peakRSSKiB = "peakRssKib"
        }
    }

    /// The peak RSS of every daemon of one phase's devnet.
    public struct PhaseRSS: Codable, Sendable {
        public var phase: String
        public var proofSystem: String
        public var processes: [PeakRSS]
    }

    public var machine: Machine
    /// This machine's Ed25519 rates and the crypto-bound limit of each proof system.
    public var signatures: Signatures
    public var quick: Bool
    public var startup: [StartupBenchmark.Result]
    /// One row per proof system.
    public var latency: [Latency]
    public var throughput: [Throughput]
    public var cost: [Cost]
    public var skipped: [Skipped]
    public var peakRss: [PhaseRSS]
    /// Reasons of the first failures, if any.
    public var failures: [String]

    /// Every transaction accepted by a node, over every phase.
    public var submitted: Int {
        latency.map(\.submitted).reduce(0, +) + throughput.map(\.submitted).reduce(0, +)
            + cost.map(\.submitted).reduce(0, +)
    }
    public var settled: Int {
        latency.map(\.settled).reduce(0, +) + throughput.map(\.settled).reduce(0, +) + cost.map(\.settled).reduce(0, +)
    }
    public var failed: Int {
        latency.map(\.failed).reduce(0, +) + throughput.map(\.failed).reduce(0, +) + cost.map(\.failed).reduce(0, +)
    }

    private struct Totals: Codable {
        var submitted: Int
        var settled: Int
        var failed: Int
    }

    /// The report as JSON, snake_case keys, with the totals over every phase.
    public func json() throws -> String {
        struct Document: Encodable {
            var report: BenchReport
            var totals: Totals
            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(totals, forKey: Key(stringValue: "totals")!)
            }
            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init?(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let document = Document(report: self, totals: Totals(submitted: submitted, settled: settled, failed: failed))
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    /// The report as tables.
    public func table() -> String {
        var out = ""
        out +=
            "Machine: \(machine.cores) cores, \(String(format: "%.0f", machine.memoryGib)) GiB, \(machine.build) build\(quick ? ", --quick" : "")\n\n"
        out += signatureLines() + "\n"
        out += "Start-up: devnet up until every process is healthy (1 sequencer + 1 manager + N thread nodes)\n"
        out += StartupBenchmark.table(startup) + "\n\n"
        let shape = latency.first.map { "\($0.blockMode) blocks, \($0.senders) senders × window \($0.window)" } ?? ""
        out += "Settlement latency: thread tx submitted to the node until `settled`, 1 counter thread, \(shape)\n"
        out +=
            Table.render(
                header: ["PROOF", "SUBMITTED", "SETTLED", "FAILED", "p50 ms", "p90 ms", "p99 ms", "MAX ms", "MEAN ms"]
                    + Self.proofHeader,
                rows: latency.map {
                    [
                        $0.proofSystem, "\($0.submitted)", "\($0.settled)", "\($0.failed)", Self.ms($0.p50Ms),
                        Self.ms($0.p90Ms), Self.ms($0.p99Ms), Self.ms($0.maxMs), Self.ms($0.meanMs),
                    ] + Self.proofCells($0.proofs)
                } + skippedRows("latency") { [$0.proofSystem] }) + "\n\n"
        out += "Throughput: settled counter.increment tx/s over all threads (default sub-block cap 256)\n"
        out +=
            Table.render(
                header: [
                    "THREADS", "PROOF", "SUBMITTED", "SETTLED", "FAILED", "SECONDS", "SETTLED TX/S",
                    "OF CRYPTO LIMIT", "SUB-BLOCKS", "MEAN SUB-BLOCK", "LARGEST",
                ] + Self.proofHeader,
                rows: throughput.map {
                    [
                        "\($0.threads)", $0.proofSystem, "\($0.submitted)", "\($0.settled)", "\($0.failed)",
                        String(format: "%.2f", $0.seconds), String(format: "%.0f", $0.settledPerSecond),
                        Self.percent($0.fractionOfCryptoLimit), "\($0.subBlocks)",
                        String(format: "%.1f", $0.meanSubBlock), "\($0.largestSubBlock)",
                    ] + Self.proofCells($0.proofs)
                } + skippedRows("throughput") { ["\($0.threads)", $0.proofSystem] }) + "\n\n"
        out += "L2 cost: the manager's CPU time (utime + stime) per settled thread tx, 1 counter thread\n"
        out +=
            Table.render(
                header: [
                    "PROOF", "MAX SUB-BLOCK", "SETTLED", "FAILED", "SUB-BLOCKS", "MEAN SUB-BLOCK", "LARGEST",
                    "MANAGER CPU ms", "µs / TX",
                ] + Self.proofHeader,
                rows: cost.map {
                    [
                        $0.proofSystem, "\($0.maxSubBlock)", "\($0.settled)", "\($0.failed)", "\($0.subBlocks)",
                        String(format: "%.1f", $0.meanSubBlock), "\($0.largestSubBlock)",
                        String(format: "%.0f", $0.managerCpuMs),
                        String(format: "%.1f", $0.managerCpuUsPerTx),
                    ] + Self.proofCells($0.proofs)
                } + skippedRows("cost") { [$0.proofSystem, $0.maxSubBlock.map { "\($0)" } ?? ""] }) + "\n\n"
        out += "Peak RSS (VmHWM) per daemon, MiB\n"
        out += Table.render(
            header: ["PHASE", "SEQUENCER", "MANAGER", "THREAD NODE (max)"],
            rows: peakRss.map { phase in
                func mib(_ role: String) -> String {
                    let kib = phase.processes.filter { $0.role == role }.map(\.peakRSSKiB).max() ?? 0
                    return String(format: "%.1f", Double(kib) / 1024)
                }
                return [phase.phase, mib("sequencer"), mib("manager"), mib("thread-node")]
            })
        out += "\n\nTotals: \(submitted) submitted, \(settled) settled, \(failed) failed"
        if !failures.isEmpty { out += "\nFirst failures:\n  " + failures.joined(separator: "\n  ") }
        return out
    }

    /// The header's account of the signature rates and of each proof system's crypto-bound limit.
    func signatureLines() -> String {
        let s = signatures
        var out =
            "Signatures: \(s.library), one core: sign \(String(format: "%.1f", s.signUs)) µs "
            + "(\(Self.rate(s.signsPerSecond))/s), verify \(String(format: "%.1f", s.verifyUs)) µs "
            + "(\(Self.rate(s.verifiesPerSecond))/s)\n"
        guard let first = s.limits.first else { return out }
        out +=
            "Crypto-bound limit: \(s.cores) cores / (\(first.verificationsPerTx) verifications × "
            + "\(String(format: "%.1f", s.verifyUs)) µs) = \(Self.rate(first.txPerSecond)) tx/s. Each thread tx is "
            + "verified by the node at submit and by the manager; the bench signs before it starts the clock, so "
            + "signing is not counted.\n"
        for limit in s.limits {
            out += "  \(limit.proofSystem): \(Self.rate(limit.txPerSecond)) tx/s"
            if limit.boundBy == "proving" { out += "; proving, not signatures, bounds \(limit.proofSystem)" }
            out += "\n"
        }
        return out
    }

    /// A fraction as a percentage, "-" when there is none: 0.0312 is "3.1%".
    static func percent(_ fraction: Double?) -> String {
        fraction.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    /// A rate rounded to three significant figures, with thousands separators: 19,200.
    static func rate(_ value: Double) -> String {
        guard value.isFinite, value >= 1 else { return String(format: "%.2f", value) }
        let digits = Int(log10(value)) + 1
        let unit = digits > 3 ? pow(10, Double(digits - 3)) : 1
        let rounded = Int((value / unit).rounded() * unit)
        let plain = String(rounded)
        var out = ""
        for (index, character) in plain.enumerated() {
            if index > 0, (plain.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return out
    }

    static let proofHeader = ["PROVE ms/SUB-BLOCK", "VERIFY ms/SUB-BLOCK", "PROOF KiB"]

    /// The proof columns of a row: "-" for a figure that was not measured.
    static func proofCells(_ figures: ProofFigures?) -> [String] {
        func cell(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        return [
            cell(figures?.proveMsPerSubBlock), cell(figures?.verifyMsPerSubBlock), cell(figures?.proofKibPerSubBlock),
        ]
    }

    /// A row per skipped run of `part`: the cells that name it, then why it did not run.
    private func skippedRows(_ part: String, naming: (Skipped) -> [String]) -> [[String]] {
        skipped.filter { $0.part == part }.map { naming($0) + [$0.reason] }
    }

    static func ms(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// Which proof systems `devnet bench --proof-system` runs.
public enum BenchProofSystems: String, CaseIterable, Sendable {
    case reexec
    case stark
    case both

    /// The proof systems, in the order their runs go.
    public var systems: [String] {
        switch self {
        case .reexec: ["reexec"]
        case .stark: ["stark"]
        case .both: ["reexec", "stark"]
        }
    }
}

/// One load run of `devnet bench`: its part and the shape of its load, or why it is left out.
public struct BenchRun: Sendable, Equatable {
    public enum Part: String, Sendable {
        case latency
        case throughput
        case cost
    }

    public var part: Part
    public var shape: BenchLoad.Shape
    /// Why the run is left out; nil when it runs.
    public var skipped: String?

    /// The phase's name in progress lines, failures and the peak RSS table.
    public var label: String {
        switch part {
        case .latency: "latency, 1 thread, \(shape.proofSystem)"
        case .throughput: "throughput, \(shape.threads) thread(s), \(shape.proofSystem)"
        case .cost: "cost, max_sub_block \(shape.maxSubBlock ?? 0), \(shape.proofSystem)"
        }
    }
}

/// Runs every part of `devnet bench`: start-up, then load on fresh devnets.
public struct BenchSuite: Sendable {
    public var quick: Bool
    public var startupRuns: Int
    public var startupNodes: [Int]
    /// Transactions of each latency run; nil for the proof system's default.
    public var latencyTransactions: Int?
    public var proofSystems: [String]
    public var basePort: Int
    /// Throughput and cost runs send with `submit_batch` and follow `tx_final` events; false
    /// sends a `submit` and a waiting `tx_status` per transaction, as latency runs always do.
    public var batched: Bool

    /// How long a `stark` transaction may take to settle: at the 4096 cap it waits behind
    /// sub-blocks of thousands of transactions, each proved in seconds to tens of seconds.
    static let starkSettleTimeout = Duration.seconds(600)

    public init(
        quick: Bool, startupRuns: Int, startupNodes: [Int], latencyTransactions: Int?,
        proofSystems: [String] = ["reexec"], basePort: Int, batched: Bool = true
    ) {
        self.batched = batched
        self.quick = quick
        self.startupRuns = startupRuns
        self.startupNodes = startupNodes
        self.latencyTransactions = latencyTransactions
        self.proofSystems = proofSystems
        self.basePort = basePort
    }

    /// Every load run, in the order they go: latency, throughput by thread count, cost by cap; at
    /// each step one run per proof system. `stark` proves every sub-block in the node (a few
    /// hundred ms for a small one, seconds for hundreds of transactions), so its runs are smaller:
    /// latency 1,000 transactions (50 with `--quick`), throughput over 1 and 2 threads of 2,000
    /// each (100), and at the caps 16, 256 and 4096 enough to seal a few sub-blocks of each: 320,
    /// 1,024 and 8,192 (64, 512, and the 4096 cap left out with `--quick`).
    public func plan() -> [BenchRun] {
        var runs: [BenchRun] = []
        for system in proofSystems {
            let stark = system == "stark"
            let transactions = latencyTransactions ?? (stark ? (quick ? 50 : 1_000) : (quick ? 200 : 10_000))
            runs.append(
                BenchRun(
                    part: .latency,
                    shape: shape(
                        system, threads: 1, transactionsPerThread: transactions, window: 1, maxSubBlock: nil)))
        }
        for threads in quick ? [1, 2, 4] : [1, 2, 4, 8] {
            for system in proofSystems {
                let stark = system == "stark"
                guard !stark || threads <= 2 else { continue }
                let perThread = stark ? (quick ? 100 : 2_000) : (quick ? 300 : 10_000)
                runs.append(
                    BenchRun(
                        part: .throughput,
                        shape: shape(
                            system, threads: threads, transactionsPerThread: perThread, window: 64, maxSubBlock: nil)
                    ))
            }
        }
        for cap in [16, 256, 4096] {
            for system in proofSystems {
                if system == "stark" {
                    let perThread =
                        quick ? [16: 64, 256: 512, 4096: 8_192][cap]! : [16: 320, 256: 1_024, 4096: 8_192][cap]!
                    // Ten senders with 1,024 each in flight: all 8,192 at once, so the node has
                    // thousands waiting whenever it seals.
                    let shape = shape(
                        system, threads: 1, transactionsPerThread: perThread, window: max(64, cap / 4),
                        maxSubBlock: cap)
                    runs.append(
                        BenchRun(
                            part: .cost, shape: shape,
                            skipped: quick && cap == 4096
                                ? "not run with --quick (8,192 transactions in sub-blocks of up to 4,096: about a minute of proving)"
                                : nil))
                } else {
                    let perThread = quick ? (cap == 16 ? 160 : 600) : (cap == 4096 ? 40_000 : 10_000)
                    runs.append(
                        BenchRun(
                            part: .cost,
                            shape: shape(
                                system, threads: 1, transactionsPerThread: perThread, window: max(64, cap / 8),
                                maxSubBlock: cap)))
                }
            }
        }
        return runs
    }

    private func shape(_ system: String, threads: Int, transactionsPerThread: Int, window: Int, maxSubBlock: Int?)
        -> BenchLoad.Shape
    {
        BenchLoad.Shape(
            threads: threads, transactionsPerThread: transactionsPerThread, senders: 10, window: window,
            maxSubBlock: maxSubBlock, proofSystem: system,
            settleTimeout: system == "stark" ? Self.starkSettleTimeout : .seconds(60),
            batched: window > 1 && batched)
    }

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> BenchReport {
        let machine = Self.machine
        progress("timing Ed25519 signing and verification on one core")
        let rates = try await SignatureTimer.measure()
        let signatures = BenchReport.Signatures(
            signUs: rates.signUs, verifyUs: rates.verifyUs, cores: machine.cores, proofSystems: proofSystems)
        let startup = try await StartupBenchmark(nodeCounts: startupNodes, runs: startupRuns, basePort: basePort).run(
            progress: progress)
        let load = BenchLoad(basePort: basePort)
        var report = BenchReport(
            machine: machine, signatures: signatures, quick: quick, startup: startup, latency: [], throughput: [],
            cost: [], skipped: [], peakRss: [], failures: [])
        for run in plan() {
            let shape = run.shape
            if let reason = run.skipped {
                report.skipped.append(
                    .init(
                        part: run.part.rawValue, proofSystem: shape.proofSystem, threads: shape.threads,
                        maxSubBlock: shape.maxSubBlock, reason: reason))
                continue
            }
            let outcome = try await load.run(shape, label: run.label, progress: progress)
            report.failures += outcome.failureReasons.map { "\(run.label): \($0)" }
            report.peakRss.append(.init(phase: run.label, proofSystem: shape.proofSystem, processes: outcome.peakRSS))
            let proofs = outcome.proofCounters?.figures
            let meanSubBlock = outcome.subBlocks > 0 ? Double(outcome.settled) / Double(outcome.subBlocks) : 0
            switch run.part {
            case .latency:
                let histogram = outcome.latencyMicros
                report.latency.append(
                    .init(
                        proofSystem: shape.proofSystem, blockMode: "instant", senders: shape.senders,
                        window: shape.window, submitted: outcome.submitted, settled: outcome.settled,
                        failed: outcome.failed, refused: outcome.refused,
                        p50Ms: Double(histogram.valueAtPercentile(50)) / 1000,
                        p90Ms: Double(histogram.valueAtPercentile(90)) / 1000,
                        p99Ms: Double(histogram.valueAtPercentile(99)) / 1000, maxMs: Double(histogram.max) / 1000,
                        meanMs: histogram.totalCount > 0 ? histogram.mean / 1000 : 0, proofs: proofs))
            case .throughput:
                let settledPerSecond = outcome.seconds > 0 ? Double(outcome.settled) / outcome.seconds : 0
                report.throughput.append(
                    .init(
                        threads: shape.threads, proofSystem: shape.proofSystem, submitted: outcome.submitted,
                        settled: outcome.settled, failed: outcome.failed, refused: outcome.refused,
                        seconds: outcome.seconds,
                        settledPerSecond: settledPerSecond,
                        fractionOfCryptoLimit: signatures.fraction(
                            settledPerSecond: settledPerSecond, proofSystem: shape.proofSystem),
                        subBlocks: outcome.subBlocks, meanSubBlock: meanSubBlock,
                        largestSubBlock: outcome.largestSubBlock, proofs: proofs))
            case .cost:
                report.cost.append(
                    .init(
                        proofSystem: shape.proofSystem, maxSubBlock: shape.maxSubBlock ?? 0,
                        submitted: outcome.submitted, settled: outcome.settled, failed: outcome.failed,
                        refused: outcome.refused, subBlocks: outcome.subBlocks, meanSubBlock: meanSubBlock,
                        largestSubBlock: outcome.largestSubBlock, managerCpuMs: outcome.managerCPUMs,
                        managerCpuUsPerTx: outcome.settled > 0
                            ? outcome.managerCPUMs * 1000 / Double(outcome.settled) : 0,
                        proofs: proofs))
            }
        }
        report.failures = Array(report.failures.prefix(10))
        return report
    }

    static var machine: BenchReport.Machine {
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        return BenchReport.Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryGib: Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, build: build)
    }
}
