public import ThreadVM

/// Where a thread transaction that a node admitted is.
public enum ThreadTxStatus: Hashable, Sendable {
    /// Executed on the node's fork; not yet in a submitted sub-block.
    case pending
    /// In sub-block `subBlock`, which the sequencer admitted as L2 transaction `l2TxHash`.
    case sealed(subBlock: UInt64, l2TxHash: String)
    /// In sub-block `subBlock`, accepted by the manager in L2 transaction `l2TxHash` of `block`.
    case settled(Settlement)
    /// It will never take effect: `failure` says why.
    case failed(ThreadTxFailure)

    /// Settled or failed: the status never changes again.
    public var isFinal: Bool {
        switch self {
        case .pending, .sealed: false
        case .settled, .failed: true
        }
    }

    /// `pending`, `sealed`, `settled` or `failed`.
    public var name: String {
        switch self {
        case .pending: "pending"
        case .sealed: "sealed"
        case .settled: "settled"
        case .failed: "failed"
        }
    }
}

/// Where an accepted sub-block is on L2.
public struct Settlement: Hashable, Sendable, Codable {
    public var subBlock: UInt64
    public var l2TxHash: String
    public var block: UInt64

    public init(subBlock: UInt64, l2TxHash: String, block: UInt64) {
        self.subBlock = subBlock
        self.l2TxHash = l2TxHash
        self.block = block
    }
}

/// Why an admitted thread transaction ended without effect.
public struct ThreadTxFailure: Hashable, Sendable {
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        /// Its nonce was used by another transaction that settled first, or an earlier nonce of the
        /// sender failed, so this one can never be included.
        case wrongNonce = "WRONG_NONCE"
        /// It was included and settled (its nonce is used), but the contract call failed.
        case executionFailed = "EXECUTION_FAILED"
        /// The thread's program was upgraded and its calldata no longer fits the new ABI; it was
        /// not included.
        case badCalldata = "BAD_CALLDATA"
    }

    public var code: Code
    public var message: String
    /// Where it settled, for ``Code/executionFailed``.
    public var settlement: Settlement?

    public init(code: Code, message: String, settlement: Settlement? = nil) {
        self.code = code
        self.message = message
        self.settlement = settlement
    }
}

/// A thread node's decisions as a pure state machine: admission, nonces, sealing, the in-flight
/// window, receipts in order, re-sync and rebase, and the status of every admitted transaction.
///
/// The host feeds it events (a transaction arrived, the sequencer admitted or refused a
/// submission, a receipt came, the canonical state was fetched) and carries out what it asks
/// for: ``nextSubmission()`` to prove and submit, ``nextReceipt()`` to follow, ``needsSync``
/// to fetch the canonical state, ``NodePipeline/Admission/needCrossReads(_:)`` to fetch other
/// threads' values. Every status change is queued in ``takeChanges()`` for the host to persist
/// before it replies.
///
/// Rules it keeps:
/// - Admission happens only on a fork synced with canonical state (``isReady``); the nonce a
///   sender must use is the canonical nonce plus the node's own unsettled transactions.
/// - Sub-blocks hold at most ``Configuration/maxSubBlock`` transactions; a full open sub-block
///   is sealed at once and waits its turn, so a submit never blocks on a full pipeline.
/// - At most ``Configuration/maxInFlight`` sub-blocks are admitted on L2 at once; receipts are
///   handled in sequence order.
/// - After a revert (or when another prover moved the thread) nothing new is sealed or admitted
///   until every admitted submission has its receipt; then the node re-syncs. A transaction that
///   the canonical chain holds is reported settled with that L2 transaction and block; one whose
///   nonce was used by another transaction fails with `WRONG_NONCE`; every other one executes
///   again on the new canonical state.
/// - A status that is final never changes.
public struct NodePipeline: Sendable {
    public struct Configuration: Sendable {
        public var thread: ThreadInfo
        public var program: Program
        public var proofSystem: String
        public var maxSubBlock: Int
        public var maxInFlight: Int
        /// Admitted transactions not yet final; beyond this a submit is refused as busy.
        public var maxUnsettled: Int
        /// The thread's OS version: the one the node registers it with, until a sync finds the
        /// canonical record's (a thread registered by another node, or upgraded).
        public var osVersion: UInt32
        /// Replaces the OS version's step bound when set (for tests).
        public var limits: ExecutionLimits?
        /// The sealing policy. With nothing in flight the open sub-block seals at once, so a lone
        /// transaction never waits. While a sub-block is in flight, the open one seals once it
        /// holds `minSubBlock` transactions or its oldest has waited `sealAfter`, so sub-blocks
        /// grow under load. The defaults (1, zero) seal whenever there is room.
        public var minSubBlock: Int
        public var sealAfter: Duration

