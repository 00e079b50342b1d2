/// Rows opened from one committed matrix at the query positions, with their batch Merkle proof.
public struct MatrixOpening: Sendable, Equatable {
    /// One row per distinct query position, in ascending position order.
    public var rows: [[Goldilocks]]
    /// Sibling nodes authenticating all rows at once (see ``MerkleTree/batchProof(indices:)``).
    public var nodes: [Digest]
}

/// The opened leaves of one FRI layer.
public struct FRILayerOpening: Sendable, Equatable {
    /// For each distinct leaf index (ascending), the `foldingFactor` values that fold together.
    public var leaves: [[Ext2]]
    /// Sibling nodes authenticating the leaves.
    public var nodes: [Digest]
}

/// A STARK proof. Serializes to bytes with ``bytes`` and parses back with ``init(bytes:)``.
public struct Proof: Sendable, Equatable {
    /// The options the proof was made with (the verifier requires its own).
    public var options: ProofOptions
    /// Rows in the trace (a power of two).
    public var traceLength: Int
    /// Merkle roots of the main, auxiliary (if any) and composition LDE rows.
    public var mainRoot: Digest
    public var auxRoot: Digest?
    public var compositionRoot: Digest
    /// Main-column evaluations at the out-of-domain point z and at z·g.
    public var oodMainCurrent: [Ext2]
    public var oodMainNext: [Ext2]
    /// Auxiliary-column evaluations at z and z·g.
    public var oodAuxCurrent: [Ext2]
    public var oodAuxNext: [Ext2]
    /// Composition-column evaluations at z.
    public var oodComposition: [Ext2]
    /// FRI layer commitments.
    public var friRoots: [Digest]
    /// Coefficients of the FRI remainder polynomial.
    public var friRemainder: [Ext2]
    /// Proof-of-work nonce.
    public var powNonce: UInt64
    /// Rows opened at the query positions, and the FRI layers' opened leaves.
    public var mainOpening: MatrixOpening
    public var auxOpening: MatrixOpening?
    public var compositionOpening: MatrixOpening
    public var friOpenings: [FRILayerOpening]

    static let magic: [UInt8] = Array("ZKST".utf8)
    static let version: UInt8 = 1

    /// Parser limits: far above anything an honest prover emits, small enough to bound memory.
    enum Limits {
        static let width = 4096
        static let rows = 256
        static let nodes = 256 * 40
        static let friLayers = 40
        static let remainder = 256
        static let logTraceLength = 30
    }

    /// The serialized proof.
    public var bytes: [UInt8] {
        var w = ByteWriter()
        for b in Proof.magic { w.write(b) }
        w.write(Proof.version)
        options.write(to: &w)
        w.write(UInt8(truncatingIfNeeded: traceLength.trailingZeroBitCount))
        w.write(mainRoot)
        w.write(UInt8(auxRoot == nil ? 0 : 1))
        if let auxRoot { w.write(auxRoot) }
        w.write(compositionRoot)
        for list in [oodMainCurrent, oodMainNext, oodAuxCurrent, oodAuxNext, oodComposition, friRemainder] {
            w.writeCount(list.count)
            for e in list { w.write(e) }
        }
        w.writeCount(friRoots.count)
        for r in friRoots { w.write(r) }
        w.write(powNonce)
        Proof.write(mainOpening, to: &w)
        w.write(UInt8(auxOpening == nil ? 0 : 1))
        if let auxOpening { Proof.write(auxOpening, to: &w) }
        Proof.write(compositionOpening, to: &w)
        w.writeCount(friOpenings.count)
        for layer in friOpenings {
            w.writeCount(layer.leaves.count)
            w.writeCount(layer.leaves.first?.count ?? 0)
            for leaf in layer.leaves { for e in leaf { w.write(e) } }
            w.writeCount(layer.nodes.count)
            for n in layer.nodes { w.write(n) }
        }
        return w.bytes
    }

    static func write(_ o: MatrixOpening, to w: inout ByteWriter) {
        w.writeCount(o.rows.count)
        w.writeCount(o.rows.first?.count ?? 0)
        for row in o.rows { for e in row { w.write(e) } }
        w.writeCount(o.nodes.count)
        for n in o.nodes { w.write(n) }
    }

    static func readOpening(_ r: inout ByteReader) throws(ParseError) -> MatrixOpening {
        let count = try r.readCount("opened rows", limit: Limits.rows, elementSize: 0)
        let width = try r.readCount("row width", limit: Limits.width, elementSize: 0)
        guard count * width * 8 <= r.remaining else { throw .truncated(offset: r.offset, needed: count * width * 8) }
        var rows: [[Goldilocks]] = []
        rows.reserveCapacity(count)
        for _ in 0..<count {
            var row: [Goldilocks] = []
            row.reserveCapacity(width)
            for _ in 0..<width { row.append(try r.readBase()) }
            rows.append(row)
        }
        let n = try r.readCount("Merkle nodes", limit: Limits.nodes, elementSize: 32)
        var nodes: [Digest] = []
        nodes.reserveCapacity(n)
        for _ in 0..<n { nodes.append(try r.readDigest()) }
        return MatrixOpening(rows: rows, nodes: nodes)
    }

