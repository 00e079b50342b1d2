public import ThreadVM

/// A thread node's batcher over a local fork of its thread's canonical state.
///
/// Validated thread transactions execute immediately on the fork (``add(_:names:)``); ``seal()``
/// turns the open transactions into an unproved ``SubBlockSubmission`` with the next sequence
/// number. Sealed sub-blocks stay tracked until ``settled(through:)``; after a revert,
/// ``rebase(onto:sequence:threads:)`` re-executes every unsettled transaction over the new
/// canonical state.
public struct SubBlockBatcher: Sendable {
    public let thread: ThreadInfo
    public let program: Program
    public let osVersion: UInt32
    public let proofSystem: String
    /// Seal automatically reached: ``isFull`` turns true at this many open transactions.
    public var maxTransactions: Int
    /// The VM rules of ``osVersion`` that transactions run under.
    public let rules: VMRules
    public var limits: ExecutionLimits { rules.limits }

    /// Canonical state plus the outputs of every sealed, unsettled sub-block.
    private var tip: MemoryState
    private var threads: any CrossThreadReader
    private var open: ThreadExecution
    /// Sealed and not yet settled, oldest first.
    public private(set) var sealed: [SubBlockSubmission] = []
    /// The sequence of the last sealed sub-block (or the canonical sequence when none is pending).
    public private(set) var lastSealed: UInt64
    /// The last canonical sequence this batcher knows to be settled.
    public private(set) var settledSequence: UInt64

    /// A batcher for a thread pinned to `osVersion`, whose rules its transactions run under
    /// (an unknown version, which the manager refuses anyway, runs version 1's). `limits`
    /// replaces the version's step bound (for tests).
    public init(
        thread: ThreadInfo, program: Program, osVersion: UInt32 = OSVersion.current,
        proofSystem: String = ReexecProofSystem.name, canonical: MemoryState, sequence: UInt64,
        threads: any CrossThreadReader = NoThreads(), maxTransactions: Int = 256, limits: ExecutionLimits? = nil
    ) {
        self.thread = thread
        self.program = program
        self.osVersion = osVersion
        self.proofSystem = proofSystem
        self.maxTransactions = maxTransactions
        var rules = OSVersion.rules(osVersion) ?? .v1
        if let limits { rules.limits = limits }
        self.rules = rules
        tip = canonical
        self.threads = threads
        open = ThreadExecution(program: program, base: canonical, threads: threads, rules: rules)
        lastSealed = sequence
        settledSequence = sequence
    }

    /// Transactions executed but not yet sealed.
    public var openTransactions: [ThreadTransaction] { open.transactions }
    public var openCount: Int { open.transactions.count }
    /// True at ``maxTransactions`` open transactions, or for a `stark` thread once the open
    /// transactions need nearly ``StarkProofSystem/maxTraceRows`` trace rows (so a sub-block of
    /// long-running transactions is split before its proof could outgrow the node's memory).
    public var isFull: Bool {
        open.transactions.count >= maxTransactions || rowBudget.map { openRows >= $0 } ?? false
    }

    /// For a `stark` thread, the trace rows the open transactions need (0 otherwise).
    public private(set) var openRows = 0
    private var rowBudget: Int? {
        proofSystem == StarkProofSystem.name ? StarkProofSystem.rowBudget(rules) : nil
    }

    /// Every transaction not yet settled, in order: sealed ones first, then open ones.
    public var unsettledTransactions: [ThreadTransaction] { sealed.flatMap(\.transactions) + open.transactions }

    /// The next nonce of `address` on the fork (what the next transaction must carry).
    public func nonce(of address: Address) -> UInt64 { open.nonce(of: address) }

    /// The value of `key` on the fork.
    public func value(at key: StorageKey) -> Felt { open.value(at: key) }

    /// The reader used for `xload`s from the next sub-block on (the open one keeps its snapshot).
    public mutating func setCrossThreadReader(_ reader: any CrossThreadReader) { threads = reader }

