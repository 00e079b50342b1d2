public import ThreadVM

/// The incremental state-root accumulator of one thread.
///
/// Construction (a multiset hash, "AdHash" over 2^256): every non-zero entry contributes
/// `h(k, v) = SHA-256(str("zkthreads/state-entry/v1") ‖ key words ‖ value)` read as a 256-bit
/// big-endian integer; the accumulator is the sum of all contributions mod 2^256, and the root is
/// `SHA-256(str("zkthreads/state-root/v1") ‖ u64 entry count ‖ accumulator)` as hex. Writing a key
/// subtracts its old contribution and adds the new one, so applying a sub-block costs O(outputs),
/// not O(state). Zero values are absent (absent = 0), so `{k: 0}` and `{}` have one root.
struct StateAccumulator: Hashable, Sendable {
    /// Little-endian 64-bit limbs of the 256-bit sum.
    private(set) var limbs: [UInt64] = [0, 0, 0, 0]
    private(set) var count: UInt64 = 0

    static func contribution(_ key: StorageKey, _ value: Felt) -> [UInt64] {
        var writer = CanonicalWriter(domain: "zkthreads/state-entry/v1")
        writer.quad(key.words)
        writer.felt(value)
        let digest = Digest.sha256(writer.bytes)
        // Big-endian digest → little-endian limbs.
        return (0..<4).map { limb in
            var acc: UInt64 = 0
            for b in digest[(24 - limb * 8)..<(32 - limb * 8)] { acc = acc << 8 | UInt64(b) }
            return acc
        }
    }

    mutating func add(_ key: StorageKey, _ value: Felt) {
        guard !value.isZero else { return }
        let c = StateAccumulator.contribution(key, value)
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (s1, o1) = limbs[i].addingReportingOverflow(c[i])
            let (s2, o2) = s1.addingReportingOverflow(carry)
            limbs[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        count += 1
    }

    mutating func remove(_ key: StorageKey, _ value: Felt) {
        guard !value.isZero else { return }
        let c = StateAccumulator.contribution(key, value)
        var borrow: UInt64 = 0
        for i in 0..<4 {
            let (d1, o1) = limbs[i].subtractingReportingOverflow(c[i])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            limbs[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        count -= 1
    }

    var root: String {
        var writer = CanonicalWriter(domain: "zkthreads/state-root/v1")
        writer.u64(count)
        for limb in limbs.reversed() { writer.u64(limb) }
        return Digest.sha256Hex(writer.bytes)
    }
}

/// State roots of key/value maps.
public enum StateRoot {
    /// The root of `state` (see docs/protocol.md, "State root"); O(entries).
    public static func of(_ state: [StorageKey: Felt]) -> String {
        var acc = StateAccumulator()
        for (key, value) in state { acc.add(key, value) }
        return acc.root
    }
}
