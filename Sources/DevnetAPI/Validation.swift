public import DevnetProtocol

/// The rules of request bodies beyond their JSON shape, checked before a handler runs.
enum PayloadRules {
    /// A transaction hash: exactly 64 lowercase or uppercase hex digits, no `0x`.
    static func hash(_ value: String, field: String) throws {
        guard value.utf8.count == 64, value.utf8.allSatisfy({ $0.isHexDigit }) else {
            throw WireError(
                .badPayload,
                "\(field): '\(value.prefix(80))' is not a transaction hash (64 hex digits, without 0x)")
        }
    }

    static func wait(_ value: Int?, field: String) throws {
        if let value, value < 0 {
            throw WireError(
                .badPayload, "\(field): \(value) is negative; give 0 (do not wait) or a number of milliseconds")
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}

extension ReceiptRequest: ValidatedPayload {
    public func validate() throws {
        try PayloadRules.hash(txHash, field: "tx_hash")
        try PayloadRules.wait(waitMs, field: "wait_ms")
    }
}

extension TxStatusRequest: ValidatedPayload {
    public func validate() throws {
        try PayloadRules.hash(txHash, field: "tx_hash")
        try PayloadRules.wait(waitMs, field: "wait_ms")
    }
}

extension ProgramRequest: ValidatedPayload {
    public func validate() throws {
        guard (hash == nil) != (thread == nil) else {
            throw WireError(
                .badPayload, "give exactly one of 'hash' (a program hash) and 'thread' (a thread name or id)")
        }
    }
}

extension SettlementsRequest: ValidatedPayload {
    public func validate() throws {
        guard txHashes.count <= 10_000 else {
            throw WireError(.badPayload, "tx_hashes: \(txHashes.count) hashes; ask for at most 10000 at once")
        }
        for (index, hash) in txHashes.enumerated() { try PayloadRules.hash(hash, field: "tx_hashes[\(index)]") }
    }
}
