/// Reads the thread's own state: the only way storage enters the VM.
///
/// Absent keys read as 0. Implementations must be deterministic for the duration of one execution.
public protocol StateReader: Sendable {
    func value(at key: StorageKey) -> Felt
}

/// Reads other threads' canonical state, for `xload`.
///
/// Returns nil when `thread` is not a registered thread (under OS version 1 the transaction then
/// fails with ``VMFailure/unknownThread(_:thread:)``; under version 2 the read is 0); absent keys
/// of a known thread read as 0.
public protocol CrossThreadReader: Sendable {
    func value(thread: Felt, key: StorageKey) -> Felt?
}

/// An in-memory key/value state.
public struct MemoryState: StateReader, Hashable, Sendable {
    public var values: [StorageKey: Felt]

    public init(_ values: [StorageKey: Felt] = [:]) { self.values = values }

    public func value(at key: StorageKey) -> Felt { values[key] ?? .zero }

    /// Applies an output list (as the manager does on acceptance).
    public mutating func apply(_ outputs: [KeyValue]) {
        for entry in outputs { values[entry.key] = entry.value }
    }
}

/// In-memory canonical states of other threads, by thread id.
public struct MemoryThreads: CrossThreadReader, Hashable, Sendable {
    public var threads: [Felt: MemoryState]

    public init(_ threads: [Felt: MemoryState] = [:]) { self.threads = threads }

    public func value(thread: Felt, key: StorageKey) -> Felt? {
        threads[thread]?.value(at: key)
    }

    /// Adds a sub-block's claimed cross reads: each registered thread with the claimed values.
    /// A thread claimed "not registered", or not claimed at all, reads as unknown.
    public mutating func add(claims: [CrossRead]) {
        for read in claims where read.registered {
            threads[read.thread, default: MemoryState()].values[read.key] = read.value
        }
    }
}

/// A cross-thread reader that knows no threads: every `xload` finds no thread.
public struct NoThreads: CrossThreadReader, Hashable, Sendable {
    public init() {}
    public func value(thread: Felt, key: StorageKey) -> Felt? { nil }
}

/// A `<key, value>` pair of a statement's input or output list.
public struct KeyValue: Hashable, Sendable, Codable, CustomStringConvertible {
    public var key: StorageKey
    public var value: Felt

    public init(key: StorageKey, value: Felt) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key) = \(value)" }
}

/// A read of another thread's canonical state: `(thread, key, value)`, or the finding that
/// `thread` is not registered (``registered`` false, ``value`` zero).
///
/// Every `xload` a sub-block makes is bound into its statement, including reads of threads that do
/// not exist: a prover cannot make a transaction fail by leaving a read out, because re-execution
/// from the claims alone then records a read the claims lack, and the manager checks each claim,
/// "not registered" included, against its records.
public struct CrossRead: Hashable, Sendable, Codable, CustomStringConvertible {
    public var thread: Felt
    public var key: StorageKey
    public var value: Felt
    /// False when the read found no such thread.
    public var registered: Bool

    public init(thread: Felt, key: StorageKey, value: Felt, registered: Bool = true) {
        self.thread = thread
        self.key = key
        self.value = registered ? value : .zero
        self.registered = registered
    }

    /// A read that found no thread `thread`.
    public static func unregistered(thread: Felt, key: StorageKey) -> CrossRead {
        CrossRead(thread: thread, key: key, value: .zero, registered: false)
    }

    /// The value the VM saw: nil when the thread is not registered.
    public var observed: Felt? { registered ? value : nil }

    private enum CodingKeys: String, CodingKey { case thread, key, value, registered }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            thread: try c.decode(Felt.self, forKey: .thread), key: try c.decode(StorageKey.self, forKey: .key),
            value: try c.decode(Felt.self, forKey: .value),
            registered: try c.decodeIfPresent(Bool.self, forKey: .registered) ?? true)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(thread, forKey: .thread)
        try c.encode(key, forKey: .key)
        try c.encode(value, forKey: .value)
        if !registered { try c.encode(false, forKey: .registered) }
    }

    public var description: String {
        registered ? "thread \(thread): \(key) = \(value)" : "thread \(thread): not registered (read of \(key))"
    }
}

/// One entry of the ordered storage access log.
public struct StorageAccess: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable {
        case read
        case write
    }

    public var kind: Kind
    public var key: StorageKey
    /// The value read, or the value written.
    public var value: Felt

    public init(_ kind: Kind, key: StorageKey, value: Felt) {
        self.kind = kind
        self.key = key
        self.value = value
    }

    public var description: String { "\(kind) \(key) = \(value)" }
}

/// One thread transaction as the VM runs it: who signed it, which entrypoint, and the calldata.
///
/// Signatures, nonces and fees are checked by the devnet before a transaction reaches the VM; the
/// VM trusts ``caller`` as the verified signer's address.
public struct Transaction: Hashable, Sendable, Codable {
    public var caller: Address
    public var entrypoint: String
    public var calldata: [Felt]

    public init(caller: Address, entrypoint: String, calldata: [Felt]) {
        self.caller = caller
        self.entrypoint = entrypoint
        self.calldata = calldata
    }

    /// A transaction whose calldata is encoded from string arguments against `abi`
    /// (see ``ABI/encodeCalldata(entrypoint:arguments:)``).
    public init(caller: Address, entrypoint: String, arguments: [String], abi: ABI) throws(CalldataError) {
        self.init(
            caller: caller, entrypoint: entrypoint,
            calldata: try abi.encodeCalldata(entrypoint: entrypoint, arguments: arguments))
    }
}
