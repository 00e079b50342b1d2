/// A storage key: four Goldilocks words (about 256 bits), so collisions are not a practical attack.
public struct StorageKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The four words, most significant first for ordering.
    public var words: (Goldilocks, Goldilocks, Goldilocks, Goldilocks)

    /// A key from its four words.
    public init(_ w0: Goldilocks, _ w1: Goldilocks, _ w2: Goldilocks, _ w3: Goldilocks) {
        words = (w0, w1, w2, w3)
    }

    /// The four words in order.
    public var array: [Goldilocks] { [words.0, words.1, words.2, words.3] }

    public static func == (a: StorageKey, b: StorageKey) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
    public static func < (a: StorageKey, b: StorageKey) -> Bool {
        let x = a.words, y = b.words
        if x.0 != y.0 { return x.0 < y.0 }
        if x.1 != y.1 { return x.1 < y.1 }
        if x.2 != y.2 { return x.2 < y.2 }
        return x.3 < y.3
    }
    public var description: String { "<" + array.map(\.description).joined(separator: ",") + ">" }
}

/// A `<key, value>` pair of a public input or output list.
public struct StorageEntry: Sendable, Hashable {
    public var key: StorageKey
    public var value: Goldilocks

    public init(key: StorageKey, value: Goldilocks) {
        self.key = key
        self.value = value
    }
}

/// One access of the private log, in execution order.
public struct StorageAccess: Sendable, Hashable {
    /// Whether the access reads or writes the key.
    public enum Kind: Sendable, Hashable { case read, write }
    public var kind: Kind
    public var key: StorageKey
    /// The value read, or the value written.
    public var value: Goldilocks

    public init(_ kind: Kind, key: StorageKey, value: Goldilocks) {
        self.kind = kind
        self.key = key
        self.value = value
    }
}

/// Proves that a private access log is consistent with public input and output lists.
///
/// Statement: the input list gives each touched key's value before the log, the output list its
/// value after; both list the same keys, each once. The hidden log (reads and writes in order)
/// is consistent: each key's first access sees the input value, every read sees the last write
/// (or the input value), and each key's final value is the output value.
///
/// Each row holds an execution-order entry (left columns) and a sorted entry (right columns).
/// The sorted side lists, per key, an init row, the key's accesses in time order, and a final
/// row. Constraints force the group structure, key continuity and value continuity; a LogUp
/// multiset argument (aux column 0) shows the sorted accesses are a permutation of the execution
/// log and that the init/final rows are exactly the public lists; a LogUp range check (aux column
/// 1) shows times strictly increase within a group. See docs/stark.md.
public struct KeyValueAIR: AIR {
    /// The public lists.
    public struct PublicInputs: Sendable, Hashable {
        /// Each touched key's value before the log, each key once.
        public var inputs: [StorageEntry]
        /// Each touched key's value after the log, the same keys as `inputs`.
        public var outputs: [StorageEntry]

        public init(inputs: [StorageEntry], outputs: [StorageEntry]) {
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    public static let identity = "kv-consistency/v1"

    /// Main column indices.
    enum Column {
        static let execKey = 0  // 0...3
        static let execValue = 4
        static let execWrite = 5
        static let execReal = 6
        static let execTime = 7
        static let sortedKey = 8  // 8...11
        static let sortedValue = 12
        static let sortedTime = 13
        static let sortedWrite = 14
        static let isInit = 15
        static let isAccess = 16
        static let isFinal = 17
        static let multiplicity = 18
        static let count = 19
    }

    /// Fingerprint tags separating execution accesses (0), init rows (1) and final rows (2).
    static let initTag = Goldilocks(1)
    static let finalTag = Goldilocks(2)

    public let traceLength: Int
    public let publicInputs: PublicInputs

    /// Checks the statement: distinct keys in each list, the same key set in both, and at least
    /// 2·keys + 1 rows; throws ``STARKError/invalidPublicInputs(_:)`` otherwise.
    public init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError) {
        let inKeys = publicInputs.inputs.map(\.key).sorted()
        let outKeys = publicInputs.outputs.map(\.key).sorted()
        for i in inKeys.indices.dropFirst() where inKeys[i] == inKeys[i - 1] {
            throw .invalidPublicInputs("duplicate key \(inKeys[i]) in the input list")
        }
        for i in outKeys.indices.dropFirst() where outKeys[i] == outKeys[i - 1] {
            throw .invalidPublicInputs("duplicate key \(outKeys[i]) in the output list")
        }
        guard inKeys == outKeys else {
            throw .invalidPublicInputs("the input and output lists must name the same keys")
        }
        guard traceLength >= 2 * inKeys.count + 1 else {
            throw .invalidPublicInputs("\(inKeys.count) keys need at least \(2 * inKeys.count + 1) rows")
        }
        self.traceLength = traceLength
        self.publicInputs = publicInputs
    }

