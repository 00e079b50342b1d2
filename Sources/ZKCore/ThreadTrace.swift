internal import STARK
internal import ThreadVM

/// How one transaction of a `stark` sub-block ended, as bound in its header row.
public struct ProvenOutcome: Hashable, Sendable {
    /// 0 for success, else a ``ThreadVMAIR/FailKind`` raw value.
    public var kind: UInt8
    /// The pc of the failing instruction (the next instruction when out of steps); 0 on success.
    public var failPC: UInt32

    public var fails: Bool { kind != 0 }

    public static let success = ProvenOutcome(kind: 0, failPC: 0)
}

/// The data a `stark` proof carries beside the STARK proof itself: what the prover claims and the
/// verifier checks or computes with. All of it enters the public side of the AIR's buses.
struct ThreadProofClaims: Hashable, Sendable {
    /// One per transaction.
    var outcomes: [ProvenOutcome]
    /// How many times each instruction ran, one per instruction of the program.
    var programCounts: [UInt32]
    /// The time of the last access of each input key, in input-list order (0 when never accessed).
    var finalTimes: [UInt32]
    /// How many `xload`s read each claimed cross read, in cross-read order (at least 1).
    var crossCounts: [UInt32]
    /// Each distinct comparison `lt x, y` made, and how many times.
    var comparisons: [Comparison]
    /// Each distinct `hash` input (count and eight register words), and how many times.
    var hashes: [HashCall]
    /// For each input key that is a sender's thread nonce, in input-list order: the value and time
    /// of its last access as contract storage (address space 0), which the nonce in space 1
    /// overrides in the outputs. The input value at time 0 when no contract touched it.
    var nonceShadows: [Shadow] = []

    struct Shadow: Hashable, Sendable {
        var value: UInt64
        var time: UInt32
    }

    struct Comparison: Hashable, Sendable {
        var x: UInt64
        var y: UInt64
        var count: UInt32
    }

    struct HashCall: Hashable, Sendable {
        var n: UInt8
        var words: [UInt64]
        var count: UInt32
    }
}

/// Normalized instructions: the tuple the program bus carries for each pc.
enum ProgramBus {
    static func op(_ opcode: Opcode) -> ThreadVMAIR.Op {
        switch opcode {
        case .nop: .nop
        case .set: .set
        case .mov: .mov
        case .add: .add
        case .addi: .addi
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        case .inv: .inv
        case .eq: .eq
        case .lt: .lt
        case .not: .not
        case .jmp: .jmp
        case .jz: .jz
        case .jnz: .jnz
        case .assert: .assert
        case .fail: .fail
        case .ret: .ret
        case .arg: .arg
        case .caller: .caller
        case .load: .load
        case .store: .store
        case .xload: .xload
        case .hash: .hash
        }
    }

    /// (op, dst, x, q, imm, n, m0, m1, m2, m3) for one instruction: `x` is the first source
    /// register (the calldata offset for `arg`), `q` the quad's first register or the second source.
    struct Fields {
        var op: ThreadVMAIR.Op
        var dst = 0
        var x = 0
        var q = 0
        var imm: Felt = .zero
        var n = 0
        var writes = 0

        var elements: [UInt64] {
            [
                UInt64(op.rawValue), UInt64(dst), UInt64(x), UInt64(q), imm.value, UInt64(n),
            ] + (0..<4).map { $0 < writes ? 1 : 0 }
        }
    }

