public import ThreadVM

/// The manager's canonical record of one thread.
public struct ThreadRecord: Hashable, Sendable, Codable {
    public let threadId: Felt
    public let name: String
    public let contract: String
    public private(set) var osVersion: UInt32
    public private(set) var programHash: ProgramHash
    public let proofSystem: String
    /// The account that registered the thread: the only one that may upgrade it (nil for a
    /// registration logged before owners were recorded).
    public internal(set) var owner: Address?
    /// ``StateRoot`` of ``state``, 64 hex digits.
    public private(set) var stateRoot: String
    /// The sequence number of the last accepted sub-block (0 at registration).
    public private(set) var sequence: UInt64
    /// The full key/value state; zero values are absent.
    public private(set) var state: [StorageKey: Felt]
    private var accumulator: StateAccumulator

    public init(registration r: ThreadRegistration) {
        threadId = r.threadId
        name = r.name
        contract = r.contract
        osVersion = r.osVersion
        programHash = r.programHash
        proofSystem = r.proofSystem
        sequence = 0
        state = [:]
        accumulator = StateAccumulator()
        stateRoot = ""
        write(r.genesisState)
    }

    /// The canonical value of `key` (absent = 0).
    public func value(at key: StorageKey) -> Felt { state[key] ?? .zero }

    /// The state as a sorted list.
    public var entries: [KeyValue] {
        state.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
    }

    mutating func write(_ outputs: [KeyValue]) {
        for entry in outputs {
            if let old = state[entry.key] { accumulator.remove(entry.key, old) }
            if entry.value.isZero {
                state[entry.key] = nil
            } else {
                state[entry.key] = entry.value
                accumulator.add(entry.key, entry.value)
            }
        }
        stateRoot = accumulator.root
    }

    mutating func accept(_ submission: SubBlockSubmission) {
        write(submission.outputs)
        sequence = submission.sequence
    }

    mutating func upgrade(to programHash: ProgramHash, osVersion: UInt32?) {
        self.programHash = programHash
        if let osVersion { self.osVersion = osVersion }
    }

    private enum CodingKeys: String, CodingKey {
        case threadId, name, contract, osVersion, programHash, proofSystem, stateRoot, sequence, state, owner
    }

    /// A record restored from storage (the root is recomputed and checked).
    public init(
        threadId: Felt, name: String, contract: String, osVersion: UInt32, programHash: ProgramHash,
        proofSystem: String, sequence: UInt64, state: [KeyValue]
    ) {
        self.init(
            registration: ThreadRegistration(
                name: name, threadId: threadId, contract: contract, programHash: programHash, osVersion: osVersion,
                proofSystem: proofSystem, genesisState: state))
        self.sequence = sequence
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            threadId: try c.decode(Felt.self, forKey: .threadId), name: try c.decode(String.self, forKey: .name),
            contract: try c.decode(String.self, forKey: .contract),
            osVersion: try c.decode(UInt32.self, forKey: .osVersion),
            programHash: try c.decode(ProgramHash.self, forKey: .programHash),
            proofSystem: try c.decode(String.self, forKey: .proofSystem),
            sequence: try c.decode(UInt64.self, forKey: .sequence),
            state: try c.decode([KeyValue].self, forKey: .state))
        owner = try c.decodeIfPresent(Address.self, forKey: .owner)
        let claimed = try c.decode(String.self, forKey: .stateRoot)
        guard claimed == stateRoot else {
            throw DecodingError.dataCorruptedError(
                forKey: .stateRoot, in: c,
                debugDescription: "thread \(name): stored root \(claimed) does not match its state (\(stateRoot))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(threadId, forKey: .threadId)
        try c.encode(name, forKey: .name)
        try c.encode(contract, forKey: .contract)
        try c.encode(osVersion, forKey: .osVersion)
        try c.encode(programHash, forKey: .programHash)
        try c.encode(proofSystem, forKey: .proofSystem)
        try c.encode(stateRoot, forKey: .stateRoot)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(entries, forKey: .state)
        try c.encodeIfPresent(owner, forKey: .owner)
    }
}

/// A view call's result.
public struct ViewResult: Hashable, Sendable, Codable {
    public var returnData: [Felt]
    /// Rendered by the declared return type (`true`, `42`, `0x…`).
    public var formatted: String
}

/// Why a view call could not run.
public struct ViewError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case unknownThread = "UNKNOWN_THREAD"
        case unknownProgram = "UNKNOWN_PROGRAM"
        case notAView = "NOT_A_VIEW"
        case badCalldata = "BAD_CALLDATA"
        case executionFailed = "EXECUTION_FAILED"
    }

    public var code: Code
    public var message: String
    public var description: String { "\(code.rawValue): \(message)" }
}

