import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// Model-based tests of the thread node pipeline: 1–3 provers on the `karts` thread, driven by
/// random interleavings of user submissions, resubmissions to another node, sub-block
/// submissions, blocks, receipts, re-syncs split around other provers' moves, restarts, pauses,
/// spoiled proofs, provers running out of fees, and the `achievements` thread moving under
/// `karts`' cross reads. The real ``ManagerState`` is the model of the canonical chain.
///
/// After every step, and once the devnet has quiesced, the test checks:
/// - a status a node reports always matches canonical state (settled ⇔ in an accepted sub-block,
///   with that sub-block, L2 transaction and block);
/// - a final status never changes;
/// - every admitted transaction ends, settled or failed with a reason, on every node that took it;
/// - no nonce is skipped or reused on the canonical chain, and a synced node's nonce answer is the
///   canonical nonce plus its own unsettled transactions;
/// - once faults stop and provers are funded, no node is left with work it could submit.
///
/// `NODE_MODEL_CASES` sets the number of cases (default 2000, in 8 shares run one after another,
/// so that the suite keeps to one core and leaves the other to the tests on real processes),
/// `NODE_MODEL_SEED=n` replays one.
@Suite(.serialized) struct NodePipelineModelTests {
    static let shares = 8

    /// The seeds of one share of the cases.
    static func seeds(share: Int) -> [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["NODE_MODEL_SEED"].flatMap(UInt64.init) { return share == 0 ? [seed] : [] }
        let cases = environment["NODE_MODEL_CASES"].flatMap(Int.init) ?? 2000
        return stride(from: share, to: cases, by: shares).map { 0x5EED_0000 + UInt64($0) }
    }

    @Test(arguments: 0..<NodePipelineModelTests.shares)
    func randomInterleavingsKeepEveryStatusTruthful(share: Int) async {
        let seeds = Self.seeds(share: share)
        let (failures, seen) = await Self.onItsOwnThread { () -> ([String], Set<String>) in
            var failures: [String] = []
            var seen: Set<String> = []
            for seed in seeds {
                var world = ModelWorld(seed: seed)
                world.run(steps: 60)
                seen.formUnion(world.seen)
                if let failure = world.failure {
                    failures.append(
                        "seed \(seed) (replay: NODE_MODEL_SEED=\(seed) swift test --filter NodePipelineModelTests): \(failure)\n  last steps: \(world.log.suffix(25).joined(separator: "; "))"
                    )
                    if failures.count >= 3 { break }
                }
            }
            return (failures, seen)
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // Enough cases reach every kind of event the test claims to cover.
        if seeds.count >= 100 {
            let wanted: Set<String> = [
                "receipt accepted", "receipt WRONG_SEQUENCE", "receipt STALE_CROSS_READ", "receipt BAD_PROOF",
                "receipt WRONG_OS_VERSION", "receipt STALE_INPUT", "refused for fees", "restart", "stale node",
                "settled", "settled on re-sync", "WRONG_NONCE", "EXECUTION_FAILED",
            ]
            #expect(wanted.subtracting(seen).isEmpty, "never reached: \(wanted.subtracting(seen).sorted())")
        }
    }

    /// Runs long CPU-bound work on a thread of its own, off the concurrency pool: on two cores the
    /// pool has two threads, and the live tests beside this one need them to answer in time.
    static func onItsOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }

    /// The case a user found: a transaction sent to a node that has not seen another prover move
    /// the thread reuses a nonce; it must end failed with WRONG_NONCE, never settled.
    @Test func aReusedNonceOnAStaleNodeFailsInsteadOfSettling() {
        var world = ModelWorld(seed: 1, provers: 2)
        world.syncAll()
        let alice = Fixture.accounts.users[0]
        // Node 1 settles alice's nonce 0.
        let first = world.submit(user: alice, node: 1, nonce: 0, level: 1)
        world.quiesce(nodes: [1])
        #expect(world.nodes[1].pipeline.status(of: first)?.isFinal == true)
        // Node 0 still thinks alice's next nonce is 0 and takes another transaction with it.
        #expect(world.nodes[0].pipeline.nonce(of: alice.address) == 0)
        let second = world.submit(user: alice, node: 0, nonce: 0, level: 2)
        world.quiesce(nodes: [0])
        guard case .failed(let failure) = world.nodes[0].pipeline.status(of: second) else {
            Issue.record("expected failed, got \(String(describing: world.nodes[0].pipeline.status(of: second)))")
            return
        }
        #expect(failure.code == .wrongNonce)
        #expect(world.failure == nil, "\(world.failure ?? "")")
    }

    /// A re-sync reads the state, then asks where the unsettled transactions settled; a
    /// sub-block accepted in between (a submission from before a restart, say) is in the answer
    /// but not in the state. The node must not judge the sender's later nonces against that
    /// state: they stay unsettled and settle.
    @Test func aSettlementPastTheSyncedStateFailsNoLaterNonce() {
        var manager = Fixture.manager()
        let counter = Fixture.counter
        var pipeline = NodePipeline(
            configuration: NodePipeline.Configuration(thread: counter, program: Fixture.counterProgram))
        _ = pipeline.syncStarted()
        pipeline.synced(canonical: MemoryState(), sequence: 0, settled: [:])
        #expect(pipeline.advanceRebase().isEmpty)
        let txs = (0..<3).map {
            Fixture.tx(counter, Fixture.counterProgram, "increment", ["1"], by: Fixture.alice, nonce: UInt64($0))
        }
        for tx in txs {
            guard case .accepted = pipeline.submit(tx) else {
                Issue.record("alice's nonce \(tx.nonce) was not admitted")
                return
            }
        }
        let stateBefore = MemoryState(manager.record(counter.id)!.state)
        // Nonce 0 settles in sub-block 1 after the node read the state at sequence 0.
        let sub = Fixture.subBlock(manager, counter, [txs[0]])
        #expect(manager.apply(bundle: [sub], txHash: "l2-1", programs: Fixture.program).status == .accepted)
        let hashes = pipeline.syncStarted()
        var settled: [String: SettledTransaction] = [:]
        for hash in hashes { settled[hash] = manager.settlements[hash] }
        #expect(settled[txs[0].txHash]?.subBlock == 1)
        _ = pipeline.takeChanges()
        pipeline.synced(canonical: stateBefore, sequence: 0, settled: settled)
        #expect(pipeline.advanceRebase().isEmpty)
        for change in pipeline.takeChanges() {
            if case .failed(let failure) = change.status {
                Issue.record("nonce \(change.transaction.nonce) failed: \(failure.message)")
            }
        }
        #expect(txs.allSatisfy { pipeline.status(of: $0.txHash)?.isFinal == false })
        // Read again once the state holds sub-block 1: nonce 0 settles, 1 and 2 go on.
        _ = pipeline.syncStarted()
        pipeline.synced(
            canonical: MemoryState(manager.record(counter.id)!.state), sequence: 1, settled: settled)
        #expect(pipeline.advanceRebase().isEmpty)
        guard case .settled = pipeline.status(of: txs[0].txHash) else {
            Issue.record("nonce 0 is \(String(describing: pipeline.status(of: txs[0].txHash)))")
            return
        }
        #expect(pipeline.status(of: txs[1].txHash)?.isFinal == false)
        #expect(pipeline.nonce(of: Fixture.alice.address) == 3)
    }

    /// A prover that cannot pay keeps its transactions, says why, and goes on once funded.
    @Test func aProverOutOfFeesResumesOnceFunded() {
        var world = ModelWorld(seed: 2, provers: 1)
        world.syncAll()
        world.chain.balances[0] = 0
        let hash = world.submit(user: Fixture.accounts.users[0], node: 0, nonce: 0, level: 1)
        world.dispatch(0)
        #expect(world.nodes[0].pipeline.stuck?.contains("cannot pay") == true)
        #expect(world.nodes[0].pipeline.status(of: hash) == .pending)
        world.chain.balances[0] = 100
        world.quiesce(nodes: [0])
        #expect(world.nodes[0].pipeline.stuck == nil)
        #expect(world.nodes[0].pipeline.status(of: hash)?.isFinal == true)
        #expect(world.failure == nil, "\(world.failure ?? "")")
    }