    /// Validates `tx` (thread, signature, nonce, calldata) and executes it on the fork.
    ///
    /// A refused transaction changes nothing. An included transaction whose VM run fails still
    /// bumps the sender's nonce; its contract writes are discarded (the result says why).
    ///
    /// - Parameter signatureChecked: the caller already verified the signature (a node does at
    ///   admission, once); the other checks still run.
    public mutating func add(
        _ tx: ThreadTransaction, signatureChecked: Bool = false, names: (Address) -> String? = { _ in nil }
    ) -> Result<ExecutionResult, ThreadTxRefusal> {
        if let refusal = tx.validate(
            thread: thread, program: program, expectedNonce: open.nonce(of: tx.caller),
            checkSignature: !signatureChecked, names: names)
        {
            return .failure(refusal)
        }
        switch open.apply(tx) {
        case .success(let result):
            if rowBudget != nil { openRows += StarkProofSystem.traceRows(of: result) }
            return .success(result)
        case .failure(let mismatch):
            // validate() checked the nonce; kept for completeness.
            return .failure(
                ThreadTxRefusal(
                    code: .wrongNonce, thread: thread.name, account: tx.caller.hex, entrypoint: tx.entrypoint,
                    message: mismatch.description))
        }
    }

    /// Seals the open transactions into an unproved submission (sequence = last sealed + 1), or
    /// nil when nothing is open. Prove it with ``SubBlockSubmission/proved(by:program:)``.
    public mutating func seal() -> SubBlockSubmission? {
        guard !open.transactions.isEmpty else { return nil }
        let statement = open.statement
        let transactions = open.transactions
        let submission = SubBlockSubmission(
            threadId: thread.id, sequence: lastSealed + 1, osVersion: osVersion, programHash: program.hash,
            inputs: statement.inputs, crossReads: statement.crossReads, outputs: statement.outputs,
            txCommitment: SubBlockSubmission.commitment(to: transactions), transactions: transactions,
            proofSystem: proofSystem)
        // Drop the fork's reference to `tip` before mutating it, so it is updated in place.
        open = ThreadExecution(program: program, base: MemoryState(), threads: threads, rules: rules)
        openRows = 0
        tip.apply(statement.outputs)
        open = ThreadExecution(program: program, base: tip, threads: threads, rules: rules)
        sealed.append(submission)
        lastSealed = submission.sequence
        return submission
    }

    /// Forgets the sealed sub-blocks up to `sequence`: they were accepted.
    public mutating func settled(through sequence: UInt64) {
        sealed.removeAll { $0.sequence <= sequence }
        settledSequence = max(settledSequence, sequence)
    }

    /// Re-executes every unsettled transaction (sealed and open, in order) over `canonical` at
    /// `sequence`, after a revert. Nothing is dropped silently: a transaction that now fails its
    /// nonce check (e.g. another node already included it) is returned in ``RebaseReport/failed``
    /// with the reason; every other one is open again, to be sealed from `sequence + 1`.
    @discardableResult
    public mutating func rebase(
        onto canonical: MemoryState, sequence: UInt64, threads newThreads: (any CrossThreadReader)? = nil
    ) -> RebaseReport {
        let pending = unsettledTransactions
        if let newThreads { threads = newThreads }
        sealed = []
        open = ThreadExecution(program: program, base: MemoryState(), threads: threads, rules: rules)
        tip = canonical
        lastSealed = sequence
        settledSequence = sequence
        open = ThreadExecution(program: program, base: tip, threads: threads, rules: rules)
        openRows = 0
        var report = RebaseReport()
        for tx in pending {
            switch open.apply(tx) {
            case .success(let result):
                report.kept.append(tx)
                // A stark sub-block is split where its trace would grow too large.
                if let budget = rowBudget {
                    openRows += StarkProofSystem.traceRows(of: result)
                    if openRows >= budget { _ = seal() }
                }
                if let failure = result.failure {
                    report.vmFailures.append(RebaseReport.VMFailed(transaction: tx, failure: failure))
                }
            case .failure(let mismatch):
                report.failed.append(
                    RebaseReport.Failed(
                        transaction: tx,
                        refusal: ThreadTxRefusal(
                            code: .wrongNonce, thread: thread.name, account: tx.caller.hex, entrypoint: tx.entrypoint,
                            message: "\(thread.name).\(tx.entrypoint) from \(tx.caller.hex): \(mismatch.description)")))
            }
        }
        return report
    }
}

/// What a rebase did with each unsettled transaction.
public struct RebaseReport: Hashable, Sendable {
    public struct Failed: Hashable, Sendable {
        public var transaction: ThreadTransaction
        public var refusal: ThreadTxRefusal
    }

    public struct VMFailed: Hashable, Sendable {
        public var transaction: ThreadTransaction
        public var failure: VMFailure
    }

    /// Re-executed and open again, in order (VM failures included: they stay included).
    public var kept: [ThreadTransaction] = []
    /// Kept, but their VM run now fails (e.g. a balance changed underneath).
    public var vmFailures: [VMFailed] = []
    /// No longer includable (nonce), with the reason.
    public var failed: [Failed] = []
}
