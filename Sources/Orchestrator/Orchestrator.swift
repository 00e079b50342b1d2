public import DevnetProtocol
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts, inspects and stops a devnet in a data directory.
public struct Orchestrator: Sendable {
    /// The devnet's data directory, e.g. `.devnet`.
    public var dataDirectory: URL
    /// Where human-readable output goes.
    public var output: @Sendable (String) -> Void

    public init(dataDirectory: String, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.dataDirectory = URL(fileURLWithPath: dataDirectory, isDirectory: true).standardizedFileURL
        self.output = output
    }

    var logsDirectory: URL { dataDirectory.appendingPathComponent("logs", isDirectory: true) }

    func logPath(of name: String) -> String {
        logsDirectory.appendingPathComponent("\(name).log").path
    }

    // MARK: up

    public struct UpOptions: Sendable {
        public var configPath: String
        public var overrides: DevnetConfig.Overrides
        /// How long to wait for every process to report healthy.
        public var startupTimeout: Duration
        /// A configuration already read (a scenario's); when set, `configPath` only labels it.
        var prepared: DevnetConfig?
        /// Whether a fresh data directory gets the `genesis` snapshot (for `devnet reset`) once
        /// every process is healthy. `devnet up` sets it; scenario runs and the bench do not.
        public var genesisSnapshot = false

        public init(
            configPath: String, overrides: DevnetConfig.Overrides = .init(), startupTimeout: Duration = .seconds(30)
        ) {
            self.configPath = configPath
            self.overrides = overrides
            self.startupTimeout = startupTimeout
        }
    }

    /// Starts every process of the configuration and waits until all report healthy.
    ///
    /// On failure nothing is left running: the processes already started are stopped.
    /// - Returns: the recorded state, with the start-up time.
    @discardableResult
    public func up(_ options: UpOptions) async throws -> DevnetState {
        let config: DevnetConfig
        do {
            config = try (options.prepared ?? DevnetConfig.load(path: options.configPath)).merging(
                options.overrides, file: options.configPath)
        } catch {
            throw OrchestratorError.usage("error: \(error)")
        }
        let topology = config.topology()
        try FileManager.default.createDirectory(at: logsDirectory, withIntermediateDirectories: true)
        try refuseIfRunning()
        try checkPorts(topology)
        try prepareCredentials(for: topology)

        let topologyURL = dataDirectory.appendingPathComponent(Topology.fileName)
        try topology.write(to: topologyURL)
        let binaries = ProcessControl.binaryDirectory()
        for process in topology.processes {
            let path = binaries.appendingPathComponent(process.role.executable).path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw OrchestratorError(
                    "error: cannot find the \(process.role.executable) executable in \(binaries.path). Build the package first (swift build), or set DEVNET_BIN_DIR."
                )
            }
        }

