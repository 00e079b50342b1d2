/// The constraint system of a ThreadVM sub-block: every transaction in order, its nonce bump, its
/// VM execution step by step (failed ones included, their writes rolled back), and storage
/// consistency against the public input and output lists.
///
/// The trace is one table of rows of five kinds:
/// - a **header** row per transaction: its index, caller, calldata, entry pc, nonce bump and
///   outcome, sent on the header bus against tuples the verifier builds from the published
///   transactions;
/// - a **step** row per executed instruction: pc, the instruction (sent on the program bus against
///   the program the verifier looked up by its hash), the 16 registers before the step, one-hot
///   operand selectors and up to four result words;
/// - an **out-of-steps** row when a transaction used its step budget;
/// - **undo** rows after a failed transaction, one per store it made, in reverse order, restoring
///   the value each store overwrote (a journal bus pairs them with the stores);
/// - **padding** to the power-of-two length.
///
/// Storage is checked offline (Blum et al.): each access reads a tuple (key, value, time of the
/// previous access) and writes (key, value, now), with now − previous − 1 range-checked in three
/// 8-bit limbs against a periodic table. The verifier puts each input key's initial value at time 0
/// on the public side, and its final value (the output value, or the input value when it was not
/// written) at a final time the prover names. So every key accessed is a declared input, each read
/// sees the last write before it, and the outputs are the final values.
///
/// `lt`, `hash` and `xload` are looked up on buses whose public side the verifier computes: it
/// checks every claimed comparison and hash itself and takes cross-thread values from the
/// statement's cross reads. All buses share one LogUp running sum; each bus has its own tag as the
/// first element of its tuples, so tuples of different buses never collide.
///
/// This type knows nothing of ThreadVM's types: the opcodes are the ``Op`` cases and the public
/// side arrives as ``PublicTable``s. See docs/stark.md for the layout and the soundness argument.
public struct ThreadVMAIR: AIR {
    /// The operations a step row can perform, in the order of their flag columns. The program bus
    /// carries an operation's raw value.
    public enum Op: Int, CaseIterable, Sendable {
        case nop, set, mov, add, addi, sub, mul, div, inv, eq, lt, not
        case jmp, jz, jnz, assert, fail, ret, arg, caller, load, store, xload, hash
    }

    /// Bus tags: the first element of every tuple.
    public enum Bus: UInt64, CaseIterable, Sendable {
        /// (pc, op, dst, x, q, imm, n, m0, m1, m2, m3): the normalized instruction at pc.
        case program = 1
        /// (tx, caller₀..₃, nonce, nonceKey₀..₃, entry pc, valid, fails, fail kind, fail pc, calldata₀..₇).
        case header = 2
        /// (space, key₀..₃, value, time): space 1 is thread nonces, 0 contract storage.
        case memory = 3
        /// (limb).
        case range = 4
        /// (thread, key₀..₃, value).
        case crossRead = 5
        /// (x, y, [x < y]).
        case lessThan = 6
        /// (n, word₀..₇, digest₀..₃).
        case hash = 7
        /// (tx, store index, key₀..₃, overwritten value): internal, balances to zero.
        case journal = 8

        public var tag: Goldilocks { Goldilocks(rawValue) }
    }

    /// How a failed transaction failed, as bound in its header.
    public enum FailKind: UInt64, Sendable {
        case success = 0
        case assertion = 1
        case aborted = 2
        case divisionByZero = 3
        case outOfSteps = 4
        case badCalldata = 5
    }

    public static let registers = 16
    public static let calldataWords = 8
    public static let hashWords = 8
    /// Rows at least: two periods of the 8-bit range table, so every table value has a row that is
    /// not the last.
    public static let minimumTraceLength = 512

    /// What the verifier knows.
    public struct PublicInputs: Sendable, Hashable {
        /// Elements that bind the sub-block statement (thread, sequence, OS version, program hash,
        /// transaction commitment, lists), absorbed before any challenge.
        public var binding: [Goldilocks]
        /// The step budget of one transaction.
        public var maxSteps: Int
        /// The public side of every bus, each tuple starting with its bus tag. Multiplicities are
        /// signed: the memory bus's initial tuples count −1 and its final tuples +1.
        public var tables: [PublicTable]