/// The zkThreadManager contract as a pure state machine: canonical thread records, acceptance
/// rules, atomic bundles and per-txHash idempotency.
public struct ManagerState: Sendable {
    public internal(set) var threads: [Felt: ThreadRecord]
    /// The recorded outcome of every registration or update, by L2 txHash.
    public internal(set) var outcomes: [String: ManagerOutcome]
    /// Programs published by registrations, by hash.
    public internal(set) var published: [ProgramHash: Program] = [:]
    /// Where every thread transaction of an accepted sub-block settled, by thread transaction hash.
    public internal(set) var settlements: [String: SettledTransaction] = [:]
    public let proofSystems: ProofSystems

    public init(
        records: [ThreadRecord] = [], outcomes: [ManagerOutcome] = [], proofSystems: ProofSystems = .standard
    ) {
        threads = Dictionary(records.map { ($0.threadId, $0) }, uniquingKeysWith: { _, last in last })
        self.outcomes = Dictionary(outcomes.map { ($0.txHash, $0) }, uniquingKeysWith: { _, last in last })
        self.proofSystems = proofSystems
    }

    public func record(_ threadId: Felt) -> ThreadRecord? { threads[threadId] }

    public func record(named name: String) -> ThreadRecord? { threads.values.first { $0.name == name } }

    /// Every record, sorted by name.
    public var records: [ThreadRecord] { threads.values.sorted { $0.name < $1.name } }

    /// The program with `hash`: one published on L2, or else one of `programs` (the shipped ones).
    public func program(_ hash: ProgramHash, _ programs: (ProgramHash) -> Program?) -> Program? {
        published[hash] ?? programs(hash)
    }

    /// The canonical value of `key` in `thread`, or nil for an unknown thread.
    public func canonicalValue(thread: Felt, key: StorageKey) -> Felt? { threads[thread]?.value(at: key) }

    /// A reader of canonical state for `xload`s (a snapshot; it does not follow later changes).
    public var crossThreadReader: CanonicalThreads { CanonicalThreads(threads: threads) }

    /// Registers a thread. Reverts with `THREAD_EXISTS`, `BAD_THREAD_ID`, `UNSUPPORTED_OS_VERSION`
    /// (also for a proof system that proves another version), `BAD_PROGRAM` (also for a program
    /// that fails the static checks of the thread's OS version), `UNKNOWN_PROGRAM` or
    /// `UNKNOWN_PROOF_SYSTEM`. Idempotent per `txHash`.
    public mutating func register(
        _ registration: ThreadRegistration, txHash: String, sender: Address? = nil, programs: (ProgramHash) -> Program?
    ) -> ManagerOutcome {
        if let recorded = outcomes[txHash] { return recorded }
        let outcome = registerOutcome(registration, txHash: txHash, programs: programs)
        if outcome.status == .accepted { threads[registration.threadId]?.owner = sender }
        outcomes[txHash] = outcome
        return outcome
    }

