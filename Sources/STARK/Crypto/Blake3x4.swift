/// Four-way BLAKE3: four independent compressions, one per SIMD lane.
///
/// Merkle trees hash millions of independent rows and nodes, so the hot paths run four messages at
/// once with no lane shuffles (the message permutation is resolved at generation time into fixed
/// word indices per round). Output is bit-identical to ``Blake3/hash(_:)-(UnsafeRawBufferPointer)``.
extension Blake3 {
    typealias Lanes = SIMD4<UInt32>

    /// Rotates each lane right by `n`. The right shift runs on 64-bit lanes and is masked, so the
    /// optimizer does not fuse it into a rotate, which baseline x86-64 (SSE2) would scalarize.
    @inline(__always)
    static func rotate(_ x: Lanes, _ n: UInt32) -> Lanes {
        let wide = unsafeBitCast(x, to: SIMD2<UInt64>.self) &>> UInt64(n)
        let right = unsafeBitCast(wide, to: Lanes.self) & Lanes(repeating: UInt32.max >> n)
        return right | (x &<< (32 - n))
    }

    @inline(__always)
    static func g(_ a: inout Lanes, _ b: inout Lanes, _ c: inout Lanes, _ d: inout Lanes, _ x: Lanes, _ y: Lanes) {
        a = a &+ b &+ x
        d = rotate(d ^ a, 16)
        c = c &+ d
        b = rotate(b ^ c, 12)
        a = a &+ b &+ y
        d = rotate(d ^ a, 8)
        c = c &+ d
        b = rotate(b ^ c, 7)
    }