        public init(
            thread: ThreadInfo, program: Program, proofSystem: String = ReexecProofSystem.name,
            osVersion: UInt32 = OSVersion.current, maxSubBlock: Int = 256, maxInFlight: Int = 2,
            maxUnsettled: Int = 100_000, limits: ExecutionLimits? = nil, minSubBlock: Int = 1,
            sealAfter: Duration = .zero
        ) {
            self.minSubBlock = max(1, min(minSubBlock, max(1, maxSubBlock)))
            self.sealAfter = max(.zero, sealAfter)
            self.thread = thread
            self.program = program
            self.proofSystem = proofSystem
            self.osVersion = osVersion
            self.maxSubBlock = max(1, maxSubBlock)
            self.maxInFlight = max(1, maxInFlight)
            self.maxUnsettled = max(1, maxUnsettled)
            self.limits = limits
        }

        /// The VM rules transactions run under: the OS version's, with ``limits`` if set.
        public var rules: VMRules {
            var rules = OSVersion.rules(osVersion) ?? .v1
            if let limits { rules.limits = limits }
            return rules
        }
    }

    /// What the node is doing.
    public enum Phase: Hashable, Sendable {
        /// Needs the canonical state before it can admit anything (at start, and after a drain).
        case needsSync
        /// The host is fetching the canonical state.
        case syncing
        /// Re-executing the unsettled transactions on the new canonical state.
        case rebasing
        /// Admitting, sealing and submitting.
        case running
        /// A submission reverted or the thread moved under the node: waiting for the receipts of
        /// what is admitted on L2 before re-syncing.
        case draining(reason: String)

        /// `syncing`, `rebasing`, `running` or `draining`.
        public var name: String {
            switch self {
            case .needsSync, .syncing: "syncing"
            case .rebasing: "rebasing"
            case .running: "running"
            case .draining: "draining"
            }
        }
    }

    /// Why transactions are not moving on right now, if something holds them.
    public var waiting: String? {
        if let stuck { return stuck }
        if paused { return "the node is paused by a fault hook; resume it to submit again" }
        if case .draining(let reason) = phase { return "re-syncing: \(reason)" }
        return nil
    }

    /// The answer to a submit.
    public enum Admission: Hashable, Sendable {
        /// Admitted now, or known from before (a resubmission of the same signed transaction).
        case accepted(ThreadTxStatus, new: Bool)
        /// Refused: it was never admitted.
        case refused(ThreadTxRefusal)
        /// The node cannot decide yet (it is syncing); ask again once ``isReady``.
        case notReady(String)
        /// Too much unsettled work.
        case busy(String)
        /// Fetch these canonical values (``provideCrossReads(_:)``) and submit again.
        case needCrossReads([CrossThreadKey])
    }

    /// A receipt's outcome, as the host read it from the sequencer.
    public enum ReceiptOutcome: Hashable, Sendable {
        case accepted(block: UInt64)
        case reverted(block: UInt64, code: String, message: String)
    }

    /// A status change for the host to persist, in order.
    public struct Change: Hashable, Sendable {
        public var transaction: ThreadTransaction
        public var status: ThreadTxStatus
        /// The first change of a newly admitted transaction.
        public var isNew: Bool
    }

    private struct Entry: Sendable {
        var tx: ThreadTransaction
        var status: ThreadTxStatus
        /// Arrival order.
        var position: UInt64
        /// Why the contract call failed on the fork (it still uses the nonce).
        var vmFailure: String?
    }

    /// The program changes only at a sync, to the one the thread runs on L2.
    public private(set) var configuration: Configuration
    public private(set) var phase: Phase = .needsSync
    /// Why the node cannot submit right now (e.g. its prover account cannot pay), or nil.
    public private(set) var stuck: String?
    /// Fault hook: while paused nothing is sealed below capacity or submitted.
    public var paused = false
    public private(set) var reverts: UInt64 = 0
    public private(set) var cache = CrossThreadCache()

