import DevnetAPI
import DevnetClient
import DevnetProtocol
import Foundation
import Histogram
import Synchronization
import ZKCore
import ZeroMQ

/// Drives `counter` `increment` transactions through a fresh devnet's thread nodes over the wire
/// protocol and measures what comes out: settlement latency, settled transactions per second, the
/// sub-block sizes that resulted, the manager's CPU time, what proving and verifying cost, and
/// every daemon's peak RSS.
public struct BenchLoad: Sendable {
    /// One load run's shape.
    public struct Shape: Sendable, Equatable {
        /// Thread nodes, each running `counter`.
        public var threads: Int
        /// Transactions per thread.
        public var transactionsPerThread: Int
        /// Accounts sending to each thread at once; each keeps its nonces in order.
        public var senders: Int
        /// Transactions an account may have submitted and not yet settled.
        public var window: Int
        /// The threads' `max_sub_block`; nil for the node's default.
        public var maxSubBlock: Int?
        /// The threads' proof system (`stark` threads run OS version 2).
        public var proofSystem: String
        /// How long after its submission a transaction may take to settle before it counts as failed.
        public var settleTimeout: Duration
        /// Send with `submit_batch` and learn outcomes from the nodes' `tx_final` events, instead
        /// of a `submit` and a waiting `tx_status` per transaction.
        public var batched: Bool

        public init(
            threads: Int, transactionsPerThread: Int, senders: Int, window: Int, maxSubBlock: Int? = nil,
            proofSystem: String = "reexec", settleTimeout: Duration = .seconds(60), batched: Bool = false
        ) {
            self.batched = batched
            self.threads = threads
            self.transactionsPerThread = transactionsPerThread
            self.senders = senders
            self.window = window
            self.maxSubBlock = maxSubBlock
            self.proofSystem = proofSystem
            self.settleTimeout = settleTimeout
        }
    }

    /// What one load run measured.
    public struct Outcome: Sendable {
        public var submitted = 0
        public var settled = 0
        public var failed = 0
        /// Refused by the node at submit (never accepted, so in neither `settled` nor `failed`).
        public var refused = 0
        public var seconds = 0.0
        /// Submit to `settled`, in microseconds.
        var latencyMicros = Histogram<UInt64>(highestTrackableValue: 600_000_000)
        /// Distinct sub-blocks the settled transactions were in, over every thread.
        public var subBlocks = 0
        /// Transactions in the largest sub-block.
        public var largestSubBlock = 0
        /// The manager's user + system CPU time over the run, in milliseconds.
        public var managerCPUMs = 0.0
        /// What the nodes proved and the manager verified during the load (after the warm-up);
        /// nil when a daemon did not answer `stats`.
        public var proofCounters: ProofCounters?
        public var peakRSS: [BenchReport.PeakRSS] = []
        /// The first few failure reasons, for the report.
        public var failureReasons: [String] = []
    }

    public var basePort: Int

    public init(basePort: Int) {
        self.basePort = basePort
    }