    private mutating func registerOutcome(
        _ r: ThreadRegistration, txHash: String, programs: (ProgramHash) -> Program?
    ) -> ManagerOutcome {
        func revert(_ code: RevertReason.Code, _ message: String, expected: String? = nil, given: String? = nil)
            -> ManagerOutcome
        {
            .reverted(
                txHash,
                RevertReason(
                    code: code, message: message, threadId: r.threadId, sequence: 0, expected: expected, given: given))
        }
        if let existing = threads[r.threadId] ?? record(named: r.name) {
            return revert(
                .threadExists, "thread \(existing.name) (\(existing.threadId)) is already registered")
        }
        let derived = ThreadId.derive(name: r.name)
        guard r.threadId == derived else {
            return revert(
                .badThreadId, "thread \(r.name): id \(r.threadId) is not the id derived from its name (\(derived))",
                expected: derived.description, given: r.threadId.description)
        }
        guard OSVersion.supported.contains(r.osVersion) else {
            return revert(
                .unsupportedOSVersion,
                "thread \(r.name): OS version \(r.osVersion) is not supported (supported: \(OSVersion.supported.sorted().map(String.init).joined(separator: ", ")))",
                given: String(r.osVersion))
        }
        var publishing: Program?
        if let bytes = r.program {
            do {
                publishing = try Program(decoding: bytes.bytes)
            } catch {
                return revert(.badProgram, "thread \(r.name): the published program is not valid: \(error.message)")
            }
            guard publishing?.hash == r.programHash else {
                return revert(
                    .badProgram,
                    "thread \(r.name): the published program's hash is \(publishing!.hash), not the registered \(r.programHash)",
                    expected: r.programHash.hex, given: publishing!.hash.hex)
            }
        }
        guard let running = publishing ?? program(r.programHash, programs) else {
            return revert(
                .unknownProgram,
                "thread \(r.name): unknown contract program \(r.programHash) (contract '\(r.contract)')",
                given: r.programHash.hex)
        }
        guard proofSystems[r.proofSystem] != nil else {
            return revert(
                .unknownProofSystem,
                "thread \(r.name): unknown proof system '\(r.proofSystem)'; known: \(proofSystems.names.joined(separator: ", "))",
                given: r.proofSystem)
        }
        if let required = OSVersion.required(byProofSystem: r.proofSystem), required != r.osVersion {
            return revert(
                .unsupportedOSVersion,
                "thread \(r.name): proof system '\(r.proofSystem)' proves OS version \(required) only, not \(r.osVersion)",
                expected: String(required), given: String(r.osVersion))
        }
        if let refusal = Self.staticCheck(running, version: r.osVersion, thread: r.name) {
            return revert(.badProgram, refusal)
        }
        let record = ThreadRecord(registration: r)
        threads[r.threadId] = record
        if let publishing { published[publishing.hash] = publishing }
        return ManagerOutcome(
            txHash: txHash, status: .accepted,
            events: [
                ProtocolEvent(
                    kind: .threadRegistered, threadId: r.threadId, threadName: r.name, sequence: 0,
                    stateRoot: record.stateRoot)
            ])
    }

    /// Why `upgrade`, signed by `sender`, cannot apply now; nil when it can. The sequencer asks
    /// this at admission, so a refused upgrade costs nothing; the manager checks again when the
    /// upgrade is included.
    public func checkUpgrade(_ u: ThreadUpgrade, sender: Address, programs: (ProgramHash) -> Program?)
        -> RevertReason?
    {
        if case .failure(let refusal) = validate(u, sender: sender, programs: programs) { return refusal }
        return nil
    }

