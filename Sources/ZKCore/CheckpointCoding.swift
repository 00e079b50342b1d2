public import Foundation
public import ThreadVM

/// Why a checkpoint could not be read back: truncated, corrupt, or of another format.
public struct CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// A compact binary encoding of a daemon's state, for checkpoints.
///
/// Little-endian fixed-width integers, strings and byte strings prefixed with their length. No keys
/// and no self-description: a reader reads the fields in the order the writer wrote them, and the
/// format is versioned as a whole (a daemon ignores a checkpoint of another version). A field added
/// to a type written here must be added to its `write` and `read` below, and the daemon's format
/// version bumped.
public struct CheckpointWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }

    public mutating func write(_ value: Int) { write(Int64(value)) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: Felt) { write(value.value) }

    public mutating func write(_ value: Address) {
        write(value.quad.w0)
        write(value.quad.w1)
        write(value.quad.w2)
        write(value.quad.w3)
    }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(_ value: [UInt8]) {
        write(value.count)
        bytes.append(contentsOf: value)
    }

    /// A transaction hash or state root: 64 lowercase hex digits as their 32 bytes (half the
    /// size), anything else as a string.
    public mutating func writeHash(_ value: String) {
        var bytes32 = [UInt8](repeating: 0, count: 32)
        var ok = value.utf8.count == 64
        if ok {
            var index = 0
            var high: UInt8 = 0
            for character in value.utf8 {
                let nibble: UInt8
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
                default:
                    ok = false
                    nibble = 0
                }
                if !ok { break }
                if index % 2 == 0 { high = nibble } else { bytes32[index / 2] = high << 4 | nibble }
                index += 1
            }
        }
        if ok {
            bytes.append(1)
            bytes.append(contentsOf: bytes32)
        } else {
            bytes.append(0)
            write(value)
        }
    }

    public mutating func write(_ value: String?) {
        write(value != nil)
        if let value { write(value) }
    }

    /// A value with a Codable shape that is rare or small enough for JSON (a revert reason).
    public mutating func writeJSON(_ value: some Encodable) throws {
        write(Array(try Self.jsonEncoder.encode(value)))
    }

    /// Sorted keys: the same value always gives the same bytes.
    static var jsonEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    public var data: Data { Data(bytes) }
}

/// Reads what a ``CheckpointWriter`` wrote, in the same order; throws ``CheckpointError`` at the
/// first thing that is not there or not valid.
public struct CheckpointReader {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ data: Data) { bytes = Array(data) }

    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw CheckpointError("truncated at byte \(offset) (wanted \(count) more of \(bytes.count))")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func uint64() throws(CheckpointError) -> UInt64 {
        guard bytes.count - offset >= 8 else {
            throw CheckpointError("truncated at byte \(offset) (wanted 8 more of \(bytes.count))")
        }
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { target in
            bytes.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + 8]))
            }
        }
        offset += 8
        return UInt64(littleEndian: value)
    }

    public mutating func int64() throws(CheckpointError) -> Int64 { Int64(bitPattern: try uint64()) }

    public mutating func int() throws(CheckpointError) -> Int { Int(try int64()) }

    /// A count of things that follow, each at least one byte: refused when larger than what is left.
    public mutating func count() throws(CheckpointError) -> Int {
        let count = try int()
        guard count >= 0, count <= bytes.count - offset else {
            throw CheckpointError("count \(count) at byte \(offset - 8) exceeds the \(bytes.count - offset) bytes left")
        }
        return count
    }

    public mutating func bool() throws(CheckpointError) -> Bool {
        switch try take(1).first! {
        case 0: return false
        case 1: return true
        case let other: throw CheckpointError("byte \(offset - 1) is \(other), not a boolean")
        }
    }

    public mutating func felt() throws(CheckpointError) -> Felt {
        let value = try uint64()
        guard let felt = Felt(exactly: value) else {
            throw CheckpointError("\(value) at byte \(offset - 8) is not a field element")
        }
        return felt
    }

    public mutating func address() throws(CheckpointError) -> Address {
        Address(try felt(), try felt(), try felt(), try felt())
    }

    public mutating func byteArray() throws(CheckpointError) -> [UInt8] {
        Array(try take(try count()))
    }

    public mutating func string() throws(CheckpointError) -> String {
        let slice = try take(try count())
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw CheckpointError("bytes \(offset - slice.count)..<\(offset) are not UTF-8")
        }
        return text
    }

    /// What ``CheckpointWriter/writeHash(_:)`` wrote.
    public mutating func hash() throws(CheckpointError) -> String {
        switch try take(1).first! {
        case 0:
            return try string()
        case 1:
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            var text: [UInt8] = []
            text.reserveCapacity(64)
            for byte in try take(32) {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 15)])
            }
            return String(decoding: text, as: UTF8.self)
        case let other:
            throw CheckpointError("byte \(offset - 1) is \(other), not a hash tag")
        }
    }

    public mutating func optionalString() throws(CheckpointError) -> String? {
        try bool() ? try string() : nil
    }

    public mutating func json<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try byteArray()))
    }

    /// Throws unless every byte was read.
    public func expectEnd() throws(CheckpointError) {
        guard isAtEnd else { throw CheckpointError("\(bytes.count - offset) unread bytes at the end") }
    }
}

