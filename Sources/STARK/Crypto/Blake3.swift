/// A 256-bit digest: four little-endian 64-bit words.
@frozen
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64

    @inlinable
    public init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The all-zero digest.
    public static let zero = Digest(0, 0, 0, 0)

    /// The 32 bytes, little-endian words in order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] {
            for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) }
        }
        return out
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// BLAKE3-256, written for this library without heap allocation on the hot paths.
///
/// The Merkle trees hash every LDE row and every internal node; a node is a single 64-byte block,
/// i.e. one BLAKE3 compression (7 rounds), several times cheaper than SHA-256's two compressions
/// of 64 rounds each in portable code. Cross-checked against the reference implementation's output
/// in the tests.
public enum Blake3 {
    @usableFromInline static let iv = SIMD8<UInt32>(
        0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
        0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19)

    @usableFromInline static let chunkStart: UInt32 = 1
    @usableFromInline static let chunkEnd: UInt32 = 2
    @usableFromInline static let parent: UInt32 = 4
    @usableFromInline static let root: UInt32 = 8
    @usableFromInline static let keyedHash: UInt32 = 16

    /// A hashing mode: the plain hash (``plain``) or BLAKE3's keyed hash under a 32-byte key.
    ///
    /// The library keys every hash by its use (Merkle leaf, Merkle node, transcript absorb, draw,
    /// proof of work), so equal bytes hashed for two different uses give unrelated digests at no
    /// extra cost: a keyed hash is the same number of compressions as a plain one.
    public struct Key: Sendable, Hashable {
        /// The chaining value every chunk starts from (the IV for the plain hash).
        let words: SIMD8<UInt32>
        /// Flags added to every compression (`KEYED_HASH` for a keyed hash).
        let flags: UInt32

        /// The unkeyed hash.
        public static let plain = Key(words: Blake3.iv, flags: 0)

        init(words: SIMD8<UInt32>, flags: UInt32) {
            self.words = words
            self.flags = flags
        }

        /// BLAKE3's keyed hash under `key`.
        public init(key: Digest) {
            self.init(words: Blake3.words(key), flags: Blake3.keyedHash)
        }

        /// A key for one use of the hash: the plain BLAKE3 hash of `context`.
        public init(context: String) {
            self.init(key: Blake3.hash([UInt8](context.utf8)))
        }
    }

    /// Lane-wise rotate right, written so baseline x86-64 keeps it vectorized (see ``rotate(_:_:)``).
    @inline(__always)
    static func rotr(_ x: SIMD4<UInt32>, _ n: UInt32) -> SIMD4<UInt32> { rotate(x, n) }

