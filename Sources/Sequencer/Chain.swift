import DaemonKit
import DevnetAPI
import DevnetClient
import DevnetProtocol
import DevnetStorage
import Foundation
import Metrics
import Synchronization
import ThreadVM
import ZKCore
import ZeroMQ

/// What the sequencer logs per included transaction; replaying these rebuilds the ledger.
struct IncludedCommand: Codable, Sendable {
    var tx: L2Transaction
    var blockNumber: UInt64
    var index: Int
    var managerOutcome: ManagerOutcome?
}

/// Counters shown by `stats`, readable without waiting for the chain actor.
final class ChainCounters: Sendable {
    private let values = Mutex<[String: UInt64]>([:])

    func add(_ name: String, _ amount: UInt64 = 1) {
        values.withLock { $0[name, default: 0] += amount }
    }

    func set(_ name: String, _ value: UInt64) {
        values.withLock { $0[name] = value }
    }

    func snapshot() -> [String: UInt64] { values.withLock { $0 } }
}

/// The sequencer's state: the ledger, the admitted queue, receipts and block production.
///
/// Blocks are produced by one loop only (``produceOnTrigger()``), so block numbers never race.
actor Chain {
    private enum Trigger {
        case pending
        case mine(CheckedContinuation<MineReply, any Error>)
        /// Taken between two blocks, where the state is exactly what the log holds.
        case checkpoint(CheckedContinuation<CheckpointReply, any Error>)
    }

    private let context: DaemonContext
    private let devAccounts: DevAccounts
    /// Threads whose provers are funded: those of genesis, then those attached later.
    private var threads: [String]
    private let log: CommandLog
    private let blockMode: BlockMode
    private let managerEndpoint: String
    private let zmq = ZMQContext()
    private let loop: SocketLoop
    private var manager: RequestClient?

    private var ledger: SequencerLedger
    private var height: UInt64 = 0
    private var receipts: [String: Receipt] = [:]
    private var queue: [L2Transaction] = []
    /// The hashes of `queue` and of the block being produced: admitted and not yet in a receipt.
    /// A lookup here does not re-encode and re-hash every queued transaction, and a transaction
    /// sent again while its block is being produced waits for its receipt instead of being
    /// refused for its (already used) nonce.
    private var queued: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Receipt, Never>]] = [:]
    private let triggers: AsyncStream<Trigger>
    private let triggerInput: AsyncStream<Trigger>.Continuation

    nonisolated let counters = ChainCounters()
    nonisolated let restoredHeight: UInt64
    /// How the state was rebuilt at start, for the log.
    nonisolated let restoredFrom: String

    private let checkpoints: CheckpointStore
    /// The last log entry applied to the ledger and receipts: what a checkpoint taken between
    /// blocks covers.
    private var logPosition: Int64 = 0
    private var logKey = ""
    private var checkpointedPosition: Int64 = 0
    private var checkpointing = false

    /// The format of the sequencer's checkpoints; a checkpoint of another one is ignored.
    static let checkpointFormat = 2
    /// A checkpoint is written in the background after this many log entries since the last one.
    static let checkpointInterval: Int64 = 5_000

    /// What a sequencer rebuilds from its log: the ledger without pending reservations, receipts,
    /// height and funded threads.
    struct Replayed: Sendable {
        var ledger: SequencerLedger
        var receipts: [String: Receipt]
        var height: UInt64
        var threads: [String]
    }

    init(context: DaemonContext, threads: [String], managerEndpoint: String, blockMode: BlockMode) throws {
        self.context = context
        self.threads = threads
        self.managerEndpoint = managerEndpoint
        self.blockMode = blockMode
        let devAccounts = DevAccounts.derive(seed: context.topology.seed)
        self.devAccounts = devAccounts
        log = CommandLog(database: context.database)
        loop = context.clientLoop(context: zmq, name: "sequencer-client")
        (triggers, triggerInput) = AsyncStream.makeStream(of: Trigger.self)

        checkpoints = CheckpointStore(database: context.database)
        let genesis = Replayed(
            ledger: SequencerLedger(
                accounts: devAccounts, threads: threads, proversPerThread: DevAccounts.proversPerThread),
            receipts: [:], height: 0, threads: threads)
        // The latest checkpoint, when there is a usable one, and the log after it; else the whole log.
        var restored: (state: Replayed, position: Int64, key: String)?
        do {
            if let checkpoint = try checkpoints.latest(format: Self.checkpointFormat, checksum: checkpointChecksum) {
                restored = (
                    try Self.decodeCheckpoint(checkpoint.state, feeAccount: devAccounts.sequencer.address),
                    checkpoint.position, checkpoint.logKey
                )
            }
        } catch {
            context.logger.warning("ignoring the saved checkpoint: \(error); replaying the whole log")
        }
        var state = restored?.state ?? genesis
        var last = (position: restored?.position ?? 0, key: restored?.key ?? "")
        var replayed = 0
        do {
            let tail = try log.entries(after: last.position)
            try Self.replay(tail, into: &state, accounts: devAccounts)
            replayed = tail.count
            if let end = tail.last { last = (end.position, end.key) }
        } catch let error where restored != nil {
            context.logger.warning(
                "the log after the checkpoint at position \(last.position) does not replay onto it (\(error)); replaying the whole log"
            )
            restored = nil
            state = genesis
            let entries = try log.entries()
            try Self.replay(entries, into: &state, accounts: devAccounts)
            replayed = entries.count
            last = entries.last.map { ($0.position, $0.key) } ?? (0, "")
        }
        logPosition = last.position
        logKey = last.key
        checkpointedPosition = restored?.position ?? 0
        restoredFrom =
            restored.map { "the checkpoint at log position \($0.position) and \(replayed) entries after it" }
            ?? "\(replayed) entries, no checkpoint"
        var ledger = state.ledger
        let receipts = state.receipts
        let height = state.height
        let threads = state.threads
        let decoder = WireCoding.decoder()
        var queue: [L2Transaction] = []
        let pendingRows = try context.database.read { db in
            try Data.fetchAll(db, sql: "SELECT tx FROM mempool ORDER BY position")
        }
        for row in pendingRows {
            let tx = try decoder.decode(L2Transaction.self, from: row)
            if receipts[tx.txHash] != nil { continue }
            if case .success = ledger.admit(tx, signatureChecked: true) { queue.append(tx) }
        }
        self.ledger = ledger
        self.threads = threads
        self.receipts = receipts
        self.height = height
        self.queue = queue
        queued = Set(queue.map(\.txHash))
        restoredHeight = height
        counters.set("height", height)
        counters.set("pending", UInt64(queue.count))
        // Receipts survive a restart, so their counts do; admission rejections leave no trace.
        counters.set("accepted", UInt64(receipts.values.filter { $0.status == .accepted }.count))
        counters.set("reverted", UInt64(receipts.values.filter { $0.status != .accepted }.count))
        if !queue.isEmpty { triggerInput.yield(.pending) }
    }

    /// The command-log kind of a faucet grant to the provers of a thread attached at runtime.
    static let fundKind = "fund"

    /// Applies logged entries to `state` in order.
    static func replay(_ entries: [CommandLog.Entry], into state: inout Replayed, accounts: DevAccounts) throws {
        let decoder = WireCoding.decoder()
        for entry in entries {
            if entry.kind == Self.fundKind {
                let thread = String(decoding: entry.command, as: UTF8.self)
                if !state.threads.contains(thread) {
                    Self.fund(thread, in: &state.ledger, accounts: accounts)
                    state.threads.append(thread)
                }
                continue
            }
            guard entry.kind == "include" else { continue }
            let command = try decoder.decode(IncludedCommand.self, from: entry.command)
            // The sequencer's own log: every signature in it was checked at admission.
            _ = state.ledger.admit(command.tx, signatureChecked: true)
            switch state.ledger.include(
                command.tx, blockNumber: command.blockNumber, index: command.index,
                managerOutcome: command.managerOutcome)
            {
            case let .success(receipt):
                state.receipts[receipt.txHash] = receipt
            case let .failure(rejection):
                throw DaemonStartError(
                    code: .storage,
                    message:
                        "the sequencer's log does not replay: block \(command.blockNumber) tx \(entry.key): \(rejection.message)"
                )
            }
            state.height = max(state.height, command.blockNumber)
        }
    }

    /// The checkpoint bytes of a replayed state: height, funded threads, the ledger and every
    /// receipt in hash order (the same state always gives the same bytes).
    static func encodeCheckpoint(_ state: Replayed) throws -> Data {
        var writer = CheckpointWriter(capacity: 256 * state.receipts.count + 4096)
        writer.write(state.height)
        writer.write(state.threads.count)
        for thread in state.threads { writer.write(thread) }
        state.ledger.write(to: &writer)
        writer.write(state.receipts.count)
        for hash in state.receipts.keys.sorted() { try writer.write(state.receipts[hash]!) }
        return writer.data
    }

    /// The state ``encodeCheckpoint(_:)`` wrote; every receipt must be filed under its own hash.
    static func decodeCheckpoint(_ data: Data, feeAccount: Address) throws -> Replayed {
        var reader = CheckpointReader(data)
        let height = try reader.uint64()
        var threads: [String] = []
        for _ in 0..<(try reader.count()) { threads.append(try reader.string()) }
        let ledger = try SequencerLedger(checkpoint: &reader, feeAccount: feeAccount)
        let count = try reader.count()
        var receipts: [String: Receipt] = [:]
        receipts.reserveCapacity(count)
        for _ in 0..<count {
            let receipt = try reader.receipt()
            guard receipt.blockNumber <= height else {
                throw CheckpointError(
                    "receipt \(receipt.txHash) is in block \(receipt.blockNumber), above height \(height)")
            }
            guard receipts.updateValue(receipt, forKey: receipt.txHash) == nil else {
                throw CheckpointError("receipt \(receipt.txHash) appears twice")
            }
        }
        try reader.expectEnd()
        return Replayed(ledger: ledger, receipts: receipts, height: height, threads: threads)
    }

    /// Saves the state and the log position it covers (one transaction), taken between two blocks
    /// and encoded off the actor.
    func checkpoint() async throws -> CheckpointReply {
        try await withCheckedThrowingContinuation { continuation in
            triggerInput.yield(.checkpoint(continuation))
        }
    }

    /// Captures the state now (the caller is between blocks) and saves it in the background;
    /// `reply` hears how that went.
    private func startCheckpoint(reply: CheckedContinuation<CheckpointReply, any Error>? = nil) {
        let state = Replayed(ledger: ledger, receipts: receipts, height: height, threads: threads)
        let (position, key) = (logPosition, logKey)
        checkpointing = true
        Task.detached { [checkpoints] in
            let result = Result {
                let started = ContinuousClock.now
                let bytes = try Self.encodeCheckpoint(state)
                let saved = try checkpoints.save(
                    CheckpointStore.Checkpoint(
                        format: Self.checkpointFormat, position: position, logKey: key, state: bytes),
                    checksum: checkpointChecksum(bytes))
                let (seconds, attoseconds) = (ContinuousClock.now - started).components
                return CheckpointReply(
                    position: position, bytes: bytes.count,
                    milliseconds: Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000), saved: saved)
            }
            await self.checkpointDone(position: position, result: result, quiet: reply != nil)
            reply?.resume(with: result)
        }
    }

    private func checkpointDone(position: Int64, result: Result<CheckpointReply, any Error>, quiet: Bool) {
        checkpointing = false
        switch result {
        case let .success(reply):
            checkpointedPosition = max(checkpointedPosition, position)
            if !quiet {
                context.logger.info(
                    "checkpoint at log position \(reply.position): \(reply.bytes) bytes in \(reply.milliseconds) ms")
            }
        case let .failure(error):
            context.logger.warning("could not write a checkpoint: \(error)")
        }
    }

    private static func fund(_ thread: String, in ledger: inout SequencerLedger, accounts: DevAccounts) {
        for index in 1...DevAccounts.proversPerThread {
            ledger.faucet(accounts.prover(thread: thread, index: index).address, amount: DevAccounts.genesisBalance)
        }
    }

    /// Funds the provers of a thread attached to the running devnet, as genesis funds the others;
    /// logged, so a restart replays it in order. A thread already funded is left as it is.
    func fundThread(_ thread: String) throws -> FundThreadReply {
        if threads.contains(thread) { return FundThreadReply(thread: thread, funded: false) }
        logPosition = try log.append(
            key: "fund-\(thread)", kind: Self.fundKind, command: Data(thread.utf8), outcome: Data())
        logKey = "fund-\(thread)"
        Self.fund(thread, in: &ledger, accounts: devAccounts)
        threads.append(thread)
        context.logger.info(
            "funded provers 1…\(DevAccounts.proversPerThread) of thread \(thread) with \(DevAccounts.genesisBalance) each"
        )
        return FundThreadReply(thread: thread, funded: true)
    }

    private func name(of address: Address) -> String? {
        devAccounts.name(of: address, threads: threads, proversPerThread: DevAccounts.proversPerThread)
    }

    // MARK: Admission

    func submit(_ tx: L2Transaction, wait: Bool) async throws -> SubmitReply {
        let txHash = tx.txHash
        if let receipt = receipts[txHash] {
            return SubmitReply(txHash: txHash, status: receipt.status.rawValue, receipt: receipt)
        }
        if !queued.contains(txHash), case let .upgradeThread(upgrade) = tx.payload, tx.verifySignature() {
            // Refused before anything is charged: only the thread's owner may upgrade it, to a
            // program that exists. (A bad signature is refused by admission below, unasked.)
            try await checkUpgrade(upgrade, sender: tx.sender, txHash: txHash)
        }
        if !queued.contains(txHash) {
            switch ledger.admit(
                tx,
                names: { [devAccounts, threads] in
                    devAccounts.name(of: $0, threads: threads, proversPerThread: DevAccounts.proversPerThread)
                })
            {
            case let .failure(rejection):
                counters.add("rejected")
                Counter(label: DevnetMetrics.l2Rejected, dimensions: [("reason", rejection.code.rawValue)]).increment()
                context.logger.info("rejected \(tx.payload.kind) \(txHash.prefix(12)): \(rejection.message)")
                throw WireError(WireErrorCode(rejection.code.rawValue), rejection.message)
            case .success:
                let encoded = try WireCoding.encoder().encode(tx)
                do {
                    try context.database.write { db in
                        try db.execute(
                            sql: "INSERT INTO mempool(tx_hash, tx) VALUES (?, ?)", arguments: [txHash, encoded])
                    }
                } catch {
                    ledger.cancelPending(of: tx.sender)
                    requeueNonces(of: tx.sender)
                    throw WireError(.internalError, "could not store transaction \(txHash): \(error)")
                }
                queue.append(tx)
                queued.insert(txHash)
                counters.add("admitted")
                counters.set("pending", UInt64(queue.count))
                Counter(label: DevnetMetrics.l2Admitted, dimensions: [("kind", tx.payload.kind)]).increment()
                Gauge(label: DevnetMetrics.mempool).record(queue.count)
                if blockMode == .instant { triggerInput.yield(.pending) }
            }
        }
        guard wait else { return SubmitReply(txHash: txHash, status: "pending") }
        let receipt = await waitForReceipt(txHash)
        return SubmitReply(txHash: txHash, status: receipt.status.rawValue, receipt: receipt)
    }

    /// After dropping a sender's pending reservations, admits their queued transactions again.
    private func requeueNonces(of sender: Address) {
        for tx in queue where tx.sender == sender { _ = ledger.admit(tx, signatureChecked: true) }
    }

    func receipt(_ txHash: String, waitMs: Int) async -> ReceiptReply {
        if let receipt = receipts[txHash] {
            return ReceiptReply(txHash: txHash, status: receipt.status.rawValue, receipt: receipt)
        }
        guard queued.contains(txHash) else {
            return ReceiptReply(txHash: txHash, status: "unknown")
        }
        if waitMs > 0 {
            if let receipt = await firstValue(within: .milliseconds(waitMs), { await self.waitForReceipt(txHash) }) {
                return ReceiptReply(txHash: txHash, status: receipt.status.rawValue, receipt: receipt)
            }
        }
        return ReceiptReply(txHash: txHash, status: "pending")
    }

    private func waitForReceipt(_ txHash: String) async -> Receipt {
        if let receipt = receipts[txHash] { return receipt }
        return await withCheckedContinuation { continuation in
            waiters[txHash, default: []].append(continuation)
        }
    }

    // MARK: Queries

    func account(_ text: String) throws -> AccountInfo {
        let address: Address
        if text.hasPrefix("0x") {
            guard let parsed = Address(hex: text) else {
                throw WireError(.badPayload, "'\(text)' is not an address (0x followed by 64 hex digits)")
            }
            address = parsed
        } else {
            do {
                address = try devAccounts.account(named: text).address
            } catch {
                throw WireError(.notFound, error.message)
            }
        }
        return info(address)
    }

    private func info(_ address: Address) -> AccountInfo {
        let known = devAccounts.account(at: address, threads: threads, proversPerThread: DevAccounts.proversPerThread)
        return AccountInfo(
            name: known?.name, address: address, publicKey: known?.publicKey.hex, balance: ledger.balance(of: address),
            nextNonce: ledger.nextAdmissionNonce(of: address), feesPaid: ledger.fees(paidBy: address)
        )
    }

    func accounts() -> AccountsReply {
        var addresses = devAccounts.users.map(\.address) + [devAccounts.sequencer.address]
        for thread in threads {
            for index in 1...DevAccounts.proversPerThread {
                addresses.append(devAccounts.prover(thread: thread, index: index).address)
            }
        }
        for account in ledger.accounts where !addresses.contains(account.address) { addresses.append(account.address) }
        return AccountsReply(accounts: addresses.map(info), totalSupply: ledger.totalSupply)
    }

    /// A page of the included transactions with their receipts, read from the log (which holds
    /// only what is in a block, so a page never shows a transaction a restart could take back).
    nonisolated func history(_ request: HistoryRequest) throws -> HistoryReply {
        let limit = request.limit ?? HistoryRequest.maxLimit
        guard (1...HistoryRequest.maxLimit).contains(limit) else {
            throw WireError(
                .badPayload, "limit \(limit) is out of range: give 1…\(HistoryRequest.maxLimit), or leave it out")
        }
        guard (request.after ?? 0) >= 0 else {
            throw WireError(
                .badPayload, "after \(request.after ?? 0) is negative: give a position from an earlier reply, or 0")
        }
        let decoder = WireCoding.decoder()
        let rows = try log.entries(kind: "include", after: request.after ?? 0, limit: limit + 1)
        let entries = try rows.prefix(limit).map { row in
            let command = try decoder.decode(IncludedCommand.self, from: row.command)
            return HistoryEntry(
                position: row.position, tx: command.tx, receipt: try decoder.decode(Receipt.self, from: row.outcome))
        }
        return HistoryReply(entries: entries, more: rows.count > limit)
    }

    func info() -> ChainInfo {
        let counted = counters.snapshot()
        return ChainInfo(
            height: height, blockMode: "\(blockMode)", pending: queue.count, seed: devAccounts.seed,
            accepted: counted["accepted"] ?? 0, reverted: counted["reverted"] ?? 0, rejected: counted["rejected"] ?? 0
        )
    }

    // MARK: Blocks

    nonisolated func trigger() {
        triggerInput.yield(.pending)
    }

    /// Closes a block now, even an empty one, and returns its number.
    func mine() async throws -> MineReply {
        try await withCheckedThrowingContinuation { continuation in
            triggerInput.yield(.mine(continuation))
        }
    }

    /// The one loop that produces blocks, until cancelled.
    func produceOnTrigger() async throws {
        for await trigger in triggers {
            try Task.checkCancellation()
            switch trigger {
            case .pending:
                if blockMode != .onDemand, !queue.isEmpty { _ = try await produceBlock() }
            case let .mine(continuation):
                do {
                    continuation.resume(returning: try await produceBlock())
                } catch {
                    continuation.resume(throwing: error)
                }
            case let .checkpoint(continuation):
                if !checkpointing, checkpointedPosition == logPosition {
                    // The saved one covers the whole log already.
                    continuation.resume(
                        returning: CheckpointReply(position: logPosition, bytes: 0, milliseconds: 0, saved: false))
                } else {
                    startCheckpoint(reply: continuation)
                }
            }
            if !checkpointing, logPosition - checkpointedPosition >= Self.checkpointInterval { startCheckpoint() }
        }
    }

    private func produceBlock() async throws -> MineReply {
        let transactions = queue
        queue.removeAll()
        let number = height + 1
        var included: [(hash: String, command: Data, receipt: Receipt)] = []
        let encoder = WireCoding.encoder()
        for (index, tx) in transactions.enumerated() {
            var outcome: ManagerOutcome?
            switch tx.payload {
            case .transfer:
                outcome = nil
            default:
                outcome = try await execute(tx, blockNumber: number)
            }
            switch ledger.include(tx, blockNumber: number, index: included.count, managerOutcome: outcome) {
            case let .success(receipt):
                let command = IncludedCommand(
                    tx: tx, blockNumber: number, index: receipt.index, managerOutcome: outcome)
                included.append((tx.txHash, try encoder.encode(command), receipt))
            case let .failure(rejection):
                // Admission checked this; only a bug gets here. Drop it loudly rather than stall.
                context.logger.error("dropped \(tx.txHash) at inclusion (position \(index)): \(rejection.message)")
            }
        }
        let hashes = transactions.map(\.txHash)
        let position = try context.database.write { [included] db in
            var position: Int64?
            for entry in included {
                position = try CommandLog.append(
                    key: entry.hash, kind: "include", command: entry.command,
                    outcome: try encoder.encode(entry.receipt), in: db
                )
            }
            for hash in hashes {
                try db.execute(sql: "DELETE FROM mempool WHERE tx_hash = ?", arguments: [hash])
            }
            return position
        }
        if let position, let last = included.last {
            logPosition = position
            logKey = last.hash
        }
        height = number
        queued.subtract(hashes)
        counters.set("height", height)
        counters.add("blocks")
        counters.set("pending", UInt64(queue.count))
        Counter(label: DevnetMetrics.blocks).increment()
        Gauge(label: DevnetMetrics.mempool).record(queue.count)
        for entry in included {
            receipts[entry.hash] = entry.receipt
            counters.add(entry.receipt.status == .accepted ? "accepted" : "reverted")
            Counter(label: DevnetMetrics.l2Included, dimensions: [("status", entry.receipt.status.rawValue)])
                .increment()
            Counter(label: DevnetMetrics.feesCharged).increment(by: Int64(clamping: entry.receipt.feeCharged))
            for waiter in waiters.removeValue(forKey: entry.hash) ?? [] { waiter.resume(returning: entry.receipt) }
        }
        // The receipts are stored with the block above, so waiters hear first; the events follow
        // in one commit rather than one per receipt.
        try? context.publish(
            included.map { try DaemonContext.Event("receipt", $0.receipt) }
                + [DaemonContext.Event("block", BlockEvent(number: number, txHashes: included.map(\.hash)))])
        return MineReply(blockNumber: number, transactions: included.count)
    }

    /// The connection to the manager, made when there is none.
    private func managerClient() async throws -> RequestClient {
        if let manager { return manager }
        let client = try await RequestClient.connect(to: managerEndpoint, on: loop)
        manager = client
        return client
    }

    /// Asks the manager whether an upgrade would apply; throws its refusal as the admission error.
    private func checkUpgrade(_ upgrade: ThreadUpgrade, sender: Address, txHash: String) async throws {
        let client = try await managerClient()
        let reply: RawReply
        do {
            reply = try await client.send(
                ManagerMessage.checkUpgrade, CheckUpgradeRequest(upgrade: upgrade, sender: sender),
                timeout: .seconds(5))
        } catch {
            // The manager may be restarting: connect afresh next time, and let the sender retry.
            manager?.close()
            manager = nil
            throw WireError(
                WireErrorCode("MANAGER_UNAVAILABLE"),
                "the manager did not answer whether the upgrade may apply (\(error)); send it again shortly")
        }
        if reply.envelope.status == .error {
            let error =
                (try? WireCoding.decoder().decode(WireError.self, from: reply.payload))
                ?? WireError(.internalError, "the manager's answer to check_upgrade could not be read")
            counters.add("rejected")
            context.logger.info("rejected upgrade_thread \(txHash.prefix(12)): \(error.message)")
            throw error
        }
    }

    /// Hands a registration or thread update to the manager and returns its verdict.
    ///
    /// The manager answers each transaction hash once and repeats that answer, so asking again
    /// after a timeout (the manager restarting, say) is safe. It keeps asking until it has one.
    private func execute(_ tx: L2Transaction, blockNumber: UInt64) async throws -> ManagerOutcome? {
        let request = ExecuteRequest(
            txHash: tx.txHash, blockNumber: blockNumber, payload: tx.payload, sender: tx.sender)
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                let client = try await managerClient()
                let reply = try await client.send(ManagerMessage.execute, request, timeout: .seconds(3))
                if reply.envelope.status == .error {
                    let error = try? WireCoding.decoder().decode(WireError.self, from: reply.payload)
                    context.logger.error(
                        "the manager refused \(tx.txHash): \(error?.description ?? "unreadable error")")
                    return nil
                }
                return try WireCoding.decoder().decode(ManagerOutcome.self, from: reply.payload)
            } catch let error as WireError where error.code == .timeout || error.code == .shuttingDown {
                attempt += 1
                if attempt == 1 || attempt % 10 == 0 {
                    context.logger.warning(
                        "waiting for the manager at \(managerEndpoint) to execute \(tx.txHash.prefix(12)) (attempt \(attempt))"
                    )
                }
                manager?.close()
                manager = nil
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