    private var batcher: SubBlockBatcher?
    private var entries: [String: Entry] = [:]
    /// Transactions that were already settled or failed when the node started: only their status
    /// is kept. A final transaction is never sealed, rebased or re-executed again, so its body is
    /// not needed, and a node with a long history starts without decoding it.
    private var finished: [String: ThreadTxStatus] = [:]
    private var nextPosition: UInt64 = 0
    private var unsettledCount = 0
    /// Sub-blocks admitted on L2, by sequence: their L2 transaction hash.
    private var admitted: [UInt64: String] = [:]
    /// The sequence handed to the host to prove and submit, until it says what happened.
    private var sending: UInt64?
    /// When the oldest open transaction was admitted; nil when unknown (then it seals at once).
    private var openSince: ContinuousClock.Instant?
    /// While the open sub-block waits under the sealing policy: when it seals at the latest. The
    /// host wakes ``nextSubmission(at:)`` then.
    public private(set) var sealDeadline: ContinuousClock.Instant?
    private var rebaseQueue: [ThreadTransaction] = []
    private var changes: [Change] = []

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// A pipeline restored after a restart: every transaction with its last stored status, in
    /// arrival order. It re-syncs before anything else.
    public init(configuration: Configuration, restoring stored: [(ThreadTransaction, ThreadTxStatus)]) {
        self.init(configuration: configuration)
        for (tx, status) in stored {
            entries[tx.txHash] = Entry(tx: tx, status: status, position: nextPosition)
            nextPosition += 1
            if !status.isFinal { unsettledCount += 1 }
        }
    }

    /// A pipeline restored after a restart from its unfinished transactions (in arrival order,
    /// with their last stored status) and the hashes and statuses of its final ones: it behaves as
    /// ``init(configuration:restoring:)`` given them all. It re-syncs before anything else.
    public init(
        configuration: Configuration, restoring unfinished: [(ThreadTransaction, ThreadTxStatus)],
        finished: [(txHash: String, status: ThreadTxStatus)]
    ) {
        self.init(configuration: configuration, restoring: unfinished.filter { !$0.1.isFinal })
        self.finished.reserveCapacity(finished.count)
        for (txHash, status) in finished where status.isFinal && entries[txHash] == nil {
            self.finished[txHash] = status
        }
        for (tx, status) in unfinished where status.isFinal && entries[tx.txHash] == nil {
            self.finished[tx.txHash] = status
        }
    }

    // MARK: Queries

    public var thread: ThreadInfo { configuration.thread }

    /// True when the node can admit transactions and answer nonces.
    public var isReady: Bool { phase == .running }

    /// The status of an admitted transaction.
    public func status(of txHash: String) -> ThreadTxStatus? { entries[txHash]?.status ?? finished[txHash] }

    /// The nonce `address`'s next transaction must carry: the canonical nonce plus this node's
    /// unsettled transactions from it. Nil until the node is synced.
    public func nonce(of address: Address) -> UInt64? {
        guard isReady, let batcher else { return nil }
        return batcher.nonce(of: address)
    }

    /// The last canonical sequence the node knows.
    public var canonicalSequence: UInt64 { batcher?.settledSequence ?? 0 }
    /// The highest sequence the node has admitted on L2 (or its canonical sequence).
    public var highestAdmitted: UInt64 { max(admitted.keys.max() ?? 0, sending ?? 0, canonicalSequence) }
    public var pendingCount: Int { unsettledCount - inFlightTransactions }
    public var inFlightCount: Int { admitted.count }
    public var unsettled: Int { unsettledCount }
    private var inFlightTransactions: Int {
        batcher?.sealed.filter { admitted[$0.sequence] != nil }.reduce(0) { $0 + $1.transactions.count } ?? 0
    }

    /// True when the host should fetch the canonical state and call ``synced(canonical:sequence:settled:)``.
    public var needsSync: Bool { phase == .needsSync }

    /// Every status change since the last call, oldest first.
    public mutating func takeChanges() -> [Change] {
        defer { changes = [] }
        return changes
    }

    // MARK: Admission

