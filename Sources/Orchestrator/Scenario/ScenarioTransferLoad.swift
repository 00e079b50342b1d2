import DevnetAPI
import DevnetProtocol
import Foundation
import Synchronization
import ZKCore

extension LoadDriver {
    /// Errors that say nothing about the transfer: no answer, or a connection the sequencer's
    /// restart closed. The same transfer is sent again (it is included once however often it
    /// is sent); any other error is the sequencer's refusal.
    static let transient: Set<WireErrorCode> = [.timeout, .shuttingDown]

    /// Runs a load of L2 fee-token transfers: each sender signs its share from its next nonce on,
    /// submits them to the sequencer at the load's rate (again after a timeout, which is safe: a
    /// transaction sent twice is included once), then waits for every receipt.
    func runTransfers(until deadline: ContinuousClock.Instant) async throws -> (LoadRecord, failure: String?) {
        let plan = load.plan(seed: session.topology.seed)
        var record = LoadRecord(name: load.name, thread: load.thread, node: load.node)
        if readsAccounts { record.accountsBefore = try await Self.accounts(session) }
        var queues: [[(index: Int, tx: L2Transaction, to: String, amount: UInt64)]] = []
        for sender in load.senders {
            let signer = try session.accounts.account(named: sender)
            var nonce = try await session.call(
                "sequencer", SequencerMessage.account, AccountRequest(account: sender), as: AccountInfo.self
            ).nextNonce
            var queue: [(index: Int, tx: L2Transaction, to: String, amount: UInt64)] = []
            for (index, planned) in plan.enumerated() where planned.sender == sender {
                let to = planned.arguments[0]
                let amount = UInt64(planned.arguments[1]) ?? 1
                let recipient = try session.accounts.account(named: to).address
                let tx = L2Transaction.make(
                    signer: signer, nonce: nonce, payload: .transfer(to: recipient, amount: amount),
                    payingExactly: .standard)
                queue.append((index, tx, to, amount))
                nonce += 1
            }
            if !queue.isEmpty { queues.append(queue) }
        }
        let started = ContinuousClock.now
        let stop = deadline - .milliseconds(500)
        let nemesis = load.nemesis.map { nemesis in Task { await strike(nemesis, started: started) } }
        let tally = TransferTally()
        await withTaskGroup(of: Void.self) { group in
            for queue in queues {
                group.addTask { [load, session, plan] in
                    for item in queue {
                        if let rate = load.rate {
                            let due = started + .milliseconds(Int64(Double(item.index) / rate * 1000))
                            if due > .now { try? await Task.sleep(until: due) }
                        }
                        var sent = false
                        while !sent, ContinuousClock.now < stop {
                            do {
                                _ = try await session.request(
                                    "sequencer", SequencerMessage.submit,
                                    SubmitRequest(tx: item.tx, wait: load.waitEach),
                                    as: SubmitReply.self, timeout: .seconds(5))
                                sent = true
                            } catch let error as WireError where !Self.transient.contains(error.code) {
                                tally.refusals.withLock {
                                    $0.append(
                                        "\(item.tx.txHash.prefix(12)) from \(plan[item.index].sender), nonce \(item.tx.nonce): \(error.code): \(error.message)"
                                    )
                                }
                                return
                            } catch {
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        guard sent else { return }
                        tally.admitted.withLock {
                            $0.append(
                                (
                                    LoadRecord.Admitted(
                                        hash: item.tx.txHash, sender: plan[item.index].sender, nonce: item.tx.nonce),
                                    item.to, item.amount
                                ))
                        }
                    }
                }
            }
        }
        // Every admitted transfer's receipt, asked again after a timeout (the sequencer may be
        // restarting under a nemesis).
        var open: [String] = []
        for (entry, to, amount) in tally.admitted.withLock({ $0 }) {
            record.admitted.append(entry)
            record.transfers[entry.hash] = (to, amount)
            var receipt: Receipt?
            while receipt == nil, ContinuousClock.now < stop {
                let reply = try? await session.request(
                    "sequencer", SequencerMessage.receipt, ReceiptRequest(txHash: entry.hash, waitMs: 1000),
                    as: SubmitReply.self, timeout: .seconds(3))
                receipt = reply?.receipt
                if reply == nil { try? await Task.sleep(for: .milliseconds(100)) }
            }
            if let receipt { record.receipts[entry.hash] = receipt } else { open.append(entry.hash) }
        }
        nemesis?.cancel()
        record.faults = await nemesis?.value ?? []
        if readsAccounts { record.accountsAfter = try await Self.accounts(session) }
        let accepted = record.receipts.values.filter { $0.status == .accepted }.count
        progress(
            String(
                format:
                    "               %@: %d admitted, %d accepted, %d reverted, %d refused, %d without a receipt, %.1f s",
                load.name, record.admitted.count, accepted, record.receipts.count - accepted,
                tally.refusals.withLock { $0.count }, open.count, (ContinuousClock.now - started).seconds))
        if let refusal = tally.refusals.withLock({ $0.first }) {
            return (
                record, "the sequencer refused \(tally.refusals.withLock { $0.count }) transfers; the first: \(refusal)"
            )
        }
        if !open.isEmpty {
            return (
                record,
                "\(open.count) of the \(plan.count) transfers had no receipt when the step timed out (e.g. \(open.prefix(3).map { String($0.prefix(12)) }.joined(separator: ", "))); give the step a longer timeout or a lower rate"
            )
        }
        return (record, nil)
    }
}

/// What the senders of a transfer load admitted and had refused, shared between their tasks.
private final class TransferTally: Sendable {
    let admitted = Mutex<[(LoadRecord.Admitted, to: String, amount: UInt64)]>([])
    let refusals = Mutex<[String]>([])
}
