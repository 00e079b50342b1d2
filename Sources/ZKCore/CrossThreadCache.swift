import Synchronization
public import ThreadVM

/// One key of another thread's canonical state.
public struct CrossThreadKey: Hashable, Sendable {
    public var thread: Felt
    public var key: StorageKey

    public init(thread: Felt, key: StorageKey) {
        self.thread = thread
        self.key = key
    }
}

/// Canonical values of other threads that a node has fetched from the manager.
///
/// The batcher reads through it. Values are only added while a sub-block is open (a re-sync
/// starts a new cache), so a key an open sub-block already read never changes under it.
public final class CrossThreadCache: CrossThreadReader, Sendable {
    private struct State {
        var values: [Felt: [StorageKey: Felt]] = [:]
        var unknownThreads: Set<Felt> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func value(thread: Felt, key: StorageKey) -> Felt? {
        state.withLock { state in
            if state.unknownThreads.contains(thread) { return nil }
            return state.values[thread]?[key] ?? .zero
        }
    }

    /// Whether the value of `key` is known (or its thread is known not to exist).
    public func has(_ key: CrossThreadKey) -> Bool {
        state.withLock { $0.unknownThreads.contains(key.thread) || $0.values[key.thread]?[key.key] != nil }
    }

    /// Stores fetched values; nil means the manager has no such thread.
    public func insert(_ fetched: [(CrossThreadKey, Felt?)]) {
        state.withLock { state in
            for (key, value) in fetched {
                if let value {
                    state.values[key.thread, default: [:]][key.key] = value
                } else {
                    state.unknownThreads.insert(key.thread)
                }
            }
        }
    }
}

/// A reader for a dry run: answers from the cache and notes every key the cache lacks.
final class CrossReadProbe: CrossThreadReader, Sendable {
    private let cache: CrossThreadCache
    private let missing = Mutex<Set<CrossThreadKey>>([])

    init(cache: CrossThreadCache) {
        self.cache = cache
    }

    func value(thread: Felt, key: StorageKey) -> Felt? {
        let wanted = CrossThreadKey(thread: thread, key: key)
        if !cache.has(wanted) { missing.withLock { _ = $0.insert(wanted) } }
        return cache.value(thread: thread, key: key)
    }

    var misses: Set<CrossThreadKey> { missing.withLock { $0 } }
}

/// A batcher's fork as a state reader, for a dry run.
struct ForkReader: StateReader {
    let lookup: @Sendable (StorageKey) -> Felt
    func value(at key: StorageKey) -> Felt { lookup(key) }
}