// MARK: The protocol's types

extension CheckpointWriter {
    public mutating func write(_ status: TxStatus) { bytes.append(status == .accepted ? 1 : 0) }

    public mutating func write(_ revert: RevertReason?) throws {
        write(revert != nil)
        if let revert { try writeJSON(revert) }
    }

    public mutating func write(_ event: ProtocolEvent) {
        write(event.kind.rawValue)
        var present: UInt8 = 0
        if event.threadId != nil { present |= 1 }
        if event.threadName != nil { present |= 2 }
        if event.sequence != nil { present |= 4 }
        if event.stateRoot != nil { present |= 8 }
        if event.transactionCount != nil { present |= 16 }
        if event.from != nil { present |= 32 }
        if event.to != nil { present |= 64 }
        if event.amount != nil { present |= 128 }
        bytes.append(present)
        if let value = event.threadId { write(value) }
        if let value = event.threadName { write(value) }
        if let value = event.sequence { write(value) }
        if let value = event.stateRoot { writeHash(value) }
        if let value = event.transactionCount { write(value) }
        if let value = event.from { write(value) }
        if let value = event.to { write(value) }
        if let value = event.amount { write(value) }
    }

    public mutating func write(_ events: [ProtocolEvent]) {
        write(events.count)
        for event in events { write(event) }
    }

    public mutating func write(_ outcome: ManagerOutcome) throws {
        writeHash(outcome.txHash)
        write(outcome.status)
        try write(outcome.revert)
        write(outcome.events)
    }

    public mutating func write(_ receipt: Receipt) throws {
        writeHash(receipt.txHash)
        write(receipt.blockNumber)
        write(receipt.index)
        write(receipt.status)
        try write(receipt.revert)
        write(receipt.feeCharged)
        write(receipt.events)
    }

    public mutating func write(_ settled: SettledTransaction) {
        write(settled.thread)
        write(settled.subBlock)
        writeHash(settled.l2TxHash)
        write(settled.block)
        write(settled.outcomeKnown)
        write(settled.failure)
    }
}

extension CheckpointReader {
    public mutating func status() throws(CheckpointError) -> TxStatus {
        switch try take(1).first! {
        case 1: return .accepted
        case 0: return .reverted
        case let other: throw CheckpointError("byte \(offset - 1) is \(other), not a status")
        }
    }

    public mutating func revert() throws -> RevertReason? {
        try bool() ? try json(RevertReason.self) : nil
    }

    public mutating func event() throws(CheckpointError) -> ProtocolEvent {
        let kindName = try string()
        guard let kind = ProtocolEvent.Kind(rawValue: kindName) else {
            throw CheckpointError("'\(kindName)' is not an event kind")
        }
        let present = try take(1).first!
        var event = ProtocolEvent(kind: kind)
        if present & 1 != 0 { event.threadId = try felt() }
        if present & 2 != 0 { event.threadName = try string() }
        if present & 4 != 0 { event.sequence = try uint64() }
        if present & 8 != 0 { event.stateRoot = try hash() }
        if present & 16 != 0 { event.transactionCount = try int() }
        if present & 32 != 0 { event.from = try address() }
        if present & 64 != 0 { event.to = try address() }
        if present & 128 != 0 { event.amount = try uint64() }
        return event
    }

    public mutating func events() throws(CheckpointError) -> [ProtocolEvent] {
        let count = try count()
        var events: [ProtocolEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count { events.append(try event()) }
        return events
    }

    public mutating func outcome() throws -> ManagerOutcome {
        ManagerOutcome(txHash: try hash(), status: try status(), revert: try revert(), events: try events())
    }

    public mutating func receipt() throws -> Receipt {
        Receipt(
            txHash: try hash(), blockNumber: try uint64(), index: try int(), status: try status(),
            revert: try revert(), feeCharged: try uint64(), events: try events())
    }

    public mutating func settled() throws(CheckpointError) -> SettledTransaction {
        SettledTransaction(
            thread: try felt(), subBlock: try uint64(), l2TxHash: try hash(), block: try uint64(),
            outcomeKnown: try bool(), failure: try optionalString())
    }
}

// MARK: The manager's state

extension ManagerState {
    /// The state as checkpoint bytes: every thread record, recorded outcome, published program
    /// and settlement, in a canonical order (the same state always gives the same bytes).
    public func checkpoint() throws -> Data {
        var writer = CheckpointWriter(capacity: 128 * settlements.count + 256 * outcomes.count + 4096)
        let records = threads.values.sorted { $0.threadId < $1.threadId }
        writer.write(records.count)
        let encoder = CheckpointWriter.jsonEncoder
        for record in records { writer.write(Array(try encoder.encode(record))) }
        let programs = published.sorted { $0.key.hex < $1.key.hex }
        writer.write(programs.count)
        for (_, program) in programs { writer.write(program.canonicalEncoding) }
        writer.write(outcomes.count)
        for key in outcomes.keys.sorted() { try writer.write(outcomes[key]!) }
        writer.write(settlements.count)
        for key in settlements.keys.sorted() {
            writer.writeHash(key)
            writer.write(settlements[key]!)
        }
        return writer.data
    }