    /// Decides on a transaction a user sent.
    ///
    /// - Parameter now: when the transaction arrived, for the sealing policy's wait; nil seals
    ///   without waiting.
    public mutating func submit(
        _ tx: ThreadTransaction, names: (Address) -> String? = { _ in nil }, at now: ContinuousClock.Instant? = nil
    ) -> Admission {
        let txHash = tx.txHash
        if let known = entries[txHash] { return .accepted(known.status, new: false) }
        if let status = finished[txHash] { return .accepted(status, new: false) }
        guard isReady, batcher != nil else { return .notReady(notReadyReason) }
        guard unsettledCount < configuration.maxUnsettled else {
            return .busy(
                "thread \(thread.name) has \(unsettledCount) unsettled transactions, the most this node holds; wait for some to settle and send again"
            )
        }
        if let refusal = tx.validate(
            thread: thread, program: configuration.program, expectedNonce: batcher!.nonce(of: tx.caller), names: names)
        {
            return .refused(refusal)
        }
        let misses = missingCrossReads(tx)
        guard misses.isEmpty else { return .needCrossReads(misses) }
        let entry = Entry(tx: tx, status: .pending, position: nextPosition)
        nextPosition += 1
        entries[txHash] = entry
        unsettledCount += 1
        changes.append(Change(transaction: tx, status: .pending, isNew: true))
        execute(tx, at: now)
        return .accepted(.pending, new: true)
    }

    /// Why the node cannot admit transactions now.
    public var notReadyReason: String {
        switch phase {
        case .needsSync, .syncing:
            "thread node for \(thread.name) is syncing with the manager's canonical state"
        case .rebasing:
            "thread node for \(thread.name) is re-executing its unsettled transactions on the canonical state"
        case .draining(let reason):
            "thread node for \(thread.name) is waiting for its submissions' receipts before it re-syncs (\(reason))"
        case .running:
            "thread node for \(thread.name) is ready"
        }
    }

    /// Stores canonical values of other threads that a submit or a rebase asked for.
    public func provideCrossReads(_ values: [(CrossThreadKey, Felt?)]) {
        cache.insert(values)
    }

    /// Runs `tx` once on a copy of the fork and returns the other threads' keys it reads that the
    /// cache lacks.
    private func missingCrossReads(_ tx: ThreadTransaction) -> [CrossThreadKey] {
        guard let batcher else { return [] }
        let probe = CrossReadProbe(cache: cache)
        _ = Interpreter(program: configuration.program, rules: configuration.rules).execute(
            tx.vmTransaction, state: ForkReader { batcher.value(at: $0) }, threads: probe)
        return probe.misses.sorted { ($0.thread, $0.key) < ($1.thread, $1.key) }
    }

    /// Executes an admitted transaction on the fork (its nonce was checked). Seals the open
    /// sub-block first when it is full.
    private mutating func execute(_ tx: ThreadTransaction, at now: ContinuousClock.Instant?) {
        if batcher!.isFull { _ = batcher!.seal() }
        let startsSubBlock = batcher!.openCount == 0
        // The signature was verified once, at admission.
        switch batcher!.add(tx, signatureChecked: true) {
        case .success(let result):
            if startsSubBlock { openSince = now }
            entries[tx.txHash]?.vmFailure = result.failure?.description
        case .failure(let refusal):
            // The nonce was checked against this fork; what is left is calldata that the thread's
            // program, upgraded since the transaction was admitted, no longer takes.
            let code: ThreadTxFailure.Code = refusal.code == .badCalldata ? .badCalldata : .wrongNonce
            finish(
                tx.txHash,
                .failed(
                    ThreadTxFailure(
                        code: code,
                        message: code == .badCalldata
                            ? "the thread's program was upgraded and no longer takes this call: \(refusal.message)"
                            : refusal.message)))
        }
    }

    // MARK: Submissions

    /// The next sub-block to prove and submit, or nil when there is nothing to do or no room.
    /// The host must answer with ``submitted(sequence:l2TxHash:)`` or
    /// ``submissionFailed(sequence:reason:)``.
    ///
    /// - Parameter now: the time, for the sealing policy; nil seals without waiting.
    public mutating func nextSubmission(at now: ContinuousClock.Instant? = nil) -> SubBlockSubmission? {
        sealDeadline = nil
        guard phase == .running, !paused, sending == nil, admitted.count < configuration.maxInFlight,
            batcher != nil
        else { return nil }
        if let ready = batcher!.sealed.first(where: { admitted[$0.sequence] == nil }) {
            sending = ready.sequence
            return ready
        }
        if let now, let since = openSince, !admitted.isEmpty, batcher!.openCount > 0,
            batcher!.openCount < configuration.minSubBlock, now < since + configuration.sealAfter
        {
            sealDeadline = since + configuration.sealAfter
            return nil
        }
        guard let sealed = batcher!.seal() else { return nil }
        openSince = nil
        sending = sealed.sequence
        return sealed
    }

