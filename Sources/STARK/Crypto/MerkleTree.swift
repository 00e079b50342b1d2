/// A row-major matrix of base-field elements: the committed form of an LDE (one row per leaf).
public struct RowMatrix: Sendable {
    /// Elements per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// Row-major storage, `height * width` elements.
    public var data: [Goldilocks]

    public init(width: Int, height: Int, data: [Goldilocks]) {
        precondition(data.count == width * height)
        self.width = width
        self.height = height
        self.data = data
    }

    /// Transposes equal-length columns into a row-major matrix.
    init(columns: [[Goldilocks]], threads: Int) {
        let w = columns.count
        let h = columns.first?.count ?? 0
        width = w
        height = h
        var data = [Goldilocks](repeating: .zero, count: w * h)
        data.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable(out)
            parallelForEach(count: w, threads: threads) { c in
                columns[c].withUnsafeBufferPointer { col in
                    let o = box.value
                    for r in 0..<h { o[r * w + c] = col[r] }
                }
            }
        }
        self.data = data
    }

    /// One row as an array.
    public func row(_ r: Int) -> [Goldilocks] { Array(data[(r * width)..<((r + 1) * width)]) }
}

/// A binary Merkle tree over BLAKE3-256; leaf i is the hash of row i's elements (8 bytes LE each).
///
/// Leaves and internal nodes are hashed under different BLAKE3 keys (``leafKey``, ``nodeKey``), so a
/// leaf can never be passed off as a node: a 64-byte row (8 elements) and the two children of a node
/// are the same length but hash to unrelated digests.
public struct MerkleTree: Sendable {
    /// The key of leaf hashes.
    public static let leafKey = Blake3.Key(context: "zkthreads-stark/v1/merkle/leaf")
    /// The key of internal-node hashes.
    public static let nodeKey = Blake3.Key(context: "zkthreads-stark/v1/merkle/node")

    /// Nodes in heap order: node 1 is the root, the children of k are 2k and 2k+1, leaves at [n, 2n).
    let nodes: [Digest]
    /// Number of leaves (a power of two).
    public let leafCount: Int

    /// The root commitment.
    public var root: Digest { nodes[1] }

    /// Hashes each row of `matrix` and builds the tree.
    public init(matrix: RowMatrix, threads: Int) {
        let leaves = MerkleTree.hashRows(matrix, threads: threads)
        self.init(leaves: leaves, threads: threads)
    }

    /// Builds a tree over precomputed leaf digests (count a power of two, at least 1).
    public init(leaves: [Digest], threads: Int) {
        let n = leaves.count
        precondition(n > 0 && n & (n - 1) == 0, "leaf count must be a power of two")
        leafCount = n
        var nodes = [Digest](repeating: .zero, count: 2 * n)
        nodes.withUnsafeMutableBufferPointer { buf in
            for i in 0..<n { buf[n + i] = leaves[i] }
            let box = UncheckedSendable(buf)
            var levelStart = n / 2
            while levelStart >= 1 {
                let start = levelStart
                parallelChunks(count: start, threads: threads, minChunk: 4096) { range in
                    let b = box.value
                    let raw = UnsafeRawPointer(b.baseAddress!)
                    var k = range.lowerBound
                    // Four nodes at a time: their children are 4 contiguous 64-byte messages.
                    while k + 4 <= range.upperBound {
                        let node = start + k
                        let at = raw + 2 * node * MemoryLayout<Digest>.stride
                        let h = Blake3.hash4((at, at + 64, at + 128, at + 192), length: 64, key: MerkleTree.nodeKey)
                        b[node] = h.0
                        b[node + 1] = h.1
                        b[node + 2] = h.2
                        b[node + 3] = h.3
                        k += 4
                    }
                    while k < range.upperBound {
                        let node = start + k
                        b[node] = Blake3.hash(b[2 * node], b[2 * node + 1], key: MerkleTree.nodeKey)
                        k += 1
                    }
                }
                levelStart /= 2
            }
        }
        if n == 1 { nodes[1] = leaves[0] }
        self.nodes = nodes
    }