    /// The BLAKE3 compression function; returns the 8-word chaining value.
    @inline(__always)
    static func compress(
        cv: SIMD8<UInt32>, block m0: SIMD16<UInt32>, counter: UInt64, blockLength: UInt32, flags: UInt32
    ) -> SIMD8<UInt32> {
        var r0 = cv.lowHalf
        var r1 = cv.highHalf
        var r2 = iv.lowHalf
        var r3 = SIMD4<UInt32>(
            UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), blockLength, flags)
        var m = m0
        for round in 0..<7 {
            // Columns.
            var mx = SIMD4<UInt32>(m[0], m[2], m[4], m[6])
            var my = SIMD4<UInt32>(m[1], m[3], m[5], m[7])
            r0 = r0 &+ r1 &+ mx
            r3 = rotr(r3 ^ r0, 16)
            r2 = r2 &+ r3
            r1 = rotr(r1 ^ r2, 12)
            r0 = r0 &+ r1 &+ my
            r3 = rotr(r3 ^ r0, 8)
            r2 = r2 &+ r3
            r1 = rotr(r1 ^ r2, 7)
            // Diagonals: rotate rows so diagonals line up as columns.
            r1 = SIMD4(r1[1], r1[2], r1[3], r1[0])
            r2 = SIMD4(r2[2], r2[3], r2[0], r2[1])
            r3 = SIMD4(r3[3], r3[0], r3[1], r3[2])
            mx = SIMD4<UInt32>(m[8], m[10], m[12], m[14])
            my = SIMD4<UInt32>(m[9], m[11], m[13], m[15])
            r0 = r0 &+ r1 &+ mx
            r3 = rotr(r3 ^ r0, 16)
            r2 = r2 &+ r3
            r1 = rotr(r1 ^ r2, 12)
            r0 = r0 &+ r1 &+ my
            r3 = rotr(r3 ^ r0, 8)
            r2 = r2 &+ r3
            r1 = rotr(r1 ^ r2, 7)
            r1 = SIMD4(r1[3], r1[0], r1[1], r1[2])
            r2 = SIMD4(r2[2], r2[3], r2[0], r2[1])
            r3 = SIMD4(r3[1], r3[2], r3[3], r3[0])
            if round < 6 {
                m = SIMD16(
                    m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
                    m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8])
            }
        }
        return SIMD8(lowHalf: r0 ^ r2, highHalf: r1 ^ r3)
    }

    @inline(__always)
    static func digest(_ cv: SIMD8<UInt32>) -> Digest {
        Digest(
            UInt64(cv[0]) | UInt64(cv[1]) << 32, UInt64(cv[2]) | UInt64(cv[3]) << 32,
            UInt64(cv[4]) | UInt64(cv[5]) << 32, UInt64(cv[6]) | UInt64(cv[7]) << 32)
    }

    @inline(__always)
    static func words(_ d: Digest) -> SIMD8<UInt32> {
        SIMD8(
            UInt32(truncatingIfNeeded: d.w0), UInt32(truncatingIfNeeded: d.w0 >> 32),
            UInt32(truncatingIfNeeded: d.w1), UInt32(truncatingIfNeeded: d.w1 >> 32),
            UInt32(truncatingIfNeeded: d.w2), UInt32(truncatingIfNeeded: d.w2 >> 32),
            UInt32(truncatingIfNeeded: d.w3), UInt32(truncatingIfNeeded: d.w3 >> 32))
    }

    /// BLAKE3 of the 64 bytes `left ‖ right`: one compression (a Merkle node).
    @inline(__always)
    public static func hash(_ left: Digest, _ right: Digest, key: Key = .plain) -> Digest {
        let block = SIMD16(lowHalf: words(left), highHalf: words(right))
        return digest(
            compress(
                cv: key.words, block: block, counter: 0, blockLength: 64,
                flags: chunkStart | chunkEnd | root | key.flags))
    }

    /// Loads up to 64 bytes at `offset` as a zero-padded block.
    @inline(__always)
    static func loadBlock(_ bytes: UnsafeRawBufferPointer, offset: Int, length: Int) -> SIMD16<UInt32> {
        var block = SIMD16<UInt32>(repeating: 0)
        guard let base = bytes.baseAddress else { return block }
        let words = length / 4
        for i in 0..<words {
            block[i] = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))
        }
        for i in (words * 4)..<length {
            let byte = UInt32(base.load(fromByteOffset: offset + i, as: UInt8.self))
            block[i / 4] |= byte << (8 * UInt32(i % 4))
        }
        return block
    }

    /// The chaining value of one chunk (≤ 1024 bytes) at index `chunkIndex`.
    static func chunkChainingValue(
        _ bytes: UnsafeRawBufferPointer, offset: Int, length: Int, chunkIndex: UInt64, isRoot: Bool, key: Key
    ) -> SIMD8<UInt32> {
        var cv = key.words
        let blocks = max(1, (length + 63) / 64)
        for b in 0..<blocks {
            let start = b * 64
            let len = min(64, length - start)
            var flags: UInt32 = key.flags
            if b == 0 { flags |= chunkStart }
            if b == blocks - 1 {
                flags |= chunkEnd
                if isRoot { flags |= root }
            }
            let block = loadBlock(bytes, offset: offset + start, length: max(0, len))
            cv = compress(cv: cv, block: block, counter: chunkIndex, blockLength: UInt32(max(0, len)), flags: flags)
        }
        return cv
    }

    /// BLAKE3-256 of arbitrary bytes (keyed by `key`).
    public static func hash(_ bytes: UnsafeRawBufferPointer, key: Key = .plain) -> Digest {
        let n = bytes.count
        if n <= 1024 {
            return digest(chunkChainingValue(bytes, offset: 0, length: n, chunkIndex: 0, isRoot: true, key: key))
        }
        let chunkCount = (n + 1023) / 1024
        var cvs = [SIMD8<UInt32>]()
        cvs.reserveCapacity(chunkCount)
        for c in 0..<chunkCount {
            let start = c * 1024
            cvs.append(
                chunkChainingValue(
                    bytes, offset: start, length: min(1024, n - start), chunkIndex: UInt64(c), isRoot: false,
                    key: key))
        }
        return digest(subtree(cvs[...], isRoot: true, key: key))
    }

    /// BLAKE3-256 of a byte array (keyed by `key`).
    public static func hash(_ bytes: [UInt8], key: Key = .plain) -> Digest {
        bytes.withUnsafeBytes { hash($0, key: key) }
    }

    /// Merges chunk chaining values: the left subtree takes the largest power of two below the count.
    static func subtree(_ cvs: ArraySlice<SIMD8<UInt32>>, isRoot: Bool, key: Key) -> SIMD8<UInt32> {
        if cvs.count == 1, let only = cvs.first { return only }
        var left = 1
        while left * 2 < cvs.count { left *= 2 }
        let mid = cvs.startIndex + left
        let l = subtree(cvs[cvs.startIndex..<mid], isRoot: false, key: key)
        let r = subtree(cvs[mid...], isRoot: false, key: key)
        return compress(
            cv: key.words, block: SIMD16(lowHalf: l, highHalf: r), counter: 0, blockLength: 64,
            flags: parent | (isRoot ? root : 0) | key.flags)
    }
}