    public var publicInputElements: [Goldilocks] {
        var out: [Goldilocks] = []
        out.reserveCapacity(2 + 5 * (publicInputs.inputs.count + publicInputs.outputs.count))
        for list in [publicInputs.inputs, publicInputs.outputs] {
            out.append(Goldilocks(UInt64(list.count)))
            for e in list {
                let k = e.key.words
                out.append(k.0)
                out.append(k.1)
                out.append(k.2)
                out.append(k.3)
                out.append(e.value)
            }
        }
        return out
    }

    public var mainWidth: Int { Column.count }
    public var auxWidth: Int { 2 }
    /// α (multiset), γ (range check), and seven fingerprint coefficients.
    public var auxChallengeCount: Int { 9 }

    public var transitionConstraints: [ConstraintInfo] {
        [
            ConstraintInfo("exec: real flag is binary", degree: 2),
            ConstraintInfo("exec: real rows come first", degree: 2),
            ConstraintInfo("exec: time counts rows", degree: 1),
            ConstraintInfo("sorted: init flag is binary", degree: 2),
            ConstraintInfo("sorted: access flag is binary", degree: 2),
            ConstraintInfo("sorted: final flag is binary", degree: 2),
            ConstraintInfo("sorted: write flag is binary", degree: 2),
            ConstraintInfo("sorted: at most one row kind", degree: 2),
            ConstraintInfo("sorted: init or access is followed by access or final", degree: 2),
            ConstraintInfo("sorted: final is followed by init or padding", degree: 2),
            ConstraintInfo("sorted: padding is followed by padding", degree: 2),
            ConstraintInfo("sorted: key word 0 constant within a group", degree: 2),
            ConstraintInfo("sorted: key word 1 constant within a group", degree: 2),
            ConstraintInfo("sorted: key word 2 constant within a group", degree: 2),
            ConstraintInfo("sorted: key word 3 constant within a group", degree: 2),
            ConstraintInfo("sorted: reads and final rows see the previous value", degree: 3),
        ]
    }

    public var auxTransitionConstraints: [ConstraintInfo] {
        [
            ConstraintInfo("logup: execution log and public lists equal the sorted log", degree: 3),
            ConstraintInfo("logup: time strictly increases within a group", degree: 3),
        ]
    }

    /// Σ c_i·x_i with x = (k0..k3, value, time, write, tag) and c_0 = 1.
    @inline(__always)
    static func fingerprint<E: STARKField>(
        _ k0: E, _ k1: E, _ k2: E, _ k3: E, value: E, time: E, write: E, tag: E, challenges c: [E]
    ) -> E {
        k0 + c[2] * k1 + c[3] * k2 + c[4] * k3 + c[5] * value + c[6] * time + c[7] * write + c[8] * tag
    }

