import Foundation

/// Reads an envelope frame strictly: one flat JSON object whose values are strings, integers,
/// `true`, `false` or `null`, with no key twice and nothing after the closing brace.
///
/// Numbers keep their text, so `1`, `1.0`, `1e0` and `-1` stay apart: an `id` is only ever the
/// first. ``WireCodec`` then checks the keys and their types for the kind of message.
struct EnvelopeReader {
    enum Value: Equatable {
        case string(String)
        /// A JSON number exactly as written.
        case number(String)
        case bool(Bool)
        case null

        /// How a person would name what was sent, for error messages.
        var kind: String {
            switch self {
            case .string: "a string"
            case let .number(text):
                if text.hasPrefix("-") && !text.contains(where: { ".eE".contains($0) }) {
                    "a negative number"
                } else if text.contains(where: { ".eE".contains($0) }) {
                    "a number with a fraction or exponent (\(text))"
                } else {
                    "the number \(text)"
                }
            case .bool: "true or false"
            case .null: "null"
            }
        }

        /// The value as an unsigned 64-bit integer written with digits only, or nil.
        var unsigned: UInt64? {
            guard case let .number(text) = self, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else {
                return nil
            }
            return UInt64(text)
        }

        /// The value as an integer written with an optional minus and digits only, or nil.
        var integer: Int? {
            guard case let .number(text) = self, !text.contains(where: { ".eE".contains($0) }) else { return nil }
            return Int(text)
        }
    }

    /// Why a frame is not a flat JSON object.
    struct Failure: Error {
        var message: String
    }

    private let bytes: [UInt8]
    private var index = 0

    private init(_ data: Data) {
        bytes = [UInt8](data)
    }

    /// The object's keys and values, in the order written.
    static func read(_ data: Data) throws(Failure) -> [(key: String, value: Value)] {
        var reader = EnvelopeReader(data)
        return try reader.object()
    }

    private mutating func object() throws(Failure) -> [(key: String, value: Value)] {
        skipWhitespace()
        guard next() == UInt8(ascii: "{") else { throw Failure(message: "the envelope is not a JSON object") }
        var fields: [(key: String, value: Value)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else {
                    throw Failure(message: "the envelope is not valid JSON: expected a key at byte \(index)")
                }
                let key = try string()
                guard !fields.contains(where: { $0.key == key }) else {
                    throw Failure(message: "the envelope has the key '\(key)' twice")
                }
                skipWhitespace()
                guard next() == UInt8(ascii: ":") else {
                    throw Failure(message: "the envelope is not valid JSON: expected ':' after '\(key)'")
                }
                skipWhitespace()
                fields.append((key, try value(of: key)))
                skipWhitespace()
                let separator = next()
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else {
                    throw Failure(message: "the envelope is not valid JSON: expected ',' or '}' after '\(key)'")
                }
            }
        }
        skipWhitespace()
        guard index == bytes.count else {
            throw Failure(message: "the envelope has something after its closing brace")
        }
        return fields
    }

    private mutating func value(of key: String) throws(Failure) -> Value {
        switch peek() {
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw Failure(
                message:
                    "the envelope's '\(key)' is \(peek() == UInt8(ascii: "{") ? "an object" : "an array"); envelope values are strings and integers only"
            )
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return .number(try number(of: key))
        }
    }

    /// A JSON string; escapes and UTF-8 are checked by Foundation's decoder.
    private mutating func string() throws(Failure) -> String {
        let start = index
        index += 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] < 0x20 { throw Failure(message: "the envelope has a control character in a string") }
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < bytes.count else { throw Failure(message: "the envelope is not valid JSON: a string never ends") }
        index += 1
        guard let text = try? JSONDecoder().decode(String.self, from: Data(bytes[start..<index])) else {
            throw Failure(message: "the envelope has a string that is not valid JSON or not UTF-8")
        }
        return text
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as text.
    private mutating func number(of key: String) throws(Failure) -> String {
        let start = index
        let invalid = Failure(message: "the envelope's '\(key)' is not a valid JSON value")
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw invalid }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw invalid }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw invalid }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: String) throws(Failure) {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw Failure(message: "the envelope is not valid JSON at byte \(index)")
        }
        index += expected.count
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func next() -> UInt8? {
        defer { index += 1 }
        return peek()
    }
}
