public import Foundation
public import ThreadVM

/// A sub-block as submitted to the manager inside an L2 `threadUpdate` transaction: the statement,
/// the published thread transactions (data availability and the re-execution witness) and the proof.
public struct SubBlockSubmission: Hashable, Sendable, Codable {
    public var threadId: Felt
    /// Exactly the canonical sequence + 1 when accepted.
    public var sequence: UInt64
    public var osVersion: UInt32
    public var programHash: ProgramHash
    /// Every key the sub-block read or wrote (thread nonces included), with the value it assumed;
    /// sorted by key.
    public var inputs: [KeyValue]
    /// Every `(thread, key, value)` read from other threads, sorted by thread then key.
    public var crossReads: [CrossRead]
    /// The final value of every written key, sorted by key.
    public var outputs: [KeyValue]
    /// ``SubBlockSubmission/commitment(to:)`` of ``transactions``, 64 hex digits.
    public var txCommitment: String
    /// The signed thread transactions, in execution order.
    public var transactions: [ThreadTransaction]
    /// The proof system's name, e.g. `reexec`.
    public var proofSystem: String
    /// The proof bytes (base64 on the wire). Empty until proved.
    public var proof: Data

    public init(
        threadId: Felt, sequence: UInt64, osVersion: UInt32, programHash: ProgramHash, inputs: [KeyValue],
        crossReads: [CrossRead], outputs: [KeyValue], txCommitment: String, transactions: [ThreadTransaction],
        proofSystem: String, proof: Data = Data()
    ) {
        self.threadId = threadId
        self.sequence = sequence
        self.osVersion = osVersion
        self.programHash = programHash
        self.inputs = inputs
        self.crossReads = crossReads
        self.outputs = outputs
        self.txCommitment = txCommitment
        self.transactions = transactions
        self.proofSystem = proofSystem
        self.proof = proof
    }

    /// The commitment to an ordered list of signed thread transactions:
    /// `SHA-256(str("zkthreads/tx-commitment/v1") ‖ u32 count ‖ txHash₁ ‖ … ‖ txHashₙ)` as hex,
    /// each txHash being the 32 bytes of ``ThreadTransaction/hashBytes``.
    public static func commitment(to transactions: [ThreadTransaction]) -> String {
        var writer = CanonicalWriter(domain: "zkthreads/tx-commitment/v1")
        writer.count(transactions.count)
        for tx in transactions { writer.raw(tx.hashBytes) }
        return Digest.sha256Hex(writer.bytes)
    }

    /// The statement fields in canonical bytes: everything but the transactions and the proof
    /// (the transactions enter through ``txCommitment``).
    public var statementBytes: [UInt8] {
        var writer = CanonicalWriter(domain: "zkthreads/sub-block-statement/v1")
        writer.felt(threadId)
        writer.u64(sequence)
        writer.u32(osVersion)
        writer.raw(programHash.bytes)
        writer.keyValues(inputs)
        writer.crossReads(crossReads)
        writer.keyValues(outputs)
        writer.string(txCommitment)
        writer.string(proofSystem)
        return writer.bytes
    }

    /// This submission with its proof made by `system`.
    public func proved(by system: any ProofSystem, program: Program) throws -> SubBlockSubmission {
        var copy = self
        copy.proofSystem = system.name
        copy.proof = Data()
        copy.proof = try system.prove(copy, program: program)
        return copy
    }

    func encode(into writer: inout CanonicalWriter) {
        writer.raw(statementBytes)
        writer.count(transactions.count)
        for tx in transactions {
            writer.data(tx.signingBytes)
            writer.data(tx.signature.bytes)
        }
        writer.data(proof)
    }
}

/// The result of checking a proof.
public enum ProofCheck: Hashable, Sendable, CustomStringConvertible {
    case ok
    /// The proof does not verify; the reason names what did not match.
    case invalid(String)

    public var isOK: Bool { self == .ok }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .invalid(let reason): reason
        }
    }
}

/// A proof system: how a sub-block statement is proved and verified.
///
/// `prove` gets the submission with an empty proof; `verify` must never trap on any input (garbage
/// proofs are a `BAD_PROOF` revert). A `stark` system implements the same two calls: it proves
/// the VM trace plus the nonce and signature checks, and verifies without the transactions.
public protocol ProofSystem: Sendable {
    /// The name pinned in a thread's record, e.g. `reexec`.
    var name: String { get }
    func prove(_ submission: SubBlockSubmission, program: Program) throws -> Data
    func verify(_ submission: SubBlockSubmission, program: Program) -> ProofCheck
    /// ``verify(_:program:)``, and where the system knows it, the failed contract calls of the
    /// sub-block: transaction index → why. Nil when the system does not learn outcomes.
    func verifyReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    )
    /// What ``verifyReportingFailures(_:program:)`` found when the sub-block was accepted, read
    /// again from a log the manager wrote itself, without the costly checks a replay need not
    /// repeat (the users' signatures, the STARK); what it reports must be the same.
    func replayReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    )
}