    public func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        typealias C = Column
        let cur = frame.current
        let nxt = frame.next
        let one = E.one
        let es = cur[C.execReal], esN = nxt[C.execReal]
        let si = cur[C.isInit], sa = cur[C.isAccess], sf = cur[C.isFinal], sw = cur[C.sortedWrite]
        let saN = nxt[C.isAccess], sfN = nxt[C.isFinal], swN = nxt[C.sortedWrite]
        let real = si + sa + sf
        let realN = nxt[C.isInit] + saN + sfN
        let inGroup = si + sa

        result[0] = es * (one - es)
        result[1] = esN * (one - es)
        result[2] = nxt[C.execTime] - cur[C.execTime] - one
        result[3] = si * (one - si)
        result[4] = sa * (one - sa)
        result[5] = sf * (one - sf)
        result[6] = sw * (one - sw)
        result[7] = real * (one - real)
        result[8] = inGroup * (one - saN - sfN)
        result[9] = sf * (saN + sfN)
        result[10] = (one - real) * realN
        for j in 0..<4 {
            result[11 + j] = inGroup * (nxt[C.sortedKey + j] - cur[C.sortedKey + j])
        }
        result[15] = (saN * (one - swN) + sfN) * (nxt[C.sortedValue] - cur[C.sortedValue])
    }

    /// The two LogUp running sums (multiset and range check).
    public func evaluateAuxTransition(_ frame: EvaluationFrame<Ext2>, challenges: [Ext2], into result: inout [Ext2]) {
        typealias C = Column
        typealias E = Ext2
        let cur = frame.current
        let nxt = frame.next
        let one = E.one
        // The LogUp constraints need the challenges and the auxiliary columns: evaluating them as
        // zero without those would silently drop the memory argument.
        precondition(
            challenges.count == auxChallengeCount && frame.auxCurrent.count == auxWidth
                && frame.auxNext.count == auxWidth,
            "KeyValueAIR needs its \(auxChallengeCount) challenges and \(auxWidth) auxiliary columns")
        let es = cur[C.execReal]
        let si = cur[C.isInit], sa = cur[C.isAccess], sf = cur[C.isFinal], sw = cur[C.sortedWrite]
        let saN = nxt[C.isAccess]
        let real = si + sa + sf
        let alpha = challenges[0]
        let gamma = challenges[1]
        let fpExec = KeyValueAIR.fingerprint(
            cur[C.execKey], cur[C.execKey + 1], cur[C.execKey + 2], cur[C.execKey + 3],
            value: cur[C.execValue], time: cur[C.execTime], write: cur[C.execWrite], tag: .zero,
            challenges: challenges)
        let tag = si * E(KeyValueAIR.initTag) + sf * E(KeyValueAIR.finalTag)
        let fpSorted = KeyValueAIR.fingerprint(
            cur[C.sortedKey], cur[C.sortedKey + 1], cur[C.sortedKey + 2], cur[C.sortedKey + 3],
            value: cur[C.sortedValue], time: cur[C.sortedTime], write: sw, tag: tag, challenges: challenges)
        let dExec = alpha - fpExec
        let dSorted = alpha - fpSorted
        let m = frame.auxCurrent[0], mN = frame.auxNext[0]
        result[0] = (mN - m) * dExec * dSorted - es * dSorted + real * dExec

        let gap = nxt[C.sortedTime] - cur[C.sortedTime] - one
        let dGap = gamma - gap
        let dTable = gamma - cur[C.execTime]
        let r = frame.auxCurrent[1], rN = frame.auxNext[1]
        result[1] = (rN - r) * dGap * dTable - sa * saN * dTable + cur[C.multiplicity] * dGap
    }

    public func mainAssertions() -> [Assertion<Goldilocks>] {
        let last = traceLength - 1
        return [
            Assertion(column: Column.execTime, row: 0, value: .zero),
            Assertion(column: Column.isAccess, row: 0, value: .zero),
            Assertion(column: Column.isFinal, row: 0, value: .zero),
            Assertion(column: Column.execReal, row: last, value: .zero),
            Assertion(column: Column.isInit, row: last, value: .zero),
            Assertion(column: Column.isAccess, row: last, value: .zero),
            Assertion(column: Column.isFinal, row: last, value: .zero),
        ]
    }

