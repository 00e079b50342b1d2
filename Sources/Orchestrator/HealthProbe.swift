import DevnetClient
import DevnetProtocol
import Foundation
import ZeroMQ

/// Asks daemons' admin endpoints for their health.
final class HealthProbe: Sendable {
    private let context = ZMQContext()
    private let loop: SocketLoop

    /// - Parameter clientKeys: the orchestrator's CURVE keys for a secured devnet; nil for an open one.
    init(clientKeys: CurveClientKeys? = nil) {
        loop = SocketLoop(context: context, name: "devnet-health", clientKeys: clientKeys)
    }

    /// One `health` request per endpoint, all at once; nil where no reply came in time.
    func check(_ endpoints: [String: String], timeout: Duration) async -> [String: HealthReport] {
        await withTaskGroup(of: (String, HealthReport?).self) { group in
            for (name, endpoint) in endpoints {
                group.addTask {
                    (
                        name,
                        try? await self.once(AdminMessage.health, at: endpoint, as: HealthReport.self, timeout: timeout)
                    )
                }
            }
            var reports: [String: HealthReport] = [:]
            for await (name, report) in group {
                if let report { reports[name] = report }
            }
            return reports
        }
    }

    /// The health statuses that count as started for a devnet of `topology`: `healthy`, and also
    /// `syncing` with on-demand blocks, where a thread node cannot sync before its registration is
    /// mined.
    static func up(_ topology: Topology?) -> Set<String> {
        topology?.first(.sequencer)?.blockMode == .onDemand ? ["healthy", "syncing"] : ["healthy"]
    }

    /// Connects once per endpoint and asks `health` until each answers `healthy` (or one of
    /// `accepting`) or `deadline` passes. `stillStarting` is called between rounds and may throw
    /// to give up early.
    func waitUntilHealthy(
        _ endpoints: [String: String],
        deadline: ContinuousClock.Instant,
        accepting: Set<String> = ["healthy"],
        stillStarting: @Sendable () throws -> Void
    ) async throws -> [String: HealthReport] {
        var clients: [String: RequestClient] = [:]
        for (name, endpoint) in endpoints {
            clients[name] = try await RequestClient.connect(to: endpoint, on: loop)
        }
        defer { clients.values.forEach { $0.close() } }
        var healthy: [String: HealthReport] = [:]
        while healthy.count < endpoints.count {
            try stillStarting()
            if ContinuousClock.now >= deadline { break }
            let waiting = clients.filter { healthy[$0.key] == nil }
            let round = await withTaskGroup(of: (String, HealthReport?).self) { group in
                for (name, client) in waiting {
                    group.addTask {
                        (
                            name,
                            try? await client.call(
                                AdminMessage.health, Empty(), as: HealthReport.self, timeout: .milliseconds(100))
                        )
                    }
                }
                var reports: [(String, HealthReport?)] = []
                for await result in group { reports.append(result) }
                return reports
            }
            for case let (name, report?) in round where accepting.contains(report.status) {
                healthy[name] = report
            }
        }
        return healthy
    }

    /// Asks each endpoint to shut down; returns the names that agreed.
    func requestShutdown(_ endpoints: [String: String], timeout: Duration) async -> Set<String> {
        await withTaskGroup(of: String?.self) { group in
            for (name, endpoint) in endpoints {
                group.addTask {
                    let reply = try? await self.once(
                        AdminMessage.shutdown, at: endpoint, as: ShutdownReply.self, timeout: timeout)
                    return reply == nil ? nil : name
                }
            }
            var agreed: Set<String> = []
            for await name in group { if let name { agreed.insert(name) } }
            return agreed
        }
    }

    /// One request on a connection of its own.
    private func once<Reply: Decodable>(_ type: String, at endpoint: String, as reply: Reply.Type, timeout: Duration)
        async throws -> Reply
    {
        let client = try await RequestClient.connect(to: endpoint, on: loop)
        do {
            let result = try await client.call(type, Empty(), as: Reply.self, timeout: timeout)
            client.close()
            return result
        } catch {
            client.close()
            throw error
        }
    }

    func close() async {
        await loop.shutdown()
        context.terminate()
    }
}