    /// A submit never waits on a full pipeline: full sub-blocks are sealed and queue up.
    @Test func aPausedNodeKeepsAdmittingPastTheInFlightWindow() {
        var world = ModelWorld(seed: 3, provers: 1, maxSubBlock: 1)
        world.syncAll()
        world.nodes[0].pipeline.paused = true
        let user = Fixture.accounts.users[0]
        var hashes: [String] = []
        for nonce in 0..<6 { hashes.append(world.submit(user: user, node: 0, nonce: UInt64(nonce), level: 1)) }
        #expect(hashes.allSatisfy { world.nodes[0].pipeline.status(of: $0) == .pending })
        world.nodes[0].pipeline.paused = false
        world.quiesce(nodes: [0])
        #expect(hashes.allSatisfy { world.nodes[0].pipeline.status(of: $0)?.isFinal == true })
        #expect(world.failure == nil, "\(world.failure ?? "")")
    }
}

/// The simulated L2: a sequencer queue that charges each prover one fee per submission (and
/// refuses a prover that cannot pay), blocks that hand updates to the real manager in order, and
/// receipts.
struct ModelChain {
    var manager = Fixture.manager()
    var block: UInt64 = 1
    var queue: [(hash: String, bundle: [SubBlockSubmission])] = []
    var receipts: [String: NodePipeline.ReceiptOutcome] = [:]
    var balances: [Int: Int] = [:]
    var counter = 0

    mutating func admit(_ bundle: [SubBlockSubmission], payer: Int) -> String? {
        guard balances[payer, default: 0] > 0 else { return nil }
        balances[payer, default: 0] -= 1
        counter += 1
        let hash = String(format: "%064x", counter)
        queue.append((hash, bundle))
        return hash
    }

    mutating func mine(_ count: Int) {
        block += 1
        for (hash, bundle) in queue.prefix(count) {
            let outcome = manager.apply(bundle: bundle, txHash: hash, block: block, programs: Fixture.program(_:))
            if outcome.status == .accepted {
                receipts[hash] = .accepted(block: block)
            } else {
                let revert = outcome.revert
                receipts[hash] = .reverted(
                    block: block, code: revert?.code.rawValue ?? "?", message: revert?.message ?? "")
            }
        }
        queue.removeFirst(min(count, queue.count))
    }

    func canonicalNonce(_ thread: ThreadInfo, _ address: Address) -> UInt64 {
        manager.record(thread.id)!.value(at: ThreadNonce.key(of: address)).value
    }
}

/// One simulated thread node: the pipeline, its stored statuses (what survives a restart), and
/// a sync that was started but not yet answered.
struct ModelNode {
    var pipeline: NodePipeline
    var stored: [(ThreadTransaction, ThreadTxStatus)] = []
    var storedIndex: [String: Int] = [:]
    var pendingSync: (canonical: MemoryState, sequence: UInt64, hashes: [String])?
    var spoilNext = false
}

struct ModelWorld {
    static let thread = Fixture.karts
    var rng: SplitMix
    var chain = ModelChain()
    var nodes: [ModelNode] = []
    var users = Array(Fixture.accounts.users.prefix(4))
    /// Every transaction some node admitted, by hash.
    var admitted: [String: ThreadTransaction] = [:]
    var log: [String] = []
    var failure: String?
    /// Which kinds of events this case reached.
    var seen: Set<String> = []
    let configuration: NodePipeline.Configuration

