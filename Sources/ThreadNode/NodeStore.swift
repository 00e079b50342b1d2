import DaemonKit
import DevnetAPI
import DevnetProtocol
import DevnetStorage
import Foundation
import GRDB
import ZKCore

/// A thread node's table of admitted transactions: every one with its latest status, in the
/// order it arrived. Each batch of status changes is written in one SQLite transaction.
struct NodeStore {
    static let migrations: [Migration] = [
        (
            "v1-thread-txs",
            { db in
                try db.create(table: "thread_txs") { table in
                    table.autoIncrementedPrimaryKey("position")
                    table.column("tx_hash", .text).notNull().unique()
                    table.column("tx", .blob).notNull()
                    table.column("status", .text).notNull()
                    table.column("sub_block", .integer)
                    table.column("l2_tx_hash", .text)
                    table.column("block", .integer)
                    table.column("reason", .text)
                }
            }
        ),
        (
            "v2-thread-tx-failure-code",
            { db in
                try db.alter(table: "thread_txs") { table in table.add(column: "code", .text) }
            }
        ),
    ]

    let database: ProcessDatabase

    /// The stored transactions that are not final yet, with their status, in arrival order, and
    /// the hash and status of every final one (settled or failed), whose body is not read.
    func loadForStart() throws -> (
        unfinished: [(ThreadTransaction, ThreadTxStatus)], finished: [(txHash: String, status: ThreadTxStatus)]
    ) {
        let decoder = WireCoding.decoder()
        return try database.read { db in
            var unfinished: [(ThreadTransaction, ThreadTxStatus)] = []
            var finished: [(txHash: String, status: ThreadTxStatus)] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT tx_hash, CASE WHEN status IN ('settled', 'failed') THEN NULL ELSE tx END AS tx,
                    status, sub_block, l2_tx_hash, block, reason, code FROM thread_txs ORDER BY position
                    """)
            while let row = try rows.next() {
                let status = Self.status(row)
                if status.isFinal {
                    finished.append((row["tx_hash"], status))
                } else {
                    unfinished.append((try decoder.decode(ThreadTransaction.self, from: row["tx"] as Data), status))
                }
            }
            return (unfinished, finished)
        }
    }

    private static func status(_ row: Row) -> ThreadTxStatus {
        let subBlock = (row["sub_block"] as Int64?).map(UInt64.init) ?? 0
        let l2TxHash: String = row["l2_tx_hash"] ?? ""
        let settlement = Settlement(
            subBlock: subBlock, l2TxHash: l2TxHash, block: (row["block"] as Int64?).map(UInt64.init) ?? 0)
        switch row["status"] as String {
        case "settled":
            return .settled(settlement)
        case "failed":
            let code = (row["code"] as String?).flatMap(ThreadTxFailure.Code.init(rawValue:)) ?? .wrongNonce
            return .failed(
                ThreadTxFailure(
                    code: code, message: row["reason"] ?? "failed",
                    settlement: code == .executionFailed ? settlement : nil))
        case "sealed":
            return .sealed(subBlock: subBlock, l2TxHash: l2TxHash)
        default:
            return .pending
        }
    }

    /// Writes status changes in one transaction: new transactions are inserted, others updated.
    func write(_ changes: [NodePipeline.Change]) throws {
        let encoder = WireCoding.encoder()
        let rows = try changes.map { change -> (NodePipeline.Change, Data?) in
            (change, change.isNew ? try encoder.encode(change.transaction) : nil)
        }
        try database.write { db in
            // Prepared once and cached by the connection, not parsed again for every row.
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO thread_txs(status, sub_block, l2_tx_hash, block, reason, code, tx_hash, tx)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tx_hash) DO NOTHING
                    """)
            let update = try db.cachedStatement(
                sql: """
                    UPDATE thread_txs SET status = ?, sub_block = ?, l2_tx_hash = ?, block = ?, reason = ?,
                    code = ? WHERE tx_hash = ?
                    """)
            for (change, encoded) in rows {
                let reply = TxStatusReply(txHash: change.transaction.txHash, change.status)
                let fields: [(any DatabaseValueConvertible)?] = [
                    reply.status.rawValue, reply.subBlock.map(Int64.init), reply.l2TxHash,
                    reply.block.map(Int64.init), reply.reason, reply.code,
                ]
                if let encoded {
                    try insert.execute(arguments: StatementArguments(fields + [reply.txHash, encoded]))
                } else {
                    try update.execute(arguments: StatementArguments(fields + [reply.txHash]))
                }
            }
        }
    }
}