    /// The upgrade's rules; on success, the program it publishes (nil when the manager has it).
    private func validate(_ u: ThreadUpgrade, sender: Address?, programs: (ProgramHash) -> Program?)
        -> Result<Program?, RevertReason>
    {
        func reason(_ code: RevertReason.Code, _ message: String, expected: String? = nil, given: String? = nil)
            -> Result<Program?, RevertReason>
        {
            .failure(RevertReason(code: code, message: message, threadId: u.threadId, expected: expected, given: given))
        }
        guard let record = threads[u.threadId] else {
            return reason(.unknownThread, "cannot upgrade unknown thread \(u.threadId)")
        }
        guard let owner = record.owner, let sender, owner == sender else {
            return reason(
                .notOwner,
                "thread \(record.name) may be upgraded only by the account that registered it (\(record.owner?.hex ?? "not recorded")), not \(sender?.hex ?? "an unknown sender")",
                expected: record.owner?.hex, given: sender?.hex)
        }
        if let version = u.osVersion, !OSVersion.supported.contains(version) {
            return reason(
                .unsupportedOSVersion, "thread \(record.name): OS version \(version) is not supported",
                given: String(version))
        }
        let version = u.osVersion ?? record.osVersion
        guard OSVersion.compatible(record.osVersion, version) else {
            return reason(
                .unsupportedOSVersion,
                "thread \(record.name) runs OS version \(record.osVersion) and cannot move to \(version): the two derive storage keys with different hashes, so its state would not be found",
                expected: String(record.osVersion), given: String(version))
        }
        guard let bytes = u.program else {
            guard let known = program(u.programHash, programs) else {
                return reason(
                    .unknownProgram,
                    "thread \(record.name): no program \(u.programHash) is on L2; publish it with the upgrade",
                    given: u.programHash.hex)
            }
            if let refusal = Self.staticCheck(known, version: version, thread: record.name) {
                return reason(.badProgram, refusal)
            }
            return .success(nil)
        }
        let published: Program
        do {
            published = try Program(decoding: bytes.bytes)
        } catch {
            return reason(.badProgram, "thread \(record.name): the published program is not valid: \(error.message)")
        }
        guard published.hash == u.programHash else {
            return reason(
                .badProgram,
                "thread \(record.name): the published program's hash is \(published.hash), not \(u.programHash)",
                expected: u.programHash.hex, given: published.hash.hex)
        }
        if let refusal = Self.staticCheck(published, version: version, thread: record.name) {
            return reason(.badProgram, refusal)
        }
        return .success(published)
    }

    /// Why `program` may not run on a thread of OS `version` (its static checks), or nil.
    static func staticCheck(_ program: Program, version: UInt32, thread: String) -> String? {
        guard let rules = OSVersion.rules(version) else { return nil }
        do {
            try rules.check(program)
            return nil
        } catch {
            return
                "thread \(thread): program \(program.hash) fails the static checks of OS version \(version): \(error)"
        }
    }

    /// Upgrades a thread's program (and OS version) at the current sub-block boundary: the state
    /// carries over, and sub-blocks proven against the old program then revert `WRONG_PROGRAM`.
    /// Idempotent per `txHash`.
    public mutating func upgrade(
        _ u: ThreadUpgrade, txHash: String, sender: Address?, programs: (ProgramHash) -> Program?
    ) -> ManagerOutcome {
        if let recorded = outcomes[txHash] { return recorded }
        let outcome: ManagerOutcome
        switch validate(u, sender: sender, programs: programs) {
        case .failure(let refusal):
            outcome = .reverted(txHash, refusal)
        case .success(let program):
            if let program { published[program.hash] = program }
            threads[u.threadId]!.upgrade(to: u.programHash, osVersion: u.osVersion)
            let record = threads[u.threadId]!
            outcome = ManagerOutcome(
                txHash: txHash, status: .accepted,
                events: [
                    ProtocolEvent(
                        kind: .threadUpgraded, threadId: record.threadId, threadName: record.name,
                        sequence: record.sequence, stateRoot: record.stateRoot)
                ])
        }
        outcomes[txHash] = outcome
        return outcome
    }

