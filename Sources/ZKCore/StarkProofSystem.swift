public import Foundation
internal import STARK
public import ThreadVM

/// STARK proofs of whole sub-blocks: the node proves the ThreadVM execution of every transaction
/// (``ThreadVMAIR``), and the manager verifies the proof without running a single VM instruction.
///
/// Proof bytes: `"ZKTS"`, a version byte, the claims the AIR's public side is built from
/// (``ThreadProofClaims``), then the STARK proof. Verification, in order: the transaction
/// commitment, each transaction's thread and signature (phase 1: signatures are checked outside
/// the proof), the statement's list shapes, the claims (every claimed comparison and hash is
/// recomputed), then the STARK proof against public inputs built from the statement, the program
/// looked up by its hash, the published transactions and the claims, with the options this
/// system requires (never those named in the proof).
///
/// Only OS version 2 threads can be proved: version 2 has the Poseidon2 `hash`, static checks
/// that rule out data-independent failures, and a small step bound.
public struct StarkProofSystem: ProofSystem {
    public static let name = "stark"
    public var name: String { Self.name }
    /// The options every proof is made and checked with.
    public var options: STARKOptions

    public init(options: STARKOptions = .standard) { self.options = options }

    /// The largest trace a node proves: 2^17 rows, about 6,500 token transfers, which proves in
    /// under 4 GiB. Batchers of `stark` threads seal before a sub-block could need more.
    public static let maxTraceRows = 1 << 17

    /// The trace rows one executed transaction takes: its header, its steps, and for a failure an
    /// out-of-steps row at most and one undo row per store.
    public static func traceRows(of result: ExecutionResult) -> Int {
        1 + result.steps + (result.succeeded ? 0 : 1 + result.accessLog.count { $0.kind == .write })
    }

    /// Open rows at which a batcher seals: room is left for one more transaction of the most
    /// rows `rules` allow, and for the padding row.
    public static func rowBudget(_ rules: VMRules) -> Int { maxTraceRows - 4 - 2 * rules.maxSteps }

    static let magic: [UInt8] = Array("ZKTS".utf8)
    static let version: UInt8 = 1

    /// The entrypoint a transaction calls, when its calldata is valid for it (the header's
    /// `valid` flag); nil for a transaction that fails with bad calldata before executing.
    static func entry(of tx: ThreadTransaction, in program: Program) -> Entrypoint? {
        guard let entry = try? program.abi.entrypoint(named: tx.entrypoint),
            entry.calldataWidth <= ThreadVMAIR.calldataWords,
            (try? program.abi.validateCalldata(entrypoint: tx.entrypoint, calldata: tx.calldata)) != nil
        else { return nil }
        return entry
    }

    static func rules(for submission: SubBlockSubmission) throws(ProofError) -> VMRules {
        guard submission.osVersion >= 2, let rules = VMRules.forVersion(submission.osVersion) else {
            throw ProofError(
                message:
                    "the stark proof system proves OS version 2 threads; this sub-block runs OS version \(submission.osVersion)"
            )
        }
        return rules
    }

    public func prove(_ submission: SubBlockSubmission, program: Program) throws -> Data {
        let rules = try Self.rules(for: submission)
        var builder = ThreadTraceBuilder(
            program: program, rules: rules, inputs: submission.inputs, crossReads: submission.crossReads)
        for tx in submission.transactions { _ = try builder.add(tx) }
        let (trace, claims) = try builder.finish(claimedOutputs: submission.outputs)
        let inputs = try Self.publicInputs(submission, program: program, rules: rules, claims: claims).get()
        let stark: [UInt8]
        do {
            let air = try ThreadVMAIR(traceLength: trace.length, publicInputs: inputs)
            stark = try Prover.prove(air: air, trace: trace, options: options.proofOptions).bytes
        } catch {
            throw ProofError(message: "cannot prove sub-block \(submission.sequence): \(error)")
        }
        return Self.proofBytes(claims: claims, stark: stark)
    }

    /// The proof bytes: magic, version, the claims, then the length-prefixed STARK proof.
    static func proofBytes(claims: ThreadProofClaims, stark: [UInt8]) -> Data {
        var writer = CanonicalWriter()
        writer.raw(magic)
        writer.u8(version)
        claims.encode(into: &writer)
        writer.data(stark)
        return Data(writer.bytes)
    }

    public func verify(_ submission: SubBlockSubmission, program: Program) -> ProofCheck {
        verifyReportingFailures(submission, program: program).0
    }

