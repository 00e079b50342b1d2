public import DaemonKit
import DevnetAPI
public import DevnetProtocol
public import DevnetStorage
import Foundation
import ThreadVM
import ZKCore

/// The zkThreadManager contract host.
public struct ManagerRole: DaemonRole {
    public static let role = ProcessRole.manager
    public static let migrations: [Migration] = [CommandLog.migration, CheckpointStore.migration]

    private let host: ManagerHost
    private let context: DaemonContext

    public init(context: DaemonContext) throws {
        self.context = context
        host = try ManagerHost(context: context)
        context.logger.info("\(host.restoredThreads) thread(s) restored from the log: \(host.restoredFrom)")
    }

    public func apiRoutes() -> Router {
        var router = Router()
        router.on(ManagerMessage.execute, ExecuteRequest.self) { try await host.execute($0, encoded: $1) }
        router.on(ManagerMessage.thread, ThreadRequest.self) { try await host.summary(of: $0.thread) }
        router.on(ManagerMessage.threads, Empty.self) { _ in await host.threads() }
        router.on(ManagerMessage.threadState, ThreadRequest.self) { try await host.state(of: $0.thread) }
        router.on(ManagerMessage.canonical, CanonicalRequest.self) { await host.canonical($0) }
        router.on(ManagerMessage.view, ViewRequest.self) { try await host.view($0) }
        router.on(ManagerMessage.settlements, SettlementsRequest.self) { try await host.settlements($0) }
        router.on(ManagerMessage.program, ProgramRequest.self) { try await host.program($0) }
        router.on(ManagerMessage.checkUpgrade, CheckUpgradeRequest.self) { try await host.checkUpgrade($0) }
        return router
    }

    public func adminRoutes() -> Router {
        var router = Router()
        router.on(CheckpointMessage.checkpoint, Empty.self) { _ in try await host.checkpoint() }
        router.on(ManagerAdminMessage.applyTwice, ThreadRequest.self) { [context] request in
            try context.requireFaultHooks(ManagerAdminMessage.applyTwice)
            return try await host.armApplyTwice(request.thread)
        }
        return router
    }

    public func counters() -> [String: UInt64] {
        host.counters.withLock { $0 }.merging(host.meter.snapshot) { a, _ in a }
    }
}