    /// Compresses four blocks: `cv` (8 vectors) is updated in place, `m` holds 16 message vectors.
    @inline(__always)
    static func compress4(
        _ cv: UnsafeMutablePointer<Lanes>, _ m: UnsafePointer<Lanes>, counter: UInt64, blockLength: Lanes, flags: UInt32
    ) {
        var v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3]
        var v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7]
        var v8 = Lanes(repeating: iv[0]), v9 = Lanes(repeating: iv[1])
        var v10 = Lanes(repeating: iv[2]), v11 = Lanes(repeating: iv[3])
        var v12 = Lanes(repeating: UInt32(truncatingIfNeeded: counter))
        var v13 = Lanes(repeating: UInt32(truncatingIfNeeded: counter >> 32))
        var v14 = blockLength
        var v15 = Lanes(repeating: flags)
        // Round 1.
        g(&v0, &v4, &v8, &v12, m[0], m[1])
        g(&v1, &v5, &v9, &v13, m[2], m[3])
        g(&v2, &v6, &v10, &v14, m[4], m[5])
        g(&v3, &v7, &v11, &v15, m[6], m[7])
        g(&v0, &v5, &v10, &v15, m[8], m[9])
        g(&v1, &v6, &v11, &v12, m[10], m[11])
        g(&v2, &v7, &v8, &v13, m[12], m[13])
        g(&v3, &v4, &v9, &v14, m[14], m[15])
        // Round 2.
        g(&v0, &v4, &v8, &v12, m[2], m[6])
        g(&v1, &v5, &v9, &v13, m[3], m[10])
        g(&v2, &v6, &v10, &v14, m[7], m[0])
        g(&v3, &v7, &v11, &v15, m[4], m[13])
        g(&v0, &v5, &v10, &v15, m[1], m[11])
        g(&v1, &v6, &v11, &v12, m[12], m[5])
        g(&v2, &v7, &v8, &v13, m[9], m[14])
        g(&v3, &v4, &v9, &v14, m[15], m[8])
        // Round 3.
        g(&v0, &v4, &v8, &v12, m[3], m[4])
        g(&v1, &v5, &v9, &v13, m[10], m[12])
        g(&v2, &v6, &v10, &v14, m[13], m[2])
        g(&v3, &v7, &v11, &v15, m[7], m[14])
        g(&v0, &v5, &v10, &v15, m[6], m[5])
        g(&v1, &v6, &v11, &v12, m[9], m[0])
        g(&v2, &v7, &v8, &v13, m[11], m[15])
        g(&v3, &v4, &v9, &v14, m[8], m[1])
        // Round 4.
        g(&v0, &v4, &v8, &v12, m[10], m[7])
        g(&v1, &v5, &v9, &v13, m[12], m[9])
        g(&v2, &v6, &v10, &v14, m[14], m[3])
        g(&v3, &v7, &v11, &v15, m[13], m[15])
        g(&v0, &v5, &v10, &v15, m[4], m[0])
        g(&v1, &v6, &v11, &v12, m[11], m[2])
        g(&v2, &v7, &v8, &v13, m[5], m[8])
        g(&v3, &v4, &v9, &v14, m[1], m[6])
        // Round 5.
        g(&v0, &v4, &v8, &v12, m[12], m[13])
        g(&v1, &v5, &v9, &v13, m[9], m[11])
        g(&v2, &v6, &v10, &v14, m[15], m[10])
        g(&v3, &v7, &v11, &v15, m[14], m[8])
        g(&v0, &v5, &v10, &v15, m[7], m[2])
        g(&v1, &v6, &v11, &v12, m[5], m[3])
        g(&v2, &v7, &v8, &v13, m[0], m[1])
        g(&v3, &v4, &v9, &v14, m[6], m[4])
        // Round 6.
        g(&v0, &v4, &v8, &v12, m[9], m[14])
        g(&v1, &v5, &v9, &v13, m[11], m[5])
        g(&v2, &v6, &v10, &v14, m[8], m[12])
        g(&v3, &v7, &v11, &v15, m[15], m[1])
        g(&v0, &v5, &v10, &v15, m[13], m[3])
        g(&v1, &v6, &v11, &v12, m[0], m[10])
        g(&v2, &v7, &v8, &v13, m[2], m[6])
        g(&v3, &v4, &v9, &v14, m[4], m[7])
        // Round 7.
        g(&v0, &v4, &v8, &v12, m[11], m[15])
        g(&v1, &v5, &v9, &v13, m[5], m[0])
        g(&v2, &v6, &v10, &v14, m[1], m[9])
        g(&v3, &v7, &v11, &v15, m[8], m[6])
        g(&v0, &v5, &v10, &v15, m[14], m[10])
        g(&v1, &v6, &v11, &v12, m[2], m[12])
        g(&v2, &v7, &v8, &v13, m[3], m[4])
        g(&v3, &v4, &v9, &v14, m[7], m[13])
        cv[0] = v0 ^ v8
        cv[1] = v1 ^ v9
        cv[2] = v2 ^ v10
        cv[3] = v3 ^ v11
        cv[4] = v4 ^ v12
        cv[5] = v5 ^ v13
        cv[6] = v6 ^ v14
        cv[7] = v7 ^ v15
    }

    /// Hashes four equal-length inputs of at most 1024 bytes starting at `inputs[k]`, lane k.
    static func hash4(
        _ inputs: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer), length: Int,
        key: Key = .plain
    ) -> (Digest, Digest, Digest, Digest) {
        precondition(length <= 1024)
        return withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 24) { buffer in
            let cv = buffer.baseAddress!
            let m = cv + 8
            for i in 0..<8 { cv[i] = Lanes(repeating: key.words[i]) }
            let blocks = max(1, (length + 63) / 64)
            for b in 0..<blocks {
                let start = b * 64
                let len = min(64, length - start)
                let words = len / 4
                for i in 0..<16 {
                    if i < words {
                        let o = start + 4 * i
                        m[i] = Lanes(
                            inputs.0.loadUnaligned(fromByteOffset: o, as: UInt32.self),
                            inputs.1.loadUnaligned(fromByteOffset: o, as: UInt32.self),
                            inputs.2.loadUnaligned(fromByteOffset: o, as: UInt32.self),
                            inputs.3.loadUnaligned(fromByteOffset: o, as: UInt32.self))
                    } else {
                        m[i] = Lanes(repeating: 0)
                    }
                }
                // Tail bytes of a length that is not a multiple of 4.
                if words < 16 && words * 4 < len {
                    var tail = Lanes(repeating: 0)
                    for k in 0..<(len - words * 4) {
                        let o = start + words * 4 + k
                        let shift = UInt32(8 * k)
                        tail =
                            tail
                            | Lanes(
                                UInt32(inputs.0.load(fromByteOffset: o, as: UInt8.self)) << shift,
                                UInt32(inputs.1.load(fromByteOffset: o, as: UInt8.self)) << shift,
                                UInt32(inputs.2.load(fromByteOffset: o, as: UInt8.self)) << shift,
                                UInt32(inputs.3.load(fromByteOffset: o, as: UInt8.self)) << shift)
                    }
                    m[words] = tail
                }
                var flags: UInt32 = key.flags
                if b == 0 { flags |= chunkStart }
                if b == blocks - 1 { flags |= chunkEnd | root }
                compress4(cv, m, counter: 0, blockLength: Lanes(repeating: UInt32(max(0, len))), flags: flags)
            }
            func lane(_ k: Int) -> Digest {
                Digest(
                    UInt64(cv[0][k]) | UInt64(cv[1][k]) << 32, UInt64(cv[2][k]) | UInt64(cv[3][k]) << 32,
                    UInt64(cv[4][k]) | UInt64(cv[5][k]) << 32, UInt64(cv[6][k]) | UInt64(cv[7][k]) << 32)
            }
            return (lane(0), lane(1), lane(2), lane(3))
        }
    }
}
