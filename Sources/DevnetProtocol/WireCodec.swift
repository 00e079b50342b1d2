public import Foundation

/// A request body with rules beyond its JSON shape: a hash that must be 64 hex digits, a wait
/// that must not be negative.
///
/// A daemon calls ``validate()`` right after decoding the body and before its handler runs, so
/// handlers see only valid bodies.
public protocol ValidatedPayload: Decodable {
    /// Throws when the decoded body breaks a rule. A ``WireError`` is the reply as thrown (use
    /// `BAD_PAYLOAD` and name the field); any other error becomes `BAD_PAYLOAD` with its
    /// description.
    func validate() throws
}

extension ValidatedPayload {
    /// No rules beyond the JSON shape.
    public func validate() throws {}
}

/// Encodes and decodes the multipart messages of wire protocol v1.
///
/// - Request (DEALER → ROUTER): `[envelope, payload]`
/// - Reply (ROUTER → DEALER): `[envelope, payload]`, `status` is `ok` or `error`
/// - Event (PUB → SUB): `[topic, envelope, payload]`
///
/// Every envelope and payload is UTF-8 JSON with snake_case keys.
public enum WireCodec {
    /// The largest envelope frame accepted; a real one is well under 200 bytes.
    public static let maxEnvelopeBytes = 4096

    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// Encodes a value as a payload frame.
    public static func encode(_ value: some Encodable) throws -> Data {
        try makeEncoder().encode(value)
    }

    /// Decodes a payload frame, turning decoding failures into a `BAD_PAYLOAD` ``WireError``
    /// that says which field was wrong.
    public static func decode<T: Decodable>(_ type: T.Type, from payload: Data, messageType: String) throws(WireError)
        -> T
    {
        do {
            return try makeDecoder().decode(T.self, from: payload.isEmpty ? Data("{}".utf8) : payload)
        } catch let error as DecodingError {
            throw WireError(.badPayload, "payload of '\(messageType)' is invalid: \(describe(error))")
        } catch {
            throw WireError(.badPayload, "payload of '\(messageType)' is invalid: \(error)")
        }
    }

    /// Decodes a request's payload frame as a daemon does: the frame must be one JSON object (an
    /// empty frame reads as `{}`), even for a message that takes no fields, and a body that is a
    /// ``ValidatedPayload`` must pass its ``ValidatedPayload/validate()``.
    ///
    /// - Throws: ``WireError`` with code `BAD_PAYLOAD` naming the message and what was wrong, or
    ///   whatever ``WireError`` the body's `validate()` threw.
    public static func decodeRequestBody<T: Decodable>(_ type: T.Type, from payload: Data, messageType: String)
        throws(WireError) -> T
    {
        if !payload.isEmpty {
            let first = payload.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            guard first == UInt8(ascii: "{") else {
                throw WireError(
                    .badPayload,
                    "payload of '\(messageType)' is not a JSON object; send an object such as {} (or an empty frame)")
            }
        }
        let body = try decode(T.self, from: payload, messageType: messageType)
        if let checked = body as? any ValidatedPayload {
            do {
                try checked.validate()
            } catch let error as WireError {
                throw error
            } catch {
                throw WireError(.badPayload, "payload of '\(messageType)' is invalid: \(error)")
            }
        }
        return body
    }

    public static func request(type: String, id: UInt64, payload: some Encodable) throws -> [Data] {
        [try encode(Envelope(type: type, id: id)), try encode(payload)]
    }

    public static func reply(to request: Envelope, payload: some Encodable) throws -> [Data] {
        [try encode(Envelope(type: request.type, id: request.id, status: .ok)), try encode(payload)]
    }

    /// An error reply. `request` is nil when the request's envelope itself could not be read.
    public static func errorReply(to request: Envelope?, _ error: WireError) -> [Data] {
        let envelope = Envelope(type: request?.type ?? "error", id: request?.id, status: .error)
        // Encoding these two plain structs cannot fail.
        return [(try? encode(envelope)) ?? Data(), (try? encode(error)) ?? Data()]
    }

    public static func event(topic: String, seq: UInt64, payload: Data) throws -> [Data] {
        [Data(topic.utf8), try encode(Envelope(type: topic, seq: seq)), payload]
    }

    /// Reads a request's `[envelope, payload]` frames, as a daemon does: the envelope has exactly
    /// `v`, `type` and `id` (see ``EnvelopeKind/request``).
    public static func decodeRequest(_ frames: some Collection<Data>) throws(WireError) -> (Envelope, Data) {
        try decodeFrames(frames, as: .request)
    }

    /// Reads a reply's (or, leniently, a request's) `[envelope, payload]` frames: the envelope
    /// may carry `status`, and `id` may be missing (a reply to a request whose envelope was unreadable).
    public static func decodeMessage(_ frames: some Collection<Data>) throws(WireError) -> (Envelope, Data) {
        try decodeFrames(frames, as: .reply)
    }

    private static func decodeFrames(_ frames: some Collection<Data>, as kind: EnvelopeKind) throws(WireError) -> (
        Envelope, Data
    ) {
        guard frames.count == 2, let envelopeFrame = frames.first else {
            throw WireError(.badEnvelope, "expected 2 frames (envelope, payload), got \(frames.count)")
        }
        let envelope = try decodeEnvelope(envelopeFrame, as: kind)
        return (envelope, frames[frames.index(after: frames.startIndex)])
    }

