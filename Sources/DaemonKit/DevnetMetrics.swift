/// The names of the metrics the daemons record with swift-metrics and serve on `/metrics`.
///
/// Each name always comes with the same label names (Prometheus requires it). docs/metrics.md
/// describes every one.
public enum DevnetMetrics {
    // Every daemon.
    /// Histogram: how long each SQLite write transaction took, commit included.
    public static let databaseCommit = "zkdevnet_db_commit_seconds"
    /// Counter, labels `endpoint` (`api`, `admin`) and `status` (`ok`, `error`): requests answered.
    public static let requests = "zkdevnet_requests_total"

    // The sequencer.
    /// Counter, label `kind` (`transfer`, `thread_update`, `register_thread`, `upgrade_thread`).
    public static let l2Admitted = "zkdevnet_l2_transactions_admitted_total"
    /// Counter, label `reason` (the admission error code, e.g. `BAD_SIGNATURE`).
    public static let l2Rejected = "zkdevnet_l2_transactions_rejected_total"
    /// Counter, label `status` (`accepted`, `reverted`): L2 transactions included in blocks.
    public static let l2Included = "zkdevnet_l2_transactions_included_total"
    /// Counter: fee-token units charged to senders of included transactions.
    public static let feesCharged = "zkdevnet_fees_charged_total"
    /// Counter: L2 blocks closed.
    public static let blocks = "zkdevnet_blocks_total"
    /// Gauge: admitted L2 transactions waiting for a block.
    public static let mempool = "zkdevnet_mempool_transactions"

    // The manager.
    /// Counter, labels `outcome` (`accepted`, `reverted`) and `reason` (`none` or the revert code).
    public static let subBlocks = "zkdevnet_sub_blocks_total"
    /// Counter: thread transactions in accepted sub-blocks.
    public static let threadTransactionsSettled = "zkdevnet_thread_transactions_settled_total"
    /// Histogram, label `proof_system`: time in the proof system's verifier per sub-block.
    public static let verify = "zkdevnet_proof_verify_seconds"
    /// Histogram, label `proof_system`: proof size in bytes (proved by a node, checked by the manager).
    public static let proofSize = "zkdevnet_proof_size_bytes"

    // A thread node.
    /// Counter: thread transactions admitted (new ones; a resend of a known one is not counted).
    public static let threadAdmitted = "zkdevnet_thread_transactions_admitted_total"
    /// Counter, label `reason` (the refusal code, e.g. `WRONG_NONCE`, `BUSY`).
    public static let threadRefused = "zkdevnet_thread_transactions_refused_total"
    /// Counter, label `status` (`settled`, `failed`): thread transactions that became final.
    public static let threadFinal = "zkdevnet_thread_transactions_final_total"
    /// Histogram: a thread transaction's admission by this node to its `settled` status.
    public static let settlementLatency = "zkdevnet_settlement_latency_seconds"
    /// Histogram, label `proof_system`: proving time per sub-block.
    public static let prove = "zkdevnet_prove_seconds"
    /// Histogram: thread transactions per sealed sub-block.
    public static let subBlockSize = "zkdevnet_sub_block_transactions"
    /// Counter: sub-blocks the sequencer admitted from this node.
    public static let subBlocksSubmitted = "zkdevnet_sub_blocks_submitted_total"
    /// Gauge: thread transactions not final and not in an admitted sub-block.
    public static let nodePending = "zkdevnet_node_pending_transactions"
    /// Gauge: sub-blocks admitted on L2 whose receipt the node has not seen.
    public static let nodeInFlight = "zkdevnet_node_in_flight_sub_blocks"

    /// Every name above.
    public static let all = [
        databaseCommit, requests, l2Admitted, l2Rejected, l2Included, feesCharged, blocks, mempool, subBlocks,
        threadTransactionsSettled, verify, proofSize, threadAdmitted, threadRefused, threadFinal, settlementLatency,
        prove, subBlockSize, subBlocksSubmitted, nodePending, nodeInFlight,
    ]
}