    /// Applies a bundle of sub-blocks atomically: each is checked, in order, against the state as
    /// updated by the earlier ones; all are applied or none. Idempotent per `txHash`: a repeated
    /// hash returns the recorded outcome and changes nothing. `block` is the L2 block that holds
    /// the update; the settlement of each thread transaction records it.
    ///
    /// - Parameter replaying: the bundle comes from the manager's own log, where it was accepted:
    ///   the acceptance rules are checked again, but the proofs through each system's
    ///   ``ProofSystem/replayReportingFailures(_:program:)``.
    public mutating func apply(
        bundle: [SubBlockSubmission], txHash: String, block: UInt64 = 0, programs: (ProgramHash) -> Program?,
        replaying: Bool = false
    ) -> ManagerOutcome {
        if let recorded = outcomes[txHash] { return recorded }
        let outcome: ManagerOutcome
        switch checkReportingFailures(bundle: bundle, programs: programs, replaying: replaying) {
        case .failure(let reason):
            outcome = .reverted(txHash, reason)
        case .success(let failures):
            var events: [ProtocolEvent] = []
            for (position, submission) in bundle.enumerated() {
                threads[submission.threadId]!.accept(submission)
                for (index, tx) in submission.transactions.enumerated() {
                    let known = failures[position]
                    settlements[tx.txHash] = SettledTransaction(
                        thread: submission.threadId, subBlock: submission.sequence, l2TxHash: txHash, block: block,
                        outcomeKnown: known != nil, failure: known?[index])
                }
                let record = threads[submission.threadId]!
                events.append(
                    ProtocolEvent(
                        kind: .subBlockAccepted, threadId: record.threadId, threadName: record.name,
                        sequence: record.sequence, stateRoot: record.stateRoot,
                        transactionCount: submission.transactions.count))
            }
            outcome = ManagerOutcome(txHash: txHash, status: .accepted, events: events)
        }
        outcomes[txHash] = outcome
        return outcome
    }

    /// A fault for testing the devnet's checkers, never for a real manager: runs the thread
    /// transactions of `bundle`'s sub-blocks of `thread`, which this manager has just accepted,
    /// a second time on the canonical state (the VM only, no nonce checks) and writes what they
    /// write, as a manager that applies a transaction twice would. Returns `outcome` with those
    /// sub-blocks' reported state roots updated (and remembers it as the answer to its hash).
    public mutating func applyAgain(
        thread: Felt, of bundle: [SubBlockSubmission], outcome: ManagerOutcome, programs: (ProgramHash) -> Program?
    ) -> ManagerOutcome {
        guard outcome.status == .accepted else { return outcome }
        var patched = outcome
        for submission in bundle where submission.threadId == thread {
            guard var record = threads[thread], let program = programs(record.programHash),
                let rules = OSVersion.rules(record.osVersion)
            else { continue }
            let again = SubBlockExecutor.execute(
                submission.transactions.map {
                    Transaction(caller: $0.caller, entrypoint: $0.entrypoint, calldata: $0.calldata)
                }, program: program, base: MemoryState(record.state), threads: crossThreadReader, rules: rules)
            record.write(again.outputs)
            threads[thread] = record
            for index in patched.events.indices
            where patched.events[index].threadId == thread && patched.events[index].sequence == submission.sequence {
                patched.events[index].stateRoot = record.stateRoot
            }
        }
        outcomes[outcome.txHash] = patched
        return patched
    }

    /// Records a reverted outcome read back from the manager's log: a revert changed nothing, so
    /// remembering its answer is all a replay must do.
    public mutating func remember(_ outcome: ManagerOutcome) {
        precondition(outcome.status == .reverted, "only a reverted outcome changes nothing")
        outcomes[outcome.txHash] = outcome
    }

    /// The acceptance rules, without changing anything; nil when the bundle would be accepted.
    public func check(
        bundle: [SubBlockSubmission], programs: (ProgramHash) -> Program?
    ) -> Result<Void, RevertReason> {
        checkReportingFailures(bundle: bundle, programs: programs).map { _ in () }
    }

