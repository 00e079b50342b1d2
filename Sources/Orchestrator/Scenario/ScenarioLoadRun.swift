import DevnetAPI
import DevnetClient
import DevnetProtocol
import Foundation
import Synchronization
import ZKCore
import ZeroMQ

/// What a load phase did: every transaction its node admitted, how each ended, and the accounts
/// before and after, for the `invariants` step.
struct LoadRecord: Sendable {
    struct Admitted: Sendable {
        var hash: String
        var sender: String
        var nonce: UInt64
    }

    var name: String
    var thread: String
    var node: String
    var admitted: [Admitted] = []
    /// Every `tx_final` report of the phase's transactions, by hash, in the order seen.
    var finalReports: [String: [TxStatusReply]] = [:]
    var accountsBefore: [String: AccountInfo] = [:]
    var accountsAfter: [String: AccountInfo] = [:]
    /// The faults its nemesis injected, in order.
    var faults: [Scenario.NemesisEvent] = []
    /// For a load of L2 transfers: what each admitted one moved, by hash.
    var transfers: [String: (to: String, amount: UInt64)] = [:]
    /// For a load of L2 transfers: the receipt of each admitted one that got one, by hash.
    var receipts: [String: Receipt] = [:]
}

/// Runs one `load` step: signs the planned transactions with the seeded accounts (each sender's
/// nonces counted up from the node's `nonce`), sends them with `submit_batch` at the step's rate,
/// and follows them to `settled` or `failed` through the node's `tx_final` events, asking
/// `tx_status` after those an event did not report (a restarted node starts its events again).
struct LoadDriver {
    /// Applies (true) or lifts (false) one nemesis fault on a target.
    typealias FaultAction = @Sendable (Scenario.Strike, Bool) async throws -> Void

    let load: Scenario.Load
    let session: DevnetClientSession
    let progress: @Sendable (String) -> Void
    var act: FaultAction = { _, _ in }
    /// Whether the phase reads every account before and after it (false when phases overlap and
    /// the runner reads them once for all).
    var readsAccounts = true

    /// Transactions a sender may have sent and not yet seen final (1 with `wait: true`).
    private var window: Int { load.waitEach ? 1 : 256 }