    /// The multiset sum ends at −Σ 1/(α − fp(input)) − Σ 1/(α − fp(output)), computed from the
    /// public lists; the range sum ends at zero.
    public func auxAssertions(challenges: [Ext2]) -> [Assertion<Ext2>] {
        precondition(challenges.count == auxChallengeCount, "KeyValueAIR needs its \(auxChallengeCount) challenges")
        var denominators: [Ext2] = []
        for (list, tag) in [(publicInputs.inputs, KeyValueAIR.initTag), (publicInputs.outputs, KeyValueAIR.finalTag)] {
            for e in list {
                let k = e.key.words
                let fp = KeyValueAIR.fingerprint(
                    Ext2(k.0), Ext2(k.1), Ext2(k.2), Ext2(k.3), value: Ext2(e.value), time: .zero, write: .zero,
                    tag: Ext2(tag), challenges: challenges)
                denominators.append(challenges[0] - fp)
            }
        }
        var total = Ext2.zero
        for inv in batchInverse(denominators) { total += inv }
        let last = traceLength - 1
        return [
            Assertion(column: 0, row: 0, value: .zero),
            Assertion(column: 0, row: last, value: -total),
            Assertion(column: 1, row: 0, value: .zero),
            Assertion(column: 1, row: last, value: .zero),
        ]
    }