        public init(binding: [Goldilocks], maxSteps: Int, tables: [PublicTable]) {
            self.binding = binding
            self.maxSteps = maxSteps
            self.tables = tables
        }
    }

    /// Main column indices.
    public enum Column {
        public static let header = 0
        public static let step = 1
        public static let outOfSteps = 2
        public static let undo = 3
        public static let padding = 4
        /// One flag per ``Op``.
        public static let op = 5
        static let romStart = op + Op.allCases.count
        public static let pc = romStart
        public static let opcode = romStart + 1
        public static let dst = romStart + 2
        /// The first source register; for `arg`, the calldata offset.
        public static let x = romStart + 3
        /// The quad's first register; for two-operand instructions, the second source.
        public static let q = romStart + 4
        public static let imm = romStart + 5
        public static let n = romStart + 6
        /// Write mask: result word k is written to register dst + k.
        public static let mask = romStart + 7
        public static let dstSelect = mask + 4
        public static let xSelect = dstSelect + 16
        public static let qSelect = xSelect + 16
        public static let register = qSelect + 16
        public static let xValue = register + 16
        /// Eight words from register q on: the storage key (0…3), `hash` inputs, and in word 0 the
        /// second operand of `add`, `sub`, `mul`, `div`, `eq` and `lt`.
        public static let qWords = xValue + 1
        public static let result = qWords + 8
        public static let zeroIn = result + 4
        public static let zeroInverse = zeroIn + 1
        public static let isZero = zeroIn + 2
        public static let fails = zeroIn + 3
        public static let taken = zeroIn + 4
        public static let argWords = taken + 1
        public static let old = argWords + 4
        public static let new = old + 1
        public static let previousTime = old + 2
        public static let limb = old + 3
        public static let rangeCount = limb + 3
        public static let journalValue = rangeCount + 1
        public static let tx = journalValue + 1
        public static let caller = tx + 1
        public static let calldata = caller + 4
        public static let valid = calldata + 8
        public static let txFails = valid + 1
        public static let failKind = valid + 2
        public static let failPC = valid + 3
        public static let budget = failPC + 1
        public static let budgetInverse = budget + 1
        public static let stores = budget + 2
        public static let clock = stores + 1
        public static let count = clock + 1
    }

    public static let identity = "threadvm-sub-block/v1"

    static let selectorFields = [
        (Column.dstSelect, Column.dst), (Column.xSelect, Column.x), (Column.qSelect, Column.q),
    ]
    static let outcomeColumns = [Column.valid, Column.txFails, Column.failKind, Column.failPC]

    public let traceLength: Int
    public let publicInputs: PublicInputs

