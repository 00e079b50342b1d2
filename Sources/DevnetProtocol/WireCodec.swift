public import Foundation

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

    /// Reads a request's or reply's `[envelope, payload]` frames.
    public static func decodeMessage(_ frames: some Collection<Data>) throws(WireError) -> (Envelope, Data) {
        guard frames.count == 2, let envelopeFrame = frames.first else {
            throw WireError(.badEnvelope, "expected 2 frames (envelope, payload), got \(frames.count)")
        }
        let envelope = try decodeEnvelope(envelopeFrame)
        return (envelope, frames[frames.index(after: frames.startIndex)])
    }

    /// Reads an event's `[topic, envelope, payload]` frames.
    public static func decodeEvent(_ frames: [Data]) throws(WireError) -> (
        topic: String, envelope: Envelope, payload: Data
    ) {
        guard frames.count == 3 else {
            throw WireError(.badEnvelope, "expected 3 frames (topic, envelope, payload), got \(frames.count)")
        }
        let envelope = try decodeEnvelope(frames[1])
        guard envelope.seq != nil else {
            throw WireError(.badEnvelope, "event envelope has no 'seq'")
        }
        return (String(decoding: frames[0], as: UTF8.self), envelope, frames[2])
    }

    /// The envelope of a message that failed validation, if it can be read at all, so that the
    /// error reply can still echo the request's id and type.
    public static func peekEnvelope(_ frames: some Collection<Data>) -> Envelope? {
        guard let first = frames.first, first.count <= maxEnvelopeBytes else { return nil }
        return try? makeDecoder().decode(Envelope.self, from: first)
    }

    static func decodeEnvelope(_ frame: Data) throws(WireError) -> Envelope {
        guard frame.count <= maxEnvelopeBytes else {
            throw WireError(.badEnvelope, "envelope frame is \(frame.count) bytes; the limit is \(maxEnvelopeBytes)")
        }
        let envelope: Envelope
        do {
            envelope = try makeDecoder().decode(Envelope.self, from: frame)
        } catch let error as DecodingError {
            throw WireError(.badEnvelope, "envelope is not valid: \(describe(error))")
        } catch {
            throw WireError(.badEnvelope, "envelope is not valid JSON")
        }
        guard envelope.v == WireProtocol.version else {
            throw WireError(
                .unsupportedVersion,
                "protocol version \(envelope.v) is not supported; this daemon speaks v\(WireProtocol.version)"
            )
        }
        guard !envelope.type.isEmpty else {
            throw WireError(.badEnvelope, "envelope 'type' is empty")
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