    /// Starts a devnet of `shape.threads` counter threads in a temporary directory, runs the load
    /// and stops the devnet. `progress` gets a line about twice a second.
    public func run(_ shape: Shape, label: String, progress: @escaping @Sendable (String) -> Void) async throws
        -> Outcome
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "devnet-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("devnet.yaml")
        let threads = (1...max(1, shape.threads)).map { index in
            "  - name: counter-\(index)\n    contract: counter\n    proof_system: \(shape.proofSystem)\n"
                + (shape.maxSubBlock.map { "    max_sub_block: \($0)\n" } ?? "")
        }.joined()
        try "base_port: \(basePort)\nsequencer:\n  block_mode: instant\nthreads:\n\(threads)".write(
            to: config, atomically: true, encoding: .utf8)
        let dataDirectory = directory.appendingPathComponent("data")
        let orchestrator = Orchestrator(dataDirectory: dataDirectory.path) { _ in }
        let state = try await orchestrator.up(.init(configPath: config.path))
        do {
            let outcome = try await drive(
                shape, state: state, dataDirectory: dataDirectory, label: label, progress: progress)
            try await orchestrator.down()
            return outcome
        } catch {
            try? await orchestrator.down()
            throw error
        }
    }

    private func drive(
        _ shape: Shape, state: DevnetState, dataDirectory: URL, label: String,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> Outcome {
        let topology = try Topology.load(from: dataDirectory.appendingPathComponent(Topology.fileName))
        let catalog = try TopologyPrograms(topology: topology)
        let accounts = DevAccounts.derive(seed: topology.seed)
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "devnet-bench")
        defer { context.terminate() }
        let manager = state.processes.first { $0.role == .manager }
        // One settled transaction per thread first: the node has registered its thread and synced,
        // and neither counts in the figures.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...shape.threads {
                guard let entry = catalog.entry(for: "counter-\(index)"),
                    let node = state.processes.first(where: { $0.name == "node-counter-\(index)" })
                else { throw OrchestratorError("error: the bench devnet has no thread counter-\(index)") }
                group.addTask {
                    let client = try await RequestClient.connect(to: node.endpoints.api, on: loop)
                    defer { client.close() }
                    if let problem = await Self.warmUp(entry: entry, signer: accounts.users[0], client: client) {
                        throw OrchestratorError("error: the warm-up transaction of \(entry.thread.name): \(problem)")
                    }
                }
            }
            try await group.waitForAll()
        }
        // Every transaction of the run, built and signed before the clock starts, so the bench's
        // own signing never competes with the daemons for a core.
        var clients: [RequestClient] = []
        var loads: [SenderLoad] = []
        for index in 1...shape.threads {
            guard let entry = catalog.entry(for: "counter-\(index)"),
                let node = state.processes.first(where: { $0.name == "node-counter-\(index)" })
            else { throw OrchestratorError("error: the bench devnet has no thread counter-\(index)") }
            let client = try await RequestClient.connect(to: node.endpoints.api, on: loop)
            clients.append(client)
            let senders = min(shape.senders, DevAccounts.userNames.count)
            for sender in 0..<senders {
                // Split the thread's transactions over its senders.
                let count =
                    shape.transactionsPerThread / senders
                    + (sender < shape.transactionsPerThread % senders ? 1 : 0)
                guard count > 0 else { continue }
                let signer = accounts.users[sender]
                let nonce = try await Self.ask(
                    client,
                    NodeMessage.nonce, NonceRequest(address: signer.address), as: NonceReply.self,
                    timeout: .seconds(30)
                ).nonce
                loads.append(
                    SenderLoad(entry: entry, signer: signer, client: client, firstNonce: nonce, count: count))
            }
        }
        loads = try await Self.sign(loads)

        let cpuBefore = manager.flatMap { ProcessSampler.cpuSeconds(pid: $0.pid) } ?? 0
        let countersBefore = await Self.proofCounters(of: state, system: shape.proofSystem, on: loop)

        let tally = Tally()
        let total = shape.threads * shape.transactionsPerThread
        let started = ContinuousClock.now
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                let now = tally.snapshot()
                let elapsed = (ContinuousClock.now - started).seconds
                progress(
                    String(
                        format: "%@: %d/%d submitted, %d settled, %d failed, %.1f s", label, now.submitted, total,
                        now.settled, now.failed, elapsed))
            }
        }
        defer { reporter.cancel() }

        if shape.batched {
            try await Self.sendBatched(
                loads, state: state, window: shape.window, settleTimeout: shape.settleTimeout, tally: tally, loop: loop)
        } else {
            await withTaskGroup(of: Void.self) { group in
                for load in loads {
                    group.addTask {
                        await Self.send(load, window: shape.window, settleTimeout: shape.settleTimeout, tally: tally)
                    }
                }
                await group.waitForAll()
            }
        }
        loads = []
        let seconds = (ContinuousClock.now - started).seconds
        reporter.cancel()
        let cpuAfter = manager.flatMap { ProcessSampler.cpuSeconds(pid: $0.pid) } ?? cpuBefore
        let countersAfter = await Self.proofCounters(of: state, system: shape.proofSystem, on: loop)
        for client in clients { client.close() }
        await loop.shutdown()

        var outcome = tally.finish()
        outcome.seconds = seconds
        outcome.managerCPUMs = (cpuAfter - cpuBefore) * 1000
        if let countersBefore, let countersAfter { outcome.proofCounters = countersAfter - countersBefore }
        outcome.peakRSS = state.processes.map {
            BenchReport.PeakRSS(
                process: $0.name, role: $0.role.rawValue, peakRSSKiB: ProcessSampler.peakRSSKiB(pid: $0.pid))
        }
        return outcome
    }

    /// The proof counters of every thread node and of the manager, from their `stats` on the admin
    /// endpoint; nil when one of them does not answer.
    private static func proofCounters(of state: DevnetState, system: String, on loop: SocketLoop) async
        -> ProofCounters?
    {
        func counters(_ process: DevnetState.Process) async -> [String: UInt64]? {
            guard let client = try? await RequestClient.connect(to: process.endpoints.admin, on: loop) else {
                return nil
            }
            defer { client.close() }
            return try? await ask(client, AdminMessage.stats, Empty(), as: DaemonStats.self, timeout: .seconds(10))
                .counters
        }
        var nodes: [[String: UInt64]] = []
        for node in state.processes where node.role == .threadNode {
            guard let counted = await counters(node) else { return nil }
            nodes.append(counted)
        }
        guard let manager = state.processes.first(where: { $0.role == .manager }),
            let managerCounters = await counters(manager)
        else { return nil }
        return ProofCounters(system: system, nodes: nodes, manager: managerCounters)
    }

    /// One account's transactions to one thread.
    struct SenderLoad: Sendable {
        var entry: TopologyPrograms.Entry
        var signer: DevAccount
        var client: RequestClient
        /// The account's next nonce on the thread when the run starts.
        var firstNonce: UInt64
        var count: Int
        /// `count` transactions with the nonces from `firstNonce` on, signed; empty until ``sign(_:)``.
        var transactions: [ThreadTransaction] = []
    }

    /// Builds and signs the transactions of every load, the loads spread over the cores.
    private static func sign(_ loads: [SenderLoad]) async throws -> [SenderLoad] {
        try await withThrowingTaskGroup(of: (Int, [ThreadTransaction]).self) { group in
            for (index, load) in loads.enumerated() {
                group.addTask {
                    var transactions: [ThreadTransaction] = []
                    transactions.reserveCapacity(load.count)
                    for offset in 0..<UInt64(load.count) {
                        guard
                            let tx = increment(entry: load.entry, signer: load.signer, nonce: load.firstNonce + offset)
                        else { throw OrchestratorError("error: cannot encode counter.increment(1)") }
                        transactions.append(tx)
                    }
                    return (index, transactions)
                }
            }
            var signed = loads
            for try await (index, transactions) in group { signed[index].transactions = transactions }
            return signed
        }
    }

    /// One account's signed transactions to one thread: submitted in nonce order, at most
    /// `window` not yet settled, each followed with `tx_status` and `wait_ms` until it settles or
    /// fails. A refused transaction leaves its nonce unused: the next one is signed again with it.
    private static func send(_ load: SenderLoad, window: Int, settleTimeout: Duration, tally: Tally) async {
        let client = load.client
        var nonce = load.firstNonce
        await withTaskGroup(of: Void.self) { group in
            var outstanding = 0
            for var tx in load.transactions {
                if outstanding >= max(1, window) {
                    await group.next()
                    outstanding -= 1
                }
                if tx.nonce != nonce {
                    guard let again = increment(entry: load.entry, signer: load.signer, nonce: nonce) else {
                        tally.refused("cannot encode counter.increment(1)")
                        continue
                    }
                    tx = again
                }
                let submittedAt = ContinuousClock.now
                if let refusal = await submit(tx, client: client) {
                    tally.refused(refusal)
                    continue
                }
                nonce += 1
                tally.submitted()
                outstanding += 1
                group.addTask {
                    await follow(
                        tx.txHash, from: submittedAt, timeout: settleTimeout, client: client, tally: tally)
                }
            }
            await group.waitForAll()
        }
    }

    /// Every load's transactions in `submit_batch` requests, each sender keeping at most `window`
    /// unsettled, with outcomes taken from the nodes' `tx_final` events: no request per
    /// transaction to learn how it ended.
    private static func sendBatched(
        _ loads: [SenderLoad], state: DevnetState, window: Int, settleTimeout: Duration, tally: Tally,
        loop: SocketLoop
    ) async throws {
        let watch = FinalWatch(senders: loads.count, sink: tally)
        var subscribers: [EventSubscriber] = []
        defer { for subscriber in subscribers { subscriber.close() } }
        for endpoint in Set(loads.map(\.client.endpoint)) {
            guard let node = state.processes.first(where: { $0.endpoints.api == endpoint }) else { continue }
            let subscriber = try await EventSubscriber.connect(
                events: node.endpoints.events, api: node.endpoints.api, topics: [TxFinalEvent.topic], on: loop)
            subscribers.append(subscriber)
            Task {
                for await event in subscriber.events {
                    guard let final = try? event.decode(TxFinalEvent.self) else { continue }
                    watch.finished(final.transactions, node: endpoint)
                }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for (sender, load) in loads.enumerated() {
                group.addTask {
                    await sendBatches(load, sender: sender, window: window, watch: watch, tally: tally)
                    await watch.drain(sender: sender, timeout: settleTimeout)
                }
            }
            await group.waitForAll()
        }
    }

    /// One sender's share of ``sendBatched(_:state:window:settleTimeout:tally:loop:)``.
    private static func sendBatches(_ load: SenderLoad, sender: Int, window: Int, watch: FinalWatch, tally: Tally)
        async
    {
        var transactions = load.transactions[...]
        var nonce = load.firstNonce
        while !transactions.isEmpty {
            let room = await watch.room(sender: sender, window: max(1, window))
            var batch = Array(transactions.prefix(min(room, NodeSubmitBatchRequest.maxTransactions)))
            transactions = transactions.dropFirst(batch.count)
            if batch.first?.nonce != nonce {
                // An earlier refusal left nonces unused: sign these again from the next one.
                batch = batch.indices.compactMap {
                    increment(entry: load.entry, signer: load.signer, nonce: nonce + UInt64($0))
                }
            }
            watch.expect(batch.map(\.txHash), sender: sender, at: .now)
            let results: [SubmitResult]
            do {
                results = try await ask(
                    load.client, NodeMessage.submitBatch, NodeSubmitBatchRequest(txs: batch), as: SubmitBatchReply.self,
                    timeout: .seconds(60)
                ).results
            } catch {
                watch.refused(batch.map(\.txHash), sender: sender, reason: "submit_batch: \(error)")
                continue
            }
            for result in results {
                if let error = result.error {
                    watch.refused([result.txHash], sender: sender, reason: "\(error.code): \(error.message)")
                } else {
                    nonce += 1
                    tally.submitted()
                    if let status = result.status, status.status == .settled || status.status == .failed {
                        watch.finished([status], node: load.client.endpoint)
                    }
                }
            }
        }
    }

    /// Sends one transaction and waits until it settles; returns what went wrong, or nil.
    private static func warmUp(entry: TopologyPrograms.Entry, signer: DevAccount, client: RequestClient) async
        -> String?
    {
        guard
            let nonce = try? await ask(
                client,
                NodeMessage.nonce, NonceRequest(address: signer.address), as: NonceReply.self, timeout: .seconds(30)
            ).nonce
        else { return "no answer to nonce" }
        guard let tx = increment(entry: entry, signer: signer, nonce: nonce) else {
            return "cannot encode counter.increment(1)"
        }
        if let refusal = await submit(tx, client: client) { return "refused: \(refusal)" }
        let tally = Tally()
        await follow(tx.txHash, from: .now, timeout: .seconds(60), client: client, tally: tally)
        return tally.snapshot().settled == 1 ? nil : tally.finish().failureReasons.joined(separator: "; ")
    }

    /// A request and its decoded reply. (Kept out of line: the release compiler crashes splitting
    /// async functions that inline the typed-throwing decode.)
    @inline(never)
    private static func ask<Reply: Decodable>(
        _ client: RequestClient, _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type,
        timeout: Duration
    ) async throws -> Reply {
        let raw = try await client.send(type, payload, timeout: timeout)
        return try decode(raw, as: Reply.self)
    }

    @inline(never)
    private static func decode<Reply: Decodable>(_ raw: RawReply, as reply: Reply.Type) throws -> Reply {
        try raw.decode(Reply.self)
    }

    @inline(never)
    private static func increment(entry: TopologyPrograms.Entry, signer: DevAccount, nonce: UInt64)
        -> ThreadTransaction?
    {
        try? ThreadTransaction.make(
            thread: entry.threadId, contract: entry.program, entrypoint: "increment", arguments: ["1"],
            signer: signer, nonce: nonce)
    }

    /// Submits `tx` to its node; returns why the node refused it, or nil when it was accepted.
    @inline(never)
    private static func submit(_ tx: ThreadTransaction, client: RequestClient) async -> String? {
        do {
            _ = try await ask(
                client,
                NodeMessage.submit, NodeSubmitRequest(tx: tx), as: TxStatusReply.self, timeout: .seconds(30))
            return nil
        } catch let error as WireError {
            return "\(error.code): \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    /// Waits for a transaction to settle or fail; `timeout` after its submission without either
    /// counts as failed.
    @inline(never)
    private static func follow(
        _ txHash: String, from submittedAt: ContinuousClock.Instant, timeout: Duration, client: RequestClient,
        tally: Tally
    )
        async
    {
        let deadline = submittedAt + timeout
        while ContinuousClock.now < deadline {
            let reply: TxStatusReply
            do {
                reply = try await ask(
                    client,
                    NodeMessage.status, TxStatusRequest(txHash: txHash, waitMs: 10_000), as: TxStatusReply.self,
                    timeout: .seconds(15))
            } catch {
                continue
            }
            switch reply.status {
            case .settled:
                tally.settled(after: ContinuousClock.now - submittedAt, subBlock: reply.subBlock, node: client.endpoint)
                return
            case .failed:
                tally.failed(reply.reason ?? "failed")
                return
            default:
                continue
            }
        }
        tally.failed("not settled within \(Int(timeout.seconds)) s of its submission")
    }
}

/// Where a ``FinalWatch`` reports how each transaction it waits for ended.
protocol FinalSink: Sendable {
    /// The transaction became `settled` or `failed`, `latency` after it was sent.
    func final(_ status: TxStatusReply, after latency: Duration, node: String)
    /// The node refused the transaction: it was never admitted.
    func refused(_ txHash: String, reason: String)
    /// The transaction was still open when the wait for it ended.
    func abandoned(_ txHash: String, reason: String)
}

/// The transactions a batched load waits for, by hash, and each sender's room to send more.
final class FinalWatch: Sendable {
    private struct Waiting {
        var sender: Int
        var submittedAt: ContinuousClock.Instant
    }

    private struct State {
        var waiting: [String: Waiting] = [:]
        var outstanding: [Int]
        /// A sender waiting for room or for its last transactions, and what it waits for.
        var wakers: [Int: (until: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state: Mutex<State>
    private let sink: any FinalSink

    init(senders: Int, sink: any FinalSink) {
        state = Mutex(State(outstanding: Array(repeating: 0, count: senders)))
        self.sink = sink
    }

    /// Registers transactions before they are sent, so an event can never arrive first.
    func expect(_ hashes: [String], sender: Int, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            for hash in hashes { state.waiting[hash] = Waiting(sender: sender, submittedAt: instant) }
            state.outstanding[sender] += hashes.count
        }
    }

    func refused(_ hashes: [String], sender: Int, reason: String) {
        for hash in hashes {
            let known = state.withLock { $0.waiting.removeValue(forKey: hash) != nil }
            if known { sink.refused(hash, reason: reason) }
            release(sender: sender, count: known ? 1 : 0)
        }
    }

    /// Counts the final transactions this load waits for; ignores the others.
    func finished(_ statuses: [TxStatusReply], node: String) {
        let now = ContinuousClock.now
        for status in statuses {
            guard let waiting = state.withLock({ $0.waiting.removeValue(forKey: status.txHash) }) else { continue }
            sink.final(status, after: now - waiting.submittedAt, node: node)
            release(sender: waiting.sender, count: 1)
        }
    }

    private func release(sender: Int, count: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.outstanding[sender] -= count
            guard let waker = state.wakers[sender], state.outstanding[sender] <= waker.until else { return nil }
            state.wakers[sender] = nil
            return waker.continuation
        }
        continuation?.resume()
    }

    /// Waits until the sender has fewer than `window` unsettled, and returns how many it may send.
    func room(sender: Int, window: Int) async -> Int {
        await wait(sender: sender, until: window - 1)
        return window - state.withLock { $0.outstanding[sender] }
    }

    private func wait(sender: Int, until limit: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.outstanding[sender] <= limit { return true }
                state.wakers[sender] = (limit, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Waits until every transaction of the sender is final; those still open `timeout` after
    /// its last was sent count as failed.
    func drain(sender: Int, timeout: Duration) async {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.wait(sender: sender, until: 0)
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return true
            }
            if await group.next() == true { abandon(sender: sender, after: timeout) }
            group.cancelAll()
        }
    }

    /// Checks every 50 ms, for up to `limit`, whether every transaction of the sender is final;
    /// true when they are. Unlike ``drain(sender:timeout:)`` it gives up on none.
    func waitFinal(sender: Int, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.outstanding[sender] > 0 }) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// The hashes of the sender's transactions not final yet, for a caller that asks after them.
    func open(sender: Int) -> [String] {
        state.withLock { state in state.waiting.filter { $0.value.sender == sender }.map(\.key) }
    }

    /// Counts the sender's open transactions as failed and wakes its waiting drain.
    private func abandon(sender: Int, after timeout: Duration) {
        let (open, waker) = state.withLock { state in
            let hashes = state.waiting.filter { $0.value.sender == sender }.map(\.key)
            for hash in hashes { state.waiting[hash] = nil }
            state.outstanding[sender] = 0
            return (hashes, state.wakers.removeValue(forKey: sender)?.continuation)
        }
        waker?.resume()
        for hash in open {
            sink.abandoned(hash, reason: "not settled within \(Int(timeout.seconds)) s of its last submission")
        }
    }
}

/// The counts and latencies of a load run, shared by its senders.
final class Tally: FinalSink {
    func final(_ status: TxStatusReply, after latency: Duration, node: String) {
        if status.status == .settled {
            settled(after: latency, subBlock: status.subBlock, node: node)
        } else {
            failed(status.reason ?? status.code ?? "failed")
        }
    }

    func refused(_ txHash: String, reason: String) { refused(reason) }

    func abandoned(_ txHash: String, reason: String) { failed(reason) }

    private struct State {
        var outcome = BenchLoad.Outcome()
        /// Transactions per (node endpoint, sub-block).
        var subBlocks: [String: Int] = [:]
    }

    private let state = Mutex(State())

    struct Snapshot {
        var submitted: Int
        var settled: Int
        var failed: Int
    }

    func snapshot() -> Snapshot {
        state.withLock {
            Snapshot(submitted: $0.outcome.submitted, settled: $0.outcome.settled, failed: $0.outcome.failed)
        }
    }

    func submitted() { state.withLock { $0.outcome.submitted += 1 } }

    func refused(_ reason: String) {
        state.withLock {
            $0.outcome.refused += 1
            if $0.outcome.failureReasons.count < 5 { $0.outcome.failureReasons.append("refused: \(reason)") }
        }
    }

    func failed(_ reason: String) {
        state.withLock {
            $0.outcome.failed += 1
            if $0.outcome.failureReasons.count < 5 { $0.outcome.failureReasons.append(reason) }
        }
    }

    func settled(after latency: Duration, subBlock: UInt64?, node: String) {
        let micros = UInt64(max(1, latency.seconds * 1_000_000))
        state.withLock {
            $0.outcome.settled += 1
            _ = $0.outcome.latencyMicros.record(micros)
            if let subBlock { $0.subBlocks["\(node)#\(subBlock)", default: 0] += 1 }
        }
    }

    func finish() -> BenchLoad.Outcome {
        state.withLock {
            var outcome = $0.outcome
            outcome.subBlocks = $0.subBlocks.count
            outcome.largestSubBlock = $0.subBlocks.values.max() ?? 0
            return outcome
        }
    }
}

/// Reads a process's CPU time and peak resident set from `/proc`.
enum ProcessSampler {
    /// User + system CPU seconds of `pid`, from `/proc/<pid>/stat` fields 14 and 15.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name, which may hold spaces: field 3 is the state.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) / (ticks > 0 ? ticks : 100)
    }

    /// `VmHWM` of `pid` in KiB, from `/proc/<pid>/status`; 0 when it cannot be read.
    static func peakRSSKiB(pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
