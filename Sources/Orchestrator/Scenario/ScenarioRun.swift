import DevnetAPI
import DevnetProtocol
import Foundation
import ThreadVM
import ZKCore

#if canImport(Glibc)
    import Glibc
#endif

/// A step that did not do what it should; the message says what it saw.
struct StepFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// One scenario's steps against its running devnet: what the steps named, and the marks they set.
actor ScenarioRun {
    private enum Named {
        case threadTx(node: String, hash: String)
        case l2(hash: String)
        case submission(node: String, label: String)
    }

    private struct Snapshot {
        var accounts: [String: AccountInfo]
        var chain: ChainInfo
    }

    let orchestrator: Orchestrator
    /// With on-demand blocks, thread registrations wait for a block: the runner mines them.
    private let onDemandBlocks: Bool
    private var session: DevnetClientSession
    private var named: [String: Named] = [:]
    private var marks: [String: Snapshot] = [:]
    /// The names known when each `snapshot` step ran: a revert goes back to them.
    private var namedAtSnapshot: [String: [String: Named]] = [:]
    /// What each load phase did, by name, for the invariants.
    private var phases: [String: LoadRecord] = [:]
    private var phasesAtSnapshot: [String: [String: LoadRecord]] = [:]
    /// The fee-token supply genesis and the threads' funding made.
    private var expectedSupply: UInt64?
    /// Where progress lines of long steps go.
    private let progress: @Sendable (String) -> Void
    /// What the last step recorded for the report (a nemesis's faults).
    private var notes: [String] = []
    /// Values kept by `capture` steps, by name.
    private var captured: [String: Int64] = [:]

    /// What the last step recorded for the report, once.
    func takeNotes() -> [String] {
        defer { notes = [] }
        return notes
    }

    /// Applies or lifts one nemesis fault.
    private func nemesis(_ strike: Scenario.Strike, apply: Bool) async throws {
        let target = strike.target
        switch strike.fault {
        case .killRestart:
            if apply { try await kill(target) } else { try await orchestrator.restart(target) }
        case .pauseResume:
            _ = try await admin(
                target, apply ? NodeAdminMessage.pause : NodeAdminMessage.resume, Empty(), as: NodeInfo.self)
        case .partition, .delay, .drop:
            if apply {
                let kind: NetworkFault.Kind =
                    switch strike.fault {
                    case .partition: .partition
                    case .delay: .delay(ms: 20, jitterMs: 30)
                    default: .drop(0.3)
                    }
                try await session.apply(NetworkFault(kind, between: target, "sequencer"))
            } else {
                try await session.heal(between: (target, "sequencer"))
            }
        case .tamper:
            let spoilings: [Tamper] = [.badProof, .wrongInputs, .wrongOSVersion]
            let fault = spoilings[Int(strike.variant % UInt64(spoilings.count))]
            _ = try await admin(
                target, NodeAdminMessage.tamper, TamperRequest(fault: fault, label: "nemesis-\(fault.rawValue)"),
                as: TamperReply.self)
        }
    }

    init(orchestrator: Orchestrator, onDemandBlocks: Bool, progress: @escaping @Sendable (String) -> Void = { _ in })
        throws
    {
        self.orchestrator = orchestrator
        self.onDemandBlocks = onDemandBlocks
        self.progress = progress
        session = try DevnetClientSession(orchestrator)
    }

    func close() async {
        await session.close()
    }

    /// The state root of every registered thread, by name.
    func roots() async throws -> [String: String] {
        let reply = try await session.call("manager", ManagerMessage.threads, Empty(), as: ThreadsReply.self)
        return Dictionary(reply.threads.map { ($0.name, $0.stateRoot) }, uniquingKeysWith: { first, _ in first })
    }

    /// Waits until the manager has registered every one of `threads` and no L2 transaction is
    /// pending, so that a scenario starts from a settled devnet.
    func waitUntilRegistered(_ threads: [String], until deadline: ContinuousClock.Instant) async throws {
        while true {
            let registered = Set(
                try await session.call("manager", ManagerMessage.threads, Empty(), as: ThreadsReply.self).threads.map(
                    \.name))
            let pending = try await session.call("sequencer", SequencerMessage.chain, Empty(), as: ChainInfo.self)
                .pending
            let missing = threads.filter { !registered.contains($0) }
            if missing.isEmpty, pending == 0 {
                expectedSupply = try await session.call(
                    "sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self
                ).totalSupply
                return
            }
            if onDemandBlocks, pending > 0 { _ = try await session.mine() }
            guard ContinuousClock.now < deadline else {
                throw StepFailure(
                    missing.isEmpty
                        ? "\(pending) L2 transaction(s) still pending after the threads registered"
                        : "thread(s) \(missing.joined(separator: ", ")) not registered with the manager; see their nodes' logs"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Steps

    func perform(_ action: Scenario.Action, until deadline: ContinuousClock.Instant) async throws {
        switch action {
        case let .send(send):
            try await self.send(send)
        case let .transfer(transfer):
            try await self.transfer(transfer, until: deadline)
        case let .waitSettled(names, allowFailed):
            for name in names { try await waitFinal(name, allowFailed: allowFailed, until: deadline) }
        case let .waitSequence(thread, sequence):
            var seen: UInt64 = 0
            while true {
                seen = try await session.call(
                    "manager", ManagerMessage.thread, ThreadRequest(thread: thread), as: ThreadSummary.self
                ).sequence
                if seen >= sequence { return }
                guard ContinuousClock.now < deadline else {
                    throw StepFailure(
                        "timed out waiting for thread \(thread) to reach sequence \(sequence); it is at \(seen)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        case let .mine(blocks):
            for _ in 0..<blocks { _ = try await session.mine() }
        case let .sleep(length):
            try await Task.sleep(for: length)
        case let .attach(options, _):
            let isNew = session.catalog.entry(for: options.thread) == nil
            try await orchestrator.attach(options)
            await session.close()
            session = try DevnetClientSession(orchestrator)
            // A new thread's provers are funded: the supply grows (waitUntilRegistered reads it again).
            if isNew { try await waitUntilRegistered([options.thread], until: deadline) }
        case let .upgrade(thread, contract, constants, label):
            let receipt = try await session.upgrade(thread: thread, contract: contract, constants: constants)
            named[label] = .l2(hash: receipt.txHash)
            guard receipt.status == .accepted else {
                throw StepFailure("the upgrade of \(thread) reverted: \(receipt.revert?.description ?? "no reason")")
            }
        case let .kill(name):
            try await kill(name)
        case let .restart(name):
            try await orchestrator.restart(name)
        case let .pause(node):
            _ = try await admin(node, NodeAdminMessage.pause, Empty(), as: NodeInfo.self)
        case let .resume(node):
            _ = try await admin(node, NodeAdminMessage.resume, Empty(), as: NodeInfo.self)
        case let .tamper(node, fault, label):
            _ = try await admin(
                node, NodeAdminMessage.tamper, TamperRequest(fault: fault, label: label), as: TamperReply.self)
            named[label] = .submission(node: node, label: label)
        case let .capture(name, source):
            let value: Int64
            switch source {
            case let .balance(account):
                value = Int64(clamping: try await self.account(account).balance)
            case let .feesPaid(account):
                value = Int64(clamping: try await self.account(account).feesPaid ?? 0)
            case let .call(thread, entrypoint, arguments, caller):
                let reply = try await session.view(
                    thread: thread, entrypoint: entrypoint, arguments: try session.resolveArguments(arguments),
                    caller: caller)
                guard reply.values.count == 1 else {
                    throw StepFailure(
                        "\(thread).\(entrypoint) returned \(reply.values.count) values (\(reply.formatted)); capture takes a view that returns one number"
                    )
                }
                value = Int64(bitPattern: reply.values[0].value)
            }
            captured[name] = value
            notes = ["\(name) = \(value)"]
        case let .applyTwice(thread):
            _ = try await admin(
                "manager", ManagerAdminMessage.applyTwice, ThreadRequest(thread: thread), as: ApplyTwiceReply.self)
        case let .networkFault(fault):
            try await session.apply(fault)
        case let .heal(between):
            try await session.heal(between: between.count == 2 ? (between[0], between[1]) : nil)
        case let .mark(name):
            marks[name] = try await snapshot()
        case let .snapshot(name):
            _ = try await orchestrator.snapshot(named: name)
            namedAtSnapshot[name] = named
            phasesAtSnapshot[name] = phases
        case let .revert(name):
            _ = try await orchestrator.revert(to: name, timeout: deadline - .now)
            try await reconnect()
            // What was named after the snapshot is gone with the transactions it named.
            named = namedAtSnapshot[name] ?? [:]
            phases = phasesAtSnapshot[name] ?? [:]
        case let .load(load):
            var driver = LoadDriver(load: load, session: session, progress: progress)
            driver.act = { strike, apply in try await self.nemesis(strike, apply: apply) }
            let (record, failure) = try await driver.run(until: deadline)
            phases[load.name] = record
            notes = record.faults.map { "nemesis \($0)" }
            if let failure { throw StepFailure(failure) }
        case let .parallel(loads):
            try await runInParallel(loads, until: deadline)
        case let .invariants(check):
            let history = try await history(check)
            let violations = InvariantChecker.check(history, check.checks)
            // Each invariant's result, for the JSON and JUnit reports.
            notes = Invariant.allCases.filter(check.checks.contains).map { invariant in
                let broken = violations.filter { $0.invariant == invariant }.count
                return "invariant \(invariant.rawValue): "
                    + (broken == 0 ? "held" : "\(broken) violation\(broken == 1 ? "" : "s")")
                    + " (\(history.transactions.count) load transactions"
                    + (history.replayedSubBlocks.map { ", \($0) sub-blocks replayed" } ?? "") + ")"
            }
            guard violations.isEmpty else {
                let shown = violations.prefix(10).map(\.description).joined(separator: "; ")
                throw StepFailure(
                    "\(violations.count) invariant violation\(violations.count == 1 ? "" : "s"): \(shown)"
                        + (violations.count > 10 ? "; …" : ""))
            }
        case let .expect(expectation, eventually):
            while true {
                let problem: String?
                do {
                    problem = try await check(expectation)
                } catch let failure as StepFailure {
                    problem = failure.message
                } catch is CancellationError {
                    throw CancellationError()
                } catch let error as OrchestratorError {
                    problem = error.message.hasPrefix("error: ") ? String(error.message.dropFirst(7)) : error.message
                } catch {
                    problem = "\(error)"
                }
                guard let problem else { return }
                guard eventually, ContinuousClock.now < deadline else {
                    throw StepFailure(eventually ? "still not so when the step timed out: \(problem)" : problem)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// A new session after every daemon was started again (new pids, the same endpoints).
    private func reconnect() async throws {
        let fresh = try DevnetClientSession(orchestrator)
        await session.close()
        session = fresh
    }

    private func admin<Reply: Decodable & Sendable>(
        _ node: String, _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type
    ) async throws -> Reply {
        do {
            return try await session.request(
                node, type, payload, as: Reply.self, endpoint: .admin, timeout: .seconds(10))
        } catch let error as WireError {
            throw StepFailure("\(node) refused '\(type)': \(error.code): \(error.message)")
        }
    }

    private func send(_ send: Scenario.Send) async throws {
        let status = try await session.send(
            thread: send.thread, entrypoint: send.entrypoint, arguments: try session.resolveArguments(send.arguments),
            from: send.from, wait: false, node: send.node)
        if let label = send.label { named[label] = .threadTx(node: send.node, hash: status.txHash) }
    }

    private func transfer(_ transfer: Scenario.Transfer, until deadline: ContinuousClock.Instant) async throws {
        let tx: L2Transaction
        do {
            tx = try await session.admitTransfer(
                from: transfer.from, to: transfer.to, amount: transfer.amount, maxFee: transfer.maxFee)
        } catch let error as WireError where error.code != .timeout {
            guard let expected = transfer.rejected else {
                throw StepFailure("the sequencer rejected the transfer: \(error.code): \(error.message)")
            }
            guard error.code.rawValue == expected else {
                throw StepFailure("the sequencer rejected it with \(error.code), not \(expected): \(error.message)")
            }
            return
        } catch let error as WireError {
            throw DevnetClientSession.explain(
                error, process: "sequencer", type: SequencerMessage.submit, timeout: .seconds(30))
        }
        if let expected = transfer.rejected {
            throw StepFailure("the sequencer admitted \(tx.txHash); it should have rejected it with \(expected)")
        }
        let label = transfer.label ?? "transfer \(tx.txHash.prefix(12))"
        named[label] = .l2(hash: tx.txHash)
        if transfer.wait { try await waitFinal(label, allowFailed: true, until: deadline) }
    }

    private func kill(_ name: String) async throws {
        guard let state = DevnetState.load(from: orchestrator.dataDirectory),
            let process = state.processes.first(where: { $0.name == name })
        else {
            throw StepFailure("this devnet has no process \(name)")
        }
        guard ProcessControl.isAlive(pid: process.pid, startTime: process.startTime) else {
            throw StepFailure("\(name) (pid \(process.pid)) is not running; nothing to kill")
        }
        Glibc.kill(process.pid, SIGKILL)
        for _ in 0..<500 {
            _ = ProcessControl.reapIfExited(process.pid)
            if !ProcessControl.isAlive(pid: process.pid, startTime: process.startTime) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw StepFailure("\(name) (pid \(process.pid)) still runs 5 s after SIGKILL")
    }

    // MARK: Waiting

    private func waitFinal(_ name: String, allowFailed: Bool, until deadline: ContinuousClock.Instant) async throws {
        guard let target = named[name] else { throw StepFailure("no step named \(name) has run") }
        while true {
            let left = deadline - ContinuousClock.now
            let waitMs = max(0, min(2000, Int(left.components.seconds * 1000)))
            let seen: String
            switch target {
            case let .threadTx(node, hash):
                let status = try await session.call(
                    node, NodeMessage.status, TxStatusRequest(txHash: hash, waitMs: waitMs), as: TxStatusReply.self,
                    timeout: .milliseconds(waitMs + 5000))
                if status.status == .settled { return }
                if status.status == .failed {
                    if allowFailed { return }
                    throw StepFailure("\(name) failed instead of settling: \(status.reason ?? "no reason given")")
                }
                seen = status.status.rawValue + (status.subBlock.map { " in sub-block \($0)" } ?? "")
            case let .l2(hash):
                let reply = try await session.call(
                    "sequencer", SequencerMessage.receipt, ReceiptRequest(txHash: hash, waitMs: waitMs),
                    as: ReceiptReply.self, timeout: .milliseconds(waitMs + 5000))
                if let receipt = reply.receipt {
                    if receipt.status == .accepted || allowFailed { return }
                    throw StepFailure(
                        "\(name) was \(receipt.status.rawValue) in block \(receipt.blockNumber): \(receipt.revert?.description ?? "")"
                    )
                }
                seen = reply.status
            case let .submission(node, label):
                if let record = try await submission(node: node, label: label) {
                    if record.status == "accepted" || allowFailed { return }
                    throw StepFailure("\(name) was \(record.status): \(record.revertCode ?? "")")
                }
                seen = "not submitted yet"
                try await Task.sleep(for: .milliseconds(50))
            }
            guard ContinuousClock.now < deadline else {
                throw StepFailure(
                    "timed out waiting for \(name) to \(allowFailed ? "finish" : "settle"); it is \(seen)")
            }
        }
    }

    private func submission(node: String, label: String) async throws -> SubmissionRecord? {
        try await session.call(node, NodeMessage.submissions, Empty(), as: SubmissionsReply.self)
            .submissions.last { $0.label == label }
    }

    // MARK: Expectations

    private func snapshot() async throws -> Snapshot {
        let accounts = try await session.call("sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self)
        let chain = try await session.call("sequencer", SequencerMessage.chain, Empty(), as: ChainInfo.self)
        var byName: [String: AccountInfo] = [:]
        for account in accounts.accounts { if let name = account.name { byName[name] = account } }
        return Snapshot(accounts: byName, chain: chain)
    }

    private func account(_ name: String) async throws -> AccountInfo {
        try await session.call(
            "sequencer", SequencerMessage.account, AccountRequest(account: name), as: AccountInfo.self)
    }

    private func marked(_ mark: String, _ account: String) throws -> AccountInfo {
        guard let snapshot = marks[mark] else { throw StepFailure("mark \(mark) was not set") }
        // The provers of a thread attached after the mark were not in the ledger then: nothing held, nothing paid.
        if let info = snapshot.accounts[account] { return info }
        let address = try session.accounts.account(named: account).address
        return AccountInfo(name: account, address: address, publicKey: nil, balance: 0, nextNonce: 0, feesPaid: 0)
    }

    /// Nil when the expectation holds; otherwise what was seen instead.
    private func check(_ expectation: Scenario.Expectation) async throws -> String? {
        switch expectation {
        case let .receipt(name, status, reason):
            guard let hash = try await l2Hash(of: name) else {
                return "\(name) has no L2 receipt yet"
            }
            let reply = try await session.call(
                "sequencer", SequencerMessage.receipt, ReceiptRequest(txHash: hash), as: ReceiptReply.self)
            guard let receipt = reply.receipt else {
                return "\(name) (\(hash.prefix(12))) is \(reply.status), not in a block yet"
            }
            let code = receipt.revert?.code.rawValue
            if let status, receipt.status.rawValue != status {
                return
                    "the receipt of \(name) is \(receipt.status.rawValue)\(code.map { " (\($0): \(receipt.revert?.message ?? ""))" } ?? ""), not \(status)"
            }
            if let reason, code != reason {
                return "the receipt of \(name) has revert reason \(code ?? "none"), not \(reason)"
            }
            return nil
        case let .txStatus(name, statuses, reason):
            guard case let .threadTx(node, hash) = named[name] else {
                return "no thread transaction named \(name) was sent"
            }
            let reply = try await session.call(
                node, NodeMessage.status, TxStatusRequest(txHash: hash), as: TxStatusReply.self)
            if !statuses.contains(reply.status.rawValue) {
                return
                    "\(name) is \(reply.status.rawValue)\(reply.reason.map { " (\($0))" } ?? ""), not \(statuses.joined(separator: " or "))"
            }
            if let reason, !(reply.reason ?? "").contains(reason) {
                return
                    "\(name) is \(reply.status.rawValue) but its reason is '\(reply.reason ?? "")', which does not mention '\(reason)'"
            }
            return nil
        case let .balance(account, check):
            let now = try await self.account(account)
            switch check {
            case let .equals(amount):
                let expected = try evaluate(amount, fees: 0)
                return Int64(clamping: now.balance) == expected
                    ? nil : "the balance of \(account) is \(now.balance), not \(expected)\(shown(amount))"
            case let .change(mark, amount):
                let before = try marked(mark, account)
                let change = Int64(now.balance) - Int64(before.balance)
                let fees = Int64((now.feesPaid ?? 0) - (before.feesPaid ?? 0))
                let expected = try evaluate(amount, fees: fees)
                return change == expected
                    ? nil
                    : "the balance of \(account) changed by \(change) since \(mark) (\(before.balance) → \(now.balance)), not \(expected)\(shown(amount))"
                        + (amount.usesFees ? "; it paid \(fees) in fees" : "")
            }
        case let .feesPaid(account, mark, check):
            let now = try await self.account(account).feesPaid ?? 0
            let before = try mark.map { try marked($0, account).feesPaid ?? 0 } ?? 0
            let paid = now - before
            return check.holds(paid)
                ? nil : "\(account) paid \(paid) in fees\(mark.map { " since \($0)" } ?? ""), not \(check)"
        case let .call(thread, entrypoint, arguments, caller, equals):
            let reply = try await session.view(
                thread: thread, entrypoint: entrypoint, arguments: try session.resolveArguments(arguments),
                caller: caller)
            let values = reply.values.map { "\($0)" }
            if values == equals || reply.formatted == equals.joined(separator: ", ") { return nil }
            if equals.count == 1, equals[0].contains("${"), reply.values.count == 1 {
                let amount = try AmountExpression(equals[0])
                let expected = try evaluate(amount, fees: 0)
                if Int64(bitPattern: reply.values[0].value) == expected { return nil }
                return
                    "\(thread).\(entrypoint)(\(arguments.joined(separator: ", "))) returned \(reply.formatted), not \(expected)\(shown(amount))"
            }
            return
                "\(thread).\(entrypoint)(\(arguments.joined(separator: ", "))) returned \(reply.formatted), not \(equals.joined(separator: ", "))"
        case let .thread(name, sequence, root):
            let summary = try await session.call(
                "manager", ManagerMessage.thread, ThreadRequest(thread: name), as: ThreadSummary.self)
            if let sequence, !sequence.holds(summary.sequence) {
                return "thread \(name) is at sequence \(summary.sequence), not \(sequence)"
            }
            if let root, summary.stateRoot != root {
                return "thread \(name) has state root \(summary.stateRoot), not \(root)"
            }
            return nil
        case let .reverts(node, reason, check):
            let records = try await session.call(node, NodeMessage.submissions, Empty(), as: SubmissionsReply.self)
                .submissions
            let reverted = records.filter { $0.status == "reverted" }
            let matching = reverted.filter { reason == nil || $0.revertCode == reason }
            if check.holds(UInt64(matching.count)) { return nil }
            let codes = reverted.map { $0.revertCode ?? "?" }
            return
                "\(matching.count) of \(node)'s \(records.count) submissions reverted\(reason.map { " with \($0)" } ?? ""), not \(check)"
                + (codes.isEmpty ? "" : " (reverts seen: \(codes.joined(separator: ", ")))")
        case let .counts(mark, accepted, reverted, rejected):
            let now = try await session.call("sequencer", SequencerMessage.chain, Empty(), as: ChainInfo.self)
            let before = try mark.map { mark -> ChainInfo in
                guard let snapshot = marks[mark] else { throw StepFailure("mark \(mark) was not set") }
                return snapshot.chain
            }
            // Rejections are counted in memory: a sequencer restarted since the mark counts from 0 again.
            func since(_ now: UInt64, _ then: UInt64?) -> UInt64 { now >= (then ?? 0) ? now - (then ?? 0) : now }
            let seen = (
                accepted: since(now.accepted, before?.accepted), reverted: since(now.reverted, before?.reverted),
                rejected: since(now.rejected, before?.rejected)
            )
            var wrong: [String] = []
            if let accepted, seen.accepted != accepted { wrong.append("accepted \(seen.accepted), not \(accepted)") }
            if let reverted, seen.reverted != reverted { wrong.append("reverted \(seen.reverted), not \(reverted)") }
            if let rejected, seen.rejected != rejected { wrong.append("rejected \(seen.rejected), not \(rejected)") }
            return wrong.isEmpty
                ? nil : "L2 transactions\(mark.map { " since \($0)" } ?? ""): \(wrong.joined(separator: "; "))"
        }
    }

    /// Runs load phases at the same time. The accounts are read once before and once after
    /// them all, and the change is counted once (on the first phase), since the phases' windows
    /// overlap.
    private func runInParallel(_ loads: [Scenario.Load], until deadline: ContinuousClock.Instant) async throws {
        let before = try await LoadDriver.accounts(session)
        let results = try await withThrowingTaskGroup(of: (Int, LoadRecord, String?).self) { group in
            for (index, load) in loads.enumerated() {
                var driver = LoadDriver(load: load, session: session, progress: progress)
                driver.readsAccounts = false
                driver.act = { strike, apply in try await self.nemesis(strike, apply: apply) }
                group.addTask { [driver] in
                    let (record, failure) = try await driver.run(until: deadline)
                    return (index, record, failure)
                }
            }
            var results: [(Int, LoadRecord, String?)] = []
            for try await result in group { results.append(result) }
            var sorted = results.sorted { $0.0 < $1.0 }
            sorted[0].1.accountsBefore = before
            sorted[0].1.accountsAfter = try await LoadDriver.accounts(session)
            return sorted
        }
        var failures: [String] = []
        notes = []
        for (_, record, failure) in results {
            phases[record.name] = record
            notes += record.faults.map { "nemesis (\(record.name)) \($0)" }
            if let failure { failures.append("\(record.name): \(failure)") }
        }
        if !failures.isEmpty { throw StepFailure(failures.joined(separator: "; ")) }
    }

    /// An amount's value now, with `fees` for `fees_paid`.
    private func evaluate(_ amount: AmountExpression, fees: Int64) throws -> Int64 {
        switch amount.evaluate(fees: fees, captured: captured) {
        case let .success(value): return value
        case let .failure(error): throw StepFailure(error.message)
        }
    }

    /// ` (= TEXT)` when the amount was written as more than a number.
    private func shown(_ amount: AmountExpression) -> String {
        amount.terms.count == 1 && !amount.usesFees && amount.names.isEmpty ? "" : " (= \(amount.text))"
    }

    // MARK: Invariants

    /// What the daemons say now about the load phases `check` covers.
    private func history(_ check: Scenario.InvariantsCheck) async throws -> InvariantHistory {
        var history = InvariantHistory()
        let records = try check.phases.map { name in
            guard let record = phases[name] else { throw StepFailure("load phase \(name) has not run") }
            return record
        }
        for record in records where record.thread == Scenario.Load.l2 {
            for tx in record.admitted {
                let moved = record.transfers[tx.hash]
                history.transfers.append(
                    InvariantHistory.L2Transfer(
                        hash: tx.hash, phase: record.name, sender: tx.sender, to: moved?.to ?? "?",
                        amount: moved?.amount ?? 0, nonce: tx.nonce, receipt: record.receipts[tx.hash]))
            }
        }
        for record in records where record.thread != Scenario.Load.l2 {
            var transactions = record.admitted.map { tx in
                InvariantHistory.Transaction(
                    hash: tx.hash, phase: record.name, thread: record.thread, sender: tx.sender, nonce: tx.nonce,
                    status: nil, settlement: nil, finalReports: record.finalReports[tx.hash] ?? [])
            }
            for index in transactions.indices {
                do {
                    transactions[index].status = try await session.request(
                        record.node, NodeMessage.status, TxStatusRequest(txHash: transactions[index].hash),
                        as: TxStatusReply.self, timeout: .seconds(10))
                } catch let error as WireError where error.code == .notFound {
                    transactions[index].status = nil
                } catch let error as WireError {
                    throw DevnetClientSession.explain(
                        error, process: record.node, type: NodeMessage.status, timeout: .seconds(10))
                }
            }
            for start in stride(from: 0, to: transactions.count, by: 5000) {
                let chunk = Array(transactions[start..<min(start + 5000, transactions.count)])
                let reply = try await session.call(
                    "manager", ManagerMessage.settlements,
                    SettlementsRequest(thread: record.thread, txHashes: chunk.map(\.hash)), as: SettlementsReply.self)
                for (offset, settlement) in reply.settlements.enumerated() {
                    transactions[start + offset].settlement = settlement
                }
            }
            history.transactions += transactions
        }
        let accounts = try await session.call("sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self)
        history.totalSupply = accounts.totalSupply
        history.sumOfBalances = accounts.accounts.reduce(0) { $0 &+ $1.balance }
        history.expectedSupply = expectedSupply ?? accounts.totalSupply
        // Each account's change over the phases (nothing but the loads ran during them).
        var changes: [String: InvariantHistory.AccountChange] = [:]
        for record in records {
            for (name, after) in record.accountsAfter {
                let before = record.accountsBefore[name]
                var change =
                    changes[name]
                    ?? InvariantHistory.AccountChange(
                        name: name, balanceBefore: before?.balance ?? 0, balanceAfter: before?.balance ?? 0,
                        feesBefore: before?.feesPaid ?? 0, feesAfter: before?.feesPaid ?? 0)
                change.balanceAfter = change.balanceAfter &+ (after.balance &- (before?.balance ?? 0))
                change.feesAfter = change.feesAfter &+ ((after.feesPaid ?? 0) &- (before?.feesPaid ?? 0))
                changes[name] = change
            }
        }
        history.accounts = changes.values.sorted { $0.name < $1.name }
        var threads: [String] = []
        for thread in check.threads ?? records.map(\.thread)
        where !threads.contains(thread) && thread != Scenario.Load.l2 {
            threads.append(thread)
        }
        for thread in threads {
            let summary = try await session.call(
                "manager", ManagerMessage.thread, ThreadRequest(thread: thread), as: ThreadSummary.self)
            let nodes = session.topology.processes.filter { $0.thread?.name == thread }.map(\.name)
            let node = nodes.contains("node-\(thread)") ? "node-\(thread)" : nodes.first ?? "node-\(thread)"
            let submissions = try await session.call(
                node, NodeMessage.submissions, Empty(), as: SubmissionsReply.self
            ).submissions
            history.threads.append(
                InvariantHistory.ThreadRecord(
                    thread: thread, managerSequence: summary.sequence,
                    acceptedSequences: submissions.filter { $0.status == "accepted" }.map(\.sequence),
                    onlyNode: nodes.count == 1))
        }
        if !check.checks.isDisjoint(with: [.crossReads, .replay]) {
            let replay = try await replayHistory()
            let live = try await session.call("manager", ManagerMessage.threads, Empty(), as: ThreadsReply.self)
            history.replayFindings =
                replay.findings + replay.compare(with: live.threads.map { ($0.name, $0.sequence, $0.stateRoot) })
            history.replayedSubBlocks = replay.subBlocks
        }
        return history
    }

    /// The sequencer's whole L2 history, re-executed from genesis.
    private func replayHistory() async throws -> HistoryReplay {
        let catalog = try TopologyPrograms(topology: session.topology)
        var replay = HistoryReplay(programs: { catalog.program(hash: $0) })
        var after: Int64 = 0
        while true {
            let page = try await session.call(
                "sequencer", SequencerMessage.history, HistoryRequest(after: after), as: HistoryReply.self)
            for entry in page.entries { replay.apply(entry.tx, receipt: entry.receipt) }
            guard page.more, let last = page.entries.last else { break }
            after = last.position
        }
        return replay
    }

    /// The L2 transaction that carries what `name` names, once there is one.
    private func l2Hash(of name: String) async throws -> String? {
        switch named[name] {
        case let .l2(hash):
            return hash
        case let .threadTx(node, hash):
            return try await session.call(
                node, NodeMessage.status, TxStatusRequest(txHash: hash), as: TxStatusReply.self
            )
            .l2TxHash
        case let .submission(node, label):
            return try await submission(node: node, label: label)?.l2TxHash
        case nil:
            throw StepFailure("no step named \(name) has run")
        }
    }
}