    /// Runs the load; returns what it did and, when not every transaction became final (or the
    /// node refused one), why the step fails.
    func run(until deadline: ContinuousClock.Instant) async throws -> (LoadRecord, failure: String?) {
        if load.isTransfers { return try await runTransfers(until: deadline) }
        guard let entry = session.catalog.entry(for: load.thread),
            let process = session.state.processes.first(where: { $0.name == load.node })
        else { throw StepFailure("this devnet has no thread \(load.thread) on \(load.node)") }
        let program = try await session.runningProgram(entry)
        let plan = load.plan(seed: session.topology.seed)
        var record = LoadRecord(name: load.name, thread: load.thread, node: load.node)
        if readsAccounts { record.accountsBefore = try await Self.accounts(session) }

        // Each sender's share, in plan order, signed from the node's next nonce on.
        var queues: [SenderQueue] = []
        for sender in load.senders {
            let indices = plan.indices.filter { plan[$0].sender == sender }
            guard !indices.isEmpty else { continue }
            let signer = try session.accounts.account(named: sender)
            let first = try await session.call(
                load.node, NodeMessage.nonce, NonceRequest(address: signer.address), as: NonceReply.self
            ).nonce
            var queue = SenderQueue(sender: sender)
            for (offset, index) in indices.enumerated() {
                let arguments = try session.resolveArguments(plan[index].arguments)
                do {
                    let tx = try ThreadTransaction.make(
                        thread: entry.threadId, contract: program, entrypoint: load.entrypoint, arguments: arguments,
                        signer: signer, nonce: first + UInt64(offset))
                    queue.items.append(.init(tx: tx, index: index))
                } catch {
                    throw StepFailure("thread \(load.thread): \(error.message)")
                }
            }
            queues.append(queue)
        }

        let recorder = LoadRecorder()
        let watch = FinalWatch(senders: queues.count, sink: recorder)
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "scenario-load", clientKeys: session.clientKeys)
        let subscriber = try await EventSubscriber.connect(
            events: process.endpoints.events, api: process.endpoints.api, topics: [TxFinalEvent.topic], on: loop)
        let listener = Task {
            for await event in subscriber.events {
                guard let final = try? event.decode(TxFinalEvent.self) else { continue }
                recorder.reported(final.transactions)
                watch.finished(final.transactions, node: load.node)
            }
        }
        let started = ContinuousClock.now
        let total = plan.count
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { break }
                let now = recorder.counts()
                progress(
                    String(
                        format: "               %@: %d/%d admitted, %d settled, %d failed, %.1f s", load.name,
                        now.admitted, total, now.settled, now.failed, (ContinuousClock.now - started).seconds))
            }
        }
        // Leave time to report what is still open before the runner cuts the step off.
        let stop = deadline - .milliseconds(500)
        let nemesis = load.nemesis.map { nemesis in
            Task { await strike(nemesis, started: started) }
        }
        await withTaskGroup(of: Void.self) { group in
            for (sender, queue) in queues.enumerated() {
                group.addTask {
                    await send(queue, sender: sender, started: started, watch: watch, recorder: recorder, until: stop)
                    await follow(sender: sender, watch: watch, until: stop)
                }
            }
            await group.waitForAll()
        }
        nemesis?.cancel()
        record.faults = await nemesis?.value ?? []
        reporter.cancel()
        subscriber.close()
        listener.cancel()
        await loop.shutdown()
        context.terminate()

        let outcome = recorder.finish()
        record.admitted = outcome.admitted
        record.finalReports = outcome.reports
        if readsAccounts { record.accountsAfter = try await Self.accounts(session) }
        let open = (0..<queues.count).flatMap { watch.open(sender: $0) }
        progress(
            String(
                format: "               %@: %d admitted, %d settled, %d failed, %d refused, %d open, %.1f s", load.name,
                outcome.admitted.count, outcome.settled, outcome.failed, outcome.refusals.count, open.count,
                (ContinuousClock.now - started).seconds))
        if let refusal = outcome.refusals.first {
            return (
                record,
                "\(load.node) refused \(outcome.refusals.count) of the \(total) transactions; the first: \(refusal)"
            )
        }
        if !open.isEmpty {
            var seen: [String] = []
            for hash in open.sorted().prefix(3) {
                let status = try? await session.call(
                    load.node, NodeMessage.status, TxStatusRequest(txHash: hash), as: TxStatusReply.self,
                    timeout: .seconds(2))
                seen.append(
                    "\(hash.prefix(12)) \(status?.status.rawValue ?? "unknown")\(status?.waiting.map { " (\($0))" } ?? "")"
                )
            }
            return (
                record,
                "\(open.count) of the \(total) transactions were not final when the step timed out (e.g. \(seen.joined(separator: "; "))); give the step a longer timeout or a lower rate"
            )
        }
        return (record, nil)
    }

    /// Injects the nemesis's faults, one at a time, until cancelled; each is lifted half the
    /// mean time after it was applied, or at once when the load ends.
    func strike(_ nemesis: Scenario.Nemesis, started: ContinuousClock.Instant) async -> [Scenario.NemesisEvent] {
        var events: [Scenario.NemesisEvent] = []
        for strike in nemesis.schedule(seed: session.topology.seed, stream: load.stream, count: 10_000) {
            let (fault, target) = (strike.fault, strike.target)
            try? await Task.sleep(for: strike.wait)
            if Task.isCancelled { break }
            let at = ContinuousClock.now
            var problem: String?
            do {
                try await act(strike, true)
            } catch {
                problem = "\(error)"
            }
            progress(
                String(format: "               nemesis at %.2fs: %@ %@", (at - started).seconds, fault.rawValue, target)
                    + (problem.map { " failed: \($0)" } ?? ""))
            // A spoiled submission is over once sent: nothing to lift.
            if problem == nil, fault != .tamper {
                try? await Task.sleep(for: nemesis.every / 2)
                // Lifted even when the load has ended (and cancelled this task).
                let lift = Task { try await act(strike, false) }
                do {
                    try await lift.value
                } catch {
                    problem = "lifting it: \(error)"
                    progress("               nemesis: lifting \(fault.rawValue) on \(target) failed: \(error)")
                }
            }
            events.append(
                Scenario.NemesisEvent(
                    at: (at - started).seconds, fault: fault, target: target,
                    lasted: (ContinuousClock.now - at).seconds,
                    problem: problem))
        }
        return events
    }

    static func accounts(_ session: DevnetClientSession) async throws -> [String: AccountInfo] {
        let reply = try await session.call("sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self)
        var byName: [String: AccountInfo] = [:]
        for account in reply.accounts { byName[account.name ?? account.address.hex] = account }
        return byName
    }

    struct SenderQueue: Sendable {
        struct Item: Sendable {
            var tx: ThreadTransaction
            /// Its place in the plan: it is released at `index / rate` seconds.
            var index: Int
        }
        var sender: String
        var items: [Item] = []
    }

    /// Sends one sender's transactions in nonce order, in batches of those released so far that
    /// fit its window. A batch that gets no answer, and transactions the node is not ready for,
    /// are sent again (the same signed transactions: a node admits each once).
    private func send(
        _ queue: SenderQueue, sender: Int, started: ContinuousClock.Instant, watch: FinalWatch,
        recorder: LoadRecorder, until stop: ContinuousClock.Instant
    ) async {
        var items = queue.items[...]
        while let next = items.first, ContinuousClock.now < stop {
            let release = { (index: Int) -> ContinuousClock.Instant in
                guard let rate = load.rate else { return started }
                return started + .milliseconds(Int64(Double(index) / rate * 1000))
            }
            if release(next.index) > .now {
                try? await Task.sleep(until: min(release(next.index), stop))
                continue
            }
            let room = await watch.room(sender: sender, window: window)
            let now = ContinuousClock.now
            let batch = Array(
                items.prefix { release($0.index) <= now }.prefix(min(room, NodeSubmitBatchRequest.maxTransactions)))
            guard !batch.isEmpty else { continue }
            watch.expect(batch.map(\.tx.txHash), sender: sender, at: .now)
            var pending = batch[...]
            while !pending.isEmpty, ContinuousClock.now < stop {
                let results: [SubmitResult]
                do {
                    results = try await session.request(
                        load.node, NodeMessage.submitBatch, NodeSubmitBatchRequest(txs: pending.map(\.tx)),
                        as: SubmitBatchReply.self, timeout: .seconds(5)
                    ).results
                } catch {
                    // No answer (the node may be restarting): the same transactions again.
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                var retry: ArraySlice<SenderQueue.Item> = []
                for (offset, result) in results.enumerated() {
                    let position = pending.index(pending.startIndex, offsetBy: offset)
                    let item = pending[position]
                    if let error = result.error {
                        if error.code.rawValue == "NOT_READY" || error.code.rawValue == "BUSY" {
                            retry = pending[position...]
                            break
                        }
                        // A real refusal leaves the nonce unused: the sender's later ones cannot settle.
                        watch.refused(pending[position...].map(\.tx.txHash), sender: sender, reason: "")
                        recorder.refused(
                            "\(queue.sender) nonce \(item.tx.nonce): \(error.code.rawValue): \(error.message)")
                        return
                    }
                    recorder.admitted(.init(hash: item.tx.txHash, sender: queue.sender, nonce: item.tx.nonce))
                    if let status = result.status, status.status == .settled || status.status == .failed {
                        watch.finished([status], node: load.node)
                    }
                }
                pending = retry
                if !pending.isEmpty { try? await Task.sleep(for: .milliseconds(300)) }
            }
            items = items.dropFirst(batch.count)
        }
    }

    /// Waits for the sender's transactions to be final, asking the node after those still open
    /// whenever a second passes with some left.
    private func follow(sender: Int, watch: FinalWatch, until stop: ContinuousClock.Instant) async {
        while ContinuousClock.now < stop {
            if await watch.waitFinal(sender: sender, within: min(.seconds(1), stop - .now)) { return }
            for hash in watch.open(sender: sender).prefix(200) {
                guard
                    let status = try? await session.request(
                        load.node, NodeMessage.status, TxStatusRequest(txHash: hash), as: TxStatusReply.self,
                        timeout: .seconds(2))
                else { continue }
                if status.status == .settled || status.status == .failed {
                    watch.finished([status], node: load.node)
                }
            }
        }
    }
}

/// Collects a load's admitted transactions and outcomes, shared by its senders.
final class LoadRecorder: FinalSink {
    struct Outcome {
        var admitted: [LoadRecord.Admitted] = []
        var reports: [String: [TxStatusReply]] = [:]
        var settled = 0
        var failed = 0
        var refusals: [String] = []
    }

    private let state = Mutex(Outcome())

    func admitted(_ tx: LoadRecord.Admitted) { state.withLock { $0.admitted.append(tx) } }

    func refused(_ reason: String) { state.withLock { $0.refusals.append(reason) } }

    /// A `tx_final` event's statuses, kept to check that each transaction is reported once.
    func reported(_ statuses: [TxStatusReply]) {
        state.withLock { for status in statuses { $0.reports[status.txHash, default: []].append(status) } }
    }

    func final(_ status: TxStatusReply, after latency: Duration, node: String) {
        state.withLock {
            if status.status == .settled { $0.settled += 1 } else { $0.failed += 1 }
        }
    }

    func refused(_ txHash: String, reason: String) {}

    func abandoned(_ txHash: String, reason: String) {}

    func counts() -> (admitted: Int, settled: Int, failed: Int) {
        state.withLock { ($0.admitted.count, $0.settled, $0.failed) }
    }

    func finish() -> Outcome { state.withLock { $0 } }
}
