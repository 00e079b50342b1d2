/// A thread's local fork: the writes of applied transactions over a base state.
public struct LocalFork: StateReader {
    public let base: any StateReader
    /// Every key written by a successful transaction, with its latest value.
    public private(set) var writes: [StorageKey: Felt] = [:]

    public init(base: any StateReader) { self.base = base }

    public func value(at key: StorageKey) -> Felt { writes[key] ?? base.value(at: key) }

    mutating func apply(_ outputs: [KeyValue]) {
        for entry in outputs { writes[entry.key] = entry.value }
    }
}

/// The statement pieces of a sub-block: what the manager checks and applies.
public struct SubBlockStatement: Hashable, Sendable {
    /// Every key any transaction of the sub-block read or wrote (failed ones included), with the
    /// value it had in the base state (absent = 0), sorted by key.
    public var inputs: [KeyValue]
    /// The final value of every key written by a successful transaction, sorted by key.
    public var outputs: [KeyValue]
    /// Every distinct `(thread, key)` read with `xload` (failed transactions included), with the
    /// value first observed, sorted by thread then key.
    public var crossReads: [CrossRead]
    /// One result per transaction, in order.
    public var results: [ExecutionResult]
}

/// Builds a sub-block one transaction at a time over a local fork, as a thread node's batcher does.
///
/// Each transaction sees the writes of the successful transactions before it. A failed
/// transaction's writes are discarded, but its reads still count as inputs and cross-thread reads,
/// because its failure depended on them. A cross-thread value, once read, is reused for the rest of
/// the sub-block so that every transaction sees one consistent snapshot of each other thread.
public struct SubBlockBuilder: Sendable {
    public let interpreter: Interpreter
    public let threads: any CrossThreadReader
    public private(set) var fork: LocalFork
    public private(set) var results: [ExecutionResult] = []
    private var inputs: [StorageKey: Felt] = [:]
    private var crossReads: [CrossKey: CrossRead] = [:]

    /// A builder under `rules` (the thread's OS version).
    public init(
        program: Program,
        base: any StateReader,
        threads: any CrossThreadReader = NoThreads(),
        rules: VMRules
    ) {
        interpreter = Interpreter(program: program, rules: rules)
        self.threads = threads
        fork = LocalFork(base: base)
    }

    /// A builder under OS version 1 with the step bound `limits`.
    public init(
        program: Program,
        base: any StateReader,
        threads: any CrossThreadReader = NoThreads(),
        limits: ExecutionLimits = .default
    ) {
        self.init(program: program, base: base, threads: threads, rules: SubBlockExecutor.v1(limits))
    }

    /// Runs `transaction` on the fork and records its effects.
    @discardableResult
    public mutating func apply(_ transaction: Transaction) -> ExecutionResult {
        let result = interpreter.execute(
            transaction, state: fork, threads: SnapshotThreads(seen: crossReads, threads: threads))
        // A key not touched by an earlier transaction has its base value in the fork.
        for entry in result.inputs where inputs[entry.key] == nil {
            inputs[entry.key] = entry.value
        }
        for read in result.crossReads {
            let cross = CrossKey(thread: read.thread, key: read.key)
            if crossReads[cross] == nil { crossReads[cross] = read }
        }
        if result.succeeded { fork.apply(result.outputs) }
        results.append(result)
        return result
    }

    /// The statement pieces of the transactions applied so far.
    public var statement: SubBlockStatement {
        SubBlockStatement(
            inputs: inputs.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key },
            outputs: fork.writes.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key },
            crossReads: crossReads.values.sorted { ($0.thread, $0.key) < ($1.thread, $1.key) },
            results: results
        )
    }
}

/// Runs a whole sub-block at once.
public enum SubBlockExecutor {
    /// Runs `transactions` in order over a fork of `base` and returns the combined statement pieces.
    public static func execute(
        _ transactions: [Transaction],
        program: Program,
        base: any StateReader,
        threads: any CrossThreadReader = NoThreads(),
        rules: VMRules
    ) -> SubBlockStatement {
        var builder = SubBlockBuilder(program: program, base: base, threads: threads, rules: rules)
        for transaction in transactions { builder.apply(transaction) }
        return builder.statement
    }

