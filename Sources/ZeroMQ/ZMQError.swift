import CZeroMQ

/// An error from libzmq, with the operation and endpoint that failed.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` value libzmq reported.
    public var code: Int32
    /// What was being done, e.g. `bind` or `send`.
    public var operation: String
    /// The endpoint involved, when there is one.
    public var endpoint: String?
    /// What went wrong in words, when the project knows better than libzmq's text for `code`.
    public var detail: String?

    public init(code: Int32, operation: String, endpoint: String? = nil, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.endpoint = endpoint
        self.detail = detail
    }

    /// Builds an error from the calling thread's current `zmq_errno()`.
    static func last(_ operation: String, endpoint: String? = nil) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation, endpoint: endpoint)
    }

    /// True when the address of a `bind` is already taken by another socket or program.
    public var isAddressInUse: Bool { code == EADDRINUSE }

    /// True when a non-blocking call would have blocked.
    public var isWouldBlock: Bool { code == EAGAIN }

    /// libzmq's own text for the code.
    public var reason: String { detail ?? String(cString: zmq_strerror(code)) }

    public var description: String {
        if let endpoint {
            return "\(operation) \(endpoint): \(reason)"
        }
        return "\(operation): \(reason)"
    }
}
