public import DaemonKit
import DevnetAPI
public import DevnetProtocol
public import DevnetStorage
import Foundation

/// One zkThread node: batcher and prover for one thread.
public struct ThreadNodeRole: DaemonRole {
    public static let role = ProcessRole.threadNode
    public static let migrations: [Migration] = NodeStore.migrations

    private let engine: NodeEngine
    private let context: DaemonContext

    public init(context: DaemonContext) throws {
        guard let thread = context.spec.thread else {
            throw DaemonStartError(
                code: .badConfiguration, message: "thread node '\(context.name)' has no thread in the topology")
        }
        self.context = context
        engine = try NodeEngine(context: context, thread: thread)
        context.logger.info(
            "thread '\(thread.name)' runs contract '\(thread.contract)' with proof system '\(thread.proofSystem)'")
    }

    public func apiRoutes() -> Router {
        var router = Router()
        router.on(NodeMessage.submit, NodeSubmitRequest.self) { try await engine.submit($0.tx) }
        router.on(NodeMessage.submitBatch, NodeSubmitBatchRequest.self) { try await engine.submit(batch: $0.txs) }
        router.on(NodeMessage.status, TxStatusRequest.self) {
            try await engine.status($0.txHash, waitMs: $0.waitMs ?? 0)
        }
        router.on(NodeMessage.nonce, NonceRequest.self) { try await engine.nonce(of: $0.address) }
        router.on(NodeMessage.info, Empty.self) { _ in await engine.info() }
        router.on(NodeMessage.submissions, Empty.self) { _ in await engine.submissionRecords() }
        return router
    }

    public func adminRoutes() -> Router {
        var router = Router()
        router.on(NodeAdminMessage.pause, Empty.self) { [context] _ in
            try context.requireFaultHooks(NodeAdminMessage.pause)
            return await engine.setPaused(true)
        }
        router.on(NodeAdminMessage.resume, Empty.self) { [context] _ in
            try context.requireFaultHooks(NodeAdminMessage.resume)
            return await engine.setPaused(false)
        }
        router.on(NodeAdminMessage.tamper, TamperRequest.self) { [context] request in
            try context.requireFaultHooks(NodeAdminMessage.tamper)
            return try await engine.tamper(request)
        }
        return router
    }

    public func counters() -> [String: UInt64] {
        engine.counters.withLock { $0 }
    }

    public func notReady() -> String? {
        engine.notReady.withLock { $0 }
    }

    public func run() async throws {
        try await engine.run()
    }
}
