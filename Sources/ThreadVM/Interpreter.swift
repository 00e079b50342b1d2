/// Bounds on one execution: the step bound of a ``VMRules``, on its own.
public struct ExecutionLimits: Hashable, Sendable, Codable {
    /// Every executed instruction is one step; reaching the limit fails with ``VMFailure/outOfSteps(limit:)``.
    public var maxSteps: Int

    public init(maxSteps: Int) { self.maxSteps = maxSteps }

    /// OS version 1's bound: 10,000 steps per transaction.
    public static let `default` = VMRules.v1.limits

    /// The bound of `rules`.
    public init(_ rules: VMRules) { self = rules.limits }
}

/// Where in a program something happened.
public struct Location: Hashable, Sendable, CustomStringConvertible {
    /// The entrypoint the transaction called.
    public var entrypoint: String
    /// The instruction index.
    public var pc: Int
    /// The source line, when the program was assembled from source.
    public var line: Int?

    public init(entrypoint: String, pc: Int, line: Int?) {
        self.entrypoint = entrypoint
        self.pc = pc
        self.line = line
    }

    public var description: String {
        "\(entrypoint), pc \(pc)" + (line.map { " (line \($0))" } ?? "")
    }
}

/// Why a transaction failed. A failed transaction's writes are discarded.
public enum VMFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// Unknown entrypoint, or calldata of the wrong length or type.
    case badCalldata(CalldataError)
    /// `assert` found zero.
    case assertionFailed(Location, message: String?)
    /// `fail` was executed.
    case aborted(Location, message: String?)
    /// The step limit was reached.
    case outOfSteps(limit: Int)
    /// A jump to an instruction index outside the program.
    case badJump(Location, target: UInt64)
    /// Execution continued past the last instruction.
    case fellOffEnd(Location)
    /// `div` or `inv` by zero.
    case divisionByZero(Location)
    /// `arg` read past the end of calldata.
    case calldataOutOfRange(Location, offset: UInt64)
    /// `store` in a view entrypoint.
    case writeInView(Location)
    /// `xload` named a thread the host does not know (OS version 1; version 2 reads 0).
    case unknownThread(Location, thread: Felt)
    /// `ret` returned a different number of words than the entrypoint's return type.
    case badReturn(Location, expected: Int, got: Int)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .badCalldata(let error): error.code.rawValue
        case .assertionFailed: "ASSERTION_FAILED"
        case .aborted: "ABORTED"
        case .outOfSteps: "OUT_OF_STEPS"
        case .badJump: "BAD_JUMP"
        case .fellOffEnd: "FELL_OFF_END"
        case .divisionByZero: "DIVISION_BY_ZERO"
        case .calldataOutOfRange: "CALLDATA_OUT_OF_RANGE"
        case .writeInView: "WRITE_IN_VIEW"
        case .unknownThread: "UNKNOWN_THREAD"
        case .badReturn: "BAD_RETURN"
        }
    }

    /// Where it happened, for failures that happen at an instruction.
    public var location: Location? {
        switch self {
        case .badCalldata, .outOfSteps: nil
        case .assertionFailed(let l, _), .aborted(let l, _), .badJump(let l, _), .fellOffEnd(let l),
            .divisionByZero(let l), .calldataOutOfRange(let l, _), .writeInView(let l),
            .unknownThread(let l, _), .badReturn(let l, _, _):
            l
        }
    }

    public var description: String {
        switch self {
        case .badCalldata(let error): error.message
        case .assertionFailed(let l, let message): "assertion failed at \(l)" + (message.map { ": \($0)" } ?? "")
        case .aborted(let l, let message): "aborted at \(l)" + (message.map { ": \($0)" } ?? "")
        case .outOfSteps(let limit): "out of steps: the limit of \(limit) steps was reached"
        case .badJump(let l, let target): "bad jump at \(l): target \(target) is outside the program"
        case .fellOffEnd(let l): "execution ran past the last instruction at \(l)"
        case .divisionByZero(let l): "division by zero at \(l)"
        case .calldataOutOfRange(let l, let offset): "calldata word \(offset) read at \(l) does not exist"
        case .writeInView(let l): "store in a view entrypoint at \(l)"
        case .unknownThread(let l, let thread): "xload at \(l) names unknown thread \(thread)"
        case .badReturn(let l, let expected, let got):
            "ret at \(l) returned \(got) words, the entrypoint declares \(expected)"
        }
    }
}

