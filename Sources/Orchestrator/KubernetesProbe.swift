public import DevnetProtocol
public import ZeroMQ

extension Orchestrator {
    /// Asks a daemon's endpoint (api or admin: both answer it) for `health` once: the report, or
    /// nil when no reply came within `timeout`. What `devnet k8s probe` runs for a pod's startup,
    /// liveness and readiness probes, where there is no data directory to find the daemon by name.
    ///
    /// - Parameter clientKeys: CURVE keys for a secured devnet (a member's reach its api endpoint).
    public static func health(at endpoint: String, clientKeys: CurveClientKeys?, timeout: Duration) async
        -> HealthReport?
    {
        let probe = HealthProbe(clientKeys: clientKeys)
        let reports = await probe.check(["probe": endpoint], timeout: timeout)
        await probe.close()
        return reports["probe"]
    }
}
