import DaemonKit
import DevnetAPI
import DevnetClient
import DevnetProtocol
import Foundation
import Metrics
import Synchronization
import ThreadVM
import ZKCore
import ZeroMQ

/// The host of a thread node's ``NodePipeline``: it carries out what the pipeline asks for
/// (fetch canonical state, prove and submit, follow receipts), stores every status change before
/// it replies, and answers requests. The decisions are the pipeline's.
actor NodeEngine {
    let context: DaemonContext
    let spec: ThreadSpec
    let entry: TopologyPrograms.Entry
    let prover: DevAccount
    private let accounts: DevAccounts
    let threadNames: [String]
    private let store: NodeStore
    private let loop: SocketLoop
    let manager: NodePeer
    let account: ProverAccount
    let proofSystem: any ProofSystem

    var pipeline: NodePipeline
    var faults = NodeFaultHooks()
    /// What was sent for each admitted sub-block (proved, and spoiled if a fault hook said so).
    var sentRecords: [UInt64: (SubBlockSubmission, TamperRequest?)] = [:]
    private var finalWaiters: [String: [CheckedContinuation<TxStatusReply, Never>]] = [:]
    /// When this process admitted each transaction that is not final yet, for the settlement
    /// latency histogram (transactions restored at a restart have none).
    private var admittedAt: [String: ContinuousClock.Instant] = [:]
    private var readyWaiters: [CheckedContinuation<Void, Never>] = []
    let (wake, wakeInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    /// The sealing-policy deadline a wake is already set for.
    var sealTimer: ContinuousClock.Instant?
    let (follow, followInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    nonisolated let counters = Mutex<[String: UInt64]>([:])
    /// Why the node cannot answer from canonical state yet (health reports `syncing`), or nil.
    nonisolated let notReady = Mutex<String?>("starting: it has not synced with the manager yet")

    /// How long a submit or nonce request waits for a syncing node before it is refused.
    static let readyWait = Duration.seconds(10)

    init(context: DaemonContext, thread spec: ThreadSpec) throws {
        self.context = context
        self.spec = spec
        let catalog = try TopologyPrograms(topology: context.topology)
        guard let entry = catalog.entry(for: spec.name) else {
            throw DaemonStartError(
                code: .badConfiguration, message: "thread '\(spec.name)' is not in the topology's program catalog")
        }
        guard let system = ProofSystems.standard[spec.proofSystem] else {
            throw DaemonStartError(
                code: .badConfiguration,
                message:
                    "thread '\(spec.name)' asks for proof system '\(spec.proofSystem)', which this node cannot run (it runs: \(ProofSystems.standard.names.joined(separator: ", ")))"
            )
        }
        guard let sequencer = context.topology.first(.sequencer), let managerSpec = context.topology.first(.manager)
        else {
            throw DaemonStartError(code: .badConfiguration, message: "the topology needs a sequencer and a manager")
        }
        self.entry = entry
        proofSystem = system
        accounts = DevAccounts.derive(seed: context.topology.seed)
        prover = accounts.prover(thread: spec.name, index: spec.proverIndex)
        threadNames = context.topology.processes.compactMap(\.thread).map(\.name)
        loop = context.clientLoop(context: ZMQContext(), name: "\(context.name)-client")
        manager = NodePeer(endpoint: managerSpec.endpoints.api, loop: loop, logger: context.logger)
        account = ProverAccount(
            sequencer: NodePeer(endpoint: sequencer.endpoints.api, loop: loop, logger: context.logger),
            prover: prover, logger: context.logger)
        store = NodeStore(database: context.database)
        let configuration = NodePipeline.Configuration(
            thread: ThreadInfo(name: spec.name, id: entry.threadId), program: entry.program,
            proofSystem: spec.proofSystem, osVersion: spec.pinnedOSVersion, maxSubBlock: spec.maxSubBlock ?? 256,
            minSubBlock: spec.minSubBlock ?? 1, sealAfter: .milliseconds(spec.sealAfterMs ?? 0))
        // Every transaction comes back with its last status; the node re-syncs before it admits more.
        // Settled and failed transactions come back as their status only: their bodies are never
        // needed again, and decoding them made a start grow with the node's history.
        let stored = try store.loadForStart()
        pipeline = NodePipeline(configuration: configuration, restoring: stored.unfinished, finished: stored.finished)
        // node_info counts every final status, from before a restart too.
        counters.withLock { counted in
            for (_, status) in stored.finished { counted[status.name, default: 0] += 1 }
        }
    }

    var names: (Address) -> String? { { [accounts, threadNames] in accounts.name(of: $0, threads: threadNames) } }

    // MARK: Requests

    func submit(_ tx: ThreadTransaction) async throws -> TxStatusReply {
        let status = try await admit(tx)
        try flush()
        wakeInput.yield()
        return status
    }

    /// Admits each transaction in order as ``submit(_:)`` would, then stores them all in one
    /// commit before it replies.
    func submit(batch txs: [ThreadTransaction]) async throws -> SubmitBatchReply {
        guard txs.count <= NodeSubmitBatchRequest.maxTransactions else {
            throw WireError(
                .badPayload,
                "submit_batch takes at most \(NodeSubmitBatchRequest.maxTransactions) transactions, not \(txs.count); split it"
            )
        }
        var results: [SubmitResult] = []
        results.reserveCapacity(txs.count)
        for tx in txs {
            do {
                results.append(SubmitResult(txHash: tx.txHash, status: try await admit(tx)))
            } catch let error as WireError {
                results.append(SubmitResult(txHash: tx.txHash, error: error))
            } catch {
                // One transaction's trouble is its own: the others are still answered and stored.
                results.append(
                    SubmitResult(txHash: tx.txHash, error: WireError(.internalError, "cannot admit it: \(error)")))
            }
        }
        try flush()
        wakeInput.yield()
        return SubmitBatchReply(results: results)
    }

    /// Admits one transaction into the pipeline, or throws why not; the caller stores it.
    private func admit(_ tx: ThreadTransaction) async throws -> TxStatusReply {
        var checkedCanonical = false
        while true {
            switch pipeline.submit(tx, names: names, at: .now) {
            case .accepted(let status, let new):
                if new {
                    bump("accepted")
                    admittedAt[tx.txHash] = .now
                    Counter(label: DevnetMetrics.threadAdmitted).increment()
                }
                return reply(tx.txHash, status)
            case .refused(let refusal):
                // A nonce ahead of the fork may be right if another prover moved the thread:
                // look once, re-sync if so, and decide again.
                let nonceAhead = pipeline.nonce(of: tx.caller).map { tx.nonce > $0 } ?? false
                if !checkedCanonical, refusal.code == .badCalldata || (refusal.code == .wrongNonce && nonceAhead) {
                    // The thread may have been upgraded to a program that takes this call.
                    checkedCanonical = true
                    try? await checkCanonical(once: true)
                    continue
                }
                bump("refused")
                Counter(label: DevnetMetrics.threadRefused, dimensions: [("reason", refusal.code.rawValue)]).increment()
                throw WireError(WireErrorCode(refusal.code.rawValue), refusal.message)
            case .busy(let why):
                bump("busy")
                Counter(label: DevnetMetrics.threadRefused, dimensions: [("reason", "BUSY")]).increment()
                throw WireError(WireErrorCode("BUSY"), why)
            case .notReady(let why):
                try await waitUntilReady(why)
            case .needCrossReads(let keys):
                do {
                    try await fetchCrossReads(keys, once: true)
                } catch let error as WireError where error.code == .timeout || error.code == .shuttingDown {
                    // The manager did not answer, or the connection to it was dropped (another
                    // request's timeout closes it): the transaction is fine, the node is not ready.
                    throw WireError(
                        WireErrorCode("NOT_READY"),
                        "the transaction reads other threads, and the manager did not answer for their values (\(error.message)); try again shortly"
                    )
                }
            }
        }
    }

    func status(_ hash: String, waitMs: Int) async throws -> TxStatusReply {
        let txHash = hash.lowercased()
        guard let status = pipeline.status(of: txHash) else {
            throw WireError(
                .notFound, "thread \(spec.name) has no transaction \(txHash); was it sent to another thread's node?")
        }
        if waitMs > 0, !status.isFinal,
            let waited = await firstValue(within: .milliseconds(waitMs), { await self.waitForFinal(txHash) })
        {
            return waited
        }
        return reply(txHash, pipeline.status(of: txHash) ?? status)
    }

    private func waitForFinal(_ txHash: String) async -> TxStatusReply {
        if let status = pipeline.status(of: txHash), status.isFinal { return reply(txHash, status) }
        return await withCheckedContinuation { finalWaiters[txHash, default: []].append($0) }
    }

    /// The canonical nonce plus this node's unsettled transactions: the node first checks with
    /// the manager that no other prover moved the thread, and re-syncs if one did.
    func nonce(of address: Address) async throws -> NonceReply {
        // A manager that does not answer at once (it may be restarting) leaves the fork's answer.
        try? await checkCanonical(once: true)
        while true {
            if let nonce = pipeline.nonce(of: address) { return NonceReply(nonce: nonce) }
            try await waitUntilReady("thread node for \(spec.name) is syncing")
        }
    }

    func info() -> NodeInfo {
        let counted = counters.withLock { $0 }
        return NodeInfo(
            thread: spec.name, threadId: entry.threadId, contract: spec.contract,
            programHash: pipeline.configuration.program.hash,
            prover: prover.address, canonicalSequence: pipeline.canonicalSequence, pending: pipeline.pendingCount,
            inFlight: pipeline.inFlightCount, settled: counted["settled"] ?? 0, failed: counted["failed"] ?? 0,
            reverts: pipeline.reverts, paused: pipeline.paused, phase: pipeline.phase.name, waiting: pipeline.waiting)
    }

    private func reply(_ txHash: String, _ status: ThreadTxStatus) -> TxStatusReply {
        TxStatusReply(txHash: txHash, status, waiting: status.isFinal ? nil : pipeline.waiting)
    }

    /// Waits until the pipeline admits again, or refuses with `NOT_READY` after ``readyWait``.
    private func waitUntilReady(_ why: String) async throws {
        let ready = await firstValue(within: Self.readyWait) { await self.readySignal() }
        guard ready != nil else {
            throw WireError(WireErrorCode("NOT_READY"), "\(why); try again shortly")
        }
    }

    private func readySignal() async {
        if pipeline.isReady { return }
        await withCheckedContinuation { readyWaiters.append($0) }
    }

    // MARK: Fault hooks

    func setPaused(_ paused: Bool) -> NodeInfo {
        pipeline.paused = paused
        context.logger.notice(paused ? "submissions paused (fault hook)" : "submissions resumed (fault hook)")
        wakeInput.yield()
        return info()
    }

    func tamper(_ request: TamperRequest) throws -> TamperReply {
        let reply = try faults.queue(request, node: context.name)
        context.logger.notice(
            "the next submission will be spoiled: \(request.fault.rawValue)\(request.label.map { " (\($0))" } ?? "")")
        return reply
    }

    func submissionRecords() -> SubmissionsReply { SubmissionsReply(submissions: faults.submissions) }

    // MARK: Bookkeeping

    func bump(_ name: String, _ amount: UInt64 = 1) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    /// Stores the pipeline's status changes and wakes whoever waits for them.
    func flush() throws {
        let changes = pipeline.takeChanges()
        if !changes.isEmpty { try store.write(changes) }
        var finals: [TxStatusReply] = []
        let now = ContinuousClock.now
        for change in changes where change.status.isFinal {
            bump(change.status.name)
            let reply = reply(change.transaction.txHash, change.status)
            finals.append(reply)
            Counter(label: DevnetMetrics.threadFinal, dimensions: [("status", change.status.name)]).increment()
            if let admitted = admittedAt.removeValue(forKey: reply.txHash), reply.status == .settled {
                Metrics.Timer(label: DevnetMetrics.settlementLatency).recordNanoseconds((now - admitted).nanoseconds)
            }
            for waiter in finalWaiters.removeValue(forKey: reply.txHash) ?? [] { waiter.resume(returning: reply) }
        }
        if !finals.isEmpty {
            // Stored above first: a subscriber never hears of a status a restart could take back.
            _ = try? context.publish(TxFinalEvent.topic, TxFinalEvent(transactions: finals))
        }
        Gauge(label: DevnetMetrics.nodePending).record(pipeline.pendingCount)
        Gauge(label: DevnetMetrics.nodeInFlight).record(pipeline.inFlightCount)
        let reason = pipeline.isReady ? nil : pipeline.notReadyReason
        if notReady.withLock({ $0 }) != reason { notReady.withLock { $0 = reason } }
        if pipeline.isReady, !readyWaiters.isEmpty {
            let waiting = readyWaiters
            readyWaiters = []
            for waiter in waiting { waiter.resume() }
        }
        followInput.yield()
    }

    // MARK: Background work

    func run() async throws {
        pipeline.restart()
        wakeInput.yield()
        followInput.yield()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.driveLoop() }
            group.addTask { try await self.followLoop() }
            group.addTask { try await self.watchLoop() }
            try await group.next()
            group.cancelAll()
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