    public func verifyReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        report(check(submission, program: program), submission, program: program)
    }

    /// Reads the claims (the failed calls come from there) without checking the signatures or
    /// the STARK again.
    public func replayReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        report(check(submission, program: program, replaying: true), submission, program: program)
    }

    private func report(
        _ checked: Result<ThreadProofClaims, ProofError>, _ submission: SubBlockSubmission, program: Program
    ) -> (ProofCheck, failures: [Int: String]?) {
        switch checked {
        case .success(let claims):
            var failures: [Int: String] = [:]
            for (index, outcome) in claims.outcomes.enumerated() where outcome.fails {
                failures[index] = Self.describe(
                    outcome, of: submission.transactions[index], in: program, rules: try? Self.rules(for: submission))
            }
            return (.ok, failures)
        case .failure(let error):
            return (.invalid(error.message), nil)
        }
    }

    /// - Parameter replaying: skip the signatures and the STARK (a replay of the manager's own log).
    func check(_ submission: SubBlockSubmission, program: Program, replaying: Bool = false) -> Result<
        ThreadProofClaims, ProofError
    > {
        guard submission.programHash == program.hash else {
            return .failure(
                ProofError(message: "the statement names program \(submission.programHash), not \(program.hash)"))
        }
        let rules: VMRules
        do { rules = try Self.rules(for: submission) } catch { return .failure(error) }
        guard SubBlockSubmission.commitment(to: submission.transactions) == submission.txCommitment else {
            return .failure(ProofError(message: "the transaction commitment does not match the published transactions"))
        }
        if let problem = rules.problems(in: program).first {
            return .failure(ProofError(message: "the program fails the OS version \(rules.version) checks: \(problem)"))
        }
        for (index, tx) in submission.transactions.enumerated() {
            guard tx.nonce < Felt.modulus else {
                return .failure(
                    ProofError(message: "transaction \(index) (\(tx.entrypoint)) has nonce \(tx.nonce), past the field")
                )
            }
            guard tx.threadId == submission.threadId else {
                return .failure(
                    ProofError(message: "transaction \(index) (\(tx.entrypoint)) is signed for thread \(tx.threadId)"))
            }
            guard replaying || tx.verifySignature() else {
                return .failure(
                    ProofError(message: "transaction \(index) (\(tx.entrypoint)) has a bad signature from \(tx.caller)")
                )
            }
        }
        var reader = ProofReader(bytes: [UInt8](submission.proof))
        let claims: ThreadProofClaims
        let stark: [UInt8]
        do {
            guard try reader.take(4) == Self.magic else { throw ProofError(message: "not a stark proof (bad magic)") }
            let version = try reader.u8()
            guard version == Self.version else {
                throw ProofError(message: "stark proof format \(version) is not supported")
            }
            claims = try ThreadProofClaims(from: &reader)
            let length = Int(try reader.u32())
            stark = try reader.take(length)
            guard reader.isAtEnd else { throw ProofError(message: "\(reader.remaining) bytes after the proof") }
        } catch let error as ProofError {
            return .failure(ProofError(message: "malformed stark proof: \(error.message)"))
        } catch {
            return .failure(ProofError(message: "malformed stark proof"))
        }
        let inputs: ThreadVMAIR.PublicInputs
        switch Self.publicInputs(submission, program: program, rules: rules, claims: claims) {
        case .success(let built): inputs = built
        case .failure(let error): return .failure(error)
        }
        do {
            if !replaying {
                try Verifier.verify(
                    air: ThreadVMAIR.self, proof: stark, publicInputs: inputs, options: options.proofOptions)
            }
        } catch {
            return .failure(ProofError(message: "the STARK proof does not verify: \(error)"))
        }
        return .success(claims)
    }

    // MARK: Public inputs

    /// The AIR's public inputs: the statement binding and the public side of every bus, built from
    /// the statement, the program, the published transactions and the checked claims.
    static func publicInputs(
        _ submission: SubBlockSubmission, program: Program, rules: VMRules, claims: ThreadProofClaims
    ) -> Result<ThreadVMAIR.PublicInputs, ProofError> {
        typealias Bus = ThreadVMAIR.Bus
        func g(_ value: UInt64) -> Goldilocks { Goldilocks(value) }
        func f(_ value: Felt) -> Goldilocks { Goldilocks(value.value) }
        func fail(_ message: String) -> Result<ThreadVMAIR.PublicInputs, ProofError> {
            .failure(ProofError(message: message))
        }
        let txs = submission.transactions
        guard claims.outcomes.count == txs.count else {
            return fail("the proof claims \(claims.outcomes.count) outcomes for \(txs.count) transactions")
        }
        guard claims.programCounts.count == program.instructions.count else {
            return fail(
                "the proof counts \(claims.programCounts.count) instructions, the program has \(program.instructions.count)"
            )
        }
        guard claims.finalTimes.count == submission.inputs.count else {
            return fail("the proof gives \(claims.finalTimes.count) final times for \(submission.inputs.count) inputs")
        }
        guard claims.crossCounts.count == submission.crossReads.count else {
            return fail(
                "the proof counts \(claims.crossCounts.count) cross reads, the statement has \(submission.crossReads.count)"
            )
        }
        for i in submission.inputs.indices.dropFirst() where !(submission.inputs[i - 1].key < submission.inputs[i].key)
        {
            return fail("the inputs are not sorted by key without repeats (entry \(i))")
        }
        for i in submission.outputs.indices.dropFirst()
        where !(submission.outputs[i - 1].key < submission.outputs[i].key) {
            return fail("the outputs are not sorted by key without repeats (entry \(i))")
        }
        for i in submission.crossReads.indices.dropFirst()
        where
            !((submission.crossReads[i - 1].thread, submission.crossReads[i - 1].key)
            < (submission.crossReads[i].thread, submission.crossReads[i].key))
        {
            return fail("the cross reads are not sorted by thread and key without repeats (entry \(i))")
        }
        if let j = claims.finalTimes.firstIndex(of: 0) {
            return fail("claimed input \(j) (\(submission.inputs[j].key)) is never read or written")
        }
        let outputs = Dictionary(submission.outputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let inputKeys = Set(submission.inputs.map(\.key))
        if let stray = submission.outputs.first(where: { !inputKeys.contains($0.key) }) {
            return fail("output \(stray.key) is not among the inputs")
        }

        var tables: [PublicTable] = []
        do {
            // Program: the normalized instruction at each pc, with its execution count.
            let rom = try PublicTable(
                width: 12,
                tuples: program.instructions.enumerated().map { pc, ins in
                    [Bus.program.tag, g(UInt64(pc))] + ProgramBus.fields(ins).elements.map { g($0) }
                },
                multiplicities: claims.programCounts.map { g(UInt64($0)) })
            tables.append(rom)

            // Headers: one per published transaction.
            var headers: [[Goldilocks]] = []
            for (index, tx) in txs.enumerated() {
                let outcome = claims.outcomes[index]
                let entry = entry(of: tx, in: program)
                if entry == nil {
                    guard outcome == ProvenOutcome(kind: UInt8(ThreadVMAIR.FailKind.badCalldata.rawValue), failPC: 0)
                    else { return fail("transaction \(index) has bad calldata, the proof claims otherwise") }
                } else {
                    guard outcome.kind <= UInt8(ThreadVMAIR.FailKind.outOfSteps.rawValue),
                        outcome.fails || outcome.failPC == 0
                    else { return fail("transaction \(index): claimed outcome \(outcome) is not possible") }
                }
                var calldata = [Goldilocks](repeating: .zero, count: ThreadVMAIR.calldataWords)
                if entry != nil { for (k, word) in tx.calldata.enumerated() { calldata[k] = f(word) } }
                let address = tx.caller
                let caller = address.quad.words.map { f($0) }
                let nonceKey = ThreadNonce.key(of: address).quad.words.map { f($0) }
                headers.append(
                    [Bus.header.tag, g(UInt64(index))] + caller + [g(tx.nonce)] + nonceKey
                        + [
                            g(UInt64(entry?.pc ?? 0)), g(entry == nil ? 0 : 1), g(outcome.fails ? 1 : 0),
                            g(UInt64(outcome.kind)), g(UInt64(outcome.failPC)),
                        ] + calldata)
            }
            tables.append(
                try PublicTable(
                    width: 24, tuples: headers, multiplicities: Array(repeating: .one, count: headers.count)))

            // Memory: each input at time 0 (−1), its final value at its final time (+1), in
            // contract storage (space 0). A sender's nonce key lives in space 1 as well: there
            // its final value is the output (the nonce overrides), and in space 0 the last value a
            // contract left under that key, which the prover claims.
            let nonceKeys = Set(txs.map { ThreadNonce.key(of: $0.caller) })
            var memory: [[Goldilocks]] = []
            var signs: [Goldilocks] = []
            var shadows = claims.nonceShadows.makeIterator()
            for (j, entry) in submission.inputs.enumerated() {
                let key = entry.key.quad.words.map { f($0) }
                let final = f(outputs[entry.key] ?? entry.value)
                let time = g(UInt64(claims.finalTimes[j]))
                if nonceKeys.contains(entry.key) {
                    guard let shadow = shadows.next(), shadow.value < Felt.modulus else {
                        return fail("the proof lacks the contract-storage value of nonce key \(entry.key)")
                    }
                    memory.append([Bus.memory.tag, .one] + key + [f(entry.value), .zero])
                    memory.append([Bus.memory.tag, .one] + key + [final, time])
                    memory.append([Bus.memory.tag, .zero] + key + [f(entry.value), .zero])
                    memory.append([Bus.memory.tag, .zero] + key + [g(shadow.value), g(UInt64(shadow.time))])
                    signs += [-Goldilocks.one, .one, -Goldilocks.one, .one]
                } else {
                    memory.append([Bus.memory.tag, .zero] + key + [f(entry.value), .zero])
                    memory.append([Bus.memory.tag, .zero] + key + [final, time])
                    signs += [-Goldilocks.one, .one]
                }
            }
            guard shadows.next() == nil else { return fail("the proof claims more nonce keys than the inputs hold") }
            tables.append(try PublicTable(width: 8, tuples: memory, multiplicities: signs))

            // Cross reads: the statement's, each read at least once.
            for (i, count) in claims.crossCounts.enumerated() where count == 0 {
                return fail("claimed cross read \(i) is never read")
            }
            tables.append(
                try PublicTable(
                    width: 7,
                    tuples: submission.crossReads.map {
                        [Bus.crossRead.tag, f($0.thread)] + $0.key.quad.words.map { f($0) } + [f($0.value)]
                    },
                    multiplicities: claims.crossCounts.map { g(UInt64($0)) }))

            // Comparisons and hashes: recomputed here.
            var comparisons: [[Goldilocks]] = []
            for c in claims.comparisons {
                guard c.x < Felt.modulus, c.y < Felt.modulus, c.count > 0 else {
                    return fail("a claimed comparison is malformed")
                }
                comparisons.append([Bus.lessThan.tag, g(c.x), g(c.y), g(c.x < c.y ? 1 : 0)])
            }
            tables.append(
                try PublicTable(
                    width: 4, tuples: comparisons, multiplicities: claims.comparisons.map { g(UInt64($0.count)) }))
            var hashes: [[Goldilocks]] = []
            for h in claims.hashes {
                guard (1...8).contains(h.n), h.words.count == 8, h.words.allSatisfy({ $0 < Felt.modulus }), h.count > 0
                else { return fail("a claimed hash is malformed") }
                let words = h.words.map { Felt($0) }
                let digest = rules.hash(words.prefix(Int(h.n))).quad.words.map { f($0) }
                hashes.append([Bus.hash.tag, g(UInt64(h.n))] + h.words.map { g($0) } + digest)
            }
            tables.append(
                try PublicTable(width: 14, tuples: hashes, multiplicities: claims.hashes.map { g(UInt64($0.count)) }))
        } catch {
            return fail("cannot build the public inputs: \(error)")
        }
        let digest = Digest.sha256(submission.statementBytes)
        let binding = Digest.quadWords(digest).map { f($0) }
        return .success(ThreadVMAIR.PublicInputs(binding: binding, maxSteps: rules.maxSteps, tables: tables))
    }

    /// What a proven failure means, in the words the re-execution verifier uses.
    static func describe(
        _ outcome: ProvenOutcome, of tx: ThreadTransaction, in program: Program, rules: VMRules?
    ) -> String {
        let pc = Int(outcome.failPC)
        let location = Location(entrypoint: tx.entrypoint, pc: pc, line: program.line(at: pc))
        func message(_ word: Felt) -> String? {
            let index = Int(truncatingIfNeeded: word.value)
            return index >= 1 && index <= program.messages.count ? program.messages[index - 1] : nil
        }
        let instruction = pc < program.instructions.count ? program.instructions[pc] : nil
        let failure: VMFailure? =
            switch ThreadVMAIR.FailKind(rawValue: UInt64(outcome.kind)) {
            case .assertion: .assertionFailed(location, message: instruction.flatMap { message($0.b) })
            case .aborted: .aborted(location, message: instruction.flatMap { message($0.a) })
            case .divisionByZero: .divisionByZero(location)
            case .outOfSteps: .outOfSteps(limit: rules?.maxSteps ?? VMRules.v2.maxSteps)
            case .badCalldata: badCalldata(tx, program)
            case .success, nil: nil
            }
        return failure?.description ?? "calldata of \(tx.calldata.count) words does not fit the prover's limit"
    }

    private static func badCalldata(_ tx: ThreadTransaction, _ program: Program) -> VMFailure? {
        do {
            try program.abi.validateCalldata(entrypoint: tx.entrypoint, calldata: tx.calldata)
            return nil
        } catch { return .badCalldata(error) }
    }
}

