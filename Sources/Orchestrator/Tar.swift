import Crypto
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A problem reading or writing a tar archive, said about its file.
public struct TarError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Writes a POSIX ustar archive: for each file a 512-byte header (name, octal size, mode,
/// checksum, magic `ustar\0` `00`), then its bytes padded with zeros to a multiple of 512, and at
/// the end two zero blocks. Any `tar` reads it (`tar -tvf FILE`).
///
/// Files are regular files (type `0`), mode 0644, owner 0, with the time given; sizes up to
/// 8 GiB - 1 (eleven octal digits).
public final class TarWriter {
    public static let blockSize = 512
    private let handle: FileHandle
    private let path: String
    private let modified: Date

    /// Creates (or truncates) the archive at `path`.
    public init(path: String, modified: Date = Date()) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw TarError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.path = path
        self.modified = modified
    }

    /// Adds a file with these bytes.
    public func add(_ name: String, data: Data) throws {
        try handle.write(contentsOf: try Self.header(name: name, size: UInt64(data.count), modified: modified))
        try handle.write(contentsOf: data)
        try pad(UInt64(data.count))
    }

    /// Adds the file at `source` under `name`, read in chunks.
    ///
    /// - Returns: its size and SHA-256 (lowercase hex).
    @discardableResult
    public func add(_ name: String, file source: String) throws -> (bytes: UInt64, sha256: String) {
        let size = try Self.fileSize(source)
        try handle.write(contentsOf: try Self.header(name: name, size: size, modified: modified))
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
        defer { try? input.close() }
        var hasher = SHA256()
        var written: UInt64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            guard written + UInt64(chunk.count) <= size else { break }
            hasher.update(data: chunk)
            try handle.write(contentsOf: chunk)
            written += UInt64(chunk.count)
        }
        guard written == size else {
            throw TarError("\(source) changed size while it was written into \(path) (\(size) bytes, then \(written))")
        }
        try pad(size)
        return (size, Self.hex(hasher.finalize()))
    }

    /// Writes the two zero blocks that end the archive and closes it.
    public func finish() throws {
        try handle.write(contentsOf: Data(count: 2 * Self.blockSize))
        try handle.synchronize()
        try handle.close()
    }

    private func pad(_ size: UInt64) throws {
        let rest = Int(size % UInt64(Self.blockSize))
        if rest != 0 { try handle.write(contentsOf: Data(count: Self.blockSize - rest)) }
    }

    static func fileSize(_ path: String) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The ustar header of a regular file.
    static func header(name: String, size: UInt64, modified: Date) throws -> Data {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            // width - 1 digits, then NUL.
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        let (prefix, short) = try split(name)
        guard size < 1 << 33 else {
            throw TarError("\(name) is \(size) bytes; a ustar archive holds files under 8 GiB")
        }
        put(short, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(UInt64(max(0, modified.timeIntervalSince1970)), at: 136, width: 12)
        block[156] = UInt8(ascii: "0")
        put("ustar\0", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        // The checksum is computed with its own field as eight spaces.
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + UInt64($1) }
        octal(sum, at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return Data(block)
    }

    /// A name as ustar stores it: up to 100 bytes, or a prefix of up to 155 bytes before its
    /// last fitting `/` and the rest.
    static func split(_ name: String) throws -> (prefix: String, name: String) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
            throw TarError("'\(name)' cannot name a file in the archive")
        }
        if bytes.count <= 100 { return ("", name) }
        for index in bytes.indices.reversed() where bytes[index] == UInt8(ascii: "/") {
            if index <= 155, bytes.count - index - 1 <= 100, index > 0 {
                return (
                    String(decoding: bytes[..<index], as: UTF8.self),
                    String(decoding: bytes[(index + 1)...], as: UTF8.self)
                )
            }
        }
        throw TarError("'\(name)' is too long for a ustar archive (at most 100 bytes, or 155 + 100 split at a '/')")
    }
}