    static func fields(_ ins: Instruction) -> Fields {
        // Register operands and counts are small (the OS version 2 static checks guarantee it);
        // masking keeps a malformed program from indexing outside the selectors.
        let a = Int(truncatingIfNeeded: ins.a.value & 0xF)
        let b = Int(truncatingIfNeeded: ins.b.value & 0xF)
        let c = Int(truncatingIfNeeded: ins.c.value & 0xF)
        var f = Fields(op: op(ins.opcode))
        switch ins.opcode {
        case .nop, .fail, .ret: break
        case .set: (f.dst, f.imm, f.writes) = (a, ins.b, 1)
        case .mov, .inv, .not: (f.dst, f.x, f.writes) = (a, b, 1)
        case .add, .sub, .mul, .div, .eq, .lt: (f.dst, f.x, f.q, f.writes) = (a, b, c, 1)
        case .addi: (f.dst, f.x, f.imm, f.writes) = (a, b, ins.c, 1)
        case .jmp: f.imm = ins.a
        case .jz, .jnz: (f.x, f.imm) = (a, ins.b)
        case .assert: f.x = a
        case .arg: (f.dst, f.x, f.n, f.writes) = (a, Int(min(ins.b.value, 15)), c, c)
        case .caller: (f.dst, f.writes) = (a, 4)
        case .load: (f.dst, f.q, f.writes) = (a, b, 1)
        case .store: (f.q, f.x) = (a, b)
        case .xload: (f.dst, f.x, f.q, f.writes) = (a, b, c, 1)
        case .hash: (f.dst, f.q, f.n, f.writes) = (a, b, c, 4)
        }
        return f
    }
}

/// A sub-block's execution as the rows of a ``ThreadVMAIR`` trace.
///
/// Re-runs every transaction under the OS version 2 rules, from the claimed inputs and cross reads,
/// and checks that the run reproduces the claimed statement before anything is proved.
struct ThreadTraceBuilder {
    typealias C = ThreadVMAIR.Column
    let program: Program
    let rules: VMRules
    let entries: [[UInt64]]

    private(set) var rows: [[UInt64]] = []
    /// Two address spaces: 0 contract storage, 1 thread nonces (a header's bump). Both start from
    /// the input values.
    private var memory: [Slot: (value: Felt, time: UInt64)] = [:]
    private let inputValues: [ThreadVM.StorageKey: Felt]
    private var written: Set<Slot> = []
    private var accessed: Set<ThreadVM.StorageKey> = []

    struct Slot: Hashable {
        var space: UInt64
        var key: ThreadVM.StorageKey
    }
    private var crossValues: [CrossKeyID: Felt] = [:]
    private(set) var claims: ThreadProofClaims
    private var crossIndex: [CrossKeyID: Int] = [:]
    private var comparisonIndex: [[UInt64]: Int] = [:]
    private var hashIndex: [[UInt64]: Int] = [:]
    private let inputs: [KeyValue]

    struct CrossKeyID: Hashable {
        var thread: Felt
        var key: ThreadVM.StorageKey
    }

