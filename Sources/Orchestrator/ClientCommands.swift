public import DevnetAPI
import DevnetClient
import DevnetProtocol
import Foundation
import ThreadVM
public import ZKCore
import ZeroMQ

/// The client side of the devnet: accounts, transfers, thread transactions, views and receipts,
/// signed with the devnet's seeded accounts and sent over the wire protocol.
public final class DevnetClientSession: Sendable {
    let state: DevnetState
    let topology: Topology
    let accounts: DevAccounts
    let catalog: TopologyPrograms
    /// The orchestrator's CURVE keys on a secured devnet (nil on an open one): other socket loops
    /// the session's users open (a load's event subscriber) connect with them too.
    let clientKeys: CurveClientKeys?
    private let context = ZMQContext()
    private let loop: SocketLoop

    /// Connects to the devnet running in `orchestrator`'s data directory.
    public init(_ orchestrator: Orchestrator) throws {
        guard let state = DevnetState.load(from: orchestrator.dataDirectory) else {
            throw OrchestratorError(
                "error: no devnet in \(orchestrator.dataDirectory.path); start one with `devnet up --data-dir \(orchestrator.dataDirectory.path)`"
            )
        }
        self.state = state
        let topology = try Topology.load(from: orchestrator.dataDirectory.appendingPathComponent(Topology.fileName))
        self.topology = topology
        accounts = DevAccounts.derive(seed: topology.seed)
        catalog = try TopologyPrograms(topology: topology)
        clientKeys = try orchestrator.clientKeys(for: topology)
        loop = SocketLoop(context: context, name: "devnet-client", clientKeys: clientKeys)
    }

    public func close() async {
        await loop.shutdown()
        context.terminate()
    }

    private func endpoint(of name: String, _ kind: Orchestrator.EndpointKind) throws -> String {
        guard let endpoints = state.endpoints(of: name) else {
            throw OrchestratorError(
                "error: this devnet has no process '\(name)' (it has: \(state.names.joined(separator: ", ")))"
            )
        }
        return kind == .api ? endpoints.api : endpoints.admin
    }

    /// One typed request to a process of the devnet, by name; errors name the process.
    func call<Reply: Decodable>(
        _ process: String, _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type,
        endpoint kind: Orchestrator.EndpointKind = .api, timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        do {
            return try await request(process, type, payload, as: Reply.self, endpoint: kind, timeout: timeout)
        } catch let error as WireError {
            throw Self.explain(error, process: process, type: type, timeout: timeout)
        }
    }

    /// A daemon's error reply, or no reply, as a sentence that names the process.
    static func explain(_ error: WireError, process: String, type: String, timeout: Duration) -> OrchestratorError {
        if error.code == .timeout, let range = error.message.range(of: "the CURVE handshake") {
            return OrchestratorError(
                "error: \(process) did not answer '\(type)' within \(timeout): \(error.message[range.lowerBound...])")
        }
        if error.code == .timeout {
            return OrchestratorError(
                "error: \(process) did not answer '\(type)' within \(timeout); is it running? (devnet status)")
        }
        return OrchestratorError("error: \(process) refused '\(type)': \(error.code): \(error.message)")
    }

    /// ``call(_:_:_:as:endpoint:timeout:)`` that throws the daemon's ``WireError`` as it is, for
    /// callers that act on its code.
    func request<Reply: Decodable>(
        _ process: String, _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type,
        endpoint kind: Orchestrator.EndpointKind = .api, timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        let endpoint = try endpoint(of: process, kind)
        let client = try await RequestClient.connect(to: endpoint, on: loop)
        // No `defer` around the await: Swift 6.3.1 crashes (signal 11) splitting that coroutine
        // in release builds once it is inlined into a caller.
        do {
            let reply = try await client.call(type, payload, as: Reply.self, timeout: timeout)
            client.close()
            return reply
        } catch {
            client.close()
            throw error
        }
    }

