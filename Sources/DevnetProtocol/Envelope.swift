import Foundation

/// Wire protocol constants.
public enum WireProtocol {
    /// The protocol version every envelope carries in `v`.
    public static let version = 1
}

/// The first frame of every request, reply and event: a small JSON object.
///
/// See `docs/wire-protocol.md`. Requests carry `id`, replies echo it and add `status`,
/// events carry `seq`.
public struct Envelope: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case ok
        case error
    }

    /// Protocol version; a daemon refuses any other with `UNSUPPORTED_VERSION`.
    public var v: Int
    /// The message type, e.g. `health`.
    public var type: String
    /// Request id chosen by the client, echoed in the reply.
    public var id: UInt64?
    /// Replies only: whether the payload is the result or a ``WireError``.
    public var status: Status?
    /// Events only: the publisher's sequence number, starting at 1, without gaps.
    public var seq: UInt64?

    public init(
        v: Int = WireProtocol.version, type: String, id: UInt64? = nil, status: Status? = nil, seq: UInt64? = nil
    ) {
        self.v = v
        self.type = type
        self.id = id
        self.status = status
        self.seq = seq
    }
}

/// Which message an envelope heads; each takes its own keys and no others.
public enum EnvelopeKind: Sendable, CustomStringConvertible {
    /// `v`, `type` and `id`, all required.
    case request
    /// `v`, `type`, and optionally `id` and `status`.
    case reply
    /// `v`, `type` and `seq`, all required.
    case event

    /// The keys this kind of envelope may have.
    public var keys: Set<String> {
        switch self {
        case .request: ["v", "type", "id"]
        case .reply: ["v", "type", "id", "status"]
        case .event: ["v", "type", "seq"]
        }
    }

    public var description: String {
        switch self {
        case .request: "request"
        case .reply: "reply"
        case .event: "event"
        }
    }
}

/// A stable error code on the wire.
public struct WireErrorCode: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The frames are not a well-formed envelope + payload.
    public static let badEnvelope = WireErrorCode("BAD_ENVELOPE")
    /// The envelope's `v` is not one this daemon speaks.
    public static let unsupportedVersion = WireErrorCode("UNSUPPORTED_VERSION")
    /// The daemon has no handler for this message type on this endpoint.
    public static let unknownType = WireErrorCode("UNKNOWN_TYPE")
    /// The payload does not decode as the message type's body.
    public static let badPayload = WireErrorCode("BAD_PAYLOAD")
    /// The request was well-formed but refers to something that does not exist.
    public static let notFound = WireErrorCode("NOT_FOUND")
    /// The daemon is stopping and takes no more work.
    public static let shuttingDown = WireErrorCode("SHUTTING_DOWN")
    /// A bug or an unexpected failure inside the daemon; the daemon keeps serving.
    public static let internalError = WireErrorCode("INTERNAL")
    /// No reply came in time (client side only).
    public static let timeout = WireErrorCode("TIMEOUT")
    /// A fault hook was asked of a devnet started without `fault_hooks: true`.
    public static let faultHooksDisabled = WireErrorCode("FAULT_HOOKS_DISABLED")
    /// The request is well-formed but cannot be done in the daemon's current state.
    public static let notPossible = WireErrorCode("NOT_POSSIBLE")
}

/// The payload of an error reply: a stable code and a sentence a person can act on.
public struct WireError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: WireErrorCode
    public var message: String

    public init(_ code: WireErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
