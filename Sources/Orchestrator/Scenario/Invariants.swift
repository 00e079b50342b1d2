public import DevnetAPI
public import ZKCore

/// A property the devnet must keep under any load and any fault, checked by an `invariants` step.
public enum Invariant: String, CaseIterable, Sendable, Codable {
    /// Every transaction a load admitted is final exactly once, and its status on its node
    /// agrees with the manager's canonical record.
    case finalOnce = "final_once"
    /// Per thread and account, the included transactions' nonces have no gap and none repeats.
    case nonces
    /// The fee-token supply is what genesis (and thread funding) made it, the balances add up to
    /// it, and each account's balance moved by its fees only during the loads.
    case supply
    /// Each thread's accepted sub-blocks follow each other with no gap and none twice, up to the
    /// manager's sequence.
    case sequences
    /// Every cross-thread read of an accepted sub-block matched the other thread's canonical
    /// value at its block, in a replay of the L2 history (``HistoryReplay``).
    case crossReads = "cross_reads"
    /// Re-executing every accepted sub-block of the L2 history from genesis, without trusting its
    /// claims, gives each receipt's state root and the manager's sequences and roots now, and
    /// applies no transaction twice (``HistoryReplay``).
    case replay
}

/// What the daemons said after one or more load phases: the raw material of the invariant checks,
/// gathered by the runner and checked by ``InvariantChecker`` (which does no I/O).
public struct InvariantHistory: Sendable {
    /// One transaction a load admitted.
    public struct Transaction: Sendable {
        public var hash: String
        public var phase: String
        public var thread: String
        public var sender: String
        public var nonce: UInt64
        /// Its status on its node now; nil when the node did not know it.
        public var status: TxStatusReply?
        /// Where the manager says it settled; nil when no accepted sub-block holds it.
        public var settlement: SettledTransaction?
        /// Every `tx_final` report of it the load saw, in order.
        public var finalReports: [TxStatusReply] = []

        public init(
            hash: String, phase: String, thread: String, sender: String, nonce: UInt64, status: TxStatusReply?,
            settlement: SettledTransaction?, finalReports: [TxStatusReply] = []
        ) {
            self.hash = hash
            self.phase = phase
            self.thread = thread
            self.sender = sender
            self.nonce = nonce
            self.status = status
            self.settlement = settlement
            self.finalReports = finalReports
        }
    }

    /// An account's balance and fees paid before and after the loads.
    public struct AccountChange: Sendable {
        public var name: String
        public var balanceBefore: UInt64
        public var balanceAfter: UInt64
        public var feesBefore: UInt64
        public var feesAfter: UInt64

        public init(name: String, balanceBefore: UInt64, balanceAfter: UInt64, feesBefore: UInt64, feesAfter: UInt64) {
            self.name = name
            self.balanceBefore = balanceBefore
            self.balanceAfter = balanceAfter
            self.feesBefore = feesBefore
            self.feesAfter = feesAfter
        }
    }

    /// A thread's sub-blocks as the manager and its node report them.
    public struct ThreadRecord: Sendable {
        public var thread: String
        /// The manager's sequence: the last accepted sub-block's.
        public var managerSequence: UInt64
        /// The sequences of the node's accepted submissions since it started, oldest first.
        public var acceptedSequences: [UInt64]
        /// Whether that node is the thread's only one (then its last accepted sub-block is the
        /// manager's sequence).
        public var onlyNode: Bool

        public init(thread: String, managerSequence: UInt64, acceptedSequences: [UInt64], onlyNode: Bool) {
            self.thread = thread
            self.managerSequence = managerSequence
            self.acceptedSequences = acceptedSequences
            self.onlyNode = onlyNode
        }
    }

    public var transactions: [Transaction] = []

    /// One L2 transfer a load admitted, and its receipt if it has one.
    public struct L2Transfer: Sendable {
        public var hash: String
        public var phase: String
        public var sender: String
        public var to: String
        public var amount: UInt64
        public var nonce: UInt64
        public var receipt: Receipt?

