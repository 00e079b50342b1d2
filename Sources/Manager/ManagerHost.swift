import DaemonKit
import DevnetAPI
import DevnetProtocol
import DevnetStorage
import Foundation
import Metrics
import Synchronization
import ThreadVM
import ZKCore

/// The manager's state and its log: every registration and update is applied to the pure
/// ``ManagerState`` in L2 block order and logged before the answer goes back, so a restart replays
/// the log into the same state, and a transaction hash seen before gets its recorded answer.
actor ManagerHost {
    private let context: DaemonContext
    private let catalog: TopologyPrograms
    private let log: CommandLog
    private var state = ManagerState()
    /// Sub-blocks to apply twice, per thread: the `apply_twice` fault hook.
    private var applyTwice: [Felt: Int] = [:]

    nonisolated let counters = Mutex<[String: UInt64]>([:])
    /// Proofs checked, their bytes and the time spent checking them, per proof system.
    nonisolated let meter: ProofMeter
    nonisolated let restoredThreads: Int
    /// How the state was rebuilt at start, for the log.
    nonisolated let restoredFrom: String

    private let checkpoints: CheckpointStore
    /// The last log entry applied to `state`: what a checkpoint taken now covers.
    private var logPosition: Int64 = 0
    private var logKey = ""
    /// The position the last checkpoint covers, and whether one is being written.
    private var checkpointedPosition: Int64 = 0
    private var checkpointing = false

    /// The format of the manager's checkpoints; a checkpoint of another one is ignored.
    static let checkpointFormat = 2
    /// A checkpoint is written in the background after this many log entries since the last one.
    static let checkpointInterval: Int64 = 5_000

    init(context: DaemonContext) throws {
        self.context = context
        let catalog = try TopologyPrograms(topology: context.topology)
        self.catalog = catalog
        log = CommandLog(database: context.database)
        checkpoints = CheckpointStore(database: context.database)
        let meter = ProofMeter()
        self.meter = meter
        let systems = meter.measuring(.standard)

        // The latest checkpoint, when there is a usable one, and the log after it; else the whole log.
        var restored: (state: ManagerState, position: Int64, key: String)?
        do {
            if let checkpoint = try checkpoints.latest(format: Self.checkpointFormat, checksum: checkpointChecksum) {
                restored = (
                    try ManagerState(checkpoint: checkpoint.state, proofSystems: systems), checkpoint.position,
                    checkpoint.logKey
                )
            }
        } catch {
            context.logger.warning("ignoring the saved checkpoint: \(error); replaying the whole log")
        }
        var state = restored?.state ?? ManagerState(proofSystems: systems)
        var last = (position: restored?.position ?? 0, key: restored?.key ?? "")
        var replayed = 0
        do {
            let tail = try log.entries(after: last.position)
            try Self.replay(tail, into: &state, catalog: catalog)
            replayed = tail.count
            if let end = tail.last { last = (end.position, end.key) }
        } catch let error where restored != nil {
            context.logger.warning(
                "the log after the checkpoint at position \(last.position) does not replay onto it (\(error)); replaying the whole log"
            )
            restored = nil
            state = ManagerState(proofSystems: systems)
            let entries = try log.entries()
            try Self.replay(entries, into: &state, catalog: catalog)
            replayed = entries.count
            last = entries.last.map { ($0.position, $0.key) } ?? (0, "")
        }
        self.state = state
        logPosition = last.position
        logKey = last.key
        checkpointedPosition = restored?.position ?? 0
        meter.reset()
        // From here on, verifications are the devnet's work, not the replay's: metrics see them.
        meter.live()
        restoredThreads = state.records.count
        restoredFrom =
            restored.map { "the checkpoint at log position \($0.position) and \(replayed) command(s) after it" }
            ?? "\(replayed) command(s) replayed, no checkpoint"
        counters.withLock { $0["threads"] = UInt64(state.records.count) }
    }

    /// Applies logged entries to `state` in order, checking that each gives its recorded outcome.
    static func replay(_ entries: [CommandLog.Entry], into state: inout ManagerState, catalog: TopologyPrograms)
        throws
    {
        let decoder = WireCoding.decoder()
        for entry in entries where entry.kind == "execute" {
            let request = try decoder.decode(ExecuteRequest.self, from: entry.command)
            let recorded = try decoder.decode(ManagerOutcome.self, from: entry.outcome)
            // What was reverted changed nothing and is only remembered; what was accepted is
            // applied again under the acceptance rules, its proofs read back without the costly
            // checks (signatures, STARKs) this manager made when it accepted them.
            let replayed: ManagerOutcome
            if recorded.status == .reverted {
                state.remember(recorded)
                replayed = recorded
            } else {
                replayed = Self.apply(request, to: &state, catalog: catalog, replaying: true)
            }
            if replayed != recorded {
                throw DaemonStartError(
                    code: .storage,
                    message:
                        "the manager's log does not replay: \(entry.key) was \(recorded.status.rawValue), replay gives \(replayed.status.rawValue)"
                )
            }
        }
    }

    /// Saves the state and the log position it covers (one transaction), encoding it off the actor.
    func checkpoint() async throws -> CheckpointReply {
        // The saved one covers the whole log already (nothing was logged since it, or since the
        // start from it): there is nothing to add.
        if !checkpointing, checkpointedPosition == logPosition {
            return CheckpointReply(position: logPosition, bytes: 0, milliseconds: 0, saved: false)
        }
        let (state, position, key) = (state, logPosition, logKey)
        checkpointing = true
        defer { checkpointing = false }
        let reply = try await Task.detached { [checkpoints] in
            try Self.save(state, position: position, key: key, in: checkpoints)
        }.value
        checkpointedPosition = max(checkpointedPosition, position)
        return reply
    }

    private static func save(_ state: ManagerState, position: Int64, key: String, in store: CheckpointStore) throws
        -> CheckpointReply
    {
        let started = ContinuousClock.now
        let bytes = try state.checkpoint()
        let saved = try store.save(
            CheckpointStore.Checkpoint(format: checkpointFormat, position: position, logKey: key, state: bytes),
            checksum: checkpointChecksum(bytes))
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return CheckpointReply(
            position: position, bytes: bytes.count,
            milliseconds: Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000), saved: saved)
    }

    /// Writes a checkpoint in the background once enough has been logged since the last one.
    private func checkpointIfDue() {
        guard !checkpointing, logPosition - checkpointedPosition >= Self.checkpointInterval else { return }
        checkpointing = true
        Task {
            do {
                let reply = try await checkpoint()
                context.logger.info(
                    "checkpoint at log position \(reply.position): \(reply.bytes) bytes in \(reply.milliseconds) ms")
            } catch {
                context.logger.warning("could not write a checkpoint: \(error)")
            }
        }
    }

    private static func apply(
        _ request: ExecuteRequest, to state: inout ManagerState, catalog: TopologyPrograms, replaying: Bool = false
    ) -> ManagerOutcome {
        switch request.payload {
        case let .registerThread(registration):
            return state.register(
                registration, txHash: request.txHash, sender: request.sender, programs: catalog.program(hash:))
        case let .upgradeThread(upgrade):
            return state.upgrade(
                upgrade, txHash: request.txHash, sender: request.sender, programs: catalog.program(hash:))
        case let .threadUpdate(bundle):
            return state.apply(
                bundle: bundle, txHash: request.txHash, block: request.blockNumber, programs: catalog.program(hash:),
                replaying: replaying)
        case .transfer:
            return .reverted(
                request.txHash,
                RevertReason(code: .unknownThread, message: "a fee-token transfer has no thread to update"))
        }
    }

    /// Applies `request` and logs it before answering.
    ///
    /// - Parameter encoded: the request's JSON as it arrived, logged as it is (it decoded as
    ///   `request`, and a replay decodes it the same way); nil to encode `request` here.
    func execute(_ request: ExecuteRequest, encoded: Data? = nil) throws -> ManagerOutcome {
        if let recorded = state.outcomes[request.txHash] {
            bump("repeated")
            return recorded
        }
        var outcome = Self.apply(request, to: &state, catalog: catalog)
        if case let .threadUpdate(bundle) = request.payload, outcome.status == .accepted {
            for thread in Set(bundle.map(\.threadId)) where applyTwice[thread, default: 0] > 0 {
                applyTwice[thread]! -= 1
                outcome = state.applyAgain(
                    thread: thread, of: bundle, outcome: outcome, programs: catalog.program(hash:))
                context.logger.warning(
                    "fault hook apply_twice: applied the transactions of \(request.txHash.prefix(12))'s sub-block of thread \(thread) twice"
                )
            }
        }
        let encoder = WireCoding.encoder()
        do {
            logPosition = try log.append(
                key: request.txHash, kind: "execute", command: encoded ?? encoder.encode(request),
                outcome: encoder.encode(outcome))
            logKey = request.txHash
        } catch {
            // The state in memory is now ahead of the log. Stop: a restart replays the log and
            // the sequencer asks again, so nothing is lost or applied twice.
            context.logger.critical("cannot log \(request.txHash): \(error); stopping so the log stays the truth")
            exit(75)
        }
        bump(outcome.status == .accepted ? "accepted" : "reverted")
        if case let .threadUpdate(bundle) = request.payload {
            let accepted = outcome.status == .accepted
            let transactions = bundle.reduce(0) { $0 + $1.transactions.count }
            Counter(
                label: DevnetMetrics.subBlocks,
                dimensions: [
                    ("outcome", accepted ? "accepted" : "reverted"),
                    ("reason", outcome.revert?.code.rawValue ?? "none"),
                ]
            ).increment(by: bundle.count)
            if accepted {
                bump("sub_blocks", UInt64(bundle.count))
                bump("thread_txs", UInt64(transactions))
                Counter(label: DevnetMetrics.threadTransactionsSettled).increment(by: transactions)
            }
        }
        counters.withLock { $0["threads"] = UInt64(state.records.count) }
        if let revert = outcome.revert {
            context.logger.info("reverted \(request.txHash.prefix(12)) in block \(request.blockNumber): \(revert)")
        }
        try? context.publish("outcome", outcome)
        checkpointIfDue()
        return outcome
    }

    private func bump(_ name: String, _ amount: UInt64 = 1) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    /// The thread named `thread` (or with that id in decimal); `missing` is the error code when
    /// there is none.
    /// Arms the `apply_twice` fault hook for a thread.
    func armApplyTwice(_ thread: String) throws -> ApplyTwiceReply {
        let record = try record(thread)
        applyTwice[record.threadId, default: 0] += 1
        return ApplyTwiceReply(thread: record.name, armed: applyTwice[record.threadId]!)
    }

    private func record(_ thread: String, missing: WireErrorCode = .notFound) throws -> ThreadRecord {
        if let record = state.record(named: thread) { return record }
        if let id = UInt64(thread).flatMap(Felt.init(exactly:)), let record = state.record(id) { return record }
        let known = state.records.map(\.name)
        throw WireError(
            missing,
            "no thread '\(thread)' is registered"
                + (known.isEmpty ? " (none is yet)" : "; registered: \(known.joined(separator: ", "))")
        )
    }

    private func summary(_ record: ThreadRecord) -> ThreadSummary {
        ThreadSummary(
            threadId: record.threadId, name: record.name, contract: record.contract, osVersion: record.osVersion,
            programHash: record.programHash, proofSystem: record.proofSystem, stateRoot: record.stateRoot,
            sequence: record.sequence, keys: record.state.count, owner: record.owner
        )
    }

    func summary(of thread: String) throws -> ThreadSummary {
        summary(try record(thread))
    }

    func threads() -> ThreadsReply {
        ThreadsReply(threads: state.records.map(summary))
    }

    func state(of thread: String) throws -> ThreadStateReply {
        let record = try record(thread)
        return ThreadStateReply(summary: summary(record), entries: record.entries)
    }

    func canonical(_ request: CanonicalRequest) -> CanonicalReply {
        CanonicalReply(values: request.reads.map { state.canonicalValue(thread: $0.thread, key: $0.key) })
    }

    func settlements(_ request: SettlementsRequest) throws -> SettlementsReply {
        let record = try record(request.thread)
        return SettlementsReply(
            settlements: request.txHashes.map { hash in
                state.settlements[hash.lowercased()].flatMap { $0.thread == record.threadId ? $0 : nil }
            })
    }

    func checkUpgrade(_ request: CheckUpgradeRequest) throws -> Empty {
        if let refusal = state.checkUpgrade(request.upgrade, sender: request.sender, programs: catalog.program(hash:)) {
            throw WireError(WireErrorCode(refusal.code.rawValue), refusal.message)
        }
        return Empty()
    }

    func program(_ request: ProgramRequest) throws -> ProgramReply {
        let hash = try request.hash ?? record(request.thread ?? "").programHash
        guard let program = state.program(hash, catalog.program(hash:)) else {
            throw WireError(.notFound, "the manager has no program \(hash); a registration publishes one")
        }
        return ProgramReply(program, threads: state.records.filter { $0.programHash == hash }.map(\.name))
    }

    func view(_ request: ViewRequest) throws -> ViewReply {
        let record = try record(request.thread, missing: WireErrorCode(ViewError.Code.unknownThread.rawValue))
        do {
            let result = try state.view(
                thread: record.threadId, entrypoint: request.entrypoint, arguments: request.arguments,
                caller: request.caller ?? Address(0, 0, 0, 0), programs: catalog.program(hash:)
            )
            return ViewReply(
                thread: record.name, entrypoint: request.entrypoint, values: result.returnData,
                formatted: result.formatted)
        } catch {
            throw WireError(WireErrorCode(error.code.rawValue.uppercased()), error.message)
        }
    }
}