/// Everything one transaction's execution produced.
public struct ExecutionResult: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        case success(returnData: [Felt])
        case failure(VMFailure)
    }

    public var outcome: Outcome
    /// Instructions executed.
    public var steps: Int
    /// Every `load` and `store`, in execution order, with key and value (also for a failed transaction).
    public var accessLog: [StorageAccess]
    /// The first-seen value of every key read or written (absent = 0), sorted by key.
    /// Includes the keys of a failed transaction: its outcome depended on them.
    public var inputs: [KeyValue]
    /// The final value of every written key, sorted by key; empty when the transaction failed.
    public var outputs: [KeyValue]
    /// Every distinct `(thread, key)` read with `xload` and its value, sorted by thread then key.
    public var crossReads: [CrossRead]

    public var succeeded: Bool {
        if case .success = outcome { return true }
        return false
    }

    public var failure: VMFailure? {
        if case .failure(let failure) = outcome { return failure }
        return nil
    }

    public var returnData: [Felt]? {
        if case .success(let data) = outcome { return data }
        return nil
    }
}

/// Runs transactions of one program. Deterministic: the result depends only on the program, the
/// transaction, the rules and what the readers return.
public struct Interpreter: Sendable {
    public let program: Program
    /// The OS version's rules the program runs under.
    public var rules: VMRules

    /// An interpreter under `rules` (e.g. ``VMRules/v2``). It does not run the rules' static
    /// checks: a thread's program passed them when it was registered (``VMRules/check(_:)``).
    public init(program: Program, rules: VMRules) {
        self.program = program
        self.rules = rules
    }

    /// An interpreter under OS version 1's rules with the step bound `limits`.
    public init(program: Program, limits: ExecutionLimits = .default) {
        var rules = VMRules.v1
        rules.limits = limits
        self.init(program: program, rules: rules)
    }

    /// The step bound of ``rules``.
    public var limits: ExecutionLimits {
        get { rules.limits }
        set { rules.limits = newValue }
    }

    /// Runs `transaction` against `state` (the thread's own storage) and `threads` (other threads'
    /// canonical storage). Never throws: every failure is an ``ExecutionResult/Outcome/failure(_:)``.
    public func execute(
        _ transaction: Transaction,
        state: some StateReader,
        threads: some CrossThreadReader = NoThreads()
    ) -> ExecutionResult {
        var run = Run(program: program, rules: rules, state: state, threads: threads)
        let outcome = run.execute(transaction)
        let succeeded: Bool
        if case .success = outcome { succeeded = true } else { succeeded = false }
        return ExecutionResult(
            outcome: outcome,
            steps: run.steps,
            accessLog: run.accessLog,
            inputs: run.seen.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key },
            outputs: succeeded
                ? run.written.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key } : [],
            crossReads: run.crossReads.values.sorted { ($0.thread, $0.key) < ($1.thread, $1.key) }
        )
    }
}

struct CrossKey: Hashable, Sendable {
    var thread: Felt
    var key: StorageKey
}

/// The mutable state of one execution.
private struct Run<State: StateReader, Threads: CrossThreadReader> {
    let program: Program
    let rules: VMRules
    let state: State
    let threads: Threads
    var steps = 0
    var accessLog: [StorageAccess] = []
    var seen: [StorageKey: Felt] = [:]
    var written: [StorageKey: Felt] = [:]
    var crossReads: [CrossKey: CrossRead] = [:]

    init(program: Program, rules: VMRules, state: State, threads: Threads) {
        self.program = program
        self.rules = rules
        self.state = state
        self.threads = threads
    }

