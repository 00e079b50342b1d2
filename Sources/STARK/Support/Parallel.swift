import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How many threads the prover may use.
public enum Parallelism {
    /// The number of online cores (at least 1).
    public static var availableCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

/// Wraps a value that is shared across `concurrentPerform` workers which write disjoint parts.
struct UncheckedSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` over `0..<count` split into contiguous chunks on up to `threads` threads.
func parallelChunks(count: Int, threads: Int, minChunk: Int = 1024, _ body: (Range<Int>) -> Void) {
    if count == 0 { return }
    let chunks = min(max(1, threads), max(1, count / max(minChunk, 1)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    // A few chunks per thread smooths out imbalance.
    let pieces = chunks == 1 ? 1 : min(count, chunks * 4)
    let size = (count + pieces - 1) / pieces
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            let lo = piece * size
            let hi = min(count, lo + size)
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Runs `body(i)` for every `i < count` on up to `threads` threads (one task per index).
func parallelForEach(count: Int, threads: Int, _ body: (Int) -> Void) {
    if count == 0 { return }
    if threads <= 1 || count == 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// Builds an array of `count` elements whose slots are filled in parallel chunks.
func parallelArray<T>(
    count: Int, threads: Int, minChunk: Int = 1024,
    _ fill: (Range<Int>, UnsafeMutableBufferPointer<T>) -> Void
) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        let box = UncheckedSendable(buffer)
        parallelChunks(count: count, threads: threads, minChunk: minChunk) { range in
            fill(range, box.value)
        }
        initialized = count
    }
}
