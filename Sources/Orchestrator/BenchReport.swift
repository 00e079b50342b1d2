import Foundation

/// Everything `devnet bench` measures, as printed in its table and written with `--json`.
public struct BenchReport: Codable, Sendable {
    public struct Machine: Codable, Sendable {
        public var cores: Int
        public var memoryGib: Double
        /// `debug` or `release`: how the devnet binaries were built.
        public var build: String
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
        public var subBlocks: Int
        public var meanSubBlock: Double
        public var largestSubBlock: Int
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
        public var processes: [PeakRSS]
    }

    public var machine: Machine
    public var quick: Bool
    public var startup: [StartupBenchmark.Result]
    public var latency: Latency
    public var throughput: [Throughput]
    public var cost: [Cost]
    public var peakRss: [PhaseRSS]
    /// Reasons of the first failures, if any.
    public var failures: [String]

    /// Every transaction accepted by a node, over every phase.
    public var submitted: Int {
        latency.submitted + throughput.map(\.submitted).reduce(0, +) + cost.map(\.submitted).reduce(0, +)
    }
    public var settled: Int {
        latency.settled + throughput.map(\.settled).reduce(0, +) + cost.map(\.settled).reduce(0, +)
    }
    public var failed: Int {
        latency.failed + throughput.map(\.failed).reduce(0, +) + cost.map(\.failed).reduce(0, +)
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
        out += "Start-up: devnet up until every process is healthy (1 sequencer + 1 manager + N thread nodes)\n"
        out += StartupBenchmark.table(startup) + "\n\n"
        out +=
            "Settlement latency: thread tx submitted to the node until `settled`, 1 counter thread, \(latency.blockMode) blocks, \(latency.senders) senders × window \(latency.window)\n"
        out +=
            Table.render(
                header: ["PROOF", "SUBMITTED", "SETTLED", "FAILED", "p50 ms", "p90 ms", "p99 ms", "MAX ms", "MEAN ms"],
                rows: [
                    [
                        latency.proofSystem, "\(latency.submitted)", "\(latency.settled)", "\(latency.failed)",
                        Self.ms(latency.p50Ms), Self.ms(latency.p90Ms), Self.ms(latency.p99Ms), Self.ms(latency.maxMs),
                        Self.ms(latency.meanMs),
                    ]
                ]) + "\n\n"
        out += "Throughput: settled counter.increment tx/s over all threads (default sub-block cap 256)\n"
        out +=
            Table.render(
                header: [
                    "THREADS", "PROOF", "SUBMITTED", "SETTLED", "FAILED", "SECONDS", "SETTLED TX/S", "SUB-BLOCKS",
                    "MEAN SUB-BLOCK", "LARGEST",
                ],
                rows: throughput.map {
                    [
                        "\($0.threads)", $0.proofSystem, "\($0.submitted)", "\($0.settled)", "\($0.failed)",
                        String(format: "%.2f", $0.seconds), String(format: "%.0f", $0.settledPerSecond),
                        "\($0.subBlocks)",
                        String(format: "%.1f", $0.meanSubBlock), "\($0.largestSubBlock)",
                    ]
                }) + "\n\n"
        out += "L2 cost: the manager's CPU time (utime + stime) per settled thread tx, 1 counter thread\n"
        out +=
            Table.render(
                header: [
                    "PROOF", "MAX SUB-BLOCK", "SETTLED", "FAILED", "SUB-BLOCKS", "MEAN SUB-BLOCK", "LARGEST",
                    "MANAGER CPU ms",
                    "µs / TX",
                ],
                rows: cost.map {
                    [
                        $0.proofSystem, "\($0.maxSubBlock)", "\($0.settled)", "\($0.failed)", "\($0.subBlocks)",
                        String(format: "%.1f", $0.meanSubBlock), "\($0.largestSubBlock)",
                        String(format: "%.0f", $0.managerCpuMs),
                        String(format: "%.1f", $0.managerCpuUsPerTx),
                    ]
                }) + "\n\n"
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

    static func ms(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// Runs every part of `devnet bench`: start-up, then load on fresh devnets.
public struct BenchSuite: Sendable {
    public var quick: Bool
    public var startupRuns: Int
    public var startupNodes: [Int]
    /// Transactions of the latency run.
    public var latencyTransactions: Int
    public var basePort: Int

    public init(quick: Bool, startupRuns: Int, startupNodes: [Int], latencyTransactions: Int?, basePort: Int) {
        self.quick = quick
        self.startupRuns = startupRuns
        self.startupNodes = startupNodes
        self.latencyTransactions = latencyTransactions ?? (quick ? 200 : 10_000)
        self.basePort = basePort
    }

    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> BenchReport {
        let startup = try await StartupBenchmark(nodeCounts: startupNodes, runs: startupRuns, basePort: basePort).run(
            progress: progress)
        let load = BenchLoad(basePort: basePort)
        var failures: [String] = []
        var phases: [BenchReport.PhaseRSS] = []

        // Latency: ten senders, each waiting for its transaction to settle before the next.
        let latencyShape = BenchLoad.Shape(
            threads: 1, transactionsPerThread: latencyTransactions, senders: 10, window: 1)
        let measured = try await load.run(latencyShape, label: "latency", progress: progress)
        failures += measured.failureReasons
        phases.append(.init(phase: "latency, 1 thread", processes: measured.peakRSS))
        let histogram = measured.latencyMicros
        let latency = BenchReport.Latency(
            proofSystem: latencyShape.proofSystem, blockMode: "instant", senders: latencyShape.senders,
            window: latencyShape.window, submitted: measured.submitted, settled: measured.settled,
            failed: measured.failed, refused: measured.refused,
            p50Ms: Double(histogram.valueAtPercentile(50)) / 1000,
            p90Ms: Double(histogram.valueAtPercentile(90)) / 1000,
            p99Ms: Double(histogram.valueAtPercentile(99)) / 1000, maxMs: Double(histogram.max) / 1000,
            meanMs: histogram.totalCount > 0 ? histogram.mean / 1000 : 0
        )

        // Throughput: enough in flight per thread to fill 256-transaction sub-blocks.
        var throughput: [BenchReport.Throughput] = []
        for threads in quick ? [1, 2, 4] : [1, 2, 4, 8] {
            let shape = BenchLoad.Shape(
                threads: threads, transactionsPerThread: quick ? 300 : 10_000, senders: 10, window: 64)
            let outcome = try await load.run(shape, label: "throughput, \(threads) thread(s)", progress: progress)
            failures += outcome.failureReasons
            phases.append(.init(phase: "throughput, \(threads) thread(s)", processes: outcome.peakRSS))
            throughput.append(
                .init(
                    threads: threads, proofSystem: shape.proofSystem, submitted: outcome.submitted,
                    settled: outcome.settled, failed: outcome.failed, refused: outcome.refused,
                    seconds: outcome.seconds,
                    settledPerSecond: outcome.seconds > 0 ? Double(outcome.settled) / outcome.seconds : 0,
                    subBlocks: outcome.subBlocks,
                    meanSubBlock: outcome.subBlocks > 0 ? Double(outcome.settled) / Double(outcome.subBlocks) : 0,
                    largestSubBlock: outcome.largestSubBlock
                ))
        }

        // Cost: the manager's CPU per settled transaction at three sub-block caps.
        var cost: [BenchReport.Cost] = []
        for cap in [16, 256, 4096] {
            let perThread = quick ? (cap == 16 ? 160 : 600) : (cap == 4096 ? 40_000 : 10_000)
            let shape = BenchLoad.Shape(
                threads: 1, transactionsPerThread: perThread, senders: 10, window: max(64, cap / 8), maxSubBlock: cap)
            let outcome = try await load.run(shape, label: "cost, max_sub_block \(cap)", progress: progress)
            failures += outcome.failureReasons
            phases.append(.init(phase: "cost, max_sub_block \(cap)", processes: outcome.peakRSS))
            cost.append(
                .init(
                    proofSystem: shape.proofSystem, maxSubBlock: cap, submitted: outcome.submitted,
                    settled: outcome.settled, failed: outcome.failed, refused: outcome.refused,
                    subBlocks: outcome.subBlocks,
                    meanSubBlock: outcome.subBlocks > 0 ? Double(outcome.settled) / Double(outcome.subBlocks) : 0,
                    largestSubBlock: outcome.largestSubBlock, managerCpuMs: outcome.managerCPUMs,
                    managerCpuUsPerTx: outcome.settled > 0 ? outcome.managerCPUMs * 1000 / Double(outcome.settled) : 0
                ))
        }

        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        let machine = BenchReport.Machine(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryGib: Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824, build: build)
        return BenchReport(
            machine: machine, quick: quick, startup: startup, latency: latency, throughput: throughput, cost: cost,
            peakRss: phases, failures: Array(failures.prefix(10)))
    }
}