    private func account(_ name: String) throws -> DevAccount {
        do {
            return try accounts.account(named: name)
        } catch {
            throw OrchestratorError.usage("error: \(error.message)")
        }
    }

    private func address(_ text: String) throws -> Address {
        if text.hasPrefix("0x") {
            guard let address = Address(hex: text) else {
                throw OrchestratorError.usage("error: '\(text)' is not an address (0x followed by 64 hex digits)")
            }
            return address
        }
        return try account(text).address
    }

    private func thread(_ name: String) throws -> TopologyPrograms.Entry {
        guard let entry = catalog.entry(for: name) else {
            throw OrchestratorError.usage(
                "error: no thread '\(name)' in this devnet (threads: \(catalog.names.joined(separator: ", ")))")
        }
        return entry
    }

    // MARK: Commands

    /// The named accounts with their balances, as a table.
    public func accountsTable() async throws -> String {
        let reply = try await call("sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self)
        let rows = reply.accounts.map { ["\($0.name ?? "-")", $0.address.hex, "\($0.balance)", "\($0.nextNonce)"] }
        return Table.render(header: ["NAME", "ADDRESS", "BALANCE", "NONCE"], rows: rows)
            + "\ntotal supply: \(reply.totalSupply)"
    }

    /// The named accounts with their public keys: Ed25519 (L2 transactions and OS version 1
    /// thread transactions) and EcGFp5 (OS version 2 thread transactions), as a table.
    public func accountKeysTable() async throws -> String {
        let reply = try await call("sequencer", SequencerMessage.accounts, Empty(), as: AccountsReply.self)
        let rows = reply.accounts.compactMap { info -> [String]? in
            guard let name = info.name, let account = try? accounts.account(named: name) else { return nil }
            return [name, account.publicKey.description, Hex.encode(accounts.schnorrKey(of: name).publicKey.bytes)]
        }
        return Table.render(header: ["NAME", "ED25519 PUBLIC KEY", "ECGFP5 PUBLIC KEY (OS 2)"], rows: rows)
    }

    /// Sends a fee-token transfer and waits for its receipt.
    public func transfer(from: String, to: String, amount: UInt64, maxFee: UInt64?) async throws -> Receipt {
        // Admission first (a rejection comes back at once), then a bounded wait for the block:
        // with on-demand blocks nothing is included until someone mines.
        let tx: L2Transaction
        do {
            tx = try await admitTransfer(from: from, to: to, amount: amount, maxFee: maxFee)
        } catch let error as WireError {
            throw Self.explain(error, process: "sequencer", type: SequencerMessage.submit, timeout: .seconds(30))
        }
        return try await includedReceipt(of: tx.txHash)
    }

    /// The receipt of an admitted L2 transaction, waiting up to 10 s for a block to include it.
    private func includedReceipt(of txHash: String) async throws -> Receipt {
        let reply = try await call(
            "sequencer", SequencerMessage.receipt, ReceiptRequest(txHash: txHash, waitMs: 10_000),
            as: ReceiptReply.self,
            timeout: .seconds(20))
        guard let receipt = reply.receipt else {
            throw OrchestratorError(
                "error: \(txHash) was admitted but no block has included it after 10 s. With block_mode on_demand, run `devnet mine`; then check it with `devnet receipt \(txHash)`"
            )
        }
        return receipt
    }

    /// Signs a fee-token transfer (max fee: its exact cost, unless given) and has the sequencer
    /// admit it. A rejection is thrown as the sequencer's ``WireError``, code and all.
    func admitTransfer(from: String, to: String, amount: UInt64, maxFee: UInt64?) async throws -> L2Transaction {
        try await admit(.transfer(to: try address(to), amount: amount), signer: try account(from), maxFee: maxFee)
    }

    /// Signs `payload` as `signer` at its next nonce (max fee: the exact cost, unless given) and has
    /// the sequencer admit it. A rejection is thrown as the sequencer's ``WireError``.
    private func admit(_ payload: L2Payload, signer: DevAccount, maxFee: UInt64? = nil) async throws -> L2Transaction {
        let info = try await call(
            "sequencer", SequencerMessage.account, AccountRequest(account: signer.name), as: AccountInfo.self)
        let tx: L2Transaction
        if let maxFee {
            tx = L2Transaction.make(signer: signer, nonce: info.nextNonce, maxFee: maxFee, payload: payload)
        } else {
            tx = L2Transaction.make(signer: signer, nonce: info.nextNonce, payload: payload, payingExactly: .standard)
        }
        _ = try await request(
            "sequencer", SequencerMessage.submit, SubmitRequest(tx: tx, wait: false), as: SubmitReply.self)
        return tx
    }

    /// Signs a thread transaction as `from` and sends it to the thread's node (or to `node`, another
    /// node of the thread); with `wait`, waits until it settles or fails.
    public func send(
        thread name: String, entrypoint: String, arguments: [String], from: String, wait: Bool, node: String? = nil
    ) async throws -> TxStatusReply {
        let entry = try thread(name)
        let signer = try account(from)
        let node = try self.node(node, of: entry)
        let program = try await runningProgram(entry)
        let nonce = try await call(node, NodeMessage.nonce, NonceRequest(address: signer.address), as: NonceReply.self)
            .nonce
        let tx: ThreadTransaction
        do {
            tx = try ThreadTransaction.make(
                thread: entry.threadId, contract: program, entrypoint: entrypoint, arguments: arguments,
                signer: signer, nonce: nonce
            )
        } catch {
            throw OrchestratorError.usage("error: thread \(name): \(error.message)")
        }
        let status = try await call(node, NodeMessage.submit, NodeSubmitRequest(tx: tx), as: TxStatusReply.self)
        guard wait else { return status }
        return try await call(
            node, NodeMessage.status, TxStatusRequest(txHash: tx.txHash, waitMs: 30_000), as: TxStatusReply.self,
            timeout: .seconds(40)
        )
    }

    /// The program a thread runs on L2 (it may have been upgraded since the devnet started): the
    /// topology's when the hashes agree or the thread is not registered yet, else the manager's.
    func runningProgram(_ entry: TopologyPrograms.Entry) async throws -> Program {
        // A manager that does not answer at once (it may be restarting) leaves the topology's
        // program: the node checks the calldata against the running one anyway.
        guard
            let summary = try? await request(
                "manager", ManagerMessage.thread, ThreadRequest(thread: entry.thread.name), as: ThreadSummary.self,
                timeout: .seconds(2)),
            summary.programHash != entry.program.hash
        else { return entry.program }
        let reply = try await call(
            "manager", ManagerMessage.program, ProgramRequest(hash: summary.programHash), as: ProgramReply.self)
        do {
            return try Program(decoding: reply.encoding.bytes)
        } catch {
            throw OrchestratorError(
                "error: the manager served a program for \(entry.thread.name) that does not decode: \(error.message)")
        }
    }

    /// Upgrades a thread to the contract `contract` (a `.tasm` file or a shipped contract's name)
    /// with `constants` (`NAME=VALUE`, a value being a number or a thread name), signed by the
    /// account that registered the thread; waits for the receipt.
    public func upgrade(thread name: String, contract: String, constants: [String]) async throws -> Receipt {
        let entry = try thread(name)
        var spec = ThreadSpec(
            name: entry.thread.name, contract: contract, proofSystem: entry.thread.proofSystem,
            osVersion: entry.thread.osVersion)
        if !ContractFiles.isPath(contract), !DevnetConfig.knownContracts.contains(contract) {
            throw OrchestratorError.usage(
                "error: --contract: '\(contract)' is neither a .tasm file nor a shipped contract (\(DevnetConfig.knownContracts.joined(separator: ", ")))"
            )
        }
        let threadNames = topology.processes.compactMap(\.thread?.name)
        let values = try ContractFiles.constants(constants, threads: threadNames)
        spec.constants = values.isEmpty ? nil : values
        let program: Program
        do {
            if ContractFiles.isPath(contract) {
                try ContractFiles.load(contract, relativeTo: ContractFiles.workingDirectory, into: &spec)
            }
            program = try ContractFiles.program(of: spec)
        } catch {
            throw error.usage
        }
        let summary = try await call(
            "manager", ManagerMessage.thread, ThreadRequest(thread: name), as: ThreadSummary.self)
        guard let owner = summary.owner, let signer = accounts.account(at: owner, threads: threadNames) else {
            throw OrchestratorError(
                "error: thread \(name) was registered by \(summary.owner?.hex ?? "an unrecorded account"), whose key this devnet does not hold; only that account may upgrade it"
            )
        }
        let payload = L2Payload.upgradeThread(
            ThreadUpgrade(
                threadId: entry.threadId, programHash: program.hash, program: HexBytes(program.canonicalEncoding)))
        let tx: L2Transaction
        do {
            tx = try await admit(payload, signer: signer)
        } catch let error as WireError {
            throw Self.explain(error, process: "sequencer", type: SequencerMessage.submit, timeout: .seconds(30))
        }
        return try await includedReceipt(of: tx.txHash)
    }

    /// Where a thread transaction is, asked of the thread's node (or of `node`, another of its nodes).
    public func status(thread name: String, txHash: String, node: String? = nil) async throws -> TxStatusReply {
        let entry = try thread(name)
        return try await call(
            try self.node(node, of: entry), NodeMessage.status, TxStatusRequest(txHash: txHash), as: TxStatusReply.self)
    }

    /// `name`, checked to be a node of the thread, or the thread's first node.
    private func node(_ name: String?, of entry: TopologyPrograms.Entry) throws -> String {
        guard let name else { return "node-\(entry.thread.name)" }
        let nodes = topology.processes.filter { $0.thread?.name == entry.thread.name }.map(\.name)
        guard nodes.contains(name) else {
            throw OrchestratorError.usage(
                "error: --node \(name) does not run thread \(entry.thread.name) (its nodes: \(nodes.joined(separator: ", ")))"
            )
        }
        return name
    }

    /// Runs a view entrypoint on canonical state.
    public func view(thread name: String, entrypoint: String, arguments: [String], caller: String?) async throws
        -> ViewReply
    {
        _ = try thread(name)
        let request = ViewRequest(
            thread: name, entrypoint: entrypoint, arguments: arguments, caller: try caller.map(address))
        return try await call("manager", ManagerMessage.view, request, as: ViewReply.self)
    }

    public func receipt(_ txHash: String) async throws -> ReceiptReply {
        try await call("sequencer", SequencerMessage.receipt, ReceiptRequest(txHash: txHash), as: ReceiptReply.self)
    }

    public func thread(record name: String) async throws -> ThreadSummary {
        try await call("manager", ManagerMessage.thread, ThreadRequest(thread: name), as: ThreadSummary.self)
    }

    /// A program the manager has: the one `thread` runs, or the one with hash `target`.
    public func program(_ target: String) async throws -> ProgramReply {
        let request = ProgramHash(hex: target).map { ProgramRequest(hash: $0) } ?? ProgramRequest(thread: target)
        return try await call("manager", ManagerMessage.program, request, as: ProgramReply.self)
    }

    public func mine() async throws -> MineReply {
        try await call("sequencer", SequencerMessage.mine, Empty(), as: MineReply.self)
    }

    /// Any reply as indented JSON, for printing.
    public static func json(_ value: some Encodable) -> String {
        let encoder = WireCoding.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "\(value)"
    }
}

extension DevnetClientSession {
    /// Replaces account names in arguments (`bob`, `to=bob`) with their addresses.
    public func resolveArguments(_ arguments: [String]) throws -> [String] {
        arguments.map { argument in
            let (prefix, value): (String, String)
            if let equals = argument.firstIndex(of: "=") {
                prefix = String(argument[...equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                prefix = ""
                value = argument
            }
            if let account = try? accounts.account(named: value) { return prefix + account.address.hex }
            return argument
        }
    }
}
