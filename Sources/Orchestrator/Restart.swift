import DevnetProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Orchestrator {
    /// Starts one process of a running devnet again: stops it first if it still runs (gracefully,
    /// then by force), starts it with the same topology and data, and waits until it is healthy.
    ///
    /// - Returns: the new pid.
    @discardableResult
    public func restart(_ name: String, timeout: Duration = .seconds(30)) async throws -> Int32 {
        guard var state = DevnetState.load(from: dataDirectory) else {
            throw OrchestratorError(
                "error: no devnet in \(dataDirectory.path); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        if let remote = state.remote?.first(where: { $0.name == name }) {
            throw OrchestratorError(
                "error: \(name) runs on another host (\(remote.endpoints.api)); restart it there, with the same --topology, --name and --data-dir"
            )
        }
        guard let index = state.processes.firstIndex(where: { $0.name == name }) else {
            throw OrchestratorError(
                "error: this devnet has no process '\(name)' (it has: \(state.processes.map(\.name).joined(separator: ", ")))"
            )
        }
        let old = state.processes[index]
        if ProcessControl.isAlive(pid: old.pid, startTime: old.startTime) {
            var one = state
            one.processes = [old]
            one.remote = nil
            await stopAll(one, timeout: .seconds(10), quiet: true)
        }
        var process = old
        try await launch(&process, in: &state, doing: "restarting", timeout: timeout)
        return process.pid
    }

    /// Starts one daemon of the devnet's topology, records it in the state file (replacing the
    /// entry of the same name, or adding one) and waits until it is healthy.
    ///
    /// - Throws: ``OrchestratorError`` with the tail of its log if it exits, or naming it if it is
    ///   not healthy within `timeout`.
    func launch(
        _ process: inout DevnetState.Process, in state: inout DevnetState, doing activity: String, timeout: Duration
    ) async throws {
        let name = process.name
        let topology = dataDirectory.appendingPathComponent(Topology.fileName)
        let pid: pid_t
        do {
            pid = try ProcessControl.spawn(
                executable: ProcessControl.binaryDirectory().appendingPathComponent(process.role.executable).path,
                arguments: ["--topology", topology.path, "--name", name, "--data-dir", dataDirectory.path],
                logPath: process.log
            )
        } catch {
            throw OrchestratorError("error: cannot start \(name): \(error)")
        }
        process.pid = pid
        process.startTime = ProcessControl.startTime(of: pid)
        if let index = state.processes.firstIndex(where: { $0.name == name }) {
            state.processes[index] = process
        } else {
            state.processes.append(process)
        }
        try state.write(to: dataDirectory)
        let log = process.log
        let probe = HealthProbe(clientKeys: try clientKeys())
        let healthy: [String: HealthReport]
        do {
            let accepting = HealthProbe.up(try? Topology.load(from: topology))
            healthy = try await probe.waitUntilHealthy(
                [name: process.endpoints.admin], deadline: .now + timeout, accepting: accepting
            ) {
                if let how = ProcessControl.reapIfExited(pid) {
                    throw OrchestratorError(
                        "error: \(name) \(how) while \(activity). Last lines of \(log):\n\(ProcessControl.tail(log, lines: 20))"
                    )
                }
            }
        } catch {
            await probe.close()
            throw error
        }
        await probe.close()
        guard healthy[name] != nil else {
            throw OrchestratorError("error: \(name) (pid \(pid)) was not healthy within \(timeout); see \(log)")
        }
    }
}