/// The security level of `stark` proofs: a labelled preset of the STARK library's options.
public struct STARKOptions: Hashable, Sendable, CustomStringConvertible {
    var proofOptions: ProofOptions

    public var description: String { proofOptions.description }

    /// 96 bits conjectured (blowup 8, 27 queries, 16 grinding bits): the devnet's default.
    public static let standard = STARKOptions(proofOptions: .default)
    /// 107 bits conjectured (blowup 16, 28 queries, 20 grinding bits).
    public static let high = STARKOptions(proofOptions: .high)

    /// "96 bits conjectured, 55 proven" style label at a trace length.
    public func securityLabel(traceLength: Int) -> String { proofOptions.securityLabel(traceLength: traceLength) }
}

// MARK: Claims encoding

struct ProofReader {
    let bytes: [UInt8]
    var offset = 0

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(ProofError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw ProofError(message: "truncated: wanted \(count) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
    mutating func u8() throws(ProofError) -> UInt8 { try take(1)[0] }
    mutating func u32() throws(ProofError) -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64() throws(ProofError) -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
    /// A count of items of at least `itemSize` bytes each, bounded by what is left.
    mutating func count(itemSize: Int) throws(ProofError) -> Int {
        let n = Int(try u32())
        guard n * itemSize <= remaining else { throw ProofError(message: "count \(n) exceeds the proof's length") }
        return n
    }
}

extension ThreadProofClaims {
    func encode(into w: inout CanonicalWriter) {
        w.u32(UInt32(outcomes.count))
        for o in outcomes {
            w.u8(o.kind)
            w.u32(o.failPC)
        }
        for list in [programCounts, finalTimes, crossCounts] {
            w.u32(UInt32(list.count))
            for v in list { w.u32(v) }
        }
        w.u32(UInt32(comparisons.count))
        for c in comparisons {
            w.u64(c.x)
            w.u64(c.y)
            w.u32(c.count)
        }
        w.u32(UInt32(hashes.count))
        for h in hashes {
            w.u8(h.n)
            for word in h.words { w.u64(word) }
            w.u32(h.count)
        }
        w.u32(UInt32(nonceShadows.count))
        for shadow in nonceShadows {
            w.u64(shadow.value)
            w.u32(shadow.time)
        }
    }

    init(from r: inout ProofReader) throws(ProofError) {
        var outcomes: [ProvenOutcome] = []
        for _ in 0..<(try r.count(itemSize: 5)) {
            outcomes.append(ProvenOutcome(kind: try r.u8(), failPC: try r.u32()))
        }
        var lists: [[UInt32]] = []
        for _ in 0..<3 {
            var list: [UInt32] = []
            for _ in 0..<(try r.count(itemSize: 4)) { list.append(try r.u32()) }
            lists.append(list)
        }
        var comparisons: [Comparison] = []
        for _ in 0..<(try r.count(itemSize: 20)) {
            comparisons.append(Comparison(x: try r.u64(), y: try r.u64(), count: try r.u32()))
        }
        var hashes: [HashCall] = []
        for _ in 0..<(try r.count(itemSize: 69)) {
            let n = try r.u8()
            var words: [UInt64] = []
            for _ in 0..<8 { words.append(try r.u64()) }
            hashes.append(HashCall(n: n, words: words, count: try r.u32()))
        }
        var shadows: [Shadow] = []
        for _ in 0..<(try r.count(itemSize: 12)) {
            shadows.append(Shadow(value: try r.u64(), time: try r.u32()))
        }
        self.init(
            outcomes: outcomes, programCounts: lists[0], finalTimes: lists[1], crossCounts: lists[2],
            comparisons: comparisons, hashes: hashes, nonceShadows: shadows)
    }
}
