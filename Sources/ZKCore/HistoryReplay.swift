public import ThreadVM

/// Re-executes the L2 history from genesis, on its own, and says where it disagrees with what the
/// devnet accepted: the offline replay check of scenarios' `invariants` steps.
///
/// It reads nothing but the included L2 transactions and their receipts, in order. Registrations
/// and upgrades that were accepted set up each thread's program and genesis state. Each accepted
/// sub-block's thread transactions are run again (signatures, nonces and all) on the replayed
/// state of their thread, with cross-thread reads answered from the replayed state of the other
/// threads at that point of the history. No claim of the sub-block is trusted: the replay
/// recomputes its inputs, cross reads and outputs, compares them with the published ones,
/// applies what it computed, and compares the resulting state root with the one the receipt
/// reported. Proofs are not looked at: whether the proof system should have accepted the
/// sub-block is the manager's business; whether the accepted history is consistent is this one's.
public struct HistoryReplay: Sendable {
    /// One disagreement, with what is at fault.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// An accepted cross-thread read that did not match the other thread's canonical value.
            case crossRead = "cross_reads"
            /// Anything else that re-execution did not reproduce.
            case replay
        }

        public var kind: Kind
        /// `thread token sub-block 4`, `tx 1b95…`, `thread karts`.
        public var subject: String
        public var message: String

        public var description: String { "\(kind.rawValue): \(subject): \(message)" }
    }

    /// The replayed threads, by id.
    public private(set) var threads: [Felt: ThreadRecord] = [:]
    public private(set) var findings: [Finding] = []
    /// Accepted sub-blocks and thread transactions replayed.
    public private(set) var subBlocks = 0
    public private(set) var transactions = 0
    /// Where each accepted thread transaction was applied: thread name and sub-block.
    private var applied: [String: (thread: String, subBlock: UInt64)] = [:]
    private var programs: [ProgramHash: Program] = [:]
    private let knownPrograms: @Sendable (ProgramHash) -> Program?

    /// - Parameter programs: programs a registration may name without publishing them (the
    ///   devnet's own contracts); those published on L2 are taken from the history itself.
    public init(programs: @escaping @Sendable (ProgramHash) -> Program? = { _ in nil }) {
        knownPrograms = programs
    }

    /// Replays one included transaction.
    public mutating func apply(_ tx: L2Transaction, receipt: Receipt) {
        guard receipt.status == .accepted else { return }
        switch tx.payload {
        case .transfer:
            return
        case let .registerThread(registration):
            publish(registration.program, as: registration.programHash)
            threads[registration.threadId] = ThreadRecord(registration: registration)
        case let .upgradeThread(upgrade):
            publish(upgrade.program, as: upgrade.programHash)
            guard var record = threads[upgrade.threadId] else {
                report(
                    .replay, "thread \(upgrade.threadId)",
                    "an upgrade of it was accepted in block \(receipt.blockNumber), but the history never registered it"
                )
                return
            }
            record.upgrade(to: upgrade.programHash, osVersion: upgrade.osVersion)
            threads[upgrade.threadId] = record
        case let .threadUpdate(bundle):
            for submission in bundle { replay(submission, receipt: receipt) }
        }
    }

    /// Compares the replayed threads with the devnet's records now: every thread the history
    /// registered must be there with the same sequence and state root.
    public func compare(with records: [(name: String, sequence: UInt64, stateRoot: String)]) -> [Finding] {
        var found: [Finding] = []
        let live = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for record in threads.values.sorted(by: { $0.name < $1.name }) {
            guard let now = live[record.name] else {
                found.append(
                    Finding(
                        kind: .replay, subject: "thread \(record.name)",
                        message: "registered in the L2 history, but the manager does not list it"))
                continue
            }
            if now.sequence != record.sequence {
                found.append(
                    Finding(
                        kind: .replay, subject: "thread \(record.name)",
                        message:
                            "the manager is at sub-block \(now.sequence), the L2 history accepted \(record.sequence)"))
            } else if now.stateRoot != record.stateRoot {
                found.append(
                    Finding(
                        kind: .replay, subject: "thread \(record.name)",
                        message:
                            "state root \(now.stateRoot.prefix(16))… on the manager, \(record.stateRoot.prefix(16))… after re-executing its \(record.sequence) sub-blocks from genesis"
                    ))
            }
        }
        return found
    }

    private mutating func publish(_ encoding: HexBytes?, as hash: ProgramHash) {
        guard let encoding, programs[hash] == nil, let program = try? Program(decoding: encoding.bytes) else { return }
        programs[hash] = program
    }

    private mutating func report(_ kind: Finding.Kind, _ subject: String, _ message: String) {
        findings.append(Finding(kind: kind, subject: subject, message: message))
    }

    private mutating func replay(_ submission: SubBlockSubmission, receipt: Receipt) {
        guard var record = threads[submission.threadId] else {
            report(
                .replay, "thread \(submission.threadId) sub-block \(submission.sequence)",
                "accepted in block \(receipt.blockNumber), but the history never registered the thread")
            return
        }
        let subject = "thread \(record.name) sub-block \(submission.sequence)"
        subBlocks += 1
        transactions += submission.transactions.count
        guard submission.sequence == record.sequence + 1 else {
            report(
                .replay, subject,
                "accepted in block \(receipt.blockNumber) after sub-block \(record.sequence): \(submission.sequence > record.sequence ? "sequences skipped" : "applied twice")"
            )
            return
        }
        guard let program = programs[record.programHash] ?? knownPrograms(record.programHash) else {
            report(
                .replay, subject, "the thread's program \(record.programHash) is not in the history: cannot re-execute")
            return
        }
        guard let rules = OSVersion.rules(record.osVersion) else {
            report(.replay, subject, "OS version \(record.osVersion) is not one this replay knows")
            return
        }
        let others = MemoryThreads(
            Dictionary(uniqueKeysWithValues: threads.map { ($0.key, MemoryState($0.value.state)) }))
        var execution = ThreadExecution(
            program: program, base: MemoryState(record.state), threads: others, rules: rules)
        for (index, tx) in submission.transactions.enumerated() {
            let txSubject = "tx \(tx.txHash.prefix(12)) (\(subject), transaction \(index + 1): \(tx.entrypoint))"
            if let earlier = applied[tx.txHash] {
                report(
                    .replay, txSubject,
                    "applied twice: it was already in thread \(earlier.thread) sub-block \(earlier.subBlock)")
            }
            applied[tx.txHash] = (record.name, submission.sequence)
            if tx.threadId != submission.threadId {
                report(.replay, txSubject, "signed for thread \(tx.threadId), accepted on \(record.name)")
            }
            if !tx.verifySignature() {
                report(.replay, txSubject, "accepted with a signature that does not verify for \(tx.caller)")
            }
            if case let .failure(mismatch) = execution.apply(tx) {
                report(.replay, txSubject, "accepted with a wrong nonce: \(mismatch)")
            }
        }
        let recomputed = execution.statement
        for claimed in submission.crossReads {
            let canonical = threads[claimed.thread]
            let now = canonical?.value(at: claimed.key) ?? .zero
            if claimed.registered != (canonical != nil) {
                report(
                    .crossRead, subject,
                    "read thread \(claimed.thread) key \(claimed.key) as \(claimed.registered ? "registered" : "not registered"), but at block \(receipt.blockNumber) it was \(canonical == nil ? "not registered" : "registered (\(canonical!.name))")"
                )
            } else if now != claimed.value {
                report(
                    .crossRead, subject,
                    "read \(canonical?.name ?? "thread \(claimed.thread)") key \(claimed.key) as \(claimed.value), but its canonical value at block \(receipt.blockNumber) was \(now)"
                )
            }
        }
        if recomputed.crossReads != submission.crossReads {
            report(
                .crossRead, subject,
                "re-execution reads \(recomputed.crossReads.count) cross-thread values, the sub-block declared \(submission.crossReads.count)"
            )
        }
        if recomputed.inputs != submission.inputs {
            let stale = submission.inputs.first { record.value(at: $0.key) != $0.value }
            report(
                .replay, subject,
                stale.map {
                    "input \($0.key) assumed \($0.value), but the replayed canonical value was \(record.value(at: $0.key))"
                }
                    ?? "re-execution reads \(recomputed.inputs.count) keys, the sub-block declared \(submission.inputs.count)"
            )
        }
        if recomputed.outputs != submission.outputs {
            report(
                .replay, subject,
                "re-execution writes \(recomputed.outputs.count) keys\(recomputed.outputs.count == submission.outputs.count ? " with other values than" : ", not") the \(submission.outputs.count) the sub-block declared"
            )
        }
        var applied = submission
        applied.outputs = recomputed.outputs
        record.accept(applied)
        threads[submission.threadId] = record
        let reported = receipt.events.first {
            $0.kind == .subBlockAccepted && $0.threadId == submission.threadId && $0.sequence == submission.sequence
        }
        if let root = reported?.stateRoot, root != record.stateRoot {
            let hashes = submission.transactions.map { String($0.txHash.prefix(12)) }
            report(
                .replay, subject,
                "the receipt of \(receipt.txHash.prefix(12)) reports state root \(root.prefix(16))…, re-executing its transactions (\(hashes.joined(separator: ", "))) from the previous root gives \(record.stateRoot.prefix(16))…"
            )
        }
    }
}