    /// ``check(bundle:programs:)``, with each sub-block's failed contract calls where its proof
    /// system reports them.
    func checkReportingFailures(
        bundle: [SubBlockSubmission], programs: (ProgramHash) -> Program?, replaying: Bool = false
    ) -> Result<[[Int: String]?], RevertReason> {
        var failures: [[Int: String]?] = []
        guard !bundle.isEmpty else {
            return .failure(RevertReason(code: .emptyBundle, message: "the thread update carries no sub-blocks"))
        }
        // Writes and sequences of the earlier sub-blocks of this bundle.
        var pendingWrites: [Felt: [StorageKey: Felt]] = [:]
        var pendingSequence: [Felt: UInt64] = [:]
        func current(_ thread: Felt, _ key: StorageKey) -> Felt? {
            guard let record = threads[thread] else { return nil }
            return pendingWrites[thread]?[key] ?? record.value(at: key)
        }
        for (index, sub) in bundle.enumerated() {
            let position = bundle.count > 1 ? " (sub-block \(index + 1) of \(bundle.count))" : ""
            guard let record = threads[sub.threadId] else {
                return .failure(
                    RevertReason(
                        code: .unknownThread, message: "unknown thread \(sub.threadId)\(position)",
                        threadId: sub.threadId, sequence: sub.sequence))
            }
            let name = "thread \(record.name)"
            func reason(
                _ code: RevertReason.Code, _ what: String, key: StorageKey? = nil, expected: String? = nil,
                given: String? = nil
            ) -> RevertReason {
                RevertReason(
                    code: code, message: "\(name) sub-block \(sub.sequence)\(position): \(what)",
                    threadId: sub.threadId, sequence: sub.sequence, key: key, expected: expected, given: given)
            }
            guard sub.osVersion == record.osVersion else {
                return .failure(
                    reason(
                        .wrongOSVersion, "OS version \(sub.osVersion), the thread runs \(record.osVersion)",
                        expected: String(record.osVersion), given: String(sub.osVersion)))
            }
            guard sub.programHash == record.programHash else {
                return .failure(
                    reason(
                        .wrongProgram, "program \(sub.programHash), the thread runs \(record.programHash)",
                        expected: record.programHash.hex, given: sub.programHash.hex))
            }
            guard sub.proofSystem == record.proofSystem else {
                return .failure(
                    reason(
                        .wrongProofSystem, "proof system '\(sub.proofSystem)', the thread uses '\(record.proofSystem)'",
                        expected: record.proofSystem, given: sub.proofSystem))
            }
            let canonicalSequence = pendingSequence[sub.threadId] ?? record.sequence
            guard sub.sequence == canonicalSequence &+ 1 else {
                return .failure(
                    reason(
                        .wrongSequence, "expected sequence \(canonicalSequence &+ 1) (canonical \(canonicalSequence))",
                        expected: String(canonicalSequence &+ 1), given: String(sub.sequence)))
            }
            for input in sub.inputs {
                let now = current(sub.threadId, input.key)!
                guard now == input.value else {
                    return .failure(
                        reason(
                            .staleInput, "input \(input.key) assumed \(input.value), canonical value is \(now)",
                            key: input.key, expected: now.description, given: input.value.description))
                }
            }
            for read in sub.crossReads {
                if !read.registered {
                    if let other = threads[read.thread] {
                        return .failure(
                            reason(
                                .staleCrossRead,
                                "cross-thread read claims thread \(read.thread) is not registered, but \(other.name) is (key \(read.key))",
                                key: read.key, expected: "registered", given: "not registered"))
                    }
                    continue
                }
                guard let now = current(read.thread, read.key) else {
                    return .failure(
                        reason(
                            .unknownThread, "cross-thread read of unknown thread \(read.thread) (key \(read.key))",
                            key: read.key, given: read.thread.description))
                }
                guard now == read.value else {
                    let other = threads[read.thread].map { "\($0.name) (\(read.thread))" } ?? read.thread.description
                    return .failure(
                        reason(
                            .staleCrossRead,
                            "cross-thread read of \(other) key \(read.key) assumed \(read.value), canonical value is \(now)",
                            key: read.key, expected: now.description, given: read.value.description))
                }
            }
            guard let program = program(record.programHash, programs) else {
                return .failure(
                    reason(.unknownProgram, "the manager does not have program \(record.programHash)"))
            }
            guard let system = proofSystems[record.proofSystem] else {
                return .failure(
                    reason(.unknownProofSystem, "the manager does not know proof system '\(record.proofSystem)'"))
            }
            let (verdict, failed) =
                replaying
                ? system.replayReportingFailures(sub, program: program)
                : system.verifyReportingFailures(sub, program: program)
            if case .invalid(let why) = verdict {
                return .failure(reason(.badProof, "\(system.name) proof rejected: \(why)"))
            }
            failures.append(failed)
            for output in sub.outputs { pendingWrites[sub.threadId, default: [:]][output.key] = output.value }
            pendingSequence[sub.threadId] = sub.sequence
        }
        return .success(failures)
    }