/// Counts the proofs a manager checks: per proof system, how many, their bytes and the
/// microseconds spent in the proof system's verifier (`<system>_proofs_verified`,
/// `<system>_proof_bytes`, `<system>_verify_us` in the manager's stats).
final class ProofMeter: Sendable {
    private let counts = Mutex<[String: UInt64]>([:])
    private let recording = Mutex(false)

    /// Records verifications into the `/metrics` histograms as well from now on.
    func live() { recording.withLock { $0 = true } }

    /// `systems` with every verification timed.
    func measuring(_ systems: ProofSystems) -> ProofSystems {
        ProofSystems(systems.systems.values.map { MeasuredProofSystem(base: $0, meter: self) })
    }

    func record(_ system: String, bytes: Int, elapsed: Duration) {
        let micros =
            UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
        counts.withLock {
            $0["\(system)_proofs_verified", default: 0] += 1
            $0["\(system)_proof_bytes", default: 0] += UInt64(bytes)
            $0["\(system)_verify_us", default: 0] += micros
        }
        guard recording.withLock({ $0 }) else { return }
        Metrics.Timer(label: DevnetMetrics.verify, dimensions: [("proof_system", system)]).recordNanoseconds(
            Int64(micros) * 1000)
        Recorder(label: DevnetMetrics.proofSize, dimensions: [("proof_system", system)]).record(bytes)
    }

    func reset() { counts.withLock { $0 = [:] } }

    var snapshot: [String: UInt64] { counts.withLock { $0 } }
}

/// A proof system whose verifications are timed into a ``ProofMeter``.
struct MeasuredProofSystem: ProofSystem {
    let base: any ProofSystem
    let meter: ProofMeter

    var name: String { base.name }

    func prove(_ submission: SubBlockSubmission, program: Program) throws -> Data {
        try base.prove(submission, program: program)
    }

    func verify(_ submission: SubBlockSubmission, program: Program) -> ProofCheck {
        verifyReportingFailures(submission, program: program).0
    }

    func verifyReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        let started = ContinuousClock.now
        let result = base.verifyReportingFailures(submission, program: program)
        meter.record(name, bytes: submission.proof.count, elapsed: ContinuousClock.now - started)
        return result
    }

    func replayReportingFailures(_ submission: SubBlockSubmission, program: Program) -> (
        ProofCheck, failures: [Int: String]?
    ) {
        base.replayReportingFailures(submission, program: program)
    }
}