    /// The state a ``checkpoint()`` holds. Every thread's state root is recomputed and checked
    /// against the one recorded, and every published program against its hash.
    ///
    /// - Throws: ``CheckpointError`` (or a decoding error) for bytes that are not such a state.
    public init(checkpoint data: Data, proofSystems: ProofSystems = .standard) throws {
        var reader = CheckpointReader(data)
        self.init(proofSystems: proofSystems)
        let decoder = JSONDecoder()
        for _ in 0..<(try reader.count()) {
            let record = try decoder.decode(ThreadRecord.self, from: Data(try reader.byteArray()))
            guard threads[record.threadId] == nil else {
                throw CheckpointError("thread \(record.name) appears twice")
            }
            threads[record.threadId] = record
        }
        for _ in 0..<(try reader.count()) {
            let program: Program
            do {
                program = try Program(decoding: try reader.byteArray())
            } catch let error as ProgramError {
                throw CheckpointError("a published program does not decode: \(error.message)")
            }
            published[program.hash] = program
        }
        let outcomeCount = try reader.count()
        outcomes.reserveCapacity(outcomeCount)
        for _ in 0..<outcomeCount {
            let outcome = try reader.outcome()
            guard outcomes.updateValue(outcome, forKey: outcome.txHash) == nil else {
                throw CheckpointError("outcome \(outcome.txHash) appears twice")
            }
        }
        let settlementCount = try reader.count()
        settlements.reserveCapacity(settlementCount)
        for _ in 0..<settlementCount {
            let key = try reader.hash()
            guard settlements.updateValue(try reader.settled(), forKey: key) == nil else {
                throw CheckpointError("settlement \(key) appears twice")
            }
        }
        try reader.expectEnd()
    }
}

// MARK: The sequencer's ledger

extension SequencerLedger {
    /// Balances, nonces, fees paid and the supply as checkpoint bytes, in address order. What
    /// admission reserved for transactions not yet in a block is left out: those come back from
    /// the mempool, as after a replay of the log.
    public func write(to writer: inout CheckpointWriter) {
        writer.write(feeAccount)
        writer.write(totalSupply)
        let accounts = self.accounts
        writer.write(accounts.count)
        for account in accounts {
            writer.write(account.address)
            writer.write(account.balance)
            writer.write(account.nonce)
            writer.write(fees(paidBy: account.address))
        }
    }

    /// The ledger a ``write(to:)`` wrote, with nothing pending. The supply must equal the sum of
    /// the balances, and the fee account the one the devnet's seed gives.
    public init(checkpoint reader: inout CheckpointReader, feeAccount: Address, feeSchedule: FeeSchedule = .standard)
        throws(CheckpointError)
    {
        let account = try reader.address()
        guard account == feeAccount else {
            throw CheckpointError("the fee account is \(account.hex), not this devnet's \(feeAccount.hex)")
        }
        let supply = try reader.uint64()
        var accounts: [LedgerAccount] = []
        var fees: [Address: UInt64] = [:]
        for _ in 0..<(try reader.count()) {
            let address = try reader.address()
            accounts.append(LedgerAccount(address: address, balance: try reader.uint64(), nonce: try reader.uint64()))
            let paid = try reader.uint64()
            if paid > 0 { fees[address] = paid }
        }
        self.init(accounts: accounts, feeAccount: feeAccount, feeSchedule: feeSchedule)
        restoreFees(fees)
        guard totalSupply == supply, balanceSum == supply else {
            throw CheckpointError("the balances sum to \(balanceSum), not the recorded supply \(supply)")
        }
    }
}

/// A 64-bit checksum of checkpoint bytes (not cryptographic: it catches a corrupt or truncated
/// blob, quickly, eight bytes at a time).
public func checkpointChecksum(_ data: Data) -> UInt64 {
    data.withUnsafeBytes { raw -> UInt64 in
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
        let words = raw.count / 8
        for index in 0..<words {
            let word = raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
            hash = (hash ^ word) &* 0x100_0000_01B3 &+ 0x2545_F491_4F6C_DD1D
            hash ^= hash >> 29
        }
        for index in (words * 8)..<raw.count {
            hash = (hash ^ UInt64(raw[index])) &* 0x100_0000_01B3
            hash ^= hash >> 29
        }
        return hash
    }
}
