public import DevnetProtocol

extension Orchestrator {
    /// Asks a daemon's admin endpoint for `health` once: the report, or nil when no reply came
    /// within `timeout`. What `devnet k8s probe` runs for a pod's startup, liveness and readiness
    /// probes, where there is no data directory to find the daemon by name.
    public static func health(atAdmin endpoint: String, timeout: Duration) async -> HealthReport? {
        let probe = HealthProbe()
        let reports = await probe.check(["probe": endpoint], timeout: timeout)
        await probe.close()
        return reports["probe"]
    }
}
