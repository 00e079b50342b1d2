import DevnetAPI
import Synchronization
import ThreadVM

/// Canonical values of other threads that a node has fetched from the manager.
///
/// The batcher reads through it. Values are only added while a sub-block is open (a re-sync
/// replaces the whole cache), so a key an open sub-block already read never changes under it.
final class CrossThreadCache: CrossThreadReader, Sendable {
    private struct State {
        var values: [Felt: [StorageKey: Felt]] = [:]
        var unknownThreads: Set<Felt> = []
    }

    private let state = Mutex(State())

    func value(thread: Felt, key: StorageKey) -> Felt? {
        state.withLock { state in
            if state.unknownThreads.contains(thread) { return nil }
            return state.values[thread]?[key] ?? .zero
        }
    }

    /// Whether the value of `key` in `thread` is known (or the thread is known not to exist).
    func has(_ key: CanonicalKey) -> Bool {
        state.withLock { $0.unknownThreads.contains(key.thread) || $0.values[key.thread]?[key.key] != nil }
    }

    /// Stores fetched values; nil means the manager has no such thread.
    func insert(_ fetched: [(CanonicalKey, Felt?)]) {
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
    private let missing = Mutex<Set<CanonicalKey>>([])

    init(cache: CrossThreadCache) {
        self.cache = cache
    }

    func value(thread: Felt, key: StorageKey) -> Felt? {
        let wanted = CanonicalKey(thread: thread, key: key)
        if !cache.has(wanted) { missing.withLock { _ = $0.insert(wanted) } }
        return cache.value(thread: thread, key: key)
    }

    var misses: Set<CanonicalKey> { missing.withLock { $0 } }
}

/// The node's fork as a state reader, for a dry run.
struct ForkReader: StateReader {
    let lookup: @Sendable (StorageKey) -> Felt
    func value(at key: StorageKey) -> Felt { lookup(key) }
}