        public init(
            hash: String, phase: String, sender: String, to: String, amount: UInt64, nonce: UInt64, receipt: Receipt?
        ) {
            self.hash = hash
            self.phase = phase
            self.sender = sender
            self.to = to
            self.amount = amount
            self.nonce = nonce
            self.receipt = receipt
        }
    }

    /// The L2 transfers of the load phases.
    public var transfers: [L2Transfer] = []
    /// The supply at the start (after genesis and every thread's funding).
    public var expectedSupply: UInt64 = 0
    /// The sequencer's `total_supply` now.
    public var totalSupply: UInt64 = 0
    /// The sum of every account's balance now.
    public var sumOfBalances: UInt64 = 0
    /// The account that collects the fees.
    public var feeAccount = DevAccounts.sequencerName
    /// Accounts across the load phases, when nothing but the loads ran during them.
    public var accounts: [AccountChange] = []
    public var threads: [ThreadRecord] = []
    /// What the offline replay of the whole L2 history found (for `cross_reads` and `replay`).
    public var replayFindings: [HistoryReplay.Finding] = []
    /// How many accepted sub-blocks the replay re-executed; nil when it did not run.
    public var replayedSubBlocks: Int?

    public init() {}
}

/// One broken invariant and the transaction, account or sub-block at fault.
public struct InvariantViolation: Sendable, Equatable, CustomStringConvertible {
    public var invariant: Invariant
    /// What is at fault: `tx 1b95…8e8a`, `account alice`, `thread token sub-block 4`.
    public var subject: String
    public var message: String

    public var description: String { "\(invariant.rawValue): \(subject): \(message)" }
}