    init(program: Program, rules: VMRules, inputs: [KeyValue], crossReads: [CrossRead]) {
        self.program = program
        self.rules = rules
        self.inputs = inputs
        entries = program.instructions.map { ProgramBus.fields($0).elements }
        inputValues = Dictionary(inputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        for (i, read) in crossReads.enumerated() {
            let id = CrossKeyID(thread: read.thread, key: read.key)
            crossValues[id] = read.value
            crossIndex[id] = i
        }
        claims = ThreadProofClaims(
            outcomes: [], programCounts: Array(repeating: 0, count: program.instructions.count),
            finalTimes: [], crossCounts: Array(repeating: 0, count: crossReads.count), comparisons: [], hashes: [])
    }

    private var blankRow: [UInt64] {
        var row = [UInt64](repeating: 0, count: C.count)
        row[C.isZero] = 1
        for k in 0..<4 { row[C.mask + k] = 1 }
        row[C.clock] = UInt64(rows.count + 1)
        if let last = rows.last {
            row[C.tx] = last[C.tx]
            for column in [C.valid, C.txFails, C.failKind, C.failPC] { row[column] = last[column] }
            for k in 0..<4 { row[C.caller + k] = last[C.caller + k] }
            for k in 0..<8 { row[C.calldata + k] = last[C.calldata + k] }
        }
        return row
    }

    /// A storage access at the row being built: reads the key's current value and the time of
    /// its last access, and records `new` at this row's clock.
    private mutating func access(
        _ row: inout [UInt64], space: UInt64 = 0, key: ThreadVM.StorageKey, new: (Felt) -> Felt
    ) throws(ProofError) -> Felt {
        let slot = Slot(space: space, key: key)
        guard let current = memory[slot] ?? inputValues[key].map({ ($0, 0) }) else {
            throw ProofError(message: "the execution touches key \(key), which is not in the claimed inputs")
        }
        accessed.insert(key)
        let now = row[C.clock]
        let gap = now - current.time - 1
        let words = key.quad.words
        for k in 0..<4 { row[C.qWords + k] = words[k].value }
        row[C.old] = current.value.value
        let value = new(current.value)
        row[C.new] = value.value
        row[C.previousTime] = current.time
        row[C.limb] = gap & 0xFF
        row[C.limb + 1] = (gap >> 8) & 0xFF
        row[C.limb + 2] = (gap >> 16) & 0xFF
        memory[slot] = (value, now)
        return current.value
    }

    /// Appends the header, steps and undo rows of one transaction; returns its VM outcome.
    mutating func add(_ tx: ThreadTransaction) throws(ProofError) -> ProvenOutcome {
        let index = claims.outcomes.count
        var header = blankRow
        header[C.header] = 1
        header[C.tx] = UInt64(index)
        let caller = tx.caller.quad.words
        for k in 0..<4 { header[C.caller + k] = caller[k].value }
        let nonceKey = ThreadNonce.key(of: tx.caller)
        let nonce = try access(&header, space: 1, key: nonceKey) { $0 + .one }
        guard nonce.value == tx.nonce else {
            throw ProofError(message: "transaction \(index): nonce \(tx.nonce), the claimed state has \(nonce.value)")
        }
        written.insert(Slot(space: 1, key: nonceKey))
        let entry = StarkProofSystem.entry(of: tx, in: program)
        header[C.valid] = entry == nil ? 0 : 1
        header[C.pc] = UInt64(entry?.pc ?? 0)
        // Calldata words past this transaction's are zero (not the previous transaction's).
        for k in 0..<ThreadVMAIR.calldataWords { header[C.calldata + k] = 0 }
        if entry != nil {
            for (k, word) in tx.calldata.enumerated() { header[C.calldata + k] = word.value }
        }
        let headerIndex = rows.count
        rows.append(header)

        let outcome: ProvenOutcome
        if let entry {
            outcome = try run(tx, entry: entry)
        } else {
            outcome = ProvenOutcome(kind: UInt8(ThreadVMAIR.FailKind.badCalldata.rawValue), failPC: 0)
        }
        for i in headerIndex..<rows.count {
            rows[i][C.txFails] = outcome.fails ? 1 : 0
            rows[i][C.failKind] = UInt64(outcome.kind)
            rows[i][C.failPC] = UInt64(outcome.failPC)
        }
        claims.outcomes.append(outcome)
        return outcome
    }

    private mutating func run(_ tx: ThreadTransaction, entry: Entrypoint) throws(ProofError) -> ProvenOutcome {
        var r = [Felt](repeating: .zero, count: 16)
        var pc = entry.pc
        var budget = UInt64(rules.maxSteps)
        var stores = 0
        var journal: [(key: ThreadVM.StorageKey, old: Felt)] = []
        var txWrites: Set<Slot> = []
        let code = program.instructions
        var outcome: ProvenOutcome? = nil
        while outcome == nil {
            var row = blankRow
            row[C.pc] = UInt64(pc)
            row[C.stores] = UInt64(stores)
            for j in 0..<16 { row[C.register + j] = r[j].value }
            if budget == 0 {
                row[C.outOfSteps] = 1
                outcome = ProvenOutcome(kind: UInt8(ThreadVMAIR.FailKind.outOfSteps.rawValue), failPC: UInt32(pc))
                rows.append(row)
                break
            }
            guard pc < code.count else {
                throw ProofError(message: "execution reaches pc \(pc), past the program's end")
            }
            let ins = code[pc]
            let fields = ProgramBus.fields(ins)
            claims.programCounts[pc] += 1
            row[C.step] = 1
            row[C.budget] = budget
            row[C.budgetInverse] = Felt(budget).inverse!.value
            row[C.op + fields.op.rawValue] = 1
            for (k, value) in entries[pc].enumerated() { row[C.opcode + k] = value }
            row[C.dstSelect + fields.dst] = 1
            row[C.xSelect + fields.x] = 1
            row[C.qSelect + fields.q] = 1
            let x = r[fields.x]
            row[C.xValue] = x.value
            let qWords = (0..<8).map { fields.q + $0 < 16 ? r[fields.q + $0] : .zero }
            let y = qWords[0]
            for k in 0..<8 { row[C.qWords + k] = qWords[k].value }
            // Result lanes default to the registers they would write (unchanged).
            var res = (0..<4).map { fields.dst + $0 < 16 ? r[fields.dst + $0] : .zero }
            var next = pc + 1
            var fails = false

            func zeroTest(_ value: Felt) -> Bool {
                row[C.zeroIn] = value.value
                if let inverse = value.inverse {
                    row[C.zeroInverse] = inverse.value
                    row[C.isZero] = 0
                    return false
                }
                row[C.zeroInverse] = 0
                row[C.isZero] = 1
                return true
            }

            switch ins.opcode {
            case .nop: break
            case .set: res[0] = fields.imm
            case .mov: res[0] = x
            case .add: res[0] = x + y
            case .addi: res[0] = x + fields.imm
            case .sub: res[0] = x - y
            case .mul: res[0] = x * y
            case .div:
                if zeroTest(y) { fails = true } else { res[0] = x * y.inverse! }
            case .inv:
                if zeroTest(x) { fails = true } else { res[0] = x.inverse! }
            case .eq: res[0] = zeroTest(x - y) ? .one : .zero
            case .not: res[0] = zeroTest(x) ? .one : .zero
            case .lt:
                res[0] = x < y ? .one : .zero
                let key = [x.value, y.value]
                if let i = comparisonIndex[key] {
                    claims.comparisons[i].count += 1
                } else {
                    comparisonIndex[key] = claims.comparisons.count
                    claims.comparisons.append(.init(x: x.value, y: y.value, count: 1))
                }
            case .jmp:
                next = Int(fields.imm.value)
                row[C.taken] = 1
            case .jz, .jnz:
                let zero = zeroTest(x)
                if zero == (ins.opcode == .jz) {
                    next = Int(fields.imm.value)
                    row[C.taken] = 1
                }
            case .assert:
                fails = zeroTest(x)
            case .fail:
                fails = true
            case .ret:
                break
            case .arg:
                let offset = fields.x
                guard offset + fields.n <= tx.calldata.count, offset < 8 else {
                    throw ProofError(message: "arg at pc \(pc) reads past the calldata")
                }
                for k in 0..<4 where offset + k < 8 {
                    let word = offset + k < tx.calldata.count ? tx.calldata[offset + k] : .zero
                    row[C.argWords + k] = word.value
                    if k < fields.n { res[k] = word }
                }
            case .caller:
                res = tx.caller.quad.words
            case .load:
                let key = ThreadVM.StorageKey(Quad(qWords[0], qWords[1], qWords[2], qWords[3]))
                res[0] = try access(&row, key: key) { $0 }
            case .store:
                let key = ThreadVM.StorageKey(Quad(qWords[0], qWords[1], qWords[2], qWords[3]))
                let old = try access(&row, key: key) { _ in x }
                row[C.journalValue] = old.value
                journal.append((key, old))
                txWrites.insert(Slot(space: 0, key: key))
                stores += 1
            case .xload:
                let key = ThreadVM.StorageKey(Quad(qWords[0], qWords[1], qWords[2], qWords[3]))
                let id = CrossKeyID(thread: x, key: key)
                guard let value = crossValues[id], let i = crossIndex[id] else {
                    throw ProofError(message: "xload of thread \(x) key \(key) is not among the claimed cross reads")
                }
                claims.crossCounts[i] += 1
                res[0] = value
            case .hash:
                let words = qWords.map(\.value)
                res = rules.hash(qWords.prefix(fields.n)).quad.words
                let key = [UInt64(fields.n)] + words
                if let i = hashIndex[key] {
                    claims.hashes[i].count += 1
                } else {
                    hashIndex[key] = claims.hashes.count
                    claims.hashes.append(.init(n: UInt8(fields.n), words: words, count: 1))
                }
            }
            for k in 0..<4 { row[C.result + k] = res[k].value }
            if fails {
                // The failing-test flag marks a test that failed; `fail` ends the run by its opcode.
                if ins.opcode != .fail { row[C.fails] = 1 }
                let kind: ThreadVMAIR.FailKind =
                    switch ins.opcode {
                    case .assert: .assertion
                    case .fail: .aborted
                    default: .divisionByZero
                    }
                outcome = ProvenOutcome(kind: UInt8(kind.rawValue), failPC: UInt32(pc))
            } else if ins.opcode == .ret {
                outcome = .success
            }
            rows.append(row)
            for j in 0..<16 {
                for k in 0..<4 where fields.dst + k == j && k < fields.writes { r[j] = res[k] }
            }
            pc = next
            budget -= 1
        }
        guard let outcome else { throw ProofError(message: "unreachable: a run without an outcome") }
        if outcome.fails {
            for (seq, entry) in journal.enumerated().reversed() {
                var row = blankRow
                row[C.undo] = 1
                row[C.stores] = UInt64(seq)
                _ = try access(&row, key: entry.key) { _ in entry.old }
                row[C.journalValue] = entry.old.value
                rows.append(row)
            }
        } else {
            written.formUnion(txWrites)
        }
        return outcome
    }

    /// Checks the run against the claimed statement and returns the trace, padded to a power of two
    /// (at least one padding row), and the claims.
    mutating func finish(claimedOutputs: [KeyValue]) throws(ProofError) -> (TraceTable, ThreadProofClaims) {
        // Every claimed input must have been touched, and every write claimed.
        for entry in inputs where !accessed.contains(entry.key) {
            throw ProofError(message: "claimed input \(entry.key) is never read or written")
        }
        // A nonce (space 1) overrides whatever a contract stored under the same key.
        var finals: [ThreadVM.StorageKey: Felt] = [:]
        for slot in written.sorted(by: { $0.space < $1.space }) { finals[slot.key] = memory[slot]!.value }
        let outputs = finals.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        guard outputs == claimedOutputs else {
            throw ProofError(
                message:
                    "the execution does not reproduce the claimed outputs (claimed \(claimedOutputs.count), executed \(outputs.count))"
            )
        }
        for (i, count) in claims.crossCounts.enumerated() where count == 0 {
            throw ProofError(message: "claimed cross read \(i) is never read")
        }
        claims.finalTimes = []
        claims.nonceShadows = []
        for entry in inputs {
            if let nonce = memory[Slot(space: 1, key: entry.key)] {
                claims.finalTimes.append(UInt32(nonce.time))
                let shadow = memory[Slot(space: 0, key: entry.key)] ?? (entry.value, 0)
                claims.nonceShadows.append(.init(value: shadow.value.value, time: UInt32(shadow.time)))
            } else {
                claims.finalTimes.append(UInt32(memory[Slot(space: 0, key: entry.key)]!.time))
            }
        }

        let used = rows.count + 1
        var length = ThreadVMAIR.minimumTraceLength
        while length < used { length *= 2 }
        var limbCounts = [UInt64](repeating: 0, count: 256)
        for row in rows
        where row[C.header] + row[C.undo] + row[C.op + ThreadVMAIR.Op.load.rawValue]
            + row[C.op + ThreadVMAIR.Op.store.rawValue] == 1
        {
            for k in 0..<3 { limbCounts[Int(row[C.limb + k])] += 1 }
        }
        var columns = [[Goldilocks]](repeating: [], count: C.count)
        for c in 0..<C.count { columns[c].reserveCapacity(length) }
        let padding: [UInt64] = {
            var row = blankRow
            row[C.padding] = 1
            return row
        }()
        for i in 0..<length {
            var row = i < rows.count ? rows[i] : padding
            row[C.clock] = UInt64(i + 1)
            row[C.rangeCount] = i < 256 ? limbCounts[i] : 0
            for c in 0..<C.count { columns[c].append(Goldilocks(row[c])) }
        }
        return (TraceTable(columns: columns), claims)
    }
}
