internal import Crypto
public import Foundation
import ThreadVM

/// Raw bytes carried on the wire as lowercase hex (public keys, signatures).
public struct HexBytes: Hashable, Sendable, Codable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses an even number of hex digits, with or without `0x`.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var count: Int { bytes.count }
    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text.prefix(80))' is not hex"))
        }
        self.bytes = bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Lowercase hex without a prefix.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex digits (optional `0x`); nil for odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Substring(text).utf8[...]
        if utf8.starts(with: "0x".utf8) || utf8.starts(with: "0X".utf8) { utf8 = utf8.dropFirst(2) }
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8? = nil
        for c in utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}

/// The JSON coders the daemons use for every ZKCore type: snake_case keys, sorted keys,
/// `Data` as base64.
public enum WireCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

/// The canonical binary writer behind signatures, hashes and commitments. Big-endian integers,
/// length-prefixed variable fields; never JSON.
struct CanonicalWriter {
    private(set) var bytes: [UInt8] = []

    init(domain: String) {
        bytes.reserveCapacity(256)
        string(domain)
    }

    /// A writer for a format with its own header (e.g. a proof's magic bytes), no domain string.
    init() {}

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func count(_ n: Int) { u32(UInt32(clamping: n)) }

    mutating func felt(_ f: Felt) { u64(f.value) }

    mutating func quad(_ words: [Felt]) { for w in words { felt(w) } }

    /// Length-prefixed bytes.
    mutating func data(_ d: some Collection<UInt8>) {
        count(d.count)
        bytes.append(contentsOf: d)
    }

    /// Length-prefixed UTF-8.
    mutating func string(_ s: String) { data(Array(s.utf8)) }

    mutating func raw(_ d: some Sequence<UInt8>) { bytes.append(contentsOf: d) }

    mutating func keyValues(_ list: [KeyValue]) {
        count(list.count)
        for entry in list {
            quad(entry.key.words)
            felt(entry.value)
        }
    }

    mutating func crossReads(_ list: [CrossRead]) {
        count(list.count)
        for read in list {
            felt(read.thread)
            quad(read.key.words)
            // "Not registered" is 2^64 - 1, which no field element encodes as.
            if read.registered { felt(read.value) } else { u64(.max) }
        }
    }
}

enum Digest {
    static func sha256(_ bytes: some DataProtocol) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
    static func sha256Hex(_ bytes: some DataProtocol) -> String { Hex.encode(SHA256.hash(data: bytes)) }

    /// Four Goldilocks words from a 32-byte digest (8-byte big-endian chunks reduced mod p), the
    /// same split ThreadVM uses for addresses and keys.
    static func quadWords(_ digest: [UInt8]) -> [Felt] {
        (0..<4).map { i in
            var acc: UInt64 = 0
            for b in digest[(i * 8)..<(i * 8 + 8)] { acc = acc << 8 | UInt64(b) }
            return Felt(acc)
        }
    }
}
