import DaemonKit
import DevnetAPI
import DevnetClient
import DevnetProtocol
import DevnetStorage
import Foundation
import GRDB
import Synchronization
import ThreadVM
import ZKCore
import ZeroMQ

/// A thread node's state: the batcher over its fork, every thread transaction it accepted and
/// where that transaction is, and the loop that seals, proves, submits and follows receipts.
actor NodeEngine {
    private struct Tracked {
        var tx: ThreadTransaction
        var status: TxStatusReply
    }

    private let context: DaemonContext
    private let spec: ThreadSpec
    private let entry: TopologyPrograms.Entry
    private let thread: ThreadInfo
    private let prover: DevAccount
    private let accounts: DevAccounts
    private let threadNames: [String]
    private let zmq = ZMQContext()
    private let loop: SocketLoop
    private let sequencerEndpoint: String
    private let managerEndpoint: String
    private var sequencer: RequestClient?
    private var manager: RequestClient?

    /// Nil until the node has synced with the manager.
    private var batcher: SubBlockBatcher?
    private var cache = CrossThreadCache()
    private var tracked: [String: Tracked] = [:]
    /// Accepted before the first sync, in order; added to the batcher once it exists.
    private var early: [ThreadTransaction] = []
    private var proverNonce: UInt64?
    private var waiters: [String: [CheckedContinuation<TxStatusReply, Never>]] = [:]
    private let wake: AsyncStream<Void>
    private let wakeInput: AsyncStream<Void>.Continuation
    private var reverts: UInt64 = 0

    nonisolated let counters = Mutex<[String: UInt64]>([:])

    /// Sub-blocks of at most this many transactions, unless the thread's `max_sub_block` says otherwise.
    static let maxTransactions = 256

    init(context: DaemonContext, thread spec: ThreadSpec) throws {
        self.context = context
        self.spec = spec
        let catalog = try TopologyPrograms(topology: context.topology)
        guard let entry = catalog.entry(for: spec.name) else {
            throw DaemonStartError(
                code: .badConfiguration, message: "thread '\(spec.name)' is not in the topology's program catalog")
        }
        self.entry = entry
        thread = ThreadInfo(name: spec.name, id: entry.threadId)
        accounts = DevAccounts.derive(seed: context.topology.seed)
        prover = accounts.prover(thread: spec.name, index: spec.proverIndex)
        threadNames = context.topology.processes.compactMap(\.thread).map(\.name)
        guard let sequencer = context.topology.first(.sequencer), let manager = context.topology.first(.manager) else {
            throw DaemonStartError(code: .badConfiguration, message: "the topology needs a sequencer and a manager")
        }
        sequencerEndpoint = sequencer.endpoints.api
        managerEndpoint = manager.endpoints.api
        loop = SocketLoop(context: zmq, name: "\(context.name)-client")
        (wake, wakeInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (follow, followInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

        // Every transaction not final when the node stopped comes back, in the order it arrived.
        let decoder = WireCoding.decoder()
        let rows = try context.database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT tx, status, sub_block, l2_tx_hash, block, reason FROM thread_txs ORDER BY position"
            )
            .map { row -> (Data, TxStatusReply) in
                (
                    row["tx"],
                    TxStatusReply(
                        txHash: "", status: row["status"], subBlock: (row["sub_block"] as Int64?).map(UInt64.init),
                        l2TxHash: row["l2_tx_hash"], block: (row["block"] as Int64?).map(UInt64.init),
                        reason: row["reason"]
                    )
                )
            }
        }
        for (data, stored) in rows {
            let tx = try decoder.decode(ThreadTransaction.self, from: data)
            var status = stored
            status.txHash = tx.txHash
            tracked[tx.txHash] = Tracked(tx: tx, status: status)
            if status.status == "pending" || status.status == "sealed" { early.append(tx) }
        }
    }

    private func name(of address: Address) -> String? {
        accounts.name(of: address, threads: threadNames)
    }

    // MARK: Requests

    func submit(_ tx: ThreadTransaction) async throws -> TxStatusReply {
        let txHash = tx.txHash
        // A full open sub-block holds new transactions back, in the order they came, until a seal
        // makes room. (A re-sync adds every unsettled transaction at once and may exceed the cap.)
        while !syncing, batcher?.isFull == true, tracked[txHash] == nil {
            await withCheckedContinuation { roomWaiters.append($0) }
        }
        if let known = tracked[txHash] { return known.status }
        if batcher != nil, !syncing {
            try await prefetchCrossReads(for: tx)
            guard batcher != nil, tracked[txHash] == nil else {
                return tracked[txHash]?.status ?? TxStatusReply(txHash: txHash, status: "pending")
            }
            // Mutated in place: a copy would copy the open sub-block on every transaction.
            switch batcher!.add(tx, names: { [accounts, threadNames] in accounts.name(of: $0, threads: threadNames) }) {
            case let .failure(refusal):
                bump("refused")
                throw WireError(WireErrorCode(refusal.code.rawValue), refusal.message)
            case let .success(result):
                if let failure = result.failure { vmFailures[txHash] = failure.description }
            }
        } else {
            // Not synced yet: check what can be checked now; the nonce is checked when it is added.
            if let refusal = tx.validate(thread: thread, program: entry.program, expectedNonce: tx.nonce) {
                bump("refused")
                throw WireError(WireErrorCode(refusal.code.rawValue), refusal.message)
            }
            early.append(tx)
        }
        let status = TxStatusReply(txHash: txHash, status: "pending")
        tracked[txHash] = Tracked(tx: tx, status: status)
        try store(tx, status)
        bump("accepted")
        wakeInput.yield()
        return status
    }

    /// Runs `tx` once on a copy of the fork to find the other threads' keys it reads, and fetches
    /// the canonical values the cache lacks from the manager. Repeats while the run finds more
    /// (a value read can change which key is read next).
    private func prefetchCrossReads(for tx: ThreadTransaction) async throws {
        for _ in 0..<8 {
            guard let snapshot = batcher else { return }
            let probe = CrossReadProbe(cache: cache)
            _ = Interpreter(program: entry.program).execute(
                tx.vmTransaction, state: ForkReader { snapshot.value(at: $0) }, threads: probe
            )
            let misses = Array(probe.misses)
            guard !misses.isEmpty else { return }
            let reply = try await call(
                toSequencer: false, ManagerMessage.canonical, CanonicalRequest(reads: misses), as: CanonicalReply.self)
            cache.insert(Array(zip(misses, reply.values)))
        }
    }

    /// Transactions whose contract call failed on the fork: included (their nonce is used) but
    /// without effect. They end as `failed` with this reason once their sub-block settles.
    private var vmFailures: [String: String] = [:]

    func status(_ txHash: String, waitMs: Int) async throws -> TxStatusReply {
        guard let known = tracked[txHash] else {
            throw WireError(
                .notFound, "thread \(spec.name) has no transaction \(txHash); was it sent to another thread's node?")
        }
        if waitMs > 0, known.status.status == "pending" || known.status.status == "sealed" {
            if let waited = await firstValue(within: .milliseconds(waitMs), { await self.waitForFinal(txHash) }) {
                return waited
            }
        }
        return tracked[txHash]?.status ?? known.status
    }

    private func waitForFinal(_ txHash: String) async -> TxStatusReply {
        if let status = tracked[txHash]?.status, status.status == "settled" || status.status == "failed" {
            return status
        }
        return await withCheckedContinuation { waiters[txHash, default: []].append($0) }
    }

    func nonce(of address: Address) -> NonceReply {
        if let batcher { return NonceReply(nonce: batcher.nonce(of: address)) }
        let early = early.filter { $0.caller == address }.map(\.nonce).max().map { $0 + 1 }
        return NonceReply(nonce: early ?? 0)
    }

    func info() -> NodeInfo {
        let counted = counters.withLock { $0 }
        return NodeInfo(
            thread: spec.name, threadId: thread.id, contract: spec.contract, programHash: entry.program.hash,
            prover: prover.address, canonicalSequence: batcher?.settledSequence ?? 0,
            pending: (batcher?.openCount ?? 0) + early.count, inFlight: batcher?.sealed.count ?? 0,
            settled: counted["settled"] ?? 0, failed: counted["failed"] ?? 0, reverts: reverts, paused: paused
        )
    }

    // MARK: Fault hooks

    /// While paused the node takes transactions but neither seals nor submits.
    private var paused = false
    /// Spoilings for the next submissions, in order.
    private var tampers: [TamperRequest] = []
    /// The last sub-block the manager accepted from this node, as submitted (for `replay`).
    private var lastAccepted: SubBlockSubmission?
    /// Every L2 submission since the node started, oldest first.
    private var submissions: [SubmissionRecord] = []

    func setPaused(_ paused: Bool) -> NodeInfo {
        self.paused = paused
        context.logger.notice(paused ? "submissions paused (fault hook)" : "submissions resumed (fault hook)")
        if !paused { wakeInput.yield() }
        return info()
    }

    func tamper(_ request: TamperRequest) throws -> TamperReply {
        if request.fault == .replay, lastAccepted == nil {
            throw WireError(
                .notPossible,
                "\(context.name) has no accepted sub-block to replay yet (it keeps the last one it submitted since it started); let one settle first"
            )
        }
        tampers.append(request)
        context.logger.notice(
            "the next submission will be spoiled: \(request.fault.rawValue)\(request.label.map { " (\($0))" } ?? "")")
        return TamperReply(fault: request.fault, label: request.label, queued: tampers.count)
    }

    func submissionRecords() -> SubmissionsReply {
        SubmissionsReply(submissions: submissions)
    }

    /// `submission` spoiled as `fault` says.
    private static func spoil(_ submission: SubBlockSubmission, _ fault: Tamper) -> SubBlockSubmission {
        var spoiled = submission
        switch fault {
        case .badProof:
            if spoiled.proof.isEmpty {
                spoiled.proof = Data([0xBA, 0xD0])
            } else {
                for index in stride(from: spoiled.proof.startIndex, to: spoiled.proof.endIndex, by: 7) {
                    spoiled.proof[index] ^= 0x5A
                }
            }
        case .wrongInputs:
            if let first = spoiled.inputs.first {
                spoiled.inputs[0] = KeyValue(key: first.key, value: first.value + Felt(1))
            } else {
                spoiled.inputs = [KeyValue(key: StorageKey(0, 0, 0, 1), value: Felt(1))]
            }
        case .wrongOSVersion:
            spoiled.osVersion &+= 1
        case .replay:
            break
        }
        return spoiled
    }

    /// Records a submission's receipt.
    private func record(
        _ submission: SubBlockSubmission, _ receipt: Receipt, tamper: TamperRequest?
    ) {
        submissions.append(
            SubmissionRecord(
                sequence: submission.sequence, l2TxHash: receipt.txHash, status: receipt.status.rawValue,
                revertCode: receipt.revert?.code.rawValue, revertMessage: receipt.revert?.message,
                feeCharged: receipt.feeCharged, block: receipt.blockNumber,
                transactions: submission.transactions.count, tamper: tamper?.fault, label: tamper?.label
            ))
        if submissions.count > 10_000 { submissions.removeFirst(submissions.count - 10_000) }
    }

    // MARK: Bookkeeping

    private func bump(_ name: String, _ amount: UInt64 = 1) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    private func store(_ tx: ThreadTransaction, _ status: TxStatusReply) throws {
        let encoded = try WireCoding.encoder().encode(tx)
        try context.database.write { db in
            try db.execute(
                sql: "INSERT INTO thread_txs(tx_hash, tx, status) VALUES (?, ?, ?) ON CONFLICT(tx_hash) DO NOTHING",
                arguments: [status.txHash, encoded, status.status]
            )
        }
    }

    /// Records new statuses, in memory and on disk in one transaction, and wakes their waiters.
    private func update(_ statuses: [TxStatusReply]) {
        guard !statuses.isEmpty else { return }
        do {
            try context.database.write { db in
                for status in statuses {
                    try db.execute(
                        sql:
                            "UPDATE thread_txs SET status = ?, sub_block = ?, l2_tx_hash = ?, block = ?, reason = ? WHERE tx_hash = ?",
                        arguments: [
                            status.status, status.subBlock.map(Int64.init), status.l2TxHash,
                            status.block.map(Int64.init),
                            status.reason, status.txHash,
                        ]
                    )
                }
            }
        } catch {
            context.logger.error("could not store \(statuses.count) transaction status(es): \(error)")
        }
        for status in statuses {
            tracked[status.txHash]?.status = status
            if status.status == "settled" || status.status == "failed" {
                bump(status.status)
                for waiter in waiters.removeValue(forKey: status.txHash) ?? [] { waiter.resume(returning: status) }
            }
        }
    }

    // MARK: The submission loop

    /// At most this many sub-blocks of the node are on their way through L2 at once: the next one
    /// is sealed and proved while the manager checks the one before.
    static let maxInFlight = 2

    /// A submission whose receipt the node has not yet handled.
    private struct InFlight {
        var submission: SubBlockSubmission
        /// What was sent: `submission` proved, and spoiled if a fault hook said so.
        var sent: SubBlockSubmission
        var l2TxHash: String
        var tamper: TamperRequest?
        /// A replay of an old sub-block (a fault hook), not a sub-block of its own.
        var isReplay = false
    }

    private var inFlight: [InFlight] = []
    /// True while a sub-block is being proved and admitted; a re-sync waits for it.
    private var dispatching = false
    /// True from a revert until the re-sync after it: nothing new is sealed meanwhile.
    private var draining = false
    private let follow: AsyncStream<Void>
    private let followInput: AsyncStream<Void>.Continuation
    private var dispatchIdle: [CheckedContinuation<Void, Never>] = []

    func run() async throws {
        // Receipts of submissions made before an error restarted this work come first.
        try await drainInFlight()
        try await sync(register: true)
        wakeInput.yield()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.dispatchLoop() }
            group.addTask { try await self.followLoop() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Seals, proves and submits sub-blocks while there is room in the pipeline.
    private func dispatchLoop() async throws {
        for await _ in wake {
            try Task.checkCancellation()
            while !paused, !draining, let submission = seal() {
                dispatching = true
                defer {
                    dispatching = false
                    for waiter in dispatchIdle { waiter.resume() }
                    dispatchIdle = []
                }
                try await dispatch(submission)
                followInput.yield()
            }
        }
    }

    /// Handles receipts in submission order.
    private func followLoop() async throws {
        for await _ in follow {
            try Task.checkCancellation()
            while let head = inFlight.first {
                let receipt = try await receipt(of: head.l2TxHash)
                inFlight.removeFirst()
                if apply(head, receipt) { try await rebaseAfterRevert() }
                wakeInput.yield()
            }
        }
    }

    private func client(_ endpoint: String, _ existing: RequestClient?) async throws -> RequestClient {
        if let existing { return existing }
        return try await RequestClient.connect(to: endpoint, on: loop)
    }

    /// Sends a request, retrying while the peer does not answer (it may be restarting).
    private func call<Reply: Decodable>(
        toSequencer: Bool, _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type,
        timeout: Duration = .seconds(10)
    ) async throws -> Reply {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            let endpoint = toSequencer ? sequencerEndpoint : managerEndpoint
            let peer = try await client(endpoint, toSequencer ? sequencer : manager)
            if toSequencer { sequencer = peer } else { manager = peer }
            do {
                return try await peer.call(type, payload, as: Reply.self, timeout: timeout)
            } catch let error as WireError where error.code == .timeout || error.code == .shuttingDown {
                attempt += 1
                if attempt == 1 || attempt % 10 == 0 {
                    context.logger.warning("no answer to \(type) from \(endpoint) (attempt \(attempt)); retrying")
                }
                peer.close()
                if toSequencer { sequencer = nil } else { manager = nil }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Loads the thread's canonical state (registering the thread first if nobody has), then
    /// rebases every unsettled transaction onto it, in the order they arrived.
    private func sync(register: Bool) async throws {
        syncing = true
        defer {
            syncing = false
            makeRoom()
        }
        var state: ThreadStateReply?
        while state == nil {
            do {
                state = try await call(
                    toSequencer: false, ManagerMessage.threadState, ThreadRequest(thread: spec.name),
                    as: ThreadStateReply.self)
            } catch let error as WireError where error.code == .notFound && register {
                try await registerThread()
            }
        }
        guard let state else { return }
        var canonical = MemoryState()
        canonical.apply(state.entries)
        // Other threads may have moved too: forget their values and fetch them again as needed.
        cache = CrossThreadCache()
        vmFailures = [:]
        var queue = (batcher?.unsettledTransactions ?? []) + early
        early = []
        batcher = SubBlockBatcher(
            thread: thread, program: entry.program, proofSystem: spec.proofSystem, canonical: canonical,
            sequence: state.summary.sequence, threads: cache, maxTransactions: spec.maxSubBlock ?? Self.maxTransactions
        )
        let total = queue.count
        // Transactions that arrive while this runs wait in `early` and join the end of the queue.
        while !queue.isEmpty || !early.isEmpty {
            if queue.isEmpty {
                queue = early
                early = []
            }
            let tx = queue.removeFirst()
            try await prefetchCrossReads(for: tx)
            guard batcher != nil else { return }
            let status: TxStatusReply
            switch batcher!.add(tx, names: { [accounts, threadNames] in accounts.name(of: $0, threads: threadNames) }) {
            case let .success(result):
                if let failure = result.failure { vmFailures[tx.txHash] = failure.description }
                status = TxStatusReply(txHash: tx.txHash, status: "pending")
            case let .failure(refusal):
                // Its nonce is used: it settled in a sub-block submitted before a restart, or
                // another node included it.
                if refusal.code == .wrongNonce, let sealed = tracked[tx.txHash]?.status, sealed.status == "sealed" {
                    status = TxStatusReply(
                        txHash: tx.txHash, status: "settled", subBlock: sealed.subBlock, l2TxHash: sealed.l2TxHash)
                } else {
                    status = TxStatusReply(txHash: tx.txHash, status: "failed", reason: refusal.message)
                }
            }
            update([status])
        }
        context.logger.info(
            "synced thread \(spec.name) at sequence \(state.summary.sequence) (root \(state.summary.stateRoot.prefix(12))); \(total) transaction(s) rebased"
        )
    }

    private var syncing = false

    private func registerThread() async throws {
        var genesis: [KeyValue] = []
        genesis.reserveCapacity(0)
        let registration = ThreadRegistration(
            name: spec.name, contract: spec.contract, programHash: entry.program.hash, osVersion: OSVersion.current,
            proofSystem: spec.proofSystem, genesisState: genesis
        )
        let receipt = try await submitL2(.registerThread(registration))
        if let revert = receipt.revert, revert.code != RevertReason.Code.threadExists {
            context.logger.error("registering thread \(spec.name) reverted: \(revert)")
            throw WireError(.internalError, "cannot register thread \(spec.name): \(revert)")
        }
        context.logger.info("registered thread \(spec.name) (\(thread.id)) in block \(receipt.blockNumber)")
    }

    /// Signs an L2 transaction with the prover account, submits it, and waits for its receipt.
    private func submitL2(_ payload: L2Payload) async throws -> Receipt {
        try await receipt(of: admitL2(payload))
    }

    /// Seals the open transactions when the pipeline has room.
    private func seal() -> SubBlockSubmission? {
        // Optional chaining reads in place; binding the batcher would copy it before the seal mutates it.
        guard !syncing, (batcher?.sealed.count ?? Self.maxInFlight) < Self.maxInFlight, (batcher?.openCount ?? 0) > 0
        else { return nil }
        defer { makeRoom() }
        return batcher!.seal()
    }

    /// Submits waiting for room in a full sub-block, oldest first.
    private var roomWaiters: [CheckedContinuation<Void, Never>] = []

    /// Lets every waiting submit look again, in the order they came.
    private func makeRoom() {
        let waiting = roomWaiters
        roomWaiters = []
        for waiter in waiting { waiter.resume() }
    }

    /// Proves a sealed sub-block and submits it (admission only; the receipt is followed apart).
    private func dispatch(_ submission: SubBlockSubmission) async throws {
        let proved: SubBlockSubmission
        do {
            proved = try submission.proved(by: ReexecProofSystem(), program: entry.program)
        } catch {
            context.logger.error("cannot prove sub-block \(submission.sequence) of \(spec.name): \(error)")
            throw error
        }
        update(
            submission.transactions.map {
                TxStatusReply(txHash: $0.txHash, status: "sealed", subBlock: submission.sequence)
            })
        var tamper = tampers.isEmpty ? nil : tampers.removeFirst()
        if let replay = tamper, replay.fault == .replay {
            tamper = nil
            if let old = lastAccepted {
                let hash = try await admitL2(.threadUpdate(bundle: [old]))
                inFlight.append(InFlight(submission: old, sent: old, l2TxHash: hash, tamper: replay, isReplay: true))
            }
        }
        let sent = tamper.map { Self.spoil(proved, $0.fault) } ?? proved
        let hash = try await admitL2(.threadUpdate(bundle: [sent]))
        inFlight.append(InFlight(submission: submission, sent: sent, l2TxHash: hash, tamper: tamper))
        bump("sub_blocks_submitted")
    }

    /// Records a submission's receipt: an accepted sub-block's transactions settle, a revert is
    /// counted. Returns true when a sub-block of the node's own (not a replay) reverted, which
    /// calls for a re-sync.
    private func apply(_ flight: InFlight, _ receipt: Receipt) -> Bool {
        let submission = flight.submission
        record(flight.sent, receipt, tamper: flight.tamper)
        if receipt.status != .accepted {
            reverts += 1
            bump("reverts")
        }
        if flight.isReplay {
            context.logger.notice(
                "replayed sub-block \(submission.sequence) (fault hook): \(receipt.status.rawValue) \(receipt.revert?.code.rawValue ?? "")"
            )
            return false
        }
        guard receipt.status == .accepted else {
            context.logger.warning(
                "sub-block \(submission.sequence) of \(spec.name) reverted in block \(receipt.blockNumber): \(receipt.revert?.description ?? "no reason")"
            )
            return true
        }
        if let tamper = flight.tamper {
            context.logger.error(
                "sub-block \(submission.sequence) spoiled with \(tamper.fault.rawValue) was accepted: the manager should have reverted it"
            )
        }
        lastAccepted = flight.sent
        batcher?.settled(through: submission.sequence)
        update(
            submission.transactions.map {
                let failure = vmFailures.removeValue(forKey: $0.txHash)
                return TxStatusReply(
                    txHash: $0.txHash, status: failure == nil ? "settled" : "failed", subBlock: submission.sequence,
                    l2TxHash: receipt.txHash, block: receipt.blockNumber,
                    reason: failure.map { "the contract call failed: \($0)" }
                )
            }
        )
        bump("sub_blocks_settled")
        return false
    }

    /// After a revert: takes the receipts of the sub-blocks submitted behind it (they build on it
    /// and revert too), then re-syncs and rebases every unsettled transaction.
    private func rebaseAfterRevert() async throws {
        draining = true
        defer { draining = false }
        while dispatching { await withCheckedContinuation { dispatchIdle.append($0) } }
        try await drainInFlight()
        context.logger.warning("re-syncing thread \(spec.name) and rebasing its unsettled transactions")
        try await sync(register: false)
    }

    /// Takes the receipt of every submission still in flight, in order, and records it.
    private func drainInFlight() async throws {
        while let head = inFlight.first {
            let receipt = try await receipt(of: head.l2TxHash)
            inFlight.removeFirst()
            _ = apply(head, receipt)
        }
    }

    /// Signs an L2 transaction with the prover account and submits it; returns its hash once
    /// the sequencer admitted it.
    private func admitL2(_ payload: L2Payload) async throws -> String {
        while true {
            if proverNonce == nil {
                proverNonce = try await call(
                    toSequencer: true, SequencerMessage.account, AccountRequest(account: prover.name),
                    as: AccountInfo.self
                ).nextNonce
            }
            let nonce = proverNonce ?? 0
            let tx = L2Transaction.make(signer: prover, nonce: nonce, payload: payload, payingExactly: .standard)
            do {
                _ = try await call(
                    toSequencer: true, SequencerMessage.submit, SubmitRequest(tx: tx, wait: false), as: SubmitReply.self,
                    timeout: .seconds(60))
                proverNonce = nonce + 1
                return tx.txHash
            } catch let error as WireError where error.code.rawValue == "WRONG_NONCE" {
                context.logger.warning("prover nonce out of step (\(error.message)); asking the sequencer")
                proverNonce = nil
            }
        }
    }

    /// Waits for an admitted L2 transaction's receipt.
    private func receipt(of txHash: String) async throws -> Receipt {
        while true {
            let reply = try await call(
                toSequencer: true, SequencerMessage.receipt, ReceiptRequest(txHash: txHash, waitMs: 30_000),
                as: ReceiptReply.self, timeout: .seconds(40))
            if let receipt = reply.receipt { return receipt }
            if reply.status == "unknown" {
                context.logger.warning("the sequencer does not know \(txHash.prefix(12)) yet; asking again")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
