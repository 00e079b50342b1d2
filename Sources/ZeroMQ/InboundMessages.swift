public import Foundation
import Synchronization

/// The messages a socket received, in order, as an async sequence with a bounded buffer.
///
/// The loop thread stops reading a socket while its buffer is full, so libzmq's own queue for it
/// fills up to the receive high-water mark and then stops reading its connections: a flood pushes
/// back on the peers sending it instead of growing this process's memory. The sequence ends once
/// the socket is closed and what was already received has been taken.
public struct InboundMessages: AsyncSequence, Sendable {
    public typealias Element = [Data]
    public typealias Failure = Never

    let queue: InboundQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = [Data]
        public typealias Failure = Never

        let queue: InboundQueue

        public mutating func next() async -> [Data]? {
            await queue.take()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> [Data]? {
            await queue.take()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: queue)
    }
}

/// How much a socket's inbound buffer holds before the loop stops reading the socket.
public struct InboundLimit: Sendable, Equatable {
    /// At most this many messages wait to be taken.
    public var messages: Int
    /// At most about this many bytes wait; one message of any size is always let in.
    public var bytes: Int

    public init(messages: Int, bytes: Int) {
        self.messages = max(1, messages)
        self.bytes = max(1, bytes)
    }
}

/// One socket's inbound buffer, filled by the loop thread and emptied by one consumer.
final class InboundQueue: Sendable {
    private struct State {
        var buffer: [[Data]] = []
        var start = 0
        var bytes = 0
        var finished = false
        var waiting: CheckedContinuation<[Data]?, Never>?
        var waitingID: UInt64 = 0
        var nextWaitingID: UInt64 = 0

        var count: Int { buffer.count - start }
    }

    private let state = Mutex(State())
    let limit: InboundLimit
    /// Called, off the loop thread, when a consumer makes room in a full buffer.
    private let onRoom: @Sendable () -> Void

    init(limit: InboundLimit, onRoom: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onRoom = onRoom
    }

    /// Whether the loop should stop reading the socket for now.
    var isFull: Bool {
        state.withLock { isFull($0) }
    }

    private func isFull(_ state: State) -> Bool {
        state.count >= limit.messages || state.bytes >= limit.bytes
    }

    /// Adds a message (loop thread). Returns whether there is room for another.
    @discardableResult
    func push(_ message: [Data]) -> Bool {
        let size = message.reduce(0) { $0 + $1.count }
        let (waiter, room) = state.withLock { state -> (CheckedContinuation<[Data]?, Never>?, Bool) in
            guard !state.finished else { return (nil, false) }
            if let waiter = state.waiting {
                state.waiting = nil
                return (waiter, true)
            }
            state.buffer.append(message)
            state.bytes += size
            return (nil, !isFull(state))
        }
        waiter?.resume(returning: message)
        return room
    }

    /// Ends the sequence once the buffered messages are taken.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[Data]?, Never>? in
            state.finished = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiter?.resume(returning: nil)
    }

    /// Removes the oldest buffered message; says whether that made room in a full buffer.
    private func pop(_ state: inout State) -> (message: [Data], madeRoom: Bool)? {
        guard state.count > 0 else { return nil }
        let wasFull = isFull(state)
        let message = state.buffer[state.start]
        state.buffer[state.start] = []
        state.start += 1
        state.bytes -= message.reduce(0) { $0 + $1.count }
        if state.start == state.buffer.count {
            state.buffer.removeAll(keepingCapacity: true)
            state.start = 0
        } else if state.start >= 1024, state.start * 2 >= state.buffer.count {
            state.buffer.removeFirst(state.start)
            state.start = 0
        }
        return (message, wasFull && !isFull(state))
    }

    /// The next message, waiting for one; nil once finished and empty, or when the task is cancelled.
    func take() async -> [Data]? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaitingID += 1
            return state.nextWaitingID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Data]?, Never>) in
                let (ready, madeRoom) = state.withLock { state -> ([Data]??, Bool) in
                    if let (message, madeRoom) = pop(&state) { return (.some(message), madeRoom) }
                    if state.finished || Task.isCancelled { return (.some(nil), false) }
                    precondition(state.waiting == nil, "an inbound message sequence has one consumer at a time")
                    state.waiting = continuation
                    state.waitingID = id
                    return (.none, false)
                }
                if madeRoom { onRoom() }
                if let value = ready { continuation.resume(returning: value) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<[Data]?, Never>? in
                guard state.waitingID == id, let waiter = state.waiting else { return nil }
                state.waiting = nil
                return waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