    /// Builds the two running sums on up to `threads` threads: the fractions of each row are
    /// computed and batch-inverted in parallel chunks, then the prefix sums are taken chunk by chunk
    /// (each chunk's local sums in parallel, then shifted by the sum of the chunks before it).
    public func buildAuxTrace(main: TraceTable, challenges: [Ext2], threads: Int) throws(STARKError) -> [[Ext2]] {
        guard challenges.count == auxChallengeCount else {
            throw .invalidTrace("KeyValueAIR needs \(auxChallengeCount) challenges, got \(challenges.count)")
        }
        typealias C = Column
        let n = main.length
        let col = main.columns
        let alpha = challenges[0]
        let gamma = challenges[1]
        // steps[i] = (multiset step, range step) from row i to row i + 1; the last row has none.
        let steps: [(Ext2, Ext2)] = parallelArray(count: n - 1, threads: threads, minChunk: 1024) { range, out in
            var dExec: [Ext2] = []
            var dSorted: [Ext2] = []
            var dGap: [Ext2] = []
            var dTable: [Ext2] = []
            dExec.reserveCapacity(range.count)
            dSorted.reserveCapacity(range.count)
            dGap.reserveCapacity(range.count)
            dTable.reserveCapacity(range.count)
            for i in range {
                let fpE = KeyValueAIR.fingerprint(
                    Ext2(col[C.execKey][i]), Ext2(col[C.execKey + 1][i]), Ext2(col[C.execKey + 2][i]),
                    Ext2(col[C.execKey + 3][i]), value: Ext2(col[C.execValue][i]), time: Ext2(col[C.execTime][i]),
                    write: Ext2(col[C.execWrite][i]), tag: .zero, challenges: challenges)
                let tag = col[C.isInit][i] * KeyValueAIR.initTag + col[C.isFinal][i] * KeyValueAIR.finalTag
                let fpS = KeyValueAIR.fingerprint(
                    Ext2(col[C.sortedKey][i]), Ext2(col[C.sortedKey + 1][i]), Ext2(col[C.sortedKey + 2][i]),
                    Ext2(col[C.sortedKey + 3][i]), value: Ext2(col[C.sortedValue][i]),
                    time: Ext2(col[C.sortedTime][i]), write: Ext2(col[C.sortedWrite][i]), tag: Ext2(tag),
                    challenges: challenges)
                dExec.append(alpha - fpE)
                dSorted.append(alpha - fpS)
                dTable.append(gamma - Ext2(col[C.execTime][i]))
                dGap.append(gamma - Ext2(col[C.sortedTime][i + 1] - col[C.sortedTime][i] - .one))
            }
            let invExec = batchInverse(dExec)
            let invSorted = batchInverse(dSorted)
            let invGap = batchInverse(dGap)
            let invTable = batchInverse(dTable)
            for (k, i) in range.enumerated() {
                let real = col[C.isInit][i] + col[C.isAccess][i] + col[C.isFinal][i]
                let pair = col[C.isAccess][i] * col[C.isAccess][i + 1]
                (out.baseAddress! + i).initialize(
                    to: (
                        invExec[k] * col[C.execReal][i] - invSorted[k] * real,
                        invGap[k] * pair - invTable[k] * col[C.multiplicity][i]
                    ))
            }
        }
        // Prefix sums: S[0] = 0, S[i + 1] = S[i] + step[i].
        let chunkCount = max(1, min(threads * 4, (n - 1) / 4096))
        let chunkSize = (n - 1 + chunkCount - 1) / chunkCount
        var multiset = [Ext2](repeating: .zero, count: n)
        var range = [Ext2](repeating: .zero, count: n)
        var totals = [(Ext2, Ext2)](repeating: (.zero, .zero), count: chunkCount)
        multiset.withUnsafeMutableBufferPointer { ms in
            range.withUnsafeMutableBufferPointer { rs in
                totals.withUnsafeMutableBufferPointer { ts in
                    let box = UncheckedSendable((ms, rs, ts))
                    // Local sums of each chunk, written at rows lo + 1 ... hi.
                    parallelForEach(count: chunkCount, threads: threads) { chunk in
                        let (m, r, t) = box.value
                        var a = Ext2.zero
                        var b = Ext2.zero
                        for i in (chunk * chunkSize)..<min(n - 1, (chunk + 1) * chunkSize) {
                            a += steps[i].0
                            b += steps[i].1
                            m[i + 1] = a
                            r[i + 1] = b
                        }
                        t[chunk] = (a, b)
                    }
                    // Shift each chunk by the total of the chunks before it.
                    var offsets = [(Ext2, Ext2)](repeating: (.zero, .zero), count: chunkCount)
                    for chunk in 1..<max(1, chunkCount) {
                        offsets[chunk] = (
                            offsets[chunk - 1].0 + ts[chunk - 1].0, offsets[chunk - 1].1 + ts[chunk - 1].1
                        )
                    }
                    parallelForEach(count: chunkCount, threads: threads) { chunk in
                        let (m, r, _) = box.value
                        let (oa, ob) = offsets[chunk]
                        if chunk == 0 { return }
                        for i in (chunk * chunkSize)..<min(n - 1, (chunk + 1) * chunkSize) {
                            m[i + 1] += oa
                            r[i + 1] += ob
                        }
                    }
                }
            }
        }
        return [multiset, range]
    }