    /// Reads an event's `[topic, envelope, payload]` frames.
    public static func decodeEvent(_ frames: [Data]) throws(WireError) -> (
        topic: String, envelope: Envelope, payload: Data
    ) {
        guard frames.count == 3 else {
            throw WireError(.badEnvelope, "expected 3 frames (topic, envelope, payload), got \(frames.count)")
        }
        let envelope = try decodeEnvelope(frames[1], as: .event)
        return (String(decoding: frames[0], as: UTF8.self), envelope, frames[2])
    }

    /// The `id` and `type` of a message that failed validation, where they can be read, so that
    /// the error reply can still echo them. An `id` that is not an unsigned 64-bit integer, or a
    /// `type` that is not a valid message type, is left out.
    public static func peekEnvelope(_ frames: some Collection<Data>) -> Envelope? {
        guard let first = frames.first, first.count <= maxEnvelopeBytes,
            let fields = try? EnvelopeReader.read(first)
        else { return nil }
        let value = { (key: String) in fields.first { $0.key == key }?.value }
        var envelope = Envelope(type: "error")
        if case let .string(type) = value("type"), isValidType(type) { envelope.type = type }
        envelope.id = value("id")?.unsigned
        return envelope
    }

    /// The longest message type accepted.
    public static let maxTypeBytes = 64

    /// Whether `type` can name a message: 1 to 64 bytes of `a`–`z`, `0`–`9` and `_`, starting with
    /// a letter.
    public static func isValidType(_ type: String) -> Bool {
        guard let first = type.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"),
            type.utf8.count <= maxTypeBytes
        else { return false }
        return type.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
    }

    /// Reads an envelope frame strictly; see `docs/wire-protocol.md`, "What a daemon accepts".
    static func decodeEnvelope(_ frame: Data, as kind: EnvelopeKind) throws(WireError) -> Envelope {
        guard frame.count <= maxEnvelopeBytes else {
            throw WireError(.badEnvelope, "envelope frame is \(frame.count) bytes; the limit is \(maxEnvelopeBytes)")
        }
        let fields: [(key: String, value: EnvelopeReader.Value)]
        do {
            fields = try EnvelopeReader.read(frame)
        } catch {
            throw WireError(
                .badEnvelope, "\(error.message); an envelope looks like {\"v\": 1, \"type\": \"health\", \"id\": 7}")
        }
        let value = { (key: String) in fields.first { $0.key == key }?.value }
        // The version first: a later version may have other keys, and deserves the clearer error.
        guard let versionField = value("v") else {
            throw WireError(.badEnvelope, "the envelope has no 'v'; send \"v\": \(WireProtocol.version)")
        }
        guard let version = versionField.integer else {
            throw WireError(
                .badEnvelope,
                "the envelope's 'v' is \(versionField.kind); it must be the integer \(WireProtocol.version)")
        }
        guard version == WireProtocol.version else {
            throw WireError(
                .unsupportedVersion,
                "protocol version \(version) is not supported; this daemon speaks v\(WireProtocol.version)"
            )
        }
        let allowed = kind.keys
        if let unknown = fields.first(where: { !allowed.contains($0.key) }) {
            throw WireError(
                .badEnvelope,
                "the \(kind) envelope has an unknown key '\(unknown.key)'; it takes only \(allowed.sorted().joined(separator: ", ")) (the body goes in the payload frame)"
            )
        }
        guard case let .string(type) = value("type") else {
            let sent = value("type").map { "is \($0.kind)" } ?? "is missing"
            throw WireError(.badEnvelope, "the envelope's 'type' \(sent); it must be a string naming the message")
        }
        guard isValidType(type) else {
            throw WireError(
                .badEnvelope,
                "the envelope's 'type' is not a message type: it must be 1 to \(maxTypeBytes) characters of a-z, 0-9 and _, starting with a letter"
            )
        }
        var envelope = Envelope(type: type)
        if let id = value("id") {
            guard let number = id.unsigned else {
                throw WireError(
                    .badEnvelope,
                    "the envelope's 'id' is \(id.kind); it must be an unsigned 64-bit integer (digits only, at most 18446744073709551615)"
                )
            }
            envelope.id = number
        } else if kind == .request {
            throw WireError(
                .badEnvelope, "the envelope has no 'id'; send an unsigned 64-bit integer the reply will echo")
        }
        if let status = value("status") {
            guard case let .string(text) = status, let parsed = Envelope.Status(rawValue: text) else {
                throw WireError(
                    .badEnvelope, "the envelope's 'status' is \(status.kind); it must be \"ok\" or \"error\"")
            }
            envelope.status = parsed
        }
        if let seq = value("seq") {
            guard let number = seq.unsigned else {
                throw WireError(
                    .badEnvelope, "the event envelope's 'seq' is \(seq.kind); it must be an unsigned 64-bit integer")
            }
            envelope.seq = number
        } else if kind == .event {
            throw WireError(.badEnvelope, "event envelope has no 'seq'")
        }
        return envelope
    }

    /// A one-line description of a decoding error that names the field.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let joined = codingPath.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(
                separator: ".")
            return joined.isEmpty ? "the top level" : "'\(joined)'"
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing field '\(snakeCase(key.stringValue))' at \(path(context.codingPath))"
        case let .typeMismatch(type, context):
            return "field \(path(context.codingPath)) should be \(typeName(type))"
        case let .valueNotFound(type, context):
            return "field \(path(context.codingPath)) is null; expected \(typeName(type))"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "field \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is UInt64.Type, is UInt32.Type, is Int32.Type, is UInt16.Type: "an integer"
        case is Double.Type: "a number"
        default: "\(type)"
        }
    }

    private static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}