    /// Leaf digests of every row, in parallel; no allocation per row.
    static func hashRows(_ matrix: RowMatrix, threads: Int) -> [Digest] {
        let w = matrix.width
        return matrix.data.withUnsafeBytes { raw in
            let box = UncheckedSendable(raw)
            return parallelArray(count: matrix.height, threads: threads, minChunk: 512) { range, out in
                let rowBytes = w * 8
                var r = range.lowerBound
                if rowBytes <= 1024, let base = box.value.baseAddress {
                    while r + 4 <= range.upperBound {
                        let at = base + r * rowBytes
                        let h = Blake3.hash4(
                            (at, at + rowBytes, at + 2 * rowBytes, at + 3 * rowBytes), length: rowBytes,
                            key: leafKey)
                        (out.baseAddress! + r).initialize(to: h.0)
                        (out.baseAddress! + r + 1).initialize(to: h.1)
                        (out.baseAddress! + r + 2).initialize(to: h.2)
                        (out.baseAddress! + r + 3).initialize(to: h.3)
                        r += 4
                    }
                }
                while r < range.upperBound {
                    let slice = UnsafeRawBufferPointer(rebasing: box.value[(r * rowBytes)..<((r + 1) * rowBytes)])
                    (out.baseAddress! + r).initialize(to: Blake3.hash(slice, key: leafKey))
                    r += 1
                }
            }
        }
    }

    /// Hashes one row the way leaves are hashed.
    public static func hashLeaf(_ row: [Goldilocks]) -> Digest {
        row.withUnsafeBytes { Blake3.hash($0, key: leafKey) }
    }

    /// Hashes two children the way internal nodes are hashed.
    public static func hashNode(_ left: Digest, _ right: Digest) -> Digest {
        Blake3.hash(left, right, key: nodeKey)
    }

    /// The sibling nodes that authenticate the leaves at `indices` (sorted, distinct), bottom-up.
    public func batchProof(indices: [Int]) -> [Digest] {
        var proof: [Digest] = []
        var known = indices.map { $0 + leafCount }
        while known.first.map({ $0 > 1 }) ?? false {
            var next: [Int] = []
            next.reserveCapacity(known.count)
            var i = 0
            while i < known.count {
                let node = known[i]
                let sibling = node ^ 1
                if i + 1 < known.count && known[i + 1] == sibling {
                    i += 2
                } else {
                    proof.append(nodes[sibling])
                    i += 1
                }
                next.append(node >> 1)
            }
            known = next
        }
        return proof
    }

    /// Recomputes the root from leaf digests at sorted distinct `indices` and the batch proof.
    ///
    /// Returns `nil` when the proof has too few or too many nodes or the indices are malformed.
    public static func root(
        leafCount: Int, indices: [Int], leaves: [Digest], proof: [Digest]
    ) -> Digest? {
        guard leafCount > 0, leafCount & (leafCount - 1) == 0, indices.count == leaves.count,
            !indices.isEmpty
        else { return nil }
        for i in 0..<indices.count {
            guard indices[i] >= 0, indices[i] < leafCount else { return nil }
            if i > 0 && indices[i] <= indices[i - 1] { return nil }
        }
        var known = zip(indices.map { $0 + leafCount }, leaves).map { ($0, $1) }
        var cursor = 0
        while let first = known.first, first.0 > 1 {
            var next: [(Int, Digest)] = []
            next.reserveCapacity(known.count)
            var i = 0
            while i < known.count {
                let (node, digest) = known[i]
                let sibling: Digest
                if i + 1 < known.count && known[i + 1].0 == node ^ 1 {
                    sibling = known[i + 1].1
                    i += 2
                } else {
                    guard cursor < proof.count else { return nil }
                    sibling = proof[cursor]
                    cursor += 1
                    i += 1
                }
                let parent = node & 1 == 0 ? hashNode(digest, sibling) : hashNode(sibling, digest)
                next.append((node >> 1, parent))
            }
            known = next
        }
        guard cursor == proof.count, let top = known.first else { return nil }
        return top.1
    }
}