    static func readExtList(_ r: inout ByteReader, _ what: String, limit: Int) throws(ParseError) -> [Ext2] {
        let n = try r.readCount(what, limit: limit, elementSize: 16)
        var out: [Ext2] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try r.readExt()) }
        return out
    }

    /// Parses untrusted bytes; throws ``ParseError`` on anything malformed, never traps.
    public init(bytes: [UInt8]) throws(ParseError) {
        var r = ByteReader(bytes)
        for b in Proof.magic {
            guard try r.readUInt8() == b else { throw .invalid("bad magic") }
        }
        let version = try r.readUInt8()
        guard version == Proof.version else { throw .invalid("unsupported proof version \(version)") }
        options = try ProofOptions.read(from: &r)
        let logN = Int(try r.readUInt8())
        guard logN >= 1, logN <= Limits.logTraceLength else { throw .invalid("trace length 2^\(logN) out of range") }
        traceLength = 1 << logN
        mainRoot = try r.readDigest()
        let hasAux = try r.readUInt8()
        guard hasAux <= 1 else { throw .invalid("bad auxiliary flag") }
        auxRoot = hasAux == 1 ? try r.readDigest() : nil
        compositionRoot = try r.readDigest()
        oodMainCurrent = try Proof.readExtList(&r, "OOD main values", limit: Limits.width)
        oodMainNext = try Proof.readExtList(&r, "OOD main values", limit: Limits.width)
        oodAuxCurrent = try Proof.readExtList(&r, "OOD aux values", limit: Limits.width)
        oodAuxNext = try Proof.readExtList(&r, "OOD aux values", limit: Limits.width)
        oodComposition = try Proof.readExtList(&r, "OOD composition values", limit: Limits.width)
        friRemainder = try Proof.readExtList(&r, "FRI remainder coefficients", limit: Limits.remainder)
        let rootCount = try r.readCount("FRI layers", limit: Limits.friLayers, elementSize: 32)
        var roots: [Digest] = []
        for _ in 0..<rootCount { roots.append(try r.readDigest()) }
        friRoots = roots
        powNonce = try r.readUInt64()
        mainOpening = try Proof.readOpening(&r)
        let hasAuxOpening = try r.readUInt8()
        guard hasAuxOpening <= 1 else { throw .invalid("bad auxiliary opening flag") }
        auxOpening = hasAuxOpening == 1 ? try Proof.readOpening(&r) : nil
        compositionOpening = try Proof.readOpening(&r)
        let layerCount = try r.readCount("FRI layer openings", limit: Limits.friLayers, elementSize: 0)
        var layers: [FRILayerOpening] = []
        for _ in 0..<layerCount {
            let count = try r.readCount("FRI leaves", limit: Limits.rows, elementSize: 0)
            let width = try r.readCount("FRI leaf width", limit: 16, elementSize: 0)
            guard count * width * 16 <= r.remaining else {
                throw .truncated(offset: r.offset, needed: count * width * 16)
            }
            var leaves: [[Ext2]] = []
            for _ in 0..<count {
                var leaf: [Ext2] = []
                for _ in 0..<width { leaf.append(try r.readExt()) }
                leaves.append(leaf)
            }
            let n = try r.readCount("FRI Merkle nodes", limit: Limits.nodes, elementSize: 32)
            var nodes: [Digest] = []
            for _ in 0..<n { nodes.append(try r.readDigest()) }
            layers.append(FRILayerOpening(leaves: leaves, nodes: nodes))
        }
        friOpenings = layers
        guard r.remaining == 0 else { throw .trailingBytes(count: r.remaining) }
    }

    init(
        options: ProofOptions, traceLength: Int, mainRoot: Digest, auxRoot: Digest?, compositionRoot: Digest,
        oodMainCurrent: [Ext2], oodMainNext: [Ext2], oodAuxCurrent: [Ext2], oodAuxNext: [Ext2],
        oodComposition: [Ext2], friRoots: [Digest], friRemainder: [Ext2], powNonce: UInt64,
        mainOpening: MatrixOpening, auxOpening: MatrixOpening?, compositionOpening: MatrixOpening,
        friOpenings: [FRILayerOpening]
    ) {
        self.options = options
        self.traceLength = traceLength
        self.mainRoot = mainRoot
        self.auxRoot = auxRoot
        self.compositionRoot = compositionRoot
        self.oodMainCurrent = oodMainCurrent
        self.oodMainNext = oodMainNext
        self.oodAuxCurrent = oodAuxCurrent
        self.oodAuxNext = oodAuxNext
        self.oodComposition = oodComposition
        self.friRoots = friRoots
        self.friRemainder = friRemainder
        self.powNonce = powNonce
        self.mainOpening = mainOpening
        self.auxOpening = auxOpening
        self.compositionOpening = compositionOpening
        self.friOpenings = friOpenings
    }
}
