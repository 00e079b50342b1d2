import Foundation

/// Measures how long `devnet up` takes to bring every process to healthy.
public struct StartupBenchmark: Sendable {
    /// One topology size's results, in milliseconds.
    public struct Result: Codable, Sendable {
        public var threadNodes: Int
        public var processes: Int
        public var runs: Int
        public var medianMs: Double
        public var minMs: Double
        public var maxMs: Double
        public var samplesMs: [Double]
    }

    public var nodeCounts: [Int]
    public var runs: Int
    public var basePort: Int

    public init(nodeCounts: [Int] = [1, 4, 8], runs: Int = 7, basePort: Int = 32000) {
        self.nodeCounts = nodeCounts
        self.runs = runs
        self.basePort = basePort
    }

    /// Runs `devnet up` and `devnet down` `runs` times per topology in a temporary data directory.
    /// `progress` gets a line per run.
    public func run(progress: @Sendable (String) -> Void) async throws -> [Result] {
        var results: [Result] = []
        for nodes in nodeCounts {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "devnet-bench-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("devnet.yaml")
            let threads = (1...max(1, nodes)).map { "  - name: counter-\($0)\n    contract: counter\n" }.joined()
            try "base_port: \(basePort)\nthreads:\n\(threads)".write(to: config, atomically: true, encoding: .utf8)
            let orchestrator = Orchestrator(dataDirectory: directory.appendingPathComponent("data").path) { _ in }
            var samples: [Double] = []
            for run in 1...runs {
                // Alternate between two port ranges: a port of the run before may not be free yet.
                let overrides = DevnetConfig.Overrides(basePort: basePort + (run % 2) * (nodes + 2) * 3)
                let started = ContinuousClock.now
                try await orchestrator.up(.init(configPath: config.path, overrides: overrides))
                let elapsed = ContinuousClock.now - started
                samples.append(
                    Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                try await orchestrator.down()
                progress(
                    String(
                        format: "start-up, %d thread node(s): run %d/%d took %.1f ms", nodes, run, runs, samples.last!))
            }
            let sorted = samples.sorted()
            let median =
                sorted.count % 2 == 1
                ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            results.append(
                Result(
                    threadNodes: nodes, processes: nodes + 2, runs: runs, medianMs: median,
                    minMs: sorted.first ?? 0, maxMs: sorted.last ?? 0, samplesMs: samples
                )
            )
        }
        return results
    }

    public static func table(_ results: [Result]) -> String {
        Table.render(
            header: ["THREAD NODES", "PROCESSES", "RUNS", "MEDIAN ms", "MIN ms", "MAX ms"],
            rows: results.map {
                [
                    "\($0.threadNodes)", "\($0.processes)", "\($0.runs)", String(format: "%.1f", $0.medianMs),
                    String(format: "%.1f", $0.minMs), String(format: "%.1f", $0.maxMs),
                ]
            }
        )
    }
}
