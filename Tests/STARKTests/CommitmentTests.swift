import Testing

@testable import STARK

@Suite struct CommitmentTests {
    /// Reference outputs of the official BLAKE3 implementation on inputs `i % 251`.
    static let vectors: [(Int, String)] = [
        (0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
        (1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"),
        (63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"),
        (64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"),
        (65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"),
        (1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"),
        (1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"),
        (1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"),
        (2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"),
        (3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"),
        (5000, "ee78d92070de3df1c57c37002abf0a6b1a6589acdeef4d8ffac7cf3d9e8f2836"),
    ]

    @Test func blake3MatchesReferenceVectors() {
        for (n, hex) in Self.vectors {
            let input = (0..<n).map { UInt8($0 % 251) }
            #expect(Blake3.hash(input).description == hex, "input length \(n)")
        }
    }

    /// Reference keyed-hash outputs (official vectors, key "whats the Elvish word for friend").
    static let keyedVectors: [(Int, String)] = [
        (0, "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26"),
        (1, "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b"),
        (64, "ba8ced36f327700d213f120b1a207a3b8c04330528586f414d09f2f7d9ccb7e6"),
        (1024, "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4"),
        (1025, "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69"),
        (8192, "dc9637c8845a770b4cbf76b8daec0eebf7dc2eac11498517f08d44c8fc00d58a"),
    ]

    @Test func keyedBlake3MatchesReferenceVectors() {
        let keyBytes = [UInt8]("whats the Elvish word for friend".utf8)
        let key = keyBytes.withUnsafeBytes { raw in
            Digest(
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
        for (n, hex) in Self.keyedVectors {
            let input = (0..<n).map { UInt8($0 % 251) }
            #expect(Blake3.hash(input, key: Blake3.Key(key: key)).description == hex, "input length \(n)")
        }
        // The 64-byte node form agrees with the byte form under a key.
        let input = (0..<64).map { UInt8($0 % 251) }
        let halves = input.withUnsafeBytes { raw in
            (0..<8).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) }
        }
        let left = Digest(halves[0], halves[1], halves[2], halves[3])
        let right = Digest(halves[4], halves[5], halves[6], halves[7])
        #expect(Blake3.hash(left, right, key: Blake3.Key(key: key)).description == Self.keyedVectors[2].1)
    }

    @Test func aLeafHashNeverEqualsANodeHashOfTheSameBytes() {
        // Eight elements are 64 bytes: exactly the input of an internal node.
        var rng = TestRNG(seed: 5)
        for _ in 0..<16 {
            let row = (0..<8).map { _ in rng.base() }
            let words = row.map(\.value)
            let left = Digest(words[0], words[1], words[2], words[3])
            let right = Digest(words[4], words[5], words[6], words[7])
            #expect(MerkleTree.hashLeaf(row) != MerkleTree.hashNode(left, right))
            #expect(MerkleTree.hashLeaf(row) != Blake3.hash(left, right))
            #expect(MerkleTree.hashNode(left, right) != Blake3.hash(left, right))
        }
        // A tree's root is the node hash of its leaf hashes.
        let m = RowMatrix(width: 8, height: 2, data: (0..<16).map { Goldilocks(UInt64($0)) })
        let tree = MerkleTree(matrix: m, threads: 1)
        let leaves = (0..<2).map { MerkleTree.hashLeaf(m.row($0)) }
        #expect(tree.root == MerkleTree.hashNode(leaves[0], leaves[1]))
    }

    @Test func nodeHashEqualsHashOfConcatenation() {
        let a = Digest(1, 2, 3, 4), b = Digest(5, 6, 7, 8)
        #expect(Blake3.hash(a, b) == Blake3.hash(a.bytes + b.bytes))
    }

    func matrix(rows: Int, width: Int, seed: UInt64) -> RowMatrix {
        var rng = TestRNG(seed: seed)
        return RowMatrix(width: width, height: rows, data: (0..<(rows * width)).map { _ in rng.base() })
    }

    @Test(arguments: [1, 2])
    func batchProofsVerifyAndRejectTampering(threads: Int) {
        let m = matrix(rows: 64, width: 3, seed: 11)
        let tree = MerkleTree(matrix: m, threads: threads)
        let indices = [0, 1, 5, 17, 40, 63]
        let proof = tree.batchProof(indices: indices)
        let leaves = indices.map { MerkleTree.hashLeaf(m.row($0)) }
        #expect(MerkleTree.root(leafCount: 64, indices: indices, leaves: leaves, proof: proof) == tree.root)
        // A wrong leaf, a wrong node, a missing or extra node, or unsorted indices all fail.
        var badLeaves = leaves
        badLeaves[2] = MerkleTree.hashLeaf([Goldilocks(9)])
        #expect(MerkleTree.root(leafCount: 64, indices: indices, leaves: badLeaves, proof: proof) != tree.root)
        var badProof = proof
        badProof[0].w0 ^= 1
        #expect(MerkleTree.root(leafCount: 64, indices: indices, leaves: leaves, proof: badProof) != tree.root)
        #expect(MerkleTree.root(leafCount: 64, indices: indices, leaves: leaves, proof: Array(proof.dropLast())) == nil)
        #expect(MerkleTree.root(leafCount: 64, indices: indices, leaves: leaves, proof: proof + [.zero]) == nil)
        #expect(MerkleTree.root(leafCount: 64, indices: [1, 0], leaves: Array(leaves[0..<2]), proof: proof) == nil)
        #expect(MerkleTree.root(leafCount: 64, indices: [64], leaves: [leaves[0]], proof: proof) == nil)
    }

    @Test func treeIsIndependentOfThreadCount() {
        let m = matrix(rows: 1 << 12, width: 5, seed: 12)
        #expect(MerkleTree(matrix: m, threads: 1).root == MerkleTree(matrix: m, threads: 4).root)
    }

    @Test func transcriptIsDeterministicAndBindsEverything() {
        var a = Transcript(seed: [1, 2, 3])
        var b = Transcript(seed: [1, 2, 3])
        var c = Transcript(seed: [1, 2, 4])
        #expect(a.drawExt() == b.drawExt())
        #expect(a.drawExt() != c.drawExt())
        a.absorb(Digest(1, 0, 0, 0))
        b.absorb(Digest(2, 0, 0, 0))
        #expect(a.drawExt() != b.drawExt())
        let positions = a.drawPositions(count: 20, domainSize: 64)
        #expect(positions.count == 20)
        #expect(Set(positions).count == 20)
        #expect(positions == positions.sorted())
        #expect(positions.allSatisfy { $0 >= 0 && $0 < 64 })
    }

    @Test func drawsProofOfWorkAndAbsorbsOfTheSameDataDiffer() {
        let t = Transcript(seed: [9])
        for counter in UInt64(1)...8 {
            // The k-th draw hashes (state, counter); absorbing the same 64 bytes gives another digest.
            var drawing = t
            var word = Digest.zero
            for _ in 0..<counter { word = drawing.nextWord() }
            var absorbing = t
            absorbing.absorb(Digest(counter, 0, 0, 0))
            #expect(word != absorbing.state)
            #expect(word != Blake3.hash(t.state, Digest(counter, 0, 0, 0)))
        }
        // The proof-of-work hash of a nonce is neither the absorb of that nonce nor a draw.
        for nonce in UInt64(0)..<8 {
            var absorbing = t
            absorbing.absorb(nonce: nonce)
            #expect(t.powHash(nonce: nonce) != absorbing.state)
        }
        // The seed is keyed too: a transcript seeded with bytes is not their plain hash.
        #expect(Transcript(seed: [1, 2, 3]).state != Blake3.hash([1, 2, 3]))
    }

    @Test func grindingFindsTheSmallestValidNonce() {
        let t = Transcript(seed: [7])
        let nonce = t.grind(bits: 8, threads: 1)
        #expect(t.powLeadingZeros(nonce: nonce) >= 8)
        #expect(t.grind(bits: 8, threads: 3) == nonce)
        for smaller in 0..<nonce { #expect(t.powLeadingZeros(nonce: smaller) < 8) }
    }
}

@Suite struct FourWayHashTests {
    @Test(arguments: [0, 1, 7, 32, 64, 65, 152, 1024])
    func fourWayMatchesSingleHash(length: Int) {
        var rng = TestRNG(seed: UInt64(length) + 1)
        var flat = [UInt8](repeating: 0, count: 4 * length + 1)
        for i in 0..<(4 * length) { flat[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let expected = (0..<4).map { k in Blake3.hash(Array(flat[(k * length)..<((k + 1) * length)])) }
        let got = flat.withUnsafeBytes { raw -> [Digest] in
            let b = raw.baseAddress!
            let h = Blake3.hash4((b, b + length, b + 2 * length, b + 3 * length), length: length)
            return [h.0, h.1, h.2, h.3]
        }
        #expect(got == expected)
    }

    @Test(arguments: [0, 1, 64, 65, 1024])
    func keyedFourWayMatchesKeyedSingleHash(length: Int) {
        var rng = TestRNG(seed: UInt64(length) + 7)
        var flat = [UInt8](repeating: 0, count: 4 * length + 1)
        for i in 0..<(4 * length) { flat[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let key = MerkleTree.leafKey
        let expected = (0..<4).map { k in Blake3.hash(Array(flat[(k * length)..<((k + 1) * length)]), key: key) }
        let got = flat.withUnsafeBytes { raw -> [Digest] in
            let b = raw.baseAddress!
            let h = Blake3.hash4((b, b + length, b + 2 * length, b + 3 * length), length: length, key: key)
            return [h.0, h.1, h.2, h.3]
        }
        #expect(got == expected)
    }

    @Test func treeLeavesMatchSingleRowHashes() {
        var rng = TestRNG(seed: 99)
        for width in [1, 3, 19, 130] {
            let rows = 10
            let m = RowMatrix(width: width, height: rows, data: (0..<(rows * width)).map { _ in rng.base() })
            let leaves = MerkleTree.hashRows(m, threads: 1)
            #expect(leaves == (0..<rows).map { MerkleTree.hashLeaf(m.row($0)) }, "width \(width)")
        }
    }
}