    mutating func execute(_ tx: Transaction) -> ExecutionResult.Outcome {
        let maxSteps = rules.maxSteps
        let entry: Entrypoint
        do {
            entry = try program.abi.entrypoint(named: tx.entrypoint)
            try ABI.validate(calldata: tx.calldata, for: entry)
        } catch {
            return .failure(.badCalldata(error))
        }
        let code = program.instructions
        var r = [Felt](repeating: .zero, count: Program.registerCount)
        var pc = entry.pc

        func here() -> Location { Location(entrypoint: entry.name, pc: pc, line: program.line(at: pc)) }
        func message(_ word: Felt) -> String? {
            word.isZero ? nil : program.messages[Int(word.value) - 1]
        }
        func reg(_ word: Felt) -> Int { Int(truncatingIfNeeded: word.value) }
        func quad(_ word: Felt) -> StorageKey {
            let i = reg(word)
            return StorageKey(r[i], r[i + 1], r[i + 2], r[i + 3])
        }

        while true {
            guard steps < maxSteps else { return .failure(.outOfSteps(limit: maxSteps)) }
            guard pc < code.count else {
                pc -= 1
                return .failure(.fellOffEnd(here()))
            }
            steps += 1
            let ins = code[pc]
            var next = pc + 1
            switch ins.opcode {
            case .nop:
                break
            case .set:
                r[reg(ins.a)] = ins.b
            case .mov:
                r[reg(ins.a)] = r[reg(ins.b)]
            case .add:
                r[reg(ins.a)] = r[reg(ins.b)] + r[reg(ins.c)]
            case .addi:
                r[reg(ins.a)] = r[reg(ins.b)] + ins.c
            case .sub:
                r[reg(ins.a)] = r[reg(ins.b)] - r[reg(ins.c)]
            case .mul:
                r[reg(ins.a)] = r[reg(ins.b)] * r[reg(ins.c)]
            case .div:
                guard let inverse = r[reg(ins.c)].inverse else { return .failure(.divisionByZero(here())) }
                r[reg(ins.a)] = r[reg(ins.b)] * inverse
            case .inv:
                guard let inverse = r[reg(ins.b)].inverse else { return .failure(.divisionByZero(here())) }
                r[reg(ins.a)] = inverse
            case .eq:
                r[reg(ins.a)] = r[reg(ins.b)] == r[reg(ins.c)] ? .one : .zero
            case .lt:
                r[reg(ins.a)] = r[reg(ins.b)] < r[reg(ins.c)] ? .one : .zero
            case .not:
                r[reg(ins.a)] = r[reg(ins.b)].isZero ? .one : .zero
            case .jmp:
                guard ins.a.value < UInt64(code.count) else { return .failure(.badJump(here(), target: ins.a.value)) }
                next = Int(ins.a.value)
            case .jz, .jnz:
                if r[reg(ins.a)].isZero == (ins.opcode == .jz) {
                    guard ins.b.value < UInt64(code.count) else {
                        return .failure(.badJump(here(), target: ins.b.value))
                    }
                    next = Int(ins.b.value)
                }
            case .assert:
                if r[reg(ins.a)].isZero { return .failure(.assertionFailed(here(), message: message(ins.b))) }
            case .fail:
                return .failure(.aborted(here(), message: message(ins.a)))
            case .ret:
                let start = reg(ins.a)
                let data = Array(r[start..<start + Int(ins.b.value)])
                let expected = entry.returns?.width ?? 0
                guard data.count == expected else {
                    return .failure(.badReturn(here(), expected: expected, got: data.count))
                }
                return .success(returnData: data)
            case .arg:
                let count = Int(ins.c.value)
                guard ins.b.value <= UInt64(tx.calldata.count), Int(ins.b.value) + count <= tx.calldata.count else {
                    return .failure(.calldataOutOfRange(here(), offset: ins.b.value + ins.c.value - 1))
                }
                let offset = Int(ins.b.value)
                let d = reg(ins.a)
                for i in 0..<count { r[d + i] = tx.calldata[offset + i] }
            case .caller:
                let d = reg(ins.a)
                let words = tx.caller.quad
                r[d] = words.w0
                r[d + 1] = words.w1
                r[d + 2] = words.w2
                r[d + 3] = words.w3
            case .load:
                let key = quad(ins.b)
                let value: Felt
                if let w = written[key] {
                    value = w
                } else if let s = seen[key] {
                    value = s
                } else {
                    value = state.value(at: key)
                    seen[key] = value
                }
                accessLog.append(StorageAccess(.read, key: key, value: value))
                r[reg(ins.a)] = value
            case .store:
                if entry.isView { return .failure(.writeInView(here())) }
                let key = quad(ins.a)
                let value = r[reg(ins.b)]
                if seen[key] == nil { seen[key] = state.value(at: key) }
                written[key] = value
                accessLog.append(StorageAccess(.write, key: key, value: value))
            case .xload:
                let thread = r[reg(ins.b)]
                let cross = CrossKey(thread: thread, key: quad(ins.c))
                let read: CrossRead
                if let seen = crossReads[cross] {
                    read = seen
                } else if let value = threads.value(thread: thread, key: cross.key) {
                    read = CrossRead(thread: thread, key: cross.key, value: value)
                } else {
                    read = .unregistered(thread: thread, key: cross.key)
                }
                // Recorded either way: "no such thread" is part of the statement too.
                crossReads[cross] = read
                if let value = read.observed {
                    r[reg(ins.a)] = value
                } else if rules.unregisteredThreadReadsZero {
                    r[reg(ins.a)] = .zero
                } else {
                    return .failure(.unknownThread(here(), thread: thread))
                }
            case .hash:
                let start = reg(ins.b)
                let digest = rules.hash(r[start..<start + Int(ins.c.value)]).quad
                let d = reg(ins.a)
                r[d] = digest.w0
                r[d + 1] = digest.w1
                r[d + 2] = digest.w2
                r[d + 3] = digest.w3
            }
            pc = next
        }
    }
}
