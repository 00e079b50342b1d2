import DaemonKit
import DevnetAPI
import DevnetProtocol
import Foundation
import Metrics
import ThreadVM
import ZKCore

extension NodeEngine {
    /// Syncs when the pipeline needs it, and proves and submits what it hands out.
    func driveLoop() async throws {
        for await _ in wake {
            while true {
                try Task.checkCancellation()
                if pipeline.needsSync {
                    try await sync()
                } else if let submission = pipeline.nextSubmission(at: .now) {
                    try await dispatch(submission)
                } else {
                    break
                }
            }
            // The open sub-block waits under the sealing policy: look again when it is due (one
            // timer per deadline, not one per wake).
            if let deadline = pipeline.sealDeadline, deadline != sealTimer {
                sealTimer = deadline
                Task { [wakeInput] in
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    wakeInput.yield()
                }
            }
        }
    }

    /// Takes receipts in sequence order.
    func followLoop() async throws {
        for await _ in follow {
            while let head = pipeline.nextReceipt() {
                let receipt = try await account.receipt(of: head.l2TxHash)
                if receipt.status == .accepted {
                    pipeline.receipt(sequence: head.sequence, outcome: .accepted(block: receipt.blockNumber))
                } else {
                    let revert = receipt.revert
                    context.logger.warning(
                        "sub-block \(head.sequence) of \(spec.name) reverted in block \(receipt.blockNumber): \(revert?.description ?? "no reason")"
                    )
                    pipeline.receipt(
                        sequence: head.sequence,
                        outcome: .reverted(
                            block: receipt.blockNumber, code: revert?.code.rawValue ?? "REVERTED",
                            message: revert?.message ?? ""))
                }
                followed(head.sequence, receipt)
                try flush()
                wakeInput.yield()
            }
        }
    }

    /// Once a second, asks the manager whether another prover moved the thread.
    func watchLoop() async throws {
        while true {
            try await Task.sleep(for: .seconds(1))
            try await checkCanonical()
            if pipeline.stuck != nil { wakeInput.yield() }
        }
    }

    func checkCanonical(once: Bool = false) async throws {
        guard pipeline.isReady else { return }
        let summary = try await manager.call(
            ManagerMessage.thread, ThreadRequest(thread: spec.name), as: ThreadSummary.self,
            timeout: once ? .seconds(1) : .seconds(5), once: once)
        pipeline.canonicalMoved(to: summary.sequence, programHash: summary.programHash, osVersion: summary.osVersion)
        try flush()
        if !pipeline.isReady {
            context.logger.notice("thread \(spec.name) changed under the node (\(pipeline.waiting ?? "")); re-syncing")
            wakeInput.yield()
        }
    }

    /// - Parameter once: ask the manager once (5 s) instead of until it answers.
    func fetchCrossReads(_ keys: [CrossThreadKey], once: Bool = false) async throws {
        let reads = keys.map { CanonicalKey(thread: $0.thread, key: $0.key) }
        let reply = try await manager.call(
            ManagerMessage.canonical, CanonicalRequest(reads: reads), as: CanonicalReply.self, once: once)
        pipeline.provideCrossReads(Array(zip(keys, reply.values)))
    }

    /// Loads the thread's canonical state (registering the thread first if nobody has), asks the
    /// manager which unsettled transactions the canonical chain holds, and rebases the others.
    func sync() async throws {
        let unsettled = pipeline.syncStarted()
        try flush()
        var state: ThreadStateReply?
        while state == nil {
            do {
                state = try await manager.call(
                    ManagerMessage.threadState, ThreadRequest(thread: spec.name), as: ThreadStateReply.self)
            } catch let error as WireError where error.code == .notFound {
                try await registerThread()
            }
        }
        guard var state else { return }
        var settled: [String: SettledTransaction] = [:]
        // The state and the settlements are two requests: when the thread moved in between, a
        // settlement lies past the state's sequence. Read both again, a few times, so that they
        // agree; the pipeline judges only settlements the state holds in any case.
        for attempt in 1...5 {
            settled = [:]
            for start in stride(from: 0, to: unsettled.count, by: 1000) {
                let chunk = Array(unsettled[start..<min(start + 1000, unsettled.count)])
                let reply = try await manager.call(
                    ManagerMessage.settlements, SettlementsRequest(thread: spec.name, txHashes: chunk),
                    as: SettlementsReply.self)
                for (hash, settlement) in zip(chunk, reply.settlements) { settled[hash] = settlement }
            }
            guard attempt < 5, settled.values.contains(where: { $0.subBlock > state.summary.sequence }) else { break }
            state = try await manager.call(
                ManagerMessage.threadState, ThreadRequest(thread: spec.name), as: ThreadStateReply.self)
        }
        var canonical = MemoryState()
        canonical.apply(state.entries)
        let program = try await runningProgram(state.summary.programHash)
        pipeline.synced(
            canonical: canonical, sequence: state.summary.sequence, settled: settled, program: program,
            osVersion: state.summary.osVersion)
        while true {
            let misses = pipeline.advanceRebase(names: names)
            if misses.isEmpty { break }
            try await fetchCrossReads(misses)
        }
        try flush()
        context.logger.info(
            "synced thread \(spec.name) at sequence \(state.summary.sequence) (root \(state.summary.stateRoot.prefix(12))); \(unsettled.count) unsettled transaction(s): \(settled.count) found settled, \(pipeline.unsettled) to submit"
        )
    }

