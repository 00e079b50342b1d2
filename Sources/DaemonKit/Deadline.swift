import Synchronization

/// What `operation` returns, or nil if `duration` passes first.
///
/// The operation is not cancelled when it loses: it goes on in the background until it ends by
/// itself (a waiter for a receipt, say, which ends when the receipt comes). Unlike a task group,
/// this never waits for it, so a caller's deadline always holds.
public func firstValue<T: Sendable>(within duration: Duration, _ operation: @escaping @Sendable () async -> T) async
    -> T?
{
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = ResumeOnce(continuation)
        Task { once.resume(await operation()) }
        Task {
            try? await Task.sleep(for: duration)
            once.resume(nil)
        }
    }
}

/// Resumes a continuation with the first value offered; later ones are ignored.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: T) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