    /// Runs the view entrypoint `entrypoint` of `thread` read-only on canonical state (other
    /// threads readable with `xload`).
    public func view(
        thread: Felt, entrypoint: String, arguments: [String], caller: Address = Address(0, 0, 0, 0),
        programs: (ProgramHash) -> Program?
    ) throws(ViewError) -> ViewResult {
        guard let record = threads[thread] else {
            throw ViewError(code: .unknownThread, message: "unknown thread \(thread)")
        }
        guard let program = program(record.programHash, programs) else {
            throw ViewError(
                code: .unknownProgram, message: "thread \(record.name): program \(record.programHash) is not available")
        }
        let entry: Entrypoint
        let calldata: [Felt]
        do {
            entry = try program.abi.entrypoint(named: entrypoint)
            calldata = try program.abi.encodeCalldata(entrypoint: entrypoint, arguments: arguments)
        } catch {
            throw ViewError(code: .badCalldata, message: "thread \(record.name): \(error.message)")
        }
        guard entry.isView else {
            throw ViewError(
                code: .notAView, message: "thread \(record.name): \(entry.signature) is not a view entrypoint")
        }
        let result = Interpreter(program: program, rules: OSVersion.rules(record.osVersion) ?? .v1).execute(
            Transaction(caller: caller, entrypoint: entrypoint, calldata: calldata),
            state: MemoryState(record.state), threads: crossThreadReader)
        switch result.outcome {
        case .success(let words):
            return ViewResult(
                returnData: words, formatted: program.abi.formatReturn(entrypoint: entrypoint, words: words))
        case .failure(let failure):
            throw ViewError(code: .executionFailed, message: "thread \(record.name): \(failure.description)")
        }
    }
}

/// Where a thread transaction settled, as the manager recorded it when it accepted the sub-block.
public struct SettledTransaction: Hashable, Sendable, Codable {
    public var thread: Felt
    public var subBlock: UInt64
    public var l2TxHash: String
    public var block: UInt64
    /// Whether the proof system told the manager how each contract call ended (`reexec` does).
    public var outcomeKnown: Bool
    /// Why the contract call failed (its nonce is used, its writes discarded); nil when it succeeded
    /// or the outcome is not known.
    public var failure: String?

    public init(
        thread: Felt, subBlock: UInt64, l2TxHash: String, block: UInt64, outcomeKnown: Bool, failure: String?
    ) {
        self.thread = thread
        self.subBlock = subBlock
        self.l2TxHash = l2TxHash
        self.block = block
        self.outcomeKnown = outcomeKnown
        self.failure = failure
    }

    public var settlement: Settlement { Settlement(subBlock: subBlock, l2TxHash: l2TxHash, block: block) }
}

/// Canonical thread states as a `CrossThreadReader`.
public struct CanonicalThreads: CrossThreadReader {
    let threads: [Felt: ThreadRecord]
    public func value(thread: Felt, key: StorageKey) -> Felt? { threads[thread]?.value(at: key) }
}