    /// The program the thread runs on L2: the node's own when the hashes agree, else the one the
    /// manager serves (a thread registered by another node, or upgraded).
    private func runningProgram(_ hash: ProgramHash) async throws -> Program {
        if hash == pipeline.configuration.program.hash { return pipeline.configuration.program }
        let reply = try await manager.call(ManagerMessage.program, ProgramRequest(hash: hash), as: ProgramReply.self)
        let program = try Program(decoding: reply.encoding.bytes)
        guard program.hash == hash else {
            throw WireError(.internalError, "the manager served program \(program.hash) for \(hash)")
        }
        context.logger.notice("thread \(spec.name) runs program \(hash) (fetched from the manager)")
        return program
    }

    private func registerThread() async throws {
        let registration = ThreadRegistration(
            name: spec.name, contract: spec.contract, programHash: entry.program.hash, osVersion: spec.pinnedOSVersion,
            proofSystem: spec.proofSystem, genesisState: [], program: HexBytes(entry.program.canonicalEncoding))
        let receipt = try await account.submit(.registerThread(registration))
        if let revert = receipt.revert, revert.code != RevertReason.Code.threadExists {
            context.logger.error("registering thread \(spec.name) reverted: \(revert)")
            throw WireError(.internalError, "cannot register thread \(spec.name): \(revert)")
        }
        context.logger.info("registered thread \(spec.name) (\(entry.threadId)) in block \(receipt.blockNumber)")
    }

    /// Proves a sub-block and has the sequencer admit it. A refusal (say, the prover cannot pay)
    /// is reported to the pipeline, logged, and tried again after a pause.
    func dispatch(_ submission: SubBlockSubmission) async throws {
        let sequence = submission.sequence
        do {
            let started = ContinuousClock.now
            let proved = try await Self.prove(submission, by: proofSystem, program: pipeline.configuration.program)
            let elapsed = ContinuousClock.now - started
            bump("proofs")
            bump(
                "prove_us",
                UInt64(elapsed.components.seconds) * 1_000_000
                    + UInt64(elapsed.components.attoseconds / 1_000_000_000_000))
            bump("proof_bytes", UInt64(proved.proof.count))
            Metrics.Timer(label: DevnetMetrics.prove, dimensions: [("proof_system", proofSystem.name)])
                .recordNanoseconds(
                    elapsed.nanoseconds)
            Recorder(label: DevnetMetrics.proofSize, dimensions: [("proof_system", proofSystem.name)]).record(
                proved.proof.count)
            Recorder(label: DevnetMetrics.subBlockSize).record(proved.transactions.count)
            var tamper = faults.next()
            if let replay = tamper, replay.fault == .replay {
                tamper = nil
                if let old = faults.lastAccepted { try await replayOld(old, replay) }
            }
            let sent = tamper.map { NodeFaultHooks.spoil(proved, $0.fault) } ?? proved
            let hash = try await account.admit(.threadUpdate(bundle: [sent]))
            sentRecords[sequence] = (sent, tamper)
            let wasStuck = pipeline.stuck != nil
            pipeline.submitted(sequence: sequence, l2TxHash: hash)
            if wasStuck { context.logger.notice("submissions of \(spec.name) go through again") }
            bump("sub_blocks_submitted")
            Counter(label: DevnetMetrics.subBlocksSubmitted).increment()
            try flush()
        } catch let error as WireError where error.code != .shuttingDown {
            let reason =
                "the sequencer refused sub-block \(sequence) from prover \(prover.name): \(error.code.rawValue): \(error.message)"
                + (error.code.rawValue.contains("BALANCE") || error.code.rawValue.contains("FUNDS")
                    ? "; fund \(prover.name) (devnet transfer --to \(prover.name)) and the node goes on by itself" : "")
            if pipeline.stuck != reason { context.logger.error("\(reason)") }
            pipeline.submissionFailed(sequence: sequence, reason: reason)
            try flush()
            try await Task.sleep(for: .seconds(1))
        } catch let error as ProofError {
            let reason = "cannot prove sub-block \(sequence) of \(spec.name): \(error.message)"
            if pipeline.stuck != reason { context.logger.error("\(reason)") }
            pipeline.submissionFailed(sequence: sequence, reason: reason)
            try flush()
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Proves on a thread of its own, off the actor and off the concurrency pool, so a proof that
    /// takes seconds never holds up requests, receipts or the other loops.
    nonisolated static func prove(
        _ submission: SubBlockSubmission, by system: any ProofSystem, program: Program
    ) async throws -> SubBlockSubmission {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try submission.proved(by: system, program: program))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "prover"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Submits an old accepted sub-block again (a fault hook) and records its receipt apart.
    private func replayOld(_ old: SubBlockSubmission, _ replay: TamperRequest) async throws {
        let hash = try await account.admit(.threadUpdate(bundle: [old]))
        Task {
            guard let receipt = try? await account.receipt(of: hash) else { return }
            await recordReplay(old, receipt, replay)
        }
    }

    private func recordReplay(_ old: SubBlockSubmission, _ receipt: Receipt, _ replay: TamperRequest) {
        faults.record(old, receipt, tamper: replay)
        bump("reverts")
        context.logger.notice(
            "replayed sub-block \(old.sequence) (fault hook): \(receipt.status.rawValue) \(receipt.revert?.code.rawValue ?? "")"
        )
    }

    /// Records a followed receipt for `submissions` and the replay hook.
    func followed(_ sequence: UInt64, _ receipt: Receipt) {
        guard let (sent, tamper) = sentRecords.removeValue(forKey: sequence) else { return }
        faults.record(sent, receipt, tamper: tamper)
        if receipt.status == .accepted {
            faults.lastAccepted = sent
            bump("sub_blocks_settled")
            if let tamper {
                context.logger.error(
                    "sub-block \(sequence) spoiled with \(tamper.fault.rawValue) was accepted: the manager should have reverted it"
                )
            }
        } else {
            bump("reverts")
        }
    }
}
