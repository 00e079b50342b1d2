public import DaemonKit
import DevnetAPI
import DevnetClient
public import DevnetProtocol
public import DevnetStorage
import Foundation
import ThreadVM
import ZKCore
import ZeroMQ

/// The L2 sequencer mock: admits signed L2 transactions, orders them into blocks, hands thread
/// registrations and updates to the manager in block order, charges fees and keeps receipts.
public struct SequencerRole: DaemonRole {
    public static let role = ProcessRole.sequencer
    public static let migrations: [Migration] = [
        CommandLog.migration,
        (
            "v1-mempool",
            { db in
                try db.create(table: "mempool") { table in
                    table.autoIncrementedPrimaryKey("position")
                    table.column("tx_hash", .text).notNull().unique()
                    table.column("tx", .blob).notNull()
                }
            }
        ),
        CheckpointStore.migration,
    ]

    private let chain: Chain
    private let blockMode: BlockMode

    public init(context: DaemonContext) throws {
        blockMode = context.spec.blockMode ?? .instant
        let threads = context.topology.genesisThreads
        guard let manager = context.topology.first(.manager) else {
            throw DaemonStartError(
                code: .badConfiguration,
                message: "the topology has no manager for the sequencer to hand thread updates to")
        }
        chain = try Chain(
            context: context, threads: threads, managerEndpoint: manager.endpoints.api, blockMode: blockMode)
        context.logger.info(
            "block mode: \(blockMode); height \(chain.restoredHeight) after replaying the log: \(chain.restoredFrom)")
    }

    public func apiRoutes() -> Router {
        var router = Router()
        router.on(SequencerMessage.submit, SubmitRequest.self) { request in
            try await chain.submit(request.tx, wait: request.wait ?? false)
        }
        router.on(SequencerMessage.receipt, ReceiptRequest.self) { request in
            await chain.receipt(request.txHash.lowercased(), waitMs: request.waitMs ?? 0)
        }
        router.on(SequencerMessage.mine, Empty.self) { _ in
            try await chain.mine()
        }
        router.on(SequencerMessage.account, AccountRequest.self) { request in
            try await chain.account(request.account)
        }
        router.on(SequencerMessage.accounts, Empty.self) { _ in
            await chain.accounts()
        }
        router.on(SequencerMessage.chain, Empty.self) { _ in
            await chain.info()
        }
        router.on(SequencerMessage.history, HistoryRequest.self) { request in
            try chain.history(request)
        }
        return router
    }

    public func adminRoutes() -> Router {
        var router = Router()
        router.on(CheckpointMessage.checkpoint, Empty.self) { _ in try await chain.checkpoint() }
        router.on(SequencerAdminMessage.fundThread, FundThreadRequest.self) { request in
            try await chain.fundThread(request.thread)
        }
        return router
    }

    public func counters() -> [String: UInt64] {
        chain.counters.snapshot()
    }

    public func run() async throws {
        switch blockMode {
        case .instant, .onDemand:
            try await chain.produceOnTrigger()
        case let .interval(milliseconds):
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await chain.produceOnTrigger() }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .milliseconds(milliseconds))
                        chain.trigger()
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
