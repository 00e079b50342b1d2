public import Logging
import Synchronization

/// Logs warnings about what peers send (bad messages, dropped replies) at a bounded rate, so a
/// flood of garbage cannot flood the log file too.
///
/// Up to `burst` lines per `window` are written; the rest are counted, and the count is written
/// with the first line of a later window.
final class WarningThrottle: Sendable {
    private struct State {
        var windowStart = ContinuousClock.now
        var written = 0
        var suppressed = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let burst: Int
    private let window: Duration

    init(logger: Logger, burst: Int = 20, window: Duration = .seconds(10)) {
        self.logger = logger
        self.burst = burst
        self.window = window
    }

    func warning(_ message: String) {
        let now = ContinuousClock.now
        let (write, suppressedBefore) = state.withLock { state -> (Bool, Int) in
            var suppressedBefore = 0
            if now - state.windowStart >= window {
                suppressedBefore = state.suppressed
                state = State(windowStart: now)
            }
            guard state.written < burst else {
                state.suppressed += 1
                return (false, 0)
            }
            state.written += 1
            return (true, suppressedBefore)
        }
        if suppressedBefore > 0 {
            logger.warning(
                "\(suppressedBefore) more warnings like the ones above were not logged in the last \(window)")
        }
        if write { logger.warning("\(message)") }
    }
}

/// Bounds how many requests of one endpoint are handled at once.
///
/// When every slot is taken the endpoint stops reading, its inbound buffer fills, and libzmq
/// holds back the peers; requests already in progress are not disturbed.
final class RequestSlots: Sendable {
    private struct State {
        var free: Int
        var closed = false
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let state: Mutex<State>

    init(_ count: Int) {
        state = Mutex(State(free: count))
    }

    /// Waits for a free slot. False once ``close()`` was called: take no more requests.
    func acquire() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let result = state.withLock { state -> Bool? in
                if state.closed { return false }
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return nil
            }
            if let result { continuation.resume(returning: result) }
        }
    }

    /// Gives a slot back, to the longest waiter if any.
    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.free += 1
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// Refuses every later ``acquire()`` and wakes those waiting, with false.
    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: false) }
    }
}