extension ProofSystem {
    public func verifyReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        (verify(submission, program: program), nil)
    }

    public func replayReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        verifyReportingFailures(submission, program: program)
    }
}

/// The proof systems a manager knows, by name.
public struct ProofSystems: Sendable {
    public private(set) var systems: [String: any ProofSystem]

    public init(_ systems: [any ProofSystem]) {
        self.systems = Dictionary(systems.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// `reexec` and `stark`.
    public static let standard = ProofSystems([ReexecProofSystem(), StarkProofSystem()])

    public subscript(name: String) -> (any ProofSystem)? { systems[name] }

    public var names: [String] { systems.keys.sorted() }
}

/// Re-execution "proofs": the proof is a digest binding the statement, and the verifier re-runs
/// the published transactions.
///
/// Proof = `SHA-256(str("zkthreads/reexec-proof/v1") ‖ statementBytes)` (32 bytes). Verification,
/// in order: the proof is exactly that digest; ``SubBlockSubmission/txCommitment`` commits to the
/// published transactions; every transaction is for this thread and carries a valid signature of
/// its sender; re-executing them (nonce checks included) from the claimed inputs and cross reads
/// alone reproduces the claimed inputs, outputs and cross reads exactly. Re-execution runs under
/// the VM rules of the statement's OS version (``OSVersion/rules(_:)``); the manager checks
/// before that the version is the one the thread is pinned to.
public struct ReexecProofSystem: ProofSystem {
    public static let name = "reexec"
    public var name: String { Self.name }

    public init() {}

    public static func digest(of submission: SubBlockSubmission) -> Data {
        var writer = CanonicalWriter(domain: "zkthreads/reexec-proof/v1")
        writer.raw(submission.statementBytes)
        return Data(Digest.sha256(writer.bytes))
    }

    /// Checks the sub-block as the verifier will, except for the users' signatures, and returns
    /// the digest. The node that proves has checked every signature when it admitted the
    /// transaction (and only admitted transactions reach its batcher), so a second check here
    /// would cost a verification per transaction and catch nothing; the verifier checks them all.
    public func prove(_ submission: SubBlockSubmission, program: Program) throws -> Data {
        var failures: [Int: String] = [:]
        if case .invalid(let reason) = check(submission, program: program, signatures: false, failures: &failures) {
            throw ProofError(message: "cannot prove sub-block \(submission.sequence): \(reason)")
        }
        return Self.digest(of: submission)
    }

    public func verify(_ submission: SubBlockSubmission, program: Program) -> ProofCheck {
        verifyReportingFailures(submission, program: program).0
    }

    public func verifyReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        guard submission.proof == Self.digest(of: submission) else {
            return (
                .invalid(
                    "the proof (\(submission.proof.count) bytes) is not the re-execution digest of this statement"),
                nil
            )
        }
        var failures: [Int: String] = [:]
        let verdict = check(submission, program: program, failures: &failures)
        return (verdict, verdict.isOK ? failures : nil)
    }

    /// Re-executes (the failed calls come from there) but takes the signatures as checked.
    public func replayReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        guard submission.proof == Self.digest(of: submission) else {
            return (.invalid("the proof is not the re-execution digest of this statement"), nil)
        }
        var failures: [Int: String] = [:]
        let verdict = check(submission, program: program, signatures: false, failures: &failures)
        return (verdict, verdict.isOK ? failures : nil)
    }

    func check(_ submission: SubBlockSubmission, program: Program) -> ProofCheck {
        var failures: [Int: String] = [:]
        return check(submission, program: program, failures: &failures)
    }

    /// Everything but the digest; collects the failed contract calls. With `signatures` false
    /// (the prover's own check) the users' signatures are taken as checked.
    func check(
        _ submission: SubBlockSubmission, program: Program, signatures: Bool = true, failures: inout [Int: String]
    ) -> ProofCheck {
        guard submission.programHash == program.hash else {
            return .invalid("the statement names program \(submission.programHash), not \(program.hash)")
        }
        guard SubBlockSubmission.commitment(to: submission.transactions) == submission.txCommitment else {
            return .invalid("the transaction commitment does not match the published transactions")
        }
        for (index, tx) in submission.transactions.enumerated() {
            guard tx.threadId == submission.threadId else {
                return .invalid("transaction \(index) (\(tx.entrypoint)) is signed for thread \(tx.threadId)")
            }
            guard !signatures || tx.verifySignature() else {
                return .invalid("transaction \(index) (\(tx.entrypoint)) has a bad signature from \(tx.caller)")
            }
        }
        guard let rules = OSVersion.rules(submission.osVersion) else {
            return .invalid("OS version \(submission.osVersion) is not supported")
        }
        var base = MemoryState()
        base.apply(submission.inputs)
        var threads = MemoryThreads()
        threads.add(claims: submission.crossReads)
        var execution = ThreadExecution(program: program, base: base, threads: threads, rules: rules)
        for (index, tx) in submission.transactions.enumerated() {
            switch execution.apply(tx) {
            case .failure(let mismatch):
                return .invalid("transaction \(index) (\(tx.entrypoint)): \(mismatch)")
            case .success(let result):
                if let failure = result.failure { failures[index] = failure.description }
            }
        }
        let recomputed = execution.statement
        if recomputed.inputs != submission.inputs {
            return .invalid(
                "re-execution does not reproduce the claimed inputs (claimed \(submission.inputs.count) entries, re-executed \(recomputed.inputs.count))"
            )
        }
        if recomputed.outputs != submission.outputs {
            return .invalid(
                "re-execution does not reproduce the claimed outputs (claimed \(submission.outputs.count) entries, re-executed \(recomputed.outputs.count))"
            )
        }
        if recomputed.crossReads != submission.crossReads {
            return .invalid(
                "re-execution does not reproduce the claimed cross reads (claimed \(submission.crossReads.count) entries, re-executed \(recomputed.crossReads.count))"
            )
        }
        return .ok
    }
}

