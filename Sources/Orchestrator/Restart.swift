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
        guard let index = state.processes.firstIndex(where: { $0.name == name }) else {
            throw OrchestratorError(
                "error: this devnet has no process '\(name)' (it has: \(state.processes.map(\.name).joined(separator: ", ")))"
            )
        }
        let old = state.processes[index]
        if ProcessControl.isAlive(pid: old.pid, startTime: old.startTime) {
            var one = state
            one.processes = [old]
            await stopAll(one, timeout: .seconds(10), quiet: true)
        }
        let binaries = ProcessControl.binaryDirectory()
        let topology = dataDirectory.appendingPathComponent(Topology.fileName)
        let pid: pid_t
        do {
            pid = try ProcessControl.spawn(
                executable: binaries.appendingPathComponent(old.role.executable).path,
                arguments: ["--topology", topology.path, "--name", name, "--data-dir", dataDirectory.path],
                logPath: old.log
            )
        } catch {
            throw OrchestratorError("error: \(error)")
        }
        state.processes[index].pid = pid
        state.processes[index].startTime = ProcessControl.startTime(of: pid)
        try state.write(to: dataDirectory)
        let probe = HealthProbe()
        let healthy = try await probe.waitUntilHealthy([name: old.endpoints.admin], deadline: .now + timeout) {
            if let how = ProcessControl.reapIfExited(pid) {
                throw OrchestratorError(
                    "error: \(name) \(how) while restarting. Last lines of \(old.log):\n\(ProcessControl.tail(old.log, lines: 20))"
                )
            }
        }
        await probe.close()
        guard healthy[name] != nil else {
            throw OrchestratorError("error: \(name) (pid \(pid)) was not healthy within \(timeout); see \(old.log)")
        }
        return pid
    }
}