        let fresh = !hasDatabases(topology)
        let started = ContinuousClock.now
        var state = DevnetState(
            dataDirectory: dataDirectory.path, config: options.configPath, startedAt: Date(), startupMs: nil,
            processes: []
        )
        try await startAll(topology, in: &state, until: started + options.startupTimeout, doing: "starting")
        let elapsed = ContinuousClock.now - started
        state.startupMs = milliseconds(elapsed)
        try state.write(to: dataDirectory)
        if options.genesisSnapshot, fresh, let remote = state.remote, !remote.isEmpty {
            output(
                "no genesis snapshot: \(remote.map(\.name).joined(separator: ", ")) \(remote.count == 1 ? "runs" : "run") on another host, and snapshots need every database on this machine"
            )
        } else if options.genesisSnapshot, fresh,
            !SnapshotStore(dataDirectory: dataDirectory).exists(SnapshotStore.genesis)
        {
            let taken = try await snapshot(named: SnapshotStore.genesis)
            output("saved snapshot \(taken.manifest.name) in \(taken.milliseconds) ms; `devnet reset` returns here")
            return DevnetState.load(from: dataDirectory) ?? state
        }
        return state
    }

    /// Spawns every process of `topology`, records each in `state` (and the state file) as it
    /// starts, and waits until all are healthy.
    ///
    /// On failure nothing is left running: the processes already started are stopped. With
    /// `keepSlowOnes`, processes that are running but not healthy by the deadline are left to
    /// finish starting (a daemon replays its log at start, longer for a longer history). With
    /// `only`, just those processes start, added to the ones `state` has (on failure all stop).
    func startAll(
        _ topology: Topology, in state: inout DevnetState, until deadline: ContinuousClock.Instant,
        doing activity: String, keepSlowOnes: Bool = false, only names: Set<String>? = nil
    ) async throws {
        let topologyURL = dataDirectory.appendingPathComponent(Topology.fileName)
        let binaries = ProcessControl.binaryDirectory()
        if names == nil { state.processes = [] }
        let remote = topology.processes.filter { (names?.contains($0.name) ?? true) && Self.isRemote($0) }
        if !remote.isEmpty {
            state.remote = remote.map { DevnetState.Remote(name: $0.name, role: $0.role, endpoints: $0.endpoints) }
            let manager = topology.first(.manager).map(\.endpoints.api) ?? "MANAGER-API"
            for process in remote {
                let how =
                    process.thread.map {
                        "`devnet node --join \(manager) --thread \($0.name)\($0.proverIndex == 1 ? "" : " --prover \($0.proverIndex)")\(topology.isSecured ? " --credentials FILE" : "")`\(topology.isSecured ? ", FILE being what `devnet credentials --json` prints here" : "")"
                    }
                    ?? "`\(process.role.executable) --topology topology.json --name \(process.name) --data-dir DIR`, with this topology.json\(topology.isSecured ? " and `devnet credentials --json` saved as DIR/credentials/devnet.json" : "")"
                output(
                    "waiting for \(process.name) at \(process.endpoints.api) (another host): start it there with \(how)"
                )
            }
        }
        for process in topology.processes where names?.contains(process.name) ?? true {
            if Self.isRemote(process) { continue }
            let log = logPath(of: process.name)
            let pid: pid_t
            do {
                pid = try ProcessControl.spawn(
                    executable: binaries.appendingPathComponent(process.role.executable).path,
                    arguments: [
                        "--topology", topologyURL.path, "--name", process.name, "--data-dir", dataDirectory.path,
                    ],
                    logPath: log
                )
            } catch {
                try? state.write(to: dataDirectory)
                await stopAll(state, timeout: .seconds(5), quiet: true)
                throw OrchestratorError("error: \(error)")
            }
            state.processes.append(
                .init(
                    name: process.name, role: process.role, pid: pid, startTime: ProcessControl.startTime(of: pid),
                    endpoints: process.endpoints, log: log
                )
            )
            // Recorded at once, so `devnet down` finds every process even if this is interrupted.
            try state.write(to: dataDirectory)
        }

        let probe = HealthProbe(clientKeys: try clientKeys(for: topology))
        let children = state.processes.filter { names?.contains($0.name) ?? true }
        let healthy: [String: HealthReport]
        do {
            healthy = try await probe.waitUntilHealthy(
                Dictionary(
                    uniqueKeysWithValues: children.map { ($0.name, $0.endpoints.admin) }
                        + remote.map { ($0.name, $0.endpoints.admin) }),
                deadline: deadline, accepting: HealthProbe.up(topology)
            ) {
                for child in children {
                    if let how = ProcessControl.reapIfExited(child.pid) {
                        throw OrchestratorError(
                            """
                            error: \(child.name) (\(child.role.executable), pid \(child.pid)) \(how) while \(activity). Last lines of \(child.log):
                            \(ProcessControl.tail(child.log, lines: 20))
                            """
                        )
                    }
                }
            }
        } catch {
            await probe.close()
            await stopAll(state, timeout: .seconds(5), quiet: true)
            throw error
        }
        await probe.close()
        let unreachable = remote.filter { healthy[$0.name] == nil }
        if !unreachable.isEmpty {
            await stopAll(state, timeout: .seconds(5), quiet: true)
            let list = unreachable.map { "\($0.name) at \($0.endpoints.admin)" }.joined(separator: ", ")
            throw OrchestratorError(
                "error: no healthy answer in time from \(list) (another host) while \(activity). Start it there (see above) and check that this machine reaches that address and port and that it has this devnet's credentials. The local processes were stopped."
            )
        }
        let missing = children.filter { healthy[$0.name] == nil }
        guard missing.isEmpty else {
            let names = missing.map { "\($0.name) (log: \($0.log))" }.joined(separator: ", ")
            if keepSlowOnes {
                throw OrchestratorError(
                    "error: not healthy in time while \(activity): \(names). They are still starting (a daemon replays its log when it starts); follow them with `devnet status --data-dir \(dataDirectory.path)`, and give a longer --timeout next time"
                )
            }
            await stopAll(state, timeout: .seconds(5), quiet: true)
            throw OrchestratorError(
                "error: not healthy in time while \(activity): \(names). The devnet was stopped.")
        }
    }

    /// Whether any process of `topology` has a database in the data directory already.
    func hasDatabases(_ topology: Topology) -> Bool {
        topology.processes.contains { FileManager.default.fileExists(atPath: databasePath(of: $0.name)) }
    }

    /// Where a process keeps its database (the daemons' layout: `<data dir>/<name>/state.sqlite`).
    func databasePath(of name: String) -> String {
        dataDirectory.appendingPathComponent(name, isDirectory: true).appendingPathComponent("state.sqlite").path
    }

    /// Refuses to start over a devnet that is still running in the same data directory.
    private func refuseIfRunning() throws {
        guard let state = DevnetState.load(from: dataDirectory) else { return }
        let alive = state.alive
        guard alive.isEmpty else {
            let list = alive.map { "\($0.name) (pid \($0.pid))" }.joined(separator: ", ")
            throw OrchestratorError(
                "error: a devnet is already running in \(dataDirectory.path): \(list). Stop it with `devnet down --data-dir \(dataDirectory.path)`, or use another --data-dir."
            )
        }
    }

    /// Whether a process of the topology runs on another host: its address is not this machine's.
    static func isRemote(_ process: ProcessSpec) -> Bool {
        guard let host = Topology.host(of: process.endpoints.api) else { return false }
        return !ProcessControl.isLocal(host: host)
    }

    /// Names the process and endpoint whose port is taken, before anything starts.
    func checkPorts(_ topology: Topology) throws {
        for process in topology.processes where !Self.isRemote(process) {
            let bound = process.bindEndpoints
            for (label, endpoint) in [
                ("api", bound.api), ("admin", bound.admin), ("events", bound.events),
            ] {
                guard let port = endpoint.split(separator: ":").last.flatMap({ Int($0) }) else { continue }
                let host = endpoint.dropFirst("tcp://".count).split(separator: ":").first.map(String.init) ?? ""
                if !ProcessControl.portIsFree(host: host, port: port) {
                    throw OrchestratorError(
                        "error: port \(port) is already in use; it is the \(label) endpoint (\(endpoint)) of \(process.name). Stop the program holding it (ss -ltnp 'sport = :\(port)'), or choose another base_port in the config or with --base-port."
                    )
                }
            }
            if let metrics = bound.metricsAddress,
                !ProcessControl.portIsFree(host: metrics.host, port: metrics.port)
            {
                throw OrchestratorError(
                    "error: port \(metrics.port) is already in use; it is the metrics endpoint (\(process.endpoints.metrics ?? "")) of \(process.name). Stop the program holding it (ss -ltnp 'sport = :\(metrics.port)'), or choose another metrics_port in the config or with --metrics-port."
                )
            }
        }
    }

    // MARK: status

    /// One row of `devnet status`.
    public struct ProcessStatus: Codable, Sendable {
        public var name: String
        public var role: ProcessRole
        public var pid: Int32
        /// `healthy`, `syncing` (a thread node that has not synced with the manager yet),
        /// `stopping`, `not responding` or `dead`.
        public var status: String
        public var endpoints: Endpoints
        public var uptimeMs: UInt64?
        public var bootCount: Int?
        public var log: String
        /// `curve` when the devnet's endpoints need its credentials, `open` otherwise.
        public var security: String
        /// True for a process on another host (``pid`` is then 0 and ``log`` empty).
        public var remote: Bool?
    }

    /// Asks every recorded process for its health.
    public func status() async throws -> [ProcessStatus] {
        guard let state = DevnetState.load(from: dataDirectory) else {
            throw OrchestratorError(
                "no devnet in \(dataDirectory.path) (no \(DevnetState.fileName)); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        let secured = try credentials() != nil
        let probe = HealthProbe(clientKeys: try clientKeys())
        let alive = state.alive
        let remote = state.remote ?? []
        let reports = await probe.check(
            Dictionary(
                uniqueKeysWithValues: alive.map { ($0.name, $0.endpoints.admin) }
                    + remote.map { ($0.name, $0.endpoints.admin) }), timeout: .seconds(1)
        )
        await probe.close()
        let remoteRows = remote.map { process in
            ProcessStatus(
                name: process.name, role: process.role, pid: 0,
                status: reports[process.name]?.status ?? "not responding", endpoints: process.endpoints,
                uptimeMs: reports[process.name]?.uptimeMs, bootCount: reports[process.name]?.bootCount, log: "",
                security: secured ? "curve" : "open", remote: true)
        }
        return remoteRows
            + state.processes.map { process in
                let report = reports[process.name]
                let status: String
                if let report {
                    status = report.status
                } else if alive.contains(where: { $0.name == process.name }) {
                    status = "not responding"
                } else {
                    status = "dead"
                }
                return ProcessStatus(
                    name: process.name, role: process.role, pid: process.pid, status: status,
                    endpoints: process.endpoints,
                    uptimeMs: report?.uptimeMs, bootCount: report?.bootCount, log: process.log,
                    security: secured ? "curve" : "open"
                )
            }
    }

    /// The status table people read.
    public static func table(_ rows: [ProcessStatus]) -> String {
        let metrics = rows.contains { $0.endpoints.metrics != nil }
        return Table.render(
            header: ["NAME", "ROLE", "PID", "STATUS", "API", "ADMIN", "EVENTS"] + (metrics ? ["METRICS"] : []),
            rows: rows.map {
                [
                    $0.name, $0.role.rawValue, $0.remote == true ? "remote" : "\($0.pid)", $0.status, $0.endpoints.api,
                    $0.endpoints.admin,
                    $0.endpoints.events,
                ] + (metrics ? [$0.endpoints.metrics ?? "-"] : [])
            }
        )
    }

    // MARK: down

    /// Stops every process: an admin `shutdown`, then SIGTERM, then SIGKILL after `timeout`.
    public func down(timeout: Duration = .seconds(10)) async throws {
        guard let state = DevnetState.load(from: dataDirectory) else {
            output("no devnet in \(dataDirectory.path); nothing to stop")
            return
        }
        await stopAll(state, timeout: timeout, quiet: false)
        DevnetState.remove(from: dataDirectory)
    }

    func stopAll(_ state: DevnetState, timeout: Duration, quiet: Bool) async {
        if let remote = state.remote, !remote.isEmpty {
            // Not ours to signal: each is asked over its admin endpoint, and left alone if it does not answer.
            let probe = HealthProbe(clientKeys: try? clientKeys())
            let agreed = await probe.requestShutdown(
                Dictionary(uniqueKeysWithValues: remote.map { ($0.name, $0.endpoints.admin) }), timeout: .seconds(2))
            await probe.close()
            for process in remote where !quiet {
                output(
                    agreed.contains(process.name)
                        ? "stopped \(process.name) at \(process.endpoints.admin) (another host)"
                        : "\(process.name) at \(process.endpoints.admin) (another host) did not answer; stop it there")
            }
        }
        let alive = state.alive
        for process in state.processes where !quiet && !alive.contains(where: { $0.name == process.name }) {
            output("\(process.name) (pid \(process.pid)) was not running")
        }
        if alive.isEmpty {
            if !quiet { output("no process of the devnet in \(dataDirectory.path) is running") }
            return
        }
        let probe = HealthProbe(clientKeys: try? clientKeys())
        let agreed = await probe.requestShutdown(
            Dictionary(uniqueKeysWithValues: alive.map { ($0.name, $0.endpoints.admin) }), timeout: .milliseconds(500)
        )
        await probe.close()
        // A process that did not answer gets SIGTERM, which also shuts it down gracefully, and
        // SIGCONT, in case it is still frozen by a snapshot that was killed.
        for process in alive where !agreed.contains(process.name) {
            kill(process.pid, SIGTERM)
            kill(process.pid, SIGCONT)
        }
        let deadline = ContinuousClock.now + timeout
        var remaining = alive
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            for process in remaining { _ = ProcessControl.reapIfExited(process.pid) }
            remaining = remaining.filter { ProcessControl.isAlive(pid: $0.pid, startTime: $0.startTime) }
            if !remaining.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        }
        for process in alive where !remaining.contains(where: { $0.name == process.name }) {
            if !quiet { output("stopped \(process.name) (pid \(process.pid))") }
        }
        for process in remaining {
            kill(process.pid, SIGKILL)
            _ = ProcessControl.reapIfExited(process.pid)
            output(
                "killed \(process.name) (pid \(process.pid)) with SIGKILL: it did not stop within \(timeout); see \(process.log)"
            )
        }
    }

    // MARK: logs

    /// The path of a process's log, or an error listing the names there are.
    public func log(of name: String) throws -> String {
        let path = logPath(of: name)
        guard FileManager.default.fileExists(atPath: path) else {
            let names =
                (try? FileManager.default.contentsOfDirectory(atPath: logsDirectory.path))?
                .filter { $0.hasSuffix(".log") }.map { String($0.dropLast(4)) }.sorted() ?? []
            let known =
                names.isEmpty ? "there are no logs in \(logsDirectory.path)" : "known: \(names.joined(separator: ", "))"
            throw OrchestratorError("error: no process named '\(name)' in \(dataDirectory.path) (\(known))")
        }
        return path
    }
}

/// A duration in whole milliseconds, for reports.
func milliseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
}