/// Checks an ``InvariantHistory``; pure, so that tests can feed it broken histories.
public enum InvariantChecker {
    public static func check(_ history: InvariantHistory, _ invariants: Set<Invariant>) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        if invariants.contains(.finalOnce) { found += finalOnce(history) }
        if invariants.contains(.nonces) { found += nonces(history) }
        if invariants.contains(.supply) { found += supply(history) }
        if invariants.contains(.sequences) { found += sequences(history) }
        for finding in history.replayFindings {
            let invariant: Invariant = finding.kind == .crossRead ? .crossReads : .replay
            if invariants.contains(invariant) {
                found.append(
                    InvariantViolation(invariant: invariant, subject: finding.subject, message: finding.message))
            }
        }
        return found
    }

    private static func txSubject(_ tx: InvariantHistory.Transaction) -> String {
        "tx \(tx.hash.prefix(12)) (\(tx.phase): \(tx.thread) from \(tx.sender), nonce \(tx.nonce))"
    }

    static func finalOnce(_ history: InvariantHistory) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func report(_ tx: InvariantHistory.Transaction, _ message: String) {
            found.append(InvariantViolation(invariant: .finalOnce, subject: txSubject(tx), message: message))
        }
        var seen: [String: Int] = [:]
        for tx in history.transactions {
            seen[tx.hash, default: 0] += 1
            if seen[tx.hash] == 2 { report(tx, "admitted twice by the load") }
            // Two final reports must agree: a transaction becomes final once.
            let outcomes = Set(tx.finalReports.map { "\($0.status.rawValue) \($0.subBlock.map(String.init) ?? "-")" })
            if outcomes.count > 1 {
                report(
                    tx,
                    "reported final \(tx.finalReports.count) times, differently: \(outcomes.sorted().joined(separator: "; "))"
                )
            }
            guard let status = tx.status else {
                report(tx, "its node does not know it")
                continue
            }
            switch status.status {
            case .pending, .sealed:
                report(tx, "not final: \(status.status.rawValue)\(status.waiting.map { " (\($0))" } ?? "")")
            case .settled:
                guard let settlement = tx.settlement else {
                    report(
                        tx,
                        "settled on its node in sub-block \(status.subBlock.map(String.init) ?? "?"), but no accepted sub-block of the manager holds it"
                    )
                    continue
                }
                if settlement.subBlock != status.subBlock {
                    report(
                        tx,
                        "settled in sub-block \(status.subBlock.map(String.init) ?? "?") on its node, in \(settlement.subBlock) on the manager"
                    )
                }
                if let failure = settlement.failure {
                    report(tx, "settled on its node, but the manager says its call failed: \(failure)")
                }
            case .failed:
                if status.code == "EXECUTION_FAILED" {
                    if tx.settlement == nil {
                        report(
                            tx,
                            "failed in its contract call on its node (so included), but no accepted sub-block holds it")
                    }
                } else if let settlement = tx.settlement {
                    report(
                        tx,
                        "failed with \(status.code ?? "?") on its node (never included), but sub-block \(settlement.subBlock) holds it"
                    )
                }
            }
            if let last = tx.finalReports.last, last.status != status.status {
                report(tx, "reported \(last.status.rawValue) by tx_final, now \(status.status.rawValue) on its node")
            }
        }
        for transfer in history.transfers where transfer.receipt == nil {
            found.append(
                InvariantViolation(
                    invariant: .finalOnce, subject: transferSubject(transfer),
                    message: "admitted by the sequencer, but it has no receipt: never included"))
        }
        return found
    }

    private static func transferSubject(_ transfer: InvariantHistory.L2Transfer) -> String {
        "L2 transfer \(transfer.hash.prefix(12)) (\(transfer.phase): \(transfer.amount) from \(transfer.sender) to \(transfer.to), nonce \(transfer.nonce))"
    }

    /// Whether the transaction used its nonce: it is in an accepted sub-block.
    private static func included(_ tx: InvariantHistory.Transaction) -> Bool {
        tx.settlement != nil || tx.status?.status == .settled || tx.status?.code == "EXECUTION_FAILED"
    }

    static func nonces(_ history: InvariantHistory) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        // L2 transfers count as included when they have a receipt: one group per sender, "on L2".
        let transfers = history.transfers.map { transfer in
            InvariantHistory.Transaction(
                hash: transfer.hash, phase: transfer.phase, thread: "L2", sender: transfer.sender,
                nonce: transfer.nonce, status: nil,
                settlement: transfer.receipt.map {
                    SettledTransaction(
                        thread: .zero, subBlock: 0, l2TxHash: $0.txHash, block: $0.blockNumber, outcomeKnown: true,
                        failure: nil)
                })
        }
        let groups = Dictionary(grouping: history.transactions + transfers) { "\($0.thread)\u{0}\($0.sender)" }
        for key in groups.keys.sorted() {
            let group = groups[key] ?? []
            guard let first = group.first else { continue }
            let subject = "account \(first.sender) on thread \(first.thread)"
            var byNonce: [UInt64: [InvariantHistory.Transaction]] = [:]
            for tx in group where included(tx) { byNonce[tx.nonce, default: []].append(tx) }
            for (nonce, txs) in byNonce.sorted(by: { $0.key < $1.key }) where txs.count > 1 {
                found.append(
                    InvariantViolation(
                        invariant: .nonces, subject: subject,
                        message:
                            "nonce \(nonce) used by \(txs.count) included transactions: \(txs.map { String($0.hash.prefix(12)) }.joined(separator: ", "))"
                    ))
            }
            let used = byNonce.keys.sorted()
            guard let lowest = used.first, let highest = used.last else { continue }
            let missing = (lowest...highest).filter { byNonce[$0] == nil }
            if !missing.isEmpty {
                found.append(
                    InvariantViolation(
                        invariant: .nonces, subject: subject,
                        message:
                            "nonce\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) skipped: transactions with nonces \(lowest)…\(highest) were included, not these"
                    ))
            }
        }
        return found
    }

    static func supply(_ history: InvariantHistory) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        if history.totalSupply != history.expectedSupply {
            found.append(
                InvariantViolation(
                    invariant: .supply, subject: "total supply",
                    message:
                        "the sequencer reports \(history.totalSupply), but genesis and thread funding made \(history.expectedSupply) (off by \(Int64(bitPattern: history.totalSupply &- history.expectedSupply)))"
                ))
        }
        if history.sumOfBalances != history.totalSupply {
            found.append(
                InvariantViolation(
                    invariant: .supply, subject: "balances",
                    message:
                        "the accounts' balances add up to \(history.sumOfBalances), not the total supply \(history.totalSupply)"
                ))
        }
        var feesToCollector: Int64 = 0
        // What the loads' accepted L2 transfers moved, per account.
        var sent: [String: Int64] = [:]
        var received: [String: Int64] = [:]
        for transfer in history.transfers where transfer.receipt?.status == .accepted {
            sent[transfer.sender, default: 0] += Int64(clamping: transfer.amount)
            received[transfer.to, default: 0] += Int64(clamping: transfer.amount)
        }
        for account in history.accounts where account.name != history.feeAccount {
            let change = Int64(bitPattern: account.balanceAfter &- account.balanceBefore)
            let fees = Int64(bitPattern: account.feesAfter &- account.feesBefore)
            let out = sent[account.name] ?? 0
            let into = received[account.name] ?? 0
            feesToCollector += fees
            if change != into - out - fees {
                found.append(
                    InvariantViolation(
                        invariant: .supply, subject: "account \(account.name)",
                        message:
                            "its balance moved by \(change) (\(account.balanceBefore) → \(account.balanceAfter)) during the load, but it received \(into), sent \(out) and paid \(fees) in fees in the loads' transfers"
                    ))
            }
        }
        if let collector = history.accounts.first(where: { $0.name == history.feeAccount }) {
            let change = Int64(bitPattern: collector.balanceAfter &- collector.balanceBefore)
            let own = Int64(bitPattern: collector.feesAfter &- collector.feesBefore)
            let moved = (received[collector.name] ?? 0) - (sent[collector.name] ?? 0)
            if change != feesToCollector - own + moved {
                found.append(
                    InvariantViolation(
                        invariant: .supply, subject: "account \(collector.name)",
                        message:
                            "the fee account's balance moved by \(change) during the load, but the others paid \(feesToCollector) in fees"
                    ))
            }
        }
        return found
    }

    static func sequences(_ history: InvariantHistory) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        for record in history.threads {
            var previous: UInt64?
            var seen: Set<UInt64> = []
            for sequence in record.acceptedSequences {
                let subject = "thread \(record.thread) sub-block \(sequence)"
                if !seen.insert(sequence).inserted {
                    found.append(
                        InvariantViolation(invariant: .sequences, subject: subject, message: "accepted twice"))
                } else if let previous, sequence != previous + 1 {
                    found.append(
                        InvariantViolation(
                            invariant: .sequences, subject: subject,
                            message: sequence > previous
                                ? "accepted after \(previous): sub-block\(sequence - previous == 2 ? "" : "s") \(((previous + 1)..<sequence).map(String.init).joined(separator: ", ")) missing"
                                : "accepted after \(previous), out of order"))
                }
                if sequence > record.managerSequence {
                    found.append(
                        InvariantViolation(
                            invariant: .sequences, subject: subject,
                            message: "accepted on the node, but the manager is at sequence \(record.managerSequence)"
                        ))
                }
                previous = sequence
            }
            if record.onlyNode, let last = record.acceptedSequences.last, last != record.managerSequence {
                found.append(
                    InvariantViolation(
                        invariant: .sequences, subject: "thread \(record.thread) sub-block \(record.managerSequence)",
                        message:
                            "the manager is at sequence \(record.managerSequence), but the thread's only node last had sub-block \(last) accepted"
                    ))
            }
            // Sub-blocks that hold the loads' transactions: none past the manager's sequence.
            for tx in history.transactions where tx.thread == record.thread {
                if let settled = tx.settlement, settled.subBlock > record.managerSequence {
                    found.append(
                        InvariantViolation(
                            invariant: .sequences, subject: "thread \(record.thread) sub-block \(settled.subBlock)",
                            message: "holds \(txSubject(tx)), but the manager is at sequence \(record.managerSequence)"
                        ))
                }
            }
        }
        return found
    }
}