/// A proof could not be made.
public struct ProofError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The statement of a sub-block run with nonce handling.
public struct ThreadStatement: Hashable, Sendable {
    /// VM inputs and thread-nonce inputs, sorted by key.
    public var inputs: [KeyValue]
    /// VM outputs and thread-nonce outputs, sorted by key.
    public var outputs: [KeyValue]
    public var crossReads: [CrossRead]
    /// One VM result per transaction.
    public var results: [ExecutionResult]
}

/// A thread transaction whose nonce is not the sender's next nonce in the thread.
public struct NonceMismatch: Error, Hashable, Sendable, CustomStringConvertible {
    public var caller: Address
    public var expected: UInt64
    public var given: UInt64
    public var description: String { "wrong nonce for \(caller): expected \(expected), given \(given)" }
}

/// Runs thread transactions over a local fork with per-user nonces: the protocol's execution rule,
/// shared by the batcher (building) and the re-execution verifier (checking).
///
/// For each transaction: the sender's nonce key is read (an input) and must equal the
/// transaction's nonce, else the transaction is not executed at all; the nonce is incremented
/// (an output) whether the VM succeeds or fails; the VM runs; a failed VM run's contract writes
/// are discarded, its reads still count as inputs.
public struct ThreadExecution: Sendable {
    private var vm: SubBlockBuilder
    private let base: any StateReader
    private var nonceInputs: [StorageKey: Felt] = [:]
    private var nonceWrites: [StorageKey: Felt] = [:]
    public private(set) var transactions: [ThreadTransaction] = []

    /// An execution under `rules`, the VM rules of the thread's OS version.
    public init(
        program: Program, base: any StateReader, threads: any CrossThreadReader = NoThreads(), rules: VMRules
    ) {
        vm = SubBlockBuilder(program: program, base: base, threads: threads, rules: rules)
        self.base = base
    }

    /// An execution under OS version 1's rules with the step bound `limits`.
    public init(
        program: Program, base: any StateReader, threads: any CrossThreadReader = NoThreads(),
        limits: ExecutionLimits = .default
    ) {
        vm = SubBlockBuilder(program: program, base: base, threads: threads, limits: limits)
        self.base = base
    }

    /// The next nonce of `address` on this fork.
    public func nonce(of address: Address) -> UInt64 {
        let key = ThreadNonce.key(of: address)
        return (nonceWrites[key] ?? base.value(at: key)).value
    }

    /// The current value of `key` on this fork (contract keys and nonce keys).
    public func value(at key: StorageKey) -> Felt {
        nonceWrites[key] ?? vm.fork.value(at: key)
    }

    /// Checks the nonce, bumps it and runs the transaction; nothing changes on a nonce mismatch.
    public mutating func apply(_ tx: ThreadTransaction) -> Result<ExecutionResult, NonceMismatch> {
        let caller = tx.caller
        let key = ThreadNonce.key(of: caller)
        let current = nonceWrites[key] ?? base.value(at: key)
        guard current.value == tx.nonce else {
            return .failure(NonceMismatch(caller: caller, expected: current.value, given: tx.nonce))
        }
        if nonceInputs[key] == nil { nonceInputs[key] = base.value(at: key) }
        nonceWrites[key] = current + .one
        transactions.append(tx)
        return .success(vm.apply(Transaction(caller: caller, entrypoint: tx.entrypoint, calldata: tx.calldata)))
    }

    public var statement: ThreadStatement {
        let vmStatement = vm.statement
        var inputs = vmStatement.inputs
        var outputs = vmStatement.outputs
        if !nonceInputs.isEmpty {
            var merged = Dictionary(inputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for (key, value) in nonceInputs where merged[key] == nil { merged[key] = value }
            inputs = merged.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
            var mergedOut = Dictionary(outputs.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for (key, value) in nonceWrites { mergedOut[key] = value }
            outputs = mergedOut.map { KeyValue(key: $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        }
        return ThreadStatement(
            inputs: inputs, outputs: outputs, crossReads: vmStatement.crossReads, results: vmStatement.results)
    }
}