    /// ``execute(_:program:base:threads:rules:)`` under OS version 1 with the step bound `limits`.
    public static func execute(
        _ transactions: [Transaction],
        program: Program,
        base: any StateReader,
        threads: any CrossThreadReader = NoThreads(),
        limits: ExecutionLimits = .default
    ) -> SubBlockStatement {
        execute(transactions, program: program, base: base, threads: threads, rules: v1(limits))
    }

    static func v1(_ limits: ExecutionLimits) -> VMRules {
        var rules = VMRules.v1
        rules.limits = limits
        return rules
    }
}

extension SubBlockExecutor {
    /// Re-executes `transactions` against only the claimed inputs and cross-thread reads, and
    /// reports the first difference from the claimed statement (nil when everything matches).
    ///
    /// This is the check a re-execution proof system makes. The base state is built from the
    /// claimed inputs alone and other threads from the claimed cross reads alone, so a sub-block
    /// that touches any key it did not declare produces a different input or cross-read list and
    /// is rejected. Whether the claimed values are the canonical ones is the manager's separate
    /// check.
    public static func verify(
        _ transactions: [Transaction],
        program: Program,
        inputs: [KeyValue],
        outputs: [KeyValue],
        crossReads: [CrossRead],
        limits: ExecutionLimits = .default
    ) -> StatementMismatch? {
        verify(
            transactions, program: program, inputs: inputs, outputs: outputs, crossReads: crossReads,
            rules: v1(limits))
    }

    /// ``verify(_:program:inputs:outputs:crossReads:limits:)`` under `rules` (the thread's OS version).
    public static func verify(
        _ transactions: [Transaction],
        program: Program,
        inputs: [KeyValue],
        outputs: [KeyValue],
        crossReads: [CrossRead],
        rules: VMRules
    ) -> StatementMismatch? {
        var base = MemoryState()
        base.apply(inputs)
        var threads = MemoryThreads()
        threads.add(claims: crossReads)
        let recomputed = execute(transactions, program: program, base: base, threads: threads, rules: rules)
        if recomputed.inputs != inputs.sorted(by: { $0.key < $1.key }) {
            return StatementMismatch(part: .inputs, claimed: inputs.count, recomputed: recomputed.inputs.count)
        }
        if recomputed.outputs != outputs.sorted(by: { $0.key < $1.key }) {
            return StatementMismatch(part: .outputs, claimed: outputs.count, recomputed: recomputed.outputs.count)
        }
        if recomputed.crossReads != crossReads.sorted(by: { ($0.thread, $0.key) < ($1.thread, $1.key) }) {
            return StatementMismatch(
                part: .crossReads, claimed: crossReads.count, recomputed: recomputed.crossReads.count)
        }
        return nil
    }
}

/// Which part of a claimed sub-block statement re-execution did not reproduce.
public struct StatementMismatch: Hashable, Sendable, CustomStringConvertible {
    public enum Part: String, Hashable, Sendable {
        case inputs
        case outputs
        case crossReads = "cross reads"
    }

    public var part: Part
    /// Entries in the claimed list.
    public var claimed: Int
    /// Entries re-execution produced.
    public var recomputed: Int

    public var description: String {
        "re-execution does not reproduce the claimed \(part.rawValue) (claimed \(claimed) entries, re-executed \(recomputed))"
    }
}

/// Other threads as seen by one sub-block: values already read are pinned.
private struct SnapshotThreads: CrossThreadReader {
    let seen: [CrossKey: CrossRead]
    let threads: any CrossThreadReader

    func value(thread: Felt, key: StorageKey) -> Felt? {
        if let read = seen[CrossKey(thread: thread, key: key)] { return read.observed }
        return threads.value(thread: thread, key: key)
    }
}
