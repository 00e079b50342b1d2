import DevnetProtocol
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs scenario files, each on a fresh devnet of its own, and reports what passed.
public struct ScenarioRunner: Sendable {
    public struct Options: Sendable {
        /// Where each scenario's data directory is made.
        public var workDirectory: String
        /// The configuration scenarios build on, unless they name their own (`config:`).
        public var baseConfig: String?
        /// The first port to try; the runner moves on to free ones.
        public var basePort: Int
        /// A step's timeout when it gives none.
        public var stepTimeout: Duration
        public var junitPath: String?
        public var jsonPath: String?
        /// Keep the data directory of passing scenarios too.
        public var keep: Bool
        /// Run every thread of every scenario with this proof system instead of its own.
        public var proofSystem: String?
        /// Run every scenario with this seed instead of its own (`--seed`).
        public var seed: UInt64?
        /// Run every scenario this many times, the first with its seed and each next with one
        /// derived from it, stopping at the first failure (`--repeat`).
        public var repeats = 1

        public init(
            workDirectory: String? = nil, baseConfig: String? = nil, basePort: Int = 31300,
            stepTimeout: Duration = .seconds(30), junitPath: String? = nil, jsonPath: String? = nil, keep: Bool = false,
            proofSystem: String? = nil, seed: UInt64? = nil, repeats: Int = 1
        ) {
            self.proofSystem = proofSystem
            self.seed = seed
            self.repeats = repeats
            self.workDirectory =
                workDirectory
                ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
                    "zkthreads-scenarios"
                ).path
            self.baseConfig = baseConfig
            self.basePort = basePort
            self.stepTimeout = stepTimeout
            self.junitPath = junitPath
            self.jsonPath = jsonPath
            self.keep = keep
        }
    }

    public var options: Options
    public var output: @Sendable (String) -> Void

    public init(options: Options, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.options = options
        self.output = output
    }

    /// The scenario files named: files as given, and the `.yaml`/`.yml` files of directories, sorted.
    public static func files(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw OrchestratorError.usage("error: \(path): no such file or directory")
            }
            if isDirectory.boolValue {
                let found = try FileManager.default.contentsOfDirectory(atPath: path)
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                    .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
                guard !found.isEmpty else {
                    throw OrchestratorError.usage("error: \(path) has no scenario files (*.yaml)")
                }
                files += found
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Reads and checks every file before anything starts.
    ///
    /// - Throws: ``OrchestratorError`` (exit 2) with the file, line and key at fault.
    public func load(_ paths: [String]) throws -> [Scenario] {
        if let proofSystem = options.proofSystem, !DevnetConfig.knownProofSystems.contains(proofSystem) {
            throw OrchestratorError.usage(
                "error: --proof-system \(proofSystem) is not one this devnet runs (\(DevnetConfig.knownProofSystems.joined(separator: ", ")))"
            )
        }
        var base = DevnetConfig.builtIn
        if let path = options.baseConfig {
            do {
                base = try DevnetConfig.load(path: path)
            } catch {
                throw OrchestratorError.usage("error: \(error)")
            }
        }
        return try Self.files(paths).map { file in
            do {
                let scenario = try Scenario.load(path: file, base: base)
                guard let proofSystem = options.proofSystem else { return scenario }
                return scenario.switched(to: proofSystem)
            } catch {
                throw OrchestratorError.usage("error: \(error)")
            }
        }
    }

    /// Runs the scenarios one after another and writes the reports.
    ///
    /// A SIGINT, SIGTERM or SIGHUP stops the devnet of the scenario that is running, then throws
    /// (exit code 130).
    /// - Returns: every result; the caller fails when any did.
    public func run(_ scenarios: [Scenario]) async throws -> [ScenarioResult] {
        let current = RunningDirectory()
        let results = Finished()
        let signals = terminationSignals()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    runs: for scenario in scenarios {
                        let base = options.seed ?? scenario.config.seed
                        for round in 0..<max(1, options.repeats) {
                            try Task.checkCancellation()
                            var seeded = scenario
                            seeded.config.seed = Self.seed(base, round: round)
                            if options.repeats > 1 || options.seed != nil {
                                output("seed \(seeded.config.seed) (run \(round + 1) of \(max(1, options.repeats)))")
                            }
                            var result = await self.run(seeded, current: current)
                            result.seed = seeded.config.seed
                            results.list.withLock { $0.append(result) }
                            if !result.passed {
                                if options.repeats > 1 {
                                    output(
                                        "  stopped at the first failure; run it again with --seed \(seeded.config.seed)"
                                    )
                                    break runs
                                }
                                break
                            }
                        }
                    }
                }
                group.addTask {
                    for await number in signals {
                        throw OrchestratorError("interrupted by \(signalName(number))", exitCode: 130)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as OrchestratorError where error.exitCode == 130 {
            if let directory = current.path.withLock({ $0 }) {
                let orchestrator = Orchestrator(dataDirectory: directory, output: { _ in })
                try? await orchestrator.down(timeout: .seconds(5))
                output("\(error.message): stopped the devnet of the running scenario; its data is in \(directory)")
            }
            try writeReports(results.list.withLock { $0 })
            throw error
        }
        let finished = results.list.withLock { $0 }
        output("")
        output(ScenarioReport.table(finished))
        try writeReports(finished)
        return finished
    }

    /// The seed of run `round` (0 first) of a scenario whose seed is `base`: `base` itself, then
    /// SplitMix64 draws from it, so that `--seed` with a failing run's seed replays that run.
    public static func seed(_ base: UInt64, round: Int) -> UInt64 {
        guard round > 0 else { return base }
        var random = SplitMix64(seed: base, stream: UInt64(round))
        return random.next() >> 1
    }

    private func writeReports(_ results: [ScenarioResult]) throws {
        if let path = options.junitPath {
            try ScenarioReport.junit(results).write(toFile: path, atomically: true, encoding: .utf8)
            output("JUnit report: \(path)")
        }
        if let path = options.jsonPath {
            try ScenarioReport.json(results).write(to: URL(fileURLWithPath: path), options: .atomic)
            output("JSON report: \(path)")
        }
    }

    /// A data directory of its own for one scenario.
    private func dataDirectory(for scenario: Scenario) throws -> String {
        let slug = String(scenario.name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        let directory = URL(fileURLWithPath: options.workDirectory)
            .appendingPathComponent("\(slug)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The first base port from `options.basePort` up with room for the scenario's processes and
    /// some attached later.
    private func freeBasePort(for scenario: Scenario) -> Int? {
        let slots = 2 + scenario.config.threads.count + 4
        let width = slots * DevnetConfig.portsPerProcess
        var base = options.basePort
        while base + width <= 65000 {
            if (base..<base + width).allSatisfy({ ProcessControl.portIsFree(host: scenario.config.host, port: $0) }) {
                return base
            }
            base += width
        }
        return nil
    }

    private func run(_ scenario: Scenario, current: RunningDirectory) async -> ScenarioResult {
        let started = ContinuousClock.now
        var result = ScenarioResult(file: scenario.file, name: scenario.name, totalSteps: scenario.steps.count)
        func finish(_ failure: String?) -> ScenarioResult {
            for (index, step) in scenario.steps.enumerated().dropFirst(result.steps.count) {
                result.steps.append(
                    StepResult(
                        index: index + 1, line: step.line, summary: step.summary, passed: false, durationMs: 0,
                        failure: nil, skipped: true))
            }
            result.failure = failure
            result.passed = failure == nil
            result.durationMs = milliseconds(ContinuousClock.now - started)
            return result
        }
        output("scenario \(scenario.name) (\(scenario.file))")
        let directory: String
        do {
            directory = try dataDirectory(for: scenario)
        } catch {
            return finish("cannot make a data directory in \(options.workDirectory): \(error)")
        }
        current.path.withLock { $0 = directory }
        defer { current.path.withLock { $0 = nil } }
        let orchestrator = Orchestrator(dataDirectory: directory, output: { _ in })
        var config = scenario.config
        if !scenario.fixedPorts {
            guard let port = freeBasePort(for: scenario) else {
                return finish("no free range of ports from \(options.basePort) up; pass another --base-port")
            }
            config.basePort = port
        }
        let up: DevnetState
        do {
            var upOptions = Orchestrator.UpOptions(configPath: scenario.file)
            upOptions.prepared = config
            up = try await orchestrator.up(upOptions)
        } catch {
            result.dataDirectory = directory
            output("  could not start its devnet: \(error)")
            output("  data and logs kept in \(directory)")
            return finish("the devnet did not start: \(error)")
        }
        output("  devnet up in \(up.startupMs ?? 0) ms: \(up.processes.count) processes, data in \(directory)")

        var failure: String?
        let run: ScenarioRun
        do {
            run = try ScenarioRun(
                orchestrator: orchestrator, onDemandBlocks: config.blockMode == .onDemand, progress: output)
            try await run.waitUntilRegistered(config.threads.map(\.name), until: .now + .seconds(30))
        } catch {
            await stop(orchestrator)
            result.dataDirectory = directory
            return finish("the devnet did not get ready: \(error)")
        }
        for (index, step) in scenario.steps.enumerated() {
            if Task.isCancelled { break }
            let at = ContinuousClock.now
            let prefix = String(format: "  [%7.2fs] %2d/%d ", seconds(at - started), index + 1, scenario.steps.count)
            output(prefix + step.summary)
            let timeout = step.timeout ?? options.stepTimeout
            var problem: String?
            do {
                try await Self.within(timeout + .seconds(5)) {
                    try await run.perform(step.action, until: at + timeout)
                }
            } catch let error as StepFailure {
                problem = error.message
            } catch let error as OrchestratorError {
                problem = error.message.hasPrefix("error: ") ? String(error.message.dropFirst(7)) : error.message
            } catch is CancellationError {
                problem = "interrupted"
            } catch {
                problem = "\(error)"
            }
            let elapsed = milliseconds(ContinuousClock.now - at)
            let notes = await run.takeNotes()
            result.steps.append(
                StepResult(
                    index: index + 1, line: step.line, summary: step.summary, passed: problem == nil,
                    durationMs: elapsed, failure: problem, notes: notes.isEmpty ? nil : notes))
            if let problem {
                output("               FAILED after \(elapsed) ms: \(problem)")
                failure = "step \(index + 1) (\(scenario.file):\(step.line)) \(step.summary): \(problem)"
                break
            }
        }
        result.roots = (try? await run.roots()) ?? [:]
        await run.close()
        await stop(orchestrator)
        if failure != nil || options.keep {
            result.dataDirectory = directory
            output("  data and logs kept in \(directory) (logs/ has one file per process)")
        } else {
            try? FileManager.default.removeItem(atPath: directory)
        }
        let finished = finish(failure)
        output(
            "  \(finished.passed ? "passed" : "FAILED") in \(String(format: "%.2f", Double(finished.durationMs) / 1000)) s"
        )
        return finished
    }

    private func stop(_ orchestrator: Orchestrator) async {
        try? await orchestrator.down(timeout: .seconds(5))
    }

    /// Runs `body`, failing with a timeout if it has not finished within `limit`.
    private static func within(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return false
            }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw StepFailure("the step did not finish within \(limit)") }
        }
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

extension DevnetConfig {
    /// The devnet scenarios build on when neither they nor `--config` name a file: the shipped
    /// `devnet.yaml`'s four threads.
    public static var builtIn: DevnetConfig {
        var config = DevnetConfig()
        config.threads = ["token", "achievements", "karts", "counter"].map {
            ThreadSpec(name: $0, contract: $0, proofSystem: "reexec")
        }
        return config
    }
}

/// The data directory of the scenario that is running, for the signal handler to stop.
private final class RunningDirectory: Sendable {
    let path = Mutex<String?>(nil)
}

/// The results so far, shared with the task that runs the scenarios.
private final class Finished: Sendable {
    let list = Mutex<[ScenarioResult]>([])
}