    /// The sequencer admitted the sub-block `sequence` as `l2TxHash`.
    public mutating func submitted(sequence: UInt64, l2TxHash: String) {
        guard sending == sequence else { return }
        sending = nil
        stuck = nil
        admitted[sequence] = l2TxHash
        guard let sub = batcher?.sealed.first(where: { $0.sequence == sequence }) else { return }
        for tx in sub.transactions {
            update(tx.txHash, .sealed(subBlock: sequence, l2TxHash: l2TxHash))
        }
    }

    /// The sub-block `sequence` could not be proved or was refused by the sequencer (say, the
    /// prover cannot pay the fee). Nothing reached L2; it is offered again by the next
    /// ``nextSubmission()``, and `reason` is reported until a submission goes through.
    public mutating func submissionFailed(sequence: UInt64, reason: String) {
        guard sending == sequence else { return }
        sending = nil
        stuck = reason
        finishDrainIfDone()
    }

    /// The admitted sub-block whose receipt comes next (the lowest sequence), if any.
    public func nextReceipt() -> (sequence: UInt64, l2TxHash: String)? {
        admitted.min { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The receipt of the admitted sub-block `sequence`.
    public mutating func receipt(sequence: UInt64, outcome: ReceiptOutcome) {
        guard let l2TxHash = admitted.removeValue(forKey: sequence) else { return }
        let sub = batcher?.sealed.first { $0.sequence == sequence }
        switch outcome {
        case .accepted(let block):
            let settlement = Settlement(subBlock: sequence, l2TxHash: l2TxHash, block: block)
            for tx in sub?.transactions ?? [] {
                if let failure = entries[tx.txHash]?.vmFailure {
                    finish(
                        tx.txHash,
                        .failed(
                            ThreadTxFailure(
                                code: .executionFailed, message: "the contract call failed: \(failure)",
                                settlement: settlement)))
                } else {
                    finish(tx.txHash, .settled(settlement))
                }
            }
            batcher?.settled(through: sequence)
        case .reverted(_, let code, _):
            reverts += 1
            if phase != .syncing, phase != .needsSync {
                beginDrain("sub-block \(sequence) reverted with \(code)")
            }
        }
        finishDrainIfDone()
    }

    /// Another prover moved the thread to `sequence`, beyond anything this node admitted: the
    /// fork is stale. The node drains and re-syncs.
    ///
    /// With `programHash` (and `osVersion`), a thread upgraded to another program (or OS
    /// version) is stale too, whatever its sequence: the node re-syncs and takes it up.
    public mutating func canonicalMoved(
        to sequence: UInt64, programHash: ProgramHash? = nil, osVersion: UInt32? = nil
    ) {
        guard phase == .running else { return }
        if let programHash, programHash != configuration.program.hash {
            beginDrain("the thread was upgraded to program \(programHash)")
        } else if let osVersion, osVersion != configuration.osVersion {
            beginDrain("the thread runs OS version \(osVersion)")
        } else if sequence > highestAdmitted {
            beginDrain("the thread reached sequence \(sequence) through another prover")
        } else {
            return
        }
        finishDrainIfDone()
    }

    private mutating func beginDrain(_ reason: String) {
        if case .draining = phase { return }
        phase = .draining(reason: reason)
    }

    private mutating func finishDrainIfDone() {
        if case .draining = phase, admitted.isEmpty, sending == nil { phase = .needsSync }
    }

    // MARK: Sync and rebase

    /// The host's background work starts (again, after an error): a sync or a submission it was
    /// in the middle of is forgotten, and done again.
    public mutating func restart() {
        sending = nil
        switch phase {
        case .syncing, .rebasing: phase = .needsSync
        case .draining: finishDrainIfDone()
        case .needsSync, .running: break
        }
    }

    /// The host starts fetching the canonical state. Returns the hashes of every unsettled
    /// transaction: the host asks the manager which of them the canonical chain holds.
    public mutating func syncStarted() -> [String] {
        phase = .syncing
        return unsettledInOrder.map(\.txHash)
    }

    private var unsettledInOrder: [ThreadTransaction] {
        entries.values.filter { !$0.status.isFinal }.sorted { $0.position < $1.position }.map(\.tx)
    }

    /// The canonical state at `sequence`, and where the canonical chain holds some of the
    /// unsettled transactions. Those settle (the ones in sub-blocks up to `sequence`; a later
    /// one the state does not show yet); every other unsettled transaction is re-executed on
    /// the new state (``advanceRebase()``). `program` and `osVersion` are the thread's as
    /// the canonical record has them, when known.
    public mutating func synced(
        canonical: MemoryState, sequence: UInt64, settled: [String: SettledTransaction], program: Program? = nil,
        osVersion: UInt32? = nil
    ) {
        guard phase == .syncing else { return }
        if let program { configuration.program = program }
        if let osVersion { configuration.osVersion = osVersion }
        cache = CrossThreadCache()
        admitted = [:]
        sending = nil
        openSince = nil
        batcher = SubBlockBatcher(
            thread: thread, program: configuration.program, osVersion: configuration.osVersion,
            proofSystem: configuration.proofSystem, canonical: canonical, sequence: sequence, threads: cache,
            maxTransactions: configuration.maxSubBlock, limits: configuration.limits)
        rebaseQueue = []
        for tx in unsettledInOrder {
            // A settlement past the state's sequence was asked after the state was read: the
            // state does not hold it yet, so it cannot be judged against that state. Such a
            // transaction is re-executed like the unsettled ones; its twin already on L2 makes
            // the node's sub-block revert, and the re-sync that follows finds it settled.
            if let found = settled[tx.txHash], found.subBlock <= sequence {
                if let failure = found.failure {
                    finish(
                        tx.txHash,
                        .failed(
                            ThreadTxFailure(
                                code: .executionFailed, message: "the contract call failed: \(failure)",
                                settlement: found.settlement)))
                } else {
                    finish(tx.txHash, .settled(found.settlement))
                }
            } else {
                entries[tx.txHash]?.vmFailure = nil
                rebaseQueue.append(tx)
            }
        }
        phase = .rebasing
    }

    /// Re-executes queued transactions in order. Returns the canonical values to fetch first
    /// when one reads other threads' keys the cache lacks (call again after
    /// ``provideCrossReads(_:)``); returns an empty list when the rebase is done.
    public mutating func advanceRebase(names: (Address) -> String? = { _ in nil }) -> [CrossThreadKey] {
        guard phase == .rebasing, batcher != nil else { return [] }
        while let tx = rebaseQueue.first {
            let expected = batcher!.nonce(of: tx.caller)
            guard tx.nonce == expected else {
                rebaseQueue.removeFirst()
                let why =
                    tx.nonce < expected
                    ? "its nonce \(tx.nonce) was used by another transaction that settled on \(thread.name) first (the sender's next nonce is \(expected)); it was not included"
                    : "the sender's transaction with nonce \(expected) on \(thread.name) did not settle, so nonce \(tx.nonce) can never be included"
                finish(tx.txHash, .failed(ThreadTxFailure(code: .wrongNonce, message: why)))
                continue
            }
            let misses = missingCrossReads(tx)
            if !misses.isEmpty { return misses }
            rebaseQueue.removeFirst()
            if let status = entries[tx.txHash]?.status, status != .pending { update(tx.txHash, .pending) }
            execute(tx, at: nil)
        }
        phase = .running
        return []
    }

    // MARK: Statuses

    private mutating func update(_ txHash: String, _ status: ThreadTxStatus) {
        guard let entry = entries[txHash], !entry.status.isFinal, entry.status != status else { return }
        entries[txHash]?.status = status
        changes.append(Change(transaction: entry.tx, status: status, isNew: false))
    }

    private mutating func finish(_ txHash: String, _ status: ThreadTxStatus) {
        guard let entry = entries[txHash], !entry.status.isFinal else { return }
        unsettledCount -= 1
        entries[txHash]?.status = status
        entries[txHash]?.vmFailure = nil
        changes.append(Change(transaction: entry.tx, status: status, isNew: false))
    }
}