    /// Builds the main trace from the public lists and the private log.
    ///
    /// The trace records the log as given; an inconsistent log yields a trace that violates a
    /// constraint, which the prover refuses to prove. Throws when the log touches a key that is
    /// not in the lists or does not fit in `traceLength` rows (default: the smallest power of two).
    public static func buildTrace(
        publicInputs: PublicInputs, log: [StorageAccess], traceLength: Int? = nil
    ) throws(STARKError) -> TraceTable {
        let keys = publicInputs.inputs.map(\.key).sorted()
        let inputValue = Dictionary(publicInputs.inputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let outputValue = Dictionary(publicInputs.outputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let needed = max(log.count + 2 * keys.count + 1, 8)
        var n = 8
        while n < needed { n *= 2 }
        if let traceLength {
            guard traceLength >= needed, traceLength & (traceLength - 1) == 0 else {
                throw .invalidTrace("\(log.count) accesses and \(keys.count) keys need \(needed) rows")
            }
            n = traceLength
        }
        var byKey: [StorageKey: [Int]] = [:]
        for (t, access) in log.enumerated() {
            guard inputValue[access.key] != nil, outputValue[access.key] != nil else {
                throw .invalidTrace("access \(t) touches key \(access.key), which is not in the public lists")
            }
            byKey[access.key, default: []].append(t)
        }
        typealias C = Column
        var cols = [[Goldilocks]](repeating: [Goldilocks](repeating: .zero, count: n), count: C.count)
        for (t, access) in log.enumerated() {
            for j in 0..<4 { cols[C.execKey + j][t] = access.key.array[j] }
            cols[C.execValue][t] = access.value
            cols[C.execWrite][t] = access.kind == .write ? .one : .zero
            cols[C.execReal][t] = .one
        }
        for i in 0..<n { cols[C.execTime][i] = Goldilocks(UInt64(i)) }
        var row = 0
        func put(_ key: StorageKey, value: Goldilocks, time: Int, write: Bool, kind: Int) {
            for j in 0..<4 { cols[C.sortedKey + j][row] = key.array[j] }
            cols[C.sortedValue][row] = value
            cols[C.sortedTime][row] = Goldilocks(UInt64(time))
            cols[C.sortedWrite][row] = write ? .one : .zero
            cols[kind][row] = .one
            row += 1
        }
        var counts = [UInt64](repeating: 0, count: n)
        for key in keys {
            put(key, value: inputValue[key] ?? .zero, time: 0, write: false, kind: C.isInit)
            var previous: Int?
            for t in byKey[key] ?? [] {
                put(key, value: log[t].value, time: t, write: log[t].kind == .write, kind: C.isAccess)
                if let previous { counts[t - previous - 1] += 1 }
                previous = t
            }
            put(key, value: outputValue[key] ?? .zero, time: 0, write: false, kind: C.isFinal)
        }
        for i in 0..<n { cols[C.multiplicity][i] = Goldilocks(counts[i]) }
        return TraceTable(columns: cols)
    }

    /// Replays `log` from the input list and returns the output list it produces (in input order),
    /// or `nil` if some read does not see the current value.
    public static func replay(inputs: [StorageEntry], log: [StorageAccess]) -> [StorageEntry]? {
        var state = Dictionary(inputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        for access in log {
            guard let current = state[access.key] else { return nil }
            switch access.kind {
            case .read: if current != access.value { return nil }
            case .write: state[access.key] = access.value
            }
        }
        return inputs.map { StorageEntry(key: $0.key, value: state[$0.key] ?? $0.value) }
    }

    /// A deterministic random workload filling `traceLength` rows: about one key per 16 rows.
    public static func benchmarkWorkload(traceLength n: Int) throws(STARKError) -> (
        trace: TraceTable, publicInputs: PublicInputs
    ) {
        var seed: UInt64 = 0x5EED
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 11
        }
        let keyCount = max(1, n / 16)
        let accesses = n - 2 * keyCount - 1
        let keys = (0..<keyCount).map { _ in
            StorageKey(Goldilocks(next()), Goldilocks(next()), Goldilocks(next()), Goldilocks(next()))
        }
        let inputs = keys.map { StorageEntry(key: $0, value: Goldilocks(next())) }
        var state = Dictionary(uniqueKeysWithValues: inputs.map { ($0.key, $0.value) })
        var log: [StorageAccess] = []
        log.reserveCapacity(accesses)
        for _ in 0..<accesses {
            let key = keys[Int(next() % UInt64(keyCount))]
            if next() % 3 == 0 {
                let v = Goldilocks(next())
                state[key] = v
                log.append(StorageAccess(.write, key: key, value: v))
            } else {
                log.append(StorageAccess(.read, key: key, value: state[key] ?? .zero))
            }
        }
        let outputs = keys.map { StorageEntry(key: $0, value: state[$0] ?? .zero) }
        let publicInputs = PublicInputs(inputs: inputs, outputs: outputs)
        let trace = try buildTrace(publicInputs: publicInputs, log: log, traceLength: n)
        return (trace, publicInputs)
    }
}