/// Reads a ustar archive entry by entry, checking each header's checksum and that every entry is
/// there whole.
public final class TarReader {
    /// One file of the archive; read its bytes before asking for the next.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var size: UInt64
    }

    private let handle: FileHandle
    private let path: String
    private var current: Entry?
    private var remaining: UInt64 = 0
    private var ended = false
    /// Headers read so far.
    private(set) var count = 0

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw TarError("\(path) does not exist") }
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw TarError("cannot open \(path): \(error.localizedDescription)")
        }
        self.path = path
    }

    deinit { try? handle.close() }

    /// The next file, or nil after the end blocks.
    ///
    /// - Throws: ``TarError`` for a header that is not ustar or whose checksum is wrong, an entry
    ///   that is not a regular file, or an archive cut short.
    public func next() throws -> Entry? {
        if current != nil { try skip() }
        guard !ended else { return nil }
        let block = try exactly(TarWriter.blockSize, what: "the header of entry \(count + 1)")
        if block.allSatisfy({ $0 == 0 }) {
            _ = try exactly(TarWriter.blockSize, what: "the second end block")
            ended = true
            return nil
        }
        let bytes = [UInt8](block)
        guard bytes[257..<262].elementsEqual("ustar".utf8) else {
            throw TarError(
                count == 0
                    ? "\(path) is not a tar archive (no ustar header at its start)"
                    : "\(path) is damaged: entry \(count + 1) has no ustar header")
        }
        var unsigned = bytes
        for index in 148..<156 { unsigned[index] = UInt8(ascii: " ") }
        let sum = unsigned.reduce(0) { $0 + UInt64($1) }
        let name =
            Self.text(bytes[345..<500]).isEmpty
            ? Self.text(bytes[0..<100]) : Self.text(bytes[345..<500]) + "/" + Self.text(bytes[0..<100])
        guard let recorded = Self.octal(bytes[148..<156]), recorded == sum else {
            throw TarError("\(path) is damaged: the header of entry \(count + 1) (\(name)) has a wrong checksum")
        }
        guard let size = Self.octal(bytes[124..<136]) else {
            throw TarError("\(path) is damaged: entry \(count + 1) (\(name)) has no readable size")
        }
        guard bytes[156] == UInt8(ascii: "0") || bytes[156] == 0 else {
            throw TarError(
                "\(path) holds \(name), which is not a regular file (type '\(Character(UnicodeScalar(bytes[156])))')")
        }
        count += 1
        current = Entry(name: name, size: size)
        remaining = size
        return current
    }

    /// The whole current entry in memory (for small files).
    public func readData() throws -> Data {
        guard let entry = current else { return Data() }
        let data = try exactly(Int(entry.size), what: "\(entry.name)")
        remaining = 0
        try skipPadding(entry.size)
        current = nil
        return data
    }

    /// Writes the current entry to `destination`.
    ///
    /// - Returns: its SHA-256 (lowercase hex).
    @discardableResult
    public func copy(to destination: String) throws -> String {
        guard let entry = current else { return "" }
        guard FileManager.default.createFile(atPath: destination, contents: nil) else {
            throw TarError("cannot create \(destination): \(String(cString: strerror(errno)))")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
        defer { try? output.close() }
        var hasher = SHA256()
        while remaining > 0 {
            let chunk = try exactly(Int(min(remaining, 1 << 20)), what: entry.name)
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            remaining -= UInt64(chunk.count)
        }
        try skipPadding(entry.size)
        current = nil
        return TarWriter.hex(hasher.finalize())
    }

    private func skip() throws {
        guard let entry = current else { return }
        while remaining > 0 {
            let chunk = try exactly(Int(min(remaining, 1 << 20)), what: entry.name)
            remaining -= UInt64(chunk.count)
        }
        try skipPadding(entry.size)
        current = nil
    }

    private func skipPadding(_ size: UInt64) throws {
        let rest = Int(size % UInt64(TarWriter.blockSize))
        if rest != 0 {
            _ = try exactly(TarWriter.blockSize - rest, what: "the padding after \(current?.name ?? "an entry")")
        }
    }

    /// Exactly `count` bytes, or an error saying the archive ends early.
    private func exactly(_ count: Int, what: String) throws -> Data {
        var data = Data()
        while data.count < count {
            guard let chunk = try handle.read(upToCount: count - data.count), !chunk.isEmpty else {
                if self.count == 0, what.hasPrefix("the header of entry 1") {
                    throw TarError(
                        data.isEmpty
                            ? "\(path) is empty"
                            : "\(path) is not a tar archive (\(data.count) bytes, shorter than one 512-byte header)")
                }
                throw TarError("\(path) is truncated: it ends in \(what)")
            }
            data.append(chunk)
        }
        return data
    }

    static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func octal(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        let digits = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return digits.isEmpty ? nil : UInt64(digits, radix: 8)
    }
}
