import DevnetProtocol
public import Foundation

/// Maps message types to handlers for one endpoint.
///
/// A handler gets the decoded request body and returns the reply body; a ``WireError`` it throws
/// becomes an error reply, any other error an `INTERNAL` one. Either way the daemon keeps serving.
public struct Router: Sendable {
    typealias RawHandler = @Sendable (Envelope, Data) async throws -> Data

    private var handlers: [String: RawHandler] = [:]

    public init() {}

    /// Registers a handler for `type` whose request body is `Request`.
    ///
    /// The payload must be a JSON object that decodes as `Request`; a `Request` that is a
    /// ``ValidatedPayload`` must also pass its `validate()`. Otherwise the reply is `BAD_PAYLOAD`
    /// (or the error `validate()` threw) and the handler does not run.
    public mutating func on<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ type: String,
        _ request: Request.Type,
        handler: @escaping @Sendable (Request) async throws -> Reply
    ) {
        handlers[type] = { envelope, payload in
            let body = try WireCodec.decodeRequestBody(Request.self, from: payload, messageType: envelope.type)
            return try WireCodec.encode(try await handler(body))
        }
    }

    /// Registers a handler for `type` that also gets the payload's bytes as they arrived, for a
    /// daemon that stores the request as it came instead of encoding it again.
    public mutating func on<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ type: String,
        _ request: Request.Type,
        handler: @escaping @Sendable (Request, Data) async throws -> Reply
    ) {
        handlers[type] = { envelope, payload in
            let body = try WireCodec.decodeRequestBody(Request.self, from: payload, messageType: envelope.type)
            return try WireCodec.encode(try await handler(body, payload))
        }
    }

    mutating func absorb(_ other: Router) {
        handlers.merge(other.handlers) { $1 }
    }

    /// The message types this router answers, sorted.
    public var types: [String] { handlers.keys.sorted() }

    /// Runs the handler for a decoded request and returns the reply frames (without routing id).
    func respond(to envelope: Envelope, payload: Data, endpoint: String) async -> (frames: [Data], error: WireError?) {
        guard let handler = handlers[envelope.type] else {
            let error = WireError(
                .unknownType,
                "the \(endpoint) endpoint has no message type '\(envelope.type)'; it answers: \(types.joined(separator: ", "))"
            )
            return (WireCodec.errorReply(to: envelope, error), error)
        }
        do {
            let body = try await handler(envelope, payload)
            var envelope = envelope
            envelope.status = .ok
            return ([try WireCodec.encode(envelope), body], nil)
        } catch let error as WireError {
            return (WireCodec.errorReply(to: envelope, error), error)
        } catch {
            let wire = WireError(.internalError, "'\(envelope.type)' failed: \(error)")
            return (WireCodec.errorReply(to: envelope, wire), wire)
        }
    }
}
