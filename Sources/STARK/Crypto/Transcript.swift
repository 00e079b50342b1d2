/// The Fiat–Shamir transcript: a BLAKE3 hash chain from which every verifier challenge is drawn.
///
/// The prover and the verifier build it identically. It is seeded with the protocol tag, the AIR's
/// identity and shape, the trace length, the proof options and every public input element, so no
/// challenge can be drawn before all of those are bound.
///
/// Each operation hashes under its own BLAKE3 key (seed, absorb, draw, proof of work), so a draw
/// never equals the state an absorb of the same bytes would produce, and a proof-of-work hash is
/// never a draw or an absorb.
public struct Transcript: Sendable {
    static let seedKey = Blake3.Key(context: "zkthreads-stark/v1/transcript/seed")
    static let absorbKey = Blake3.Key(context: "zkthreads-stark/v1/transcript/absorb")
    static let drawKey = Blake3.Key(context: "zkthreads-stark/v1/transcript/draw")
    static let powKey = Blake3.Key(context: "zkthreads-stark/v1/transcript/proof-of-work")

    /// The current chaining state.
    public private(set) var state: Digest
    private var counter: UInt64 = 0

    /// Starts a transcript from an arbitrary seed (already a serialization of the statement).
    public init(seed: [UInt8]) {
        state = Blake3.hash(seed, key: Transcript.seedKey)
    }

    /// Absorbs raw bytes.
    public mutating func absorb(bytes: [UInt8]) {
        state = Blake3.hash(state.bytes + bytes, key: Transcript.absorbKey)
        counter = 0
    }

    /// Absorbs a commitment.
    public mutating func absorb(_ digest: Digest) {
        state = Blake3.hash(state, digest, key: Transcript.absorbKey)
        counter = 0
    }

    /// Absorbs extension-field elements (e.g. out-of-domain evaluations).
    public mutating func absorb(_ elements: [Ext2]) {
        var w = ByteWriter()
        for e in elements { w.write(e) }
        absorb(bytes: w.bytes)
    }

    /// The next 256 bits of challenge material: H_draw(state ‖ counter).
    mutating func nextWord() -> Digest {
        counter &+= 1
        return Blake3.hash(state, Digest(counter, 0, 0, 0), key: Transcript.drawKey)
    }

    /// Draws a uniform base-field element (rejection sampling on 64-bit words).
    public mutating func drawBase() -> Goldilocks {
        while true {
            let d = nextWord()
            for w in [d.w0, d.w1, d.w2, d.w3] {
                if let x = Goldilocks(exactly: w) { return x }
            }
        }
    }

    /// Draws a uniform extension-field element.
    public mutating func drawExt() -> Ext2 {
        let a = drawBase()
        let b = drawBase()
        return Ext2(a, b)
    }

    /// Draws `count` extension-field elements.
    public mutating func drawExt(count: Int) -> [Ext2] {
        (0..<count).map { _ in drawExt() }
    }

    /// Draws `count` distinct positions in `0..<domainSize` (a power of two), sorted.
    public mutating func drawPositions(count: Int, domainSize: Int) -> [Int] {
        precondition(domainSize > 0 && domainSize & (domainSize - 1) == 0 && count <= domainSize)
        var seen = Set<Int>()
        let mask = UInt64(domainSize - 1)
        while seen.count < count {
            let d = nextWord()
            for w in [d.w0, d.w1, d.w2, d.w3] where seen.count < count {
                seen.insert(Int(w & mask))
            }
        }
        return seen.sorted()
    }

    /// The number of leading zero bits of H(state ‖ nonce).
    public func powLeadingZeros(nonce: UInt64) -> Int {
        powHash(nonce: nonce).w0.byteSwapped.leadingZeroBitCount
    }

    /// H_pow(state ‖ nonce).
    func powHash(nonce: UInt64) -> Digest {
        Blake3.hash(state, Digest(nonce, 0x706f_7767_7269_6e64, 0, 0), key: Transcript.powKey)
    }

    /// Finds the smallest nonce whose work has at least `bits` leading zeros, searching on `threads`.
    public func grind(bits: Int, threads: Int) -> UInt64 {
        if bits == 0 { return 0 }
        let batch: UInt64 = 1 << 14
        var base: UInt64 = 0
        while true {
            let lanes = max(1, threads)
            var found = [UInt64](repeating: .max, count: lanes)
            let me = self
            found.withUnsafeMutableBufferPointer { out in
                let box = UncheckedSendable(out)
                parallelForEach(count: lanes, threads: lanes) { lane in
                    let start = base + UInt64(lane) * batch
                    for nonce in start..<(start + batch) where me.powLeadingZeros(nonce: nonce) >= bits {
                        box.value[lane] = nonce
                        return
                    }
                }
            }
            if let best = found.min(), best != .max { return best }
            base += batch * UInt64(lanes)
        }
    }

    /// Absorbs the proof-of-work nonce.
    public mutating func absorb(nonce: UInt64) {
        absorb(Digest(nonce, 0x706f_7767_7269_6e64, 0, 0))
    }
}