    public init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError) {
        guard traceLength >= Self.minimumTraceLength else {
            throw .invalidPublicInputs("a sub-block trace has at least \(Self.minimumTraceLength) rows")
        }
        guard publicInputs.maxSteps >= 1, publicInputs.maxSteps < 1 << 24 else {
            throw .invalidPublicInputs("step budget \(publicInputs.maxSteps) out of range")
        }
        self.traceLength = traceLength
        self.publicInputs = publicInputs
    }

    public var publicInputElements: [Goldilocks] {
        var out = publicInputs.binding
        out.append(Goldilocks(UInt64(publicInputs.maxSteps)))
        out.append(Goldilocks(UInt64(publicInputs.tables.count)))
        for table in publicInputs.tables { out.append(contentsOf: table.elements) }
        return out
    }

    public var mainWidth: Int { Column.count }
    /// Six helper columns (each the sum of two bus fractions) and the running sum.
    public var auxWidth: Int { 7 }
    /// α and β: tuple t is fingerprinted as t₀ + β·t₁ + β²·t₂ + …
    public var auxChallengeCount: Int { 2 }

    /// The range table: 0…255, repeating.
    public var periodicColumns: [[Goldilocks]] { [(0..<256).map { Goldilocks(UInt64($0)) }] }

    // MARK: Constraint names

    public var transitionConstraints: [ConstraintInfo] { Self.mainConstraints }

    static let mainConstraints: [ConstraintInfo] = {
        var c: [ConstraintInfo] = []
        func add(_ name: String, _ degree: Int) { c.append(ConstraintInfo(name, degree: degree)) }
        for kind in ["header", "step", "out-of-steps", "undo", "padding"] { add("\(kind) flag is binary", 2) }
        add("one row kind", 1)
        for op in Op.allCases { add("\(op) flag is binary", 2) }
        add("one operation per step", 1)
        add("opcode matches its flag", 1)
        for k in 0..<4 { add("mask \(k) is binary", 2) }
        for k in 0..<3 { add("mask \(k + 1) implies mask \(k)", 2) }
        for name in ["dst", "x", "q"] {
            for i in 0..<16 { add("\(name) selector \(i) is binary", 2) }
            add("\(name) selector is one-hot on steps", 1)
            add("\(name) selector matches its index", 1)
        }
        add("x value is the selected register", 2)
        for k in 0..<8 { add("q word \(k) is a selected register", 3) }
        for k in 0..<4 { add("arg word \(k) is the selected calldata", 3) }
        for op in ["set", "mov", "add", "addi", "sub"] { add("\(op) result", 2) }
        add("mul result", 3)
        add("div result", 3)
        add("inv result", 3)
        add("eq and not result", 2)
        for k in 0..<4 { add("arg result \(k)", 3) }
        for k in 0..<4 { add("caller result \(k)", 2) }
        add("load reads its result", 2)
        add("load writes back what it read", 2)
        add("store writes x", 2)
        add("store journals the overwritten value", 2)
        for k in 0..<4 { add("unwritten result \(k) keeps its register", 3) }
        add("zero test input for single-register tests", 2)
        add("zero test input for eq", 2)
        add("zero test input for div", 2)
        add("zero flag is binary", 2)
        add("zero flag: nonzero has an inverse", 2)
        add("zero flag: zero when flagged", 2)
        add("failing tests fail exactly on zero", 2)
        add("only tests fail", 2)
        add("branch taken", 2)
        add("a continuing step is followed by a step", 2)
        add("an ending row is not followed by a step", 2)
        add("a step follows a header or a continuing step", 2)
        add("out of steps follows a continuing step", 2)
        add("a valid header is followed by a step", 3)
        add("an invalid header is not followed by a step", 3)
        add("a header is not followed by undo or out of steps", 2)
        add("undo follows a failure or undo", 2)
        add("padding stays padding", 2)
        add("ret only in a succeeding transaction", 2)
        add("failures only in a failing transaction", 2)
        add("failure pc", 2)
        add("failure kind", 2)
        add("success has no failure kind", 2)
        add("success has no failure pc", 2)
        for i in 0..<16 { add("register \(i) starts at zero", 3) }
        for i in 0..<16 { add("register \(i) update", 3) }
        add("entry pc", 3)
        add("pc update", 3)
        add("budget starts full", 3)
        add("budget counts steps", 2)
        add("a step has budget left", 3)
        add("out of steps has no budget", 2)
        add("store count starts at zero", 3)
        add("store count counts stores", 2)
        add("first undo is the last store", 3)
        add("undo counts down", 3)
        add("undo ends at the first store", 3)
        add("a failure with stores is undone", 3)
        add("transaction index counts headers", 1)
        for k in 0..<4 { add("caller word \(k) constant in a transaction", 2) }
        for k in 0..<8 { add("calldata word \(k) constant in a transaction", 2) }
        for name in ["valid", "fails", "fail kind", "fail pc"] { add("\(name) constant in a transaction", 2) }
        add("header bumps the nonce", 2)
        add("undo writes the journal value", 2)
        add("access time is after the previous access", 2)
        add("clock counts rows", 1)
        return c
    }()

    public var auxTransitionConstraints: [ConstraintInfo] {
        [
            ConstraintInfo("bus: program and header", degree: 3),
            ConstraintInfo("bus: memory read and write", degree: 3),
            ConstraintInfo("bus: range limbs 0 and 1", degree: 3),
            ConstraintInfo("bus: range limb 2 and table", degree: 3),
            ConstraintInfo("bus: cross reads and comparisons", degree: 3),
            ConstraintInfo("bus: hashes and journal", degree: 3),
            ConstraintInfo("bus: running sum", degree: 1),
        ]
    }

    // MARK: Main constraints

    // The prover calls this through the AIR protocol from generic code, so without these
    // pre-specialized entry points every field operation would go through a witness table.
    @_specialize(where E == Goldilocks)
    @_specialize(where E == Ext2)
    public func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        typealias C = Column
        let cur = frame.current
        let nxt = frame.next
        let one = E.one
        var i = 0
        @inline(__always) func emit(_ value: E) {
            result[i] = value
            i += 1
        }
        @inline(__always) func op(_ o: Op) -> E { cur[C.op + o.rawValue] }

        let hdr = cur[C.header], step = cur[C.step], oos = cur[C.outOfSteps], undo = cur[C.undo]
        let pad = cur[C.padding]
        let hdrN = nxt[C.header], stepN = nxt[C.step], oosN = nxt[C.outOfSteps], undoN = nxt[C.undo]
        emit(hdr * (one - hdr))
        emit(step * (one - step))
        emit(oos * (one - oos))
        emit(undo * (one - undo))
        emit(pad * (one - pad))
        emit(hdr + step + oos + undo + pad - one)

        var opSum = E.zero
        var opcode = E.zero
        for o in Op.allCases {
            let flag = op(o)
            emit(flag * (one - flag))
            opSum += flag
            opcode += flag * E(Goldilocks(UInt64(o.rawValue)))
        }
        emit(opSum - step)
        emit(cur[C.opcode] - opcode)

        @inline(__always) func m(_ k: Int) -> E { cur[C.mask + k] }
        for k in 0..<4 { emit(m(k) * (one - m(k))) }
        for k in 0..<3 { emit(m(k + 1) * (one - m(k))) }

        for (start, field) in Self.selectorFields {
            var sum = E.zero
            var index = E.zero
            for r in 0..<16 {
                let s = cur[start + r]
                emit(s * (one - s))
                sum += s
                index += s * E(Goldilocks(UInt64(r)))
            }
            emit(sum - step)
            emit(index - cur[field])
        }
        let opArg = op(.arg)

        @inline(__always) func r(_ j: Int) -> E { cur[C.register + j] }
        @inline(__always) func selected(_ start: Int, offset: Int) -> E {
            var acc = E.zero
            for s in 0..<(16 - offset) { acc += cur[start + s] * cur[C.register + s + offset] }
            return acc
        }
        let xv = cur[C.xValue], yv = cur[C.qWords]
        emit(xv - selected(C.xSelect, offset: 0))
        for k in 0..<8 { emit(step * (cur[C.qWords + k] - selected(C.qSelect, offset: k))) }
        @inline(__always) func cd(_ k: Int) -> E { cur[C.calldata + k] }
        @inline(__always) func argWords(_ k: Int) -> E { cur[C.argWords + k] }
        // `arg` selects its calldata offset with the x selector (it reads no register).
        for k in 0..<4 {
            var acc = E.zero
            for j in 0..<(8 - k) { acc += cur[C.xSelect + j] * cd(j + k) }
            emit(opArg * (argWords(k) - acc))
        }

        @inline(__always) func res(_ k: Int) -> E { cur[C.result + k] }
        let imm = cur[C.imm]
        let z = cur[C.isZero], f = cur[C.fails]
        emit(op(.set) * (res(0) - imm))
        emit(op(.mov) * (res(0) - xv))
        emit(op(.add) * (res(0) - xv - yv))
        emit(op(.addi) * (res(0) - xv - imm))
        emit(op(.sub) * (res(0) - xv + yv))
        emit(op(.mul) * (res(0) - xv * yv))
        emit(op(.div) * (res(0) * yv - xv * (one - f)))
        emit(op(.inv) * (res(0) * xv - one + f))
        emit((op(.eq) + op(.not)) * (res(0) - z))
        for k in 0..<4 { emit(opArg * m(k) * (res(k) - argWords(k))) }
        for k in 0..<4 { emit(op(.caller) * (res(k) - cur[C.caller + k])) }
        let old = cur[C.old], new = cur[C.new]
        emit(op(.load) * (res(0) - old))
        emit(op(.load) * (new - old))
        emit(op(.store) * (new - xv))
        emit(op(.store) * (cur[C.journalValue] - old))
        for k in 0..<4 { emit((one - m(k)) * (res(k) - selected(C.dstSelect, offset: k))) }

        let zin = cur[C.zeroIn]
        let singleTest = op(.jz) + op(.jnz) + op(.not) + op(.assert) + op(.inv)
        emit(singleTest * (zin - xv))
        emit(op(.eq) * (zin - xv + yv))
        emit(op(.div) * (zin - yv))
        emit(z * (one - z))
        emit(zin * cur[C.zeroInverse] - one + z)
        emit(zin * z)
        let failingTest = op(.assert) + op(.div) + op(.inv)
        emit(failingTest * (f - z))
        emit(f * (one - failingTest))
        let taken = cur[C.taken]
        emit(taken - op(.jmp) - op(.jz) * z - op(.jnz) * (one - z))

        // Row sequencing.
        let endsStep = op(.ret) + op(.fail) + f
        let continuing = step - endsStep
        let failure = op(.fail) + f + oos
        let valid = cur[C.valid]
        emit(continuing * (one - stepN - oosN))
        emit((endsStep + oos) * (stepN + oosN))
        emit(stepN * (one - hdr - continuing))
        emit(oosN * (one - continuing))
        emit(hdr * valid * (one - stepN))
        emit(hdr * (one - valid) * stepN)
        emit(hdr * (oosN + undoN))
        emit(undoN * (one - undo - failure))
        emit(pad * (one - nxt[C.padding]))

        // Outcomes.
        let txFails = cur[C.txFails]
        emit(op(.ret) * txFails)
        emit(failure * (one - txFails))
        emit(failure * (cur[C.failPC] - cur[C.pc]))
        let kind =
            op(.assert) * E(Goldilocks(FailKind.assertion.rawValue))
            + op(.fail) * E(Goldilocks(FailKind.aborted.rawValue))
            + (op(.div) + op(.inv)) * E(Goldilocks(FailKind.divisionByZero.rawValue))
            + oos * E(Goldilocks(FailKind.outOfSteps.rawValue))
        emit(failure * (cur[C.failKind] - kind))
        emit(op(.ret) * cur[C.failKind])
        emit(op(.ret) * cur[C.failPC])

        // Registers.
        let startsRun = hdr * valid
        for j in 0..<16 { emit(startsRun * nxt[C.register + j]) }
        for j in 0..<16 {
            var written = E.zero
            for k in 0..<4 where j - k >= 0 { written += cur[C.dstSelect + j - k] * (res(k) - r(j)) }
            emit(continuing * (nxt[C.register + j] - r(j) - written))
        }
        let pc = cur[C.pc]
        emit(startsRun * (nxt[C.pc] - pc))
        emit(continuing * (nxt[C.pc] - pc - one - taken * (imm - pc - one)))

        let budget = cur[C.budget]
        emit(startsRun * (nxt[C.budget] - E(Goldilocks(UInt64(publicInputs.maxSteps)))))
        emit(continuing * (nxt[C.budget] - budget + one))
        emit(step * (budget * cur[C.budgetInverse] - one))
        emit(oos * budget)

        let stores = cur[C.stores], storesN = nxt[C.stores]
        emit(startsRun * storesN)
        emit(continuing * (storesN - stores - op(.store)))
        emit(failure * undoN * (storesN - stores + one))
        emit(undo * undoN * (storesN - stores + one))
        emit(undo * (one - undoN) * stores)
        emit(failure * (one - undoN) * stores)

        emit(nxt[C.tx] - cur[C.tx] - hdrN)
        let notHeaderN = one - hdrN
        for k in 0..<4 { emit(notHeaderN * (nxt[C.caller + k] - cur[C.caller + k])) }
        for k in 0..<8 { emit(notHeaderN * (nxt[C.calldata + k] - cd(k))) }
        for column in Self.outcomeColumns {
            emit(notHeaderN * (nxt[column] - cur[column]))
        }
        emit(hdr * (new - old - one))
        emit(undo * (cur[C.journalValue] - new))

        let memory = op(.load) + op(.store) + hdr + undo
        let gap =
            cur[C.clock] - cur[C.previousTime] - one - cur[C.limb] - cur[C.limb + 1] * E(Goldilocks(256))
            - cur[C.limb + 2] * E(Goldilocks(65536))
        emit(memory * gap)
        emit(nxt[C.clock] - cur[C.clock] - one)
        precondition(i == result.count, "ThreadVMAIR wrote \(i) constraints, declared \(result.count)")
    }

    // MARK: Buses

    /// β¹ … β^(width−1).
    static func coefficients<E: STARKField>(beta: E, width: Int) -> [E] {
        var out: [E] = []
        out.reserveCapacity(max(0, width - 1))
        var power = beta
        for _ in 1..<max(width, 1) {
            out.append(power)
            power *= beta
        }
        return out
    }

    /// The twelve (multiplicity, tuple) terms a row sends, in pair order.
    static func terms<E: STARKField>(
        current cur: [E], periodic: [E], tag: (Bus) -> E
    ) -> [(E, [E])] {
        typealias C = Column
        func op(_ o: Op) -> E { cur[C.op + o.rawValue] }
        let q = (0..<4).map { cur[C.qWords + $0] }
        let memory = op(.load) + op(.store) + cur[C.header] + cur[C.undo]
        let program: [E] = [tag(.program)] + (C.pc...(C.mask + 3)).map { cur[$0] }
        let header: [E] =
            [tag(.header), cur[C.tx]] + (0..<4).map { cur[C.caller + $0] } + [cur[C.old]] + q
            + [cur[C.pc], cur[C.valid], cur[C.txFails], cur[C.failKind], cur[C.failPC]]
            + (0..<8).map { cur[C.calldata + $0] }
        // Element 1 is the address space: 1 for the nonce a header bumps, 0 for contract storage,
        // so a contract that stores to a nonce key never touches the nonce itself.
        let read: [E] = [tag(.memory), cur[C.header]] + q + [cur[C.old], cur[C.previousTime]]
        let write: [E] = [tag(.memory), cur[C.header]] + q + [cur[C.new], cur[C.clock]]
        let cross: [E] = [tag(.crossRead), cur[C.xValue]] + q + [cur[C.result]]
        let less: [E] = [tag(.lessThan), cur[C.xValue], cur[C.qWords], cur[C.result]]
        let hash: [E] =
            [tag(.hash), cur[C.n]] + (0..<8).map { cur[C.qWords + $0] } + (0..<4).map { cur[C.result + $0] }
        let journal: [E] = [tag(.journal), cur[C.tx], cur[C.stores]] + q + [cur[C.journalValue]]
        return [
            (cur[C.step], program),
            (cur[C.header], header),
            (E.zero - memory, read),
            (memory, write),
            (memory, [tag(.range), cur[C.limb]]),
            (memory, [tag(.range), cur[C.limb + 1]]),
            (memory, [tag(.range), cur[C.limb + 2]]),
            (E.zero - cur[C.rangeCount], [tag(.range), periodic[0]]),
            (op(.xload), cross),
            (op(.lt), less),
            (op(.hash), hash),
            (cur[C.txFails] * op(.store) - cur[C.undo], journal),
        ]
    }

    static func fingerprint<E: STARKField>(_ tuple: [E], powers: [E]) -> E {
        var acc = tuple[0]
        for k in 1..<tuple.count { acc += powers[k - 1] * tuple[k] }
        return acc
    }

    /// The widest tuple (the header's).
    static let maxTupleWidth = 24

    public func evaluateAuxTransition(_ frame: EvaluationFrame<Ext2>, challenges: [Ext2], into result: inout [Ext2]) {
        precondition(
            challenges.count == auxChallengeCount && frame.auxCurrent.count == auxWidth
                && frame.auxNext.count == auxWidth && frame.periodic.count == 1,
            "ThreadVMAIR needs its \(auxChallengeCount) challenges, \(auxWidth) auxiliary columns and its range table")
        let alpha = challenges[0]
        let powers = Self.coefficients(beta: challenges[1], width: Self.maxTupleWidth)
        let terms = Self.terms(current: frame.current, periodic: frame.periodic) { Ext2($0.tag) }
        var helpers = Ext2.zero
        for pair in 0..<6 {
            let (m1, t1) = terms[2 * pair]
            let (m2, t2) = terms[2 * pair + 1]
            let d1 = alpha - Self.fingerprint(t1, powers: powers)
            let d2 = alpha - Self.fingerprint(t2, powers: powers)
            let h = frame.auxCurrent[pair]
            helpers += h
            result[pair] = h * d1 * d2 - m1 * d2 - m2 * d1
        }
        result[6] = frame.auxNext[6] - frame.auxCurrent[6] - helpers
    }

    // MARK: Boundaries

    public func mainAssertions() -> [Assertion<Goldilocks>] {
        [
            Assertion(column: Column.header, row: 0, value: .one),
            Assertion(column: Column.tx, row: 0, value: .zero),
            Assertion(column: Column.clock, row: 0, value: .one),
            // The last row is padding and nothing else: no transition constraint reaches it, so
            // a run left open there would never have to end.
            Assertion(column: Column.padding, row: traceLength - 1, value: .one),
            Assertion(column: Column.header, row: traceLength - 1, value: .zero),
            Assertion(column: Column.step, row: traceLength - 1, value: .zero),
            Assertion(column: Column.outOfSteps, row: traceLength - 1, value: .zero),
            Assertion(column: Column.undo, row: traceLength - 1, value: .zero),
        ]
    }

    /// The running sum starts at zero and ends at the public side of every bus.
    public func auxAssertions(challenges: [Ext2]) -> [Assertion<Ext2>] {
        precondition(challenges.count == auxChallengeCount, "ThreadVMAIR needs its \(auxChallengeCount) challenges")
        var total = Ext2.zero
        for table in publicInputs.tables {
            let coefficients = Self.coefficients(beta: challenges[1], width: table.width)
            // A challenge that hits a public fingerprint (probability about 2^-120) makes the
            // proof fail; it never makes a false statement pass.
            total += (try? table.sum(alpha: challenges[0], coefficients: coefficients)) ?? Ext2(.zero, .one)
        }
        return [
            Assertion(column: 6, row: 0, value: .zero),
            Assertion(column: 6, row: traceLength - 1, value: total),
        ]
    }

    /// Builds the six helper columns and the running sum, the fractions batch-inverted in parallel
    /// chunks.
    public func buildAuxTrace(main: TraceTable, challenges: [Ext2], threads: Int) throws(STARKError) -> [[Ext2]] {
        guard challenges.count == auxChallengeCount else {
            throw .invalidTrace("ThreadVMAIR needs \(auxChallengeCount) challenges, got \(challenges.count)")
        }
        let n = main.length
        let columns = main.columns
        let alpha = challenges[0]
        let powers = Self.coefficients(beta: challenges[1], width: Self.maxTupleWidth)
        let table = periodicColumns[0]
        // helpers[i * 6 + pair]
        let helpers: [Ext2] = parallelArray(count: n * 6, threads: threads, minChunk: 6 * 512) { range, out in
            let rows = (range.lowerBound / 6)..<((range.upperBound + 5) / 6)
            var denominators: [Ext2] = []
            var numerators: [(Ext2, Ext2)] = []
            denominators.reserveCapacity(rows.count * 12)
            numerators.reserveCapacity(rows.count * 6)
            var cur = [Ext2](repeating: .zero, count: columns.count)
            for i in rows {
                for c in 0..<columns.count { cur[c] = Ext2(columns[c][i]) }
                let terms = Self.terms(current: cur, periodic: [Ext2(table[i % 256])]) { Ext2($0.tag) }
                for pair in 0..<6 {
                    denominators.append(alpha - Self.fingerprint(terms[2 * pair].1, powers: powers))
                    denominators.append(alpha - Self.fingerprint(terms[2 * pair + 1].1, powers: powers))
                    numerators.append((terms[2 * pair].0, terms[2 * pair + 1].0))
                }
            }
            let inverses = batchInverse(denominators)
            for slot in range {
                let local = slot - rows.lowerBound * 6
                let (m1, m2) = numerators[local]
                (out.baseAddress! + slot).initialize(to: m1 * inverses[2 * local] + m2 * inverses[2 * local + 1])
            }
        }
        var aux = (0..<6).map { pair in (0..<n).map { helpers[$0 * 6 + pair] } }
        var running = [Ext2](repeating: .zero, count: n)
        for i in 1..<n {
            var step = running[i - 1]
            for pair in 0..<6 { step += helpers[(i - 1) * 6 + pair] }
            running[i] = step
        }
        aux.append(running)
        return aux
    }
}
