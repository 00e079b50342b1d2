/// Appends little-endian integers, field elements and digests to a byte buffer.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ v: UInt8) { bytes.append(v) }

    public mutating func write(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ v: Goldilocks) { write(v.value) }

    public mutating func write(_ v: Ext2) {
        write(v.c0)
        write(v.c1)
    }

    public mutating func write(_ d: Digest) {
        write(d.w0)
        write(d.w1)
        write(d.w2)
        write(d.w3)
    }

    public mutating func write(_ s: String) {
        let utf8 = Array(s.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Writes a count as a 32-bit prefix.
    public mutating func writeCount(_ n: Int) { write(UInt32(n)) }
}

/// Why bytes could not be parsed.
public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended before a field of `needed` bytes at `offset`.
    case truncated(offset: Int, needed: Int)
    /// A value was not a canonical field element.
    case nonCanonicalElement(offset: Int)
    /// A count exceeded its limit.
    case countTooLarge(what: String, count: Int, limit: Int)
    /// A field had an invalid value.
    case invalid(String)
    /// Bytes were left over after the proof.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .truncated(let o, let n): "input truncated at byte \(o) (needed \(n) more)"
        case .nonCanonicalElement(let o): "non-canonical field element at byte \(o)"
        case .countTooLarge(let w, let c, let l): "\(w) count \(c) exceeds limit \(l)"
        case .invalid(let m): m
        case .trailingBytes(let c): "\(c) trailing bytes after the proof"
        }
    }
}

/// A bounds-checked reader over untrusted bytes; every read throws instead of trapping.
public struct ByteReader: Sendable {
    let bytes: [UInt8]
    /// The next byte to read.
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws(ParseError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw .truncated(offset: offset, needed: n) }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func readUInt8() throws(ParseError) -> UInt8 {
        let s = try take(1)
        return s[s.startIndex]
    }

    public mutating func readUInt32() throws(ParseError) -> UInt32 {
        var v: UInt32 = 0
        for (i, b) in try take(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }

    public mutating func readUInt64() throws(ParseError) -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    public mutating func readBase() throws(ParseError) -> Goldilocks {
        let at = offset
        guard let x = Goldilocks(exactly: try readUInt64()) else { throw .nonCanonicalElement(offset: at) }
        return x
    }

    public mutating func readExt() throws(ParseError) -> Ext2 {
        let a = try readBase()
        let b = try readBase()
        return Ext2(a, b)
    }

    public mutating func readDigest() throws(ParseError) -> Digest {
        Digest(try readUInt64(), try readUInt64(), try readUInt64(), try readUInt64())
    }

    /// Reads a 32-bit count, rejecting counts above `limit` or that cannot fit in the remaining
    /// bytes at `elementSize` bytes each (so a hostile count never drives a large allocation).
    public mutating func readCount(_ what: String, limit: Int, elementSize: Int) throws(ParseError) -> Int {
        let n = Int(try readUInt32())
        guard n <= limit else { throw .countTooLarge(what: what, count: n, limit: limit) }
        guard n * max(elementSize, 1) <= remaining else {
            throw .truncated(offset: offset, needed: n * max(elementSize, 1))
        }
        return n
    }
}