    init(seed: UInt64, provers: Int? = nil, maxSubBlock: Int? = nil) {
        rng = SplitMix(seed: seed)
        configuration = NodePipeline.Configuration(
            thread: Self.thread, program: Fixture.kartsProgram,
            maxSubBlock: maxSubBlock ?? Int.random(in: 1...4, using: &rng),
            maxInFlight: 2, maxUnsettled: 64)
        let count = provers ?? Int.random(in: 1...3, using: &rng)
        for index in 0..<count {
            nodes.append(ModelNode(pipeline: NodePipeline(configuration: configuration)))
            chain.balances[index] = 1_000
        }
    }

    mutating func fail(_ message: String) {
        if failure == nil { failure = message }
    }

    // MARK: Steps

    mutating func run(steps: Int) {
        for _ in 0..<steps where failure == nil {
            step()
            checkNonces()
        }
        guard failure == nil else { return }
        quiesce(nodes: Array(nodes.indices))
        checkEnd()
    }

    mutating func step() {
        let n = Int.random(in: 0..<nodes.count, using: &rng)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<28:
            let user = users.randomElement(using: &rng)!
            let nonce: UInt64
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: nonce = chain.canonicalNonce(Self.thread, user.address)
            case 1: nonce = UInt64.random(in: 0...3, using: &rng)
            default: nonce = nodes[n].pipeline.nonce(of: user.address) ?? 0
            }
            _ = submit(user: user, node: n, nonce: nonce, level: UInt64.random(in: 1...2, using: &rng))
        case 28..<32:
            if let tx = admitted.values.sorted(by: { $0.txHash < $1.txHash }).randomElement(using: &rng) {
                log.append("resend \(tx.txHash.prefix(6)) to n\(n)")
                offer(tx, to: n)
            }
        case 32..<47: dispatch(n)
        case 47..<57:
            let count = Int.random(in: 1...max(1, chain.queue.count), using: &rng)
            log.append("mine \(count) of \(chain.queue.count)")
            chain.mine(count)
        case 57..<70: follow(n)
        case 70..<76: syncFetch(n)
        case 76..<82: syncDeliver(n)
        case 82..<85: watch(n)
        case 85..<88: restart(n)
        case 88..<91:
            nodes[n].pipeline.paused.toggle()
            log.append("n\(n) paused=\(nodes[n].pipeline.paused)")
        case 91..<93:
            chain.balances[n] = Bool.random(using: &rng) ? 0 : 1_000
            log.append("n\(n) balance=\(chain.balances[n]!)")
        case 93..<95:
            nodes[n].spoilNext = true
            log.append("n\(n) spoil next")
        default: moveAchievements()
        }
    }

    /// Signs and offers a karts `unlock_kart`; returns its hash.
    @discardableResult
    mutating func submit(user: DevAccount, node: Int, nonce: UInt64, level: UInt64) -> String {
        let tx = Fixture.tx(
            Self.thread, Fixture.kartsProgram, "unlock_kart", ["\(Int.random(in: 1...3, using: &rng))", "\(level)"],
            by: user, nonce: nonce)
        log.append("submit \(tx.txHash.prefix(6)) user \(user.name) nonce \(nonce) to n\(node)")
        offer(tx, to: node)
        return tx.txHash
    }

    mutating func offer(_ tx: ThreadTransaction, to n: Int) {
        for _ in 0..<8 {
            switch nodes[n].pipeline.submit(tx) {
            case .accepted(_, let new):
                if new { admitted[tx.txHash] = tx }
                persist(n)
                return
            case .needCrossReads(let keys):
                nodes[n].pipeline.provideCrossReads(
                    keys.map { ($0, chain.manager.canonicalValue(thread: $0.thread, key: $0.key)) })
            case .refused, .notReady, .busy:
                return
            }
        }
        fail("node \(n) asked for cross reads again and again for \(tx.txHash.prefix(6))")
    }

    mutating func dispatch(_ n: Int) {
        guard let submission = nodes[n].pipeline.nextSubmission() else { return }
        var proved = submission
        proved.proof = ReexecProofSystem.digest(of: submission)
        if nodes[n].spoilNext {
            // A spoiled submission: each kind reverts with its own code.
            nodes[n].spoilNext = false
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                proved.proof = Data([0xBA, 0xD0])  // BAD_PROOF
            case 1:
                proved.osVersion &+= 1  // WRONG_OS_VERSION
                proved.proof = ReexecProofSystem.digest(of: proved)
            default:
                if let first = proved.inputs.first {  // STALE_INPUT
                    proved.inputs[0] = KeyValue(key: first.key, value: first.value + Felt(1))
                }
                proved.proof = ReexecProofSystem.digest(of: proved)
            }
        }
        if let hash = chain.admit([proved], payer: n) {
            log.append("n\(n) submits sub-block \(submission.sequence) as \(hash.suffix(4))")
            nodes[n].pipeline.submitted(sequence: submission.sequence, l2TxHash: hash)
        } else {
            log.append("n\(n) refused sub-block \(submission.sequence)")
            seen.insert("refused for fees")
            nodes[n].pipeline.submissionFailed(
                sequence: submission.sequence, reason: "prover \(n) cannot pay the fee")
        }
        persist(n)
    }

    mutating func follow(_ n: Int) {
        guard let head = nodes[n].pipeline.nextReceipt(), let outcome = chain.receipts[head.l2TxHash] else { return }
        log.append("n\(n) receipt \(head.sequence): \(outcome)")
        switch outcome {
        case .accepted: seen.insert("receipt accepted")
        case .reverted(_, let code, _): seen.insert("receipt \(code)")
        }
        nodes[n].pipeline.receipt(sequence: head.sequence, outcome: outcome)
        persist(n)
    }

    /// The first half of a sync: the canonical state is read now; which transactions settled is
    /// asked later (the thread may move in between).
    mutating func syncFetch(_ n: Int) {
        guard nodes[n].pipeline.needsSync else { return }
        let hashes = nodes[n].pipeline.syncStarted()
        let record = chain.manager.record(Self.thread.id)!
        nodes[n].pendingSync = (MemoryState(record.state), record.sequence, hashes)
        log.append("n\(n) sync fetch at \(record.sequence)")
    }

    mutating func syncDeliver(_ n: Int) {
        guard let sync = nodes[n].pendingSync else { return }
        nodes[n].pendingSync = nil
        var settled: [String: SettledTransaction] = [:]
        for hash in sync.hashes {
            if let found = chain.manager.settlements[hash], found.thread == Self.thread.id { settled[hash] = found }
        }
        log.append("n\(n) synced at \(sync.sequence), \(settled.count) found settled")
        if !settled.isEmpty { seen.insert("settled on re-sync") }
        nodes[n].pipeline.synced(canonical: sync.canonical, sequence: sync.sequence, settled: settled)
        for _ in 0..<100 {
            let misses = nodes[n].pipeline.advanceRebase()
            if misses.isEmpty { break }
            nodes[n].pipeline.provideCrossReads(
                misses.map { ($0, chain.manager.canonicalValue(thread: $0.thread, key: $0.key)) })
        }
        persist(n)
    }

    mutating func watch(_ n: Int) {
        let wasReady = nodes[n].pipeline.isReady
        nodes[n].pipeline.canonicalMoved(to: chain.manager.record(Self.thread.id)!.sequence)
        if wasReady, !nodes[n].pipeline.isReady { seen.insert("stale node") }
    }

    /// The node's process restarts: only what it stored survives.
    mutating func restart(_ n: Int) {
        log.append("n\(n) restarts")
        seen.insert("restart")
        // As the node does: the bodies of unfinished transactions only, the final ones by hash.
        nodes[n].pipeline = NodePipeline(
            configuration: configuration, restoring: nodes[n].stored.filter { !$0.1.isFinal },
            finished: nodes[n].stored.filter { $0.1.isFinal }.map { ($0.0.txHash, $0.1) })
        nodes[n].pipeline.restart()
        nodes[n].pendingSync = nil
    }

    /// Another user completes a level on `achievements`, which karts reads across threads.
    mutating func moveAchievements() {
        let user = users.randomElement(using: &rng)!
        let nonce = chain.canonicalNonce(Fixture.achievements, user.address)
        let tx = Fixture.tx(
            Fixture.achievements, Fixture.achievementsProgram, "complete_level",
            ["\(Int.random(in: 1...2, using: &rng))"], by: user, nonce: nonce)
        let sub = Fixture.subBlock(chain.manager, Fixture.achievements, [tx])
        chain.block += 1
        let outcome = chain.manager.apply(
            bundle: [sub], txHash: "achievements-\(chain.block)", block: chain.block, programs: Fixture.program(_:))
        log.append("achievements moved (\(outcome.status))")
    }

    /// Drives the named nodes until none has unsettled work, with faults off and fees paid.
    mutating func quiesce(nodes which: [Int]) {
        for n in which {
            nodes[n].pipeline.paused = false
            nodes[n].spoilNext = false
            chain.balances[n] = 10_000
        }
        for _ in 0..<400 {
            if failure != nil { return }
            if which.allSatisfy({ nodes[$0].pipeline.unsettled == 0 && nodes[$0].pipeline.isReady })
                && chain.queue.isEmpty
            {
                return
            }
            for n in which {
                watch(n)
                syncFetch(n)
                syncDeliver(n)
                dispatch(n)
            }
            chain.mine(chain.queue.count)
            for n in which {
                while let head = nodes[n].pipeline.nextReceipt(), chain.receipts[head.l2TxHash] != nil { follow(n) }
            }
        }
        for n in which where nodes[n].pipeline.unsettled > 0 {
            fail(
                "node \(n) is stuck with \(nodes[n].pipeline.unsettled) unsettled transaction(s) in phase \(nodes[n].pipeline.phase) (\(nodes[n].pipeline.stuck ?? "nothing holds it"))"
            )
        }
    }

    // MARK: Checks

    /// Applies a node's status changes to what it stored, checking each against canonical state.
    mutating func persist(_ n: Int) {
        for change in nodes[n].pipeline.takeChanges() {
            let hash = change.transaction.txHash
            if let index = nodes[n].storedIndex[hash] {
                let old = nodes[n].stored[index].1
                if old.isFinal, old != change.status {
                    fail("node \(n) changed the final status of \(hash.prefix(6)) from \(old) to \(change.status)")
                }
                nodes[n].stored[index].1 = change.status
            } else {
                nodes[n].storedIndex[hash] = nodes[n].stored.count
                nodes[n].stored.append((change.transaction, change.status))
            }
            checkTruth(n, hash, change.status, transaction: change.transaction)
            switch change.status {
            case .settled: seen.insert("settled")
            case .failed(let failure): seen.insert(failure.code.rawValue)
            case .pending, .sealed: break
            }
        }
    }

    mutating func checkTruth(_ n: Int, _ hash: String, _ status: ThreadTxStatus, transaction: ThreadTransaction? = nil)
    {
        let record = chain.manager.settlements[hash].flatMap { $0.thread == Self.thread.id ? $0 : nil }
        let canonical = record?.settlement
        switch status {
        case .settled(let settlement):
            if record?.failure != nil {
                fail("node \(n) reports \(hash.prefix(6)) settled, but its contract call failed: \(record!.failure!)")
            }
            if canonical != settlement {
                fail(
                    "node \(n) reports \(hash.prefix(6)) settled in \(settlement), canonical chain has \(String(describing: canonical))"
                )
            }
        case .failed(let failure):
            if failure.code == .executionFailed, record?.failure == nil {
                fail("node \(n) reports \(hash.prefix(6)) EXECUTION_FAILED, but its contract call succeeded")
            }
            if failure.code == .executionFailed, canonical != failure.settlement {
                fail(
                    "node \(n) reports \(hash.prefix(6)) executed and failed in \(String(describing: failure.settlement)), canonical chain has \(String(describing: canonical))"
                )
            }
            if failure.code == .wrongNonce, let canonical {
                fail("node \(n) reports \(hash.prefix(6)) failed with WRONG_NONCE, but it settled in \(canonical)")
            }
            // "Can never be included" must be true: the sender's canonical nonce is not this one.
            if failure.code == .wrongNonce, let tx = transaction,
                chain.canonicalNonce(Self.thread, tx.caller) == tx.nonce
            {
                fail(
                    "node \(n) reports \(hash.prefix(6)) failed with WRONG_NONCE (\(failure.message)), but its nonce \(tx.nonce) is the sender's next on the canonical chain"
                )
            }
        case .pending, .sealed:
            break
        }
    }

    /// A synced node that no other prover got ahead of answers the canonical nonce plus its own
    /// unsettled transactions.
    mutating func checkNonces() {
        let sequence = chain.manager.record(Self.thread.id)!.sequence
        for (n, node) in nodes.enumerated()
        where node.pipeline.isReady && node.pipeline.canonicalSequence == sequence && node.pipeline.inFlightCount == 0
            && chain.queue.isEmpty
        {
            for user in users {
                let own = node.stored.filter { $0.0.caller == user.address && !$0.1.isFinal }.count
                let expected = chain.canonicalNonce(Self.thread, user.address) + UInt64(own)
                if node.pipeline.nonce(of: user.address) != expected {
                    fail(
                        "node \(n) answers nonce \(String(describing: node.pipeline.nonce(of: user.address))) for \(user.name), canonical + own unsettled is \(expected)"
                    )
                }
            }
        }
    }

    mutating func checkEnd() {
        // Every admitted transaction ended on every node that took it, and matches canonical state.
        for (n, node) in nodes.enumerated() {
            for (tx, status) in node.stored {
                if !status.isFinal { fail("node \(n) left \(tx.txHash.prefix(6)) \(status)") }
                checkTruth(n, tx.txHash, status)
                if node.pipeline.status(of: tx.txHash) != status {
                    fail(
                        "node \(n) answers \(String(describing: node.pipeline.status(of: tx.txHash))) for \(tx.txHash.prefix(6)) but stored \(status)"
                    )
                }
            }
        }
        // No nonce skipped or reused: each user's settled karts transactions carry 0..<n.
        let settled = chain.manager.settlements.filter { $0.value.thread == Self.thread.id }.keys
        for user in users {
            let nonces = settled.compactMap { admitted[$0] }.filter { $0.caller == user.address }.map(\.nonce).sorted()
            let canonical = chain.canonicalNonce(Self.thread, user.address)
            if nonces != Array(0..<canonical) {
                fail("\(user.name)'s settled nonces are \(nonces), canonical next nonce is \(canonical)")
            }
        }
    }

    mutating func syncAll() {
        for n in nodes.indices {
            syncFetch(n)
            syncDeliver(n)
        }
    }
}

/// A node learns of an upgrade from the thread's program hash, even with nothing in flight.
@Suite struct NodePipelineUpgradeTests {
    @Test func anIdleNodeReSyncsWhenTheThreadRunsAnotherProgram() throws {
        var world = ModelWorld(seed: 9, provers: 1)
        world.syncAll()
        #expect(world.nodes[0].pipeline.isReady)
        let sequence = world.chain.manager.record(ModelWorld.thread.id)!.sequence
        world.nodes[0].pipeline.canonicalMoved(to: sequence, programHash: Fixture.kartsProgram.hash)
        #expect(world.nodes[0].pipeline.isReady, "the same program and sequence: nothing to do")
        world.nodes[0].pipeline.canonicalMoved(to: sequence, programHash: Fixture.counterProgram.hash)
        #expect(world.nodes[0].pipeline.needsSync)
    }
}
