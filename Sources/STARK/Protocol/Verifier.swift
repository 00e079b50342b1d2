/// Checks STARK proofs for any ``AIR``.
public enum Verifier {
    /// Verifies proof bytes against the AIR built from `publicInputs`; throws unless the proof is valid.
    ///
    /// `options` are the options the verifier requires: a proof made with any other options is
    /// rejected, and options below ``SecurityFloor/standard`` are refused with
    /// ``STARKError/invalidOptions(_:)`` before any proof is looked at. The options are never taken
    /// from the proof. Untrusted bytes never trap: malformed input throws
    /// ``STARKError/malformedProof(_:)``.
    public static func verify<A: AIR>(
        air: A.Type, proof bytes: [UInt8], publicInputs: A.PublicInputs, options: ProofOptions = .default
    ) throws(STARKError) {
        try verify(air: air, proof: bytes, publicInputs: publicInputs, options: options, floor: .standard)
    }

    /// Verifies a parsed proof against an AIR instance, with the options the caller requires.
    ///
    /// Rejects a proof whose options differ from `options`, and refuses `options` below
    /// ``SecurityFloor/standard``.
    public static func verify<A: AIR>(air: A, proof: Proof, options: ProofOptions) throws(STARKError) {
        try verify(air: air, proof: proof, options: options, floor: .standard)
    }

    static func verify<A: AIR>(
        air: A.Type, proof bytes: [UInt8], publicInputs: A.PublicInputs, options: ProofOptions, floor: SecurityFloor
    ) throws(STARKError) {
        try options.validate()
        let proof: Proof
        do { proof = try Proof(bytes: bytes) } catch { throw .malformedProof(error) }
        guard proof.options == options else {
            throw .rejected("proof uses options (\(proof.options)), the verifier requires (\(options))")
        }
        try floor.check(options, traceLength: proof.traceLength)
        let instance = try A(traceLength: proof.traceLength, publicInputs: publicInputs)
        try verify(air: instance, proof: proof, options: options, floor: floor)
    }

    static func verify<A: AIR>(
        air: A, proof: Proof, options: ProofOptions, floor: SecurityFloor
    ) throws(STARKError) {
        guard proof.options == options else {
            throw .rejected("proof uses options (\(proof.options)), the verifier requires (\(options))")
        }
        try floor.check(options, traceLength: proof.traceLength)
        let n = proof.traceLength
        try validateShape(air: air, traceLength: n, options: options)
        let domain = Domain(traceLength: n, blowup: options.blowupFactor)
        let m = domain.ldeSize
        let compositionColumns = air.compositionColumns
        let schedule = FRISchedule(traceLength: n, options: options)
        func reject(_ why: String) -> STARKError { .rejected(why) }

        // Shape of every part, before any arithmetic.
        guard proof.oodMainCurrent.count == air.mainWidth, proof.oodMainNext.count == air.mainWidth,
            proof.oodAuxCurrent.count == air.auxWidth, proof.oodAuxNext.count == air.auxWidth,
            proof.oodComposition.count == compositionColumns
        else { throw reject("out-of-domain frame has the wrong shape") }
        guard (proof.auxRoot != nil) == (air.auxWidth > 0), (proof.auxOpening != nil) == (air.auxWidth > 0) else {
            throw reject("auxiliary segment presence does not match the AIR")
        }
        guard proof.friRoots.count == schedule.layerDomainSizes.count,
            proof.friOpenings.count == schedule.layerDomainSizes.count,
            proof.friRemainder.count == schedule.remainderLength
        else { throw reject("FRI layer structure does not match the options") }

        // Replay the transcript.
        var transcript = Transcript(seed: statementSeed(air: air, options: options))
        transcript.absorb(proof.mainRoot)
        var challenges: [Ext2] = []
        if let auxRoot = proof.auxRoot {
            challenges = transcript.drawExt(count: air.auxChallengeCount)
            transcript.absorb(auxRoot)
        }
        let mainAssertions = air.mainAssertions()
        let auxAssertions = air.auxAssertions(challenges: challenges)
        for a in mainAssertions where a.column < 0 || a.column >= air.mainWidth || a.row < 0 || a.row >= n {
            throw reject("AIR assertion out of range")
        }
        for a in auxAssertions where a.column < 0 || a.column >= air.auxWidth || a.row < 0 || a.row >= n {
            throw reject("AIR auxiliary assertion out of range")
        }
        let coefficients = CompositionCoefficients(
            transition: transcript.drawExt(count: air.allTransitionConstraints.count),
            mainBoundary: transcript.drawExt(count: mainAssertions.count),
            auxBoundary: transcript.drawExt(count: auxAssertions.count))
        transcript.absorb(proof.compositionRoot)
        let z = transcript.drawExt()
        let zNext = z * domain.traceGenerator
        for values in [
            proof.oodMainCurrent, proof.oodMainNext, proof.oodAuxCurrent, proof.oodAuxNext, proof.oodComposition,
        ] {
            transcript.absorb(values)
        }

        // Out-of-domain consistency: the constraints evaluated on the claimed frame must equal the
        // claimed composition value H(z) = Σ_j z^(j·n)·H_j(z).
        let frame = EvaluationFrame(
            current: proof.oodMainCurrent, next: proof.oodMainNext,
            auxCurrent: proof.oodAuxCurrent, auxNext: proof.oodAuxNext)
        guard
            let expected = compositionAt(
                air: air, x: z, frame: frame, challenges: challenges, coefficients: coefficients,
                mainAssertions: mainAssertions, auxAssertions: auxAssertions, domain: domain)
        else { throw reject("out-of-domain point hit the trace domain") }
        let zn = z.power(UInt64(n))
        var claimed = Ext2.zero
        var zPower = Ext2.one
        for h in proof.oodComposition {
            claimed += h * zPower
            zPower = zPower * zn
        }
        guard claimed == expected else {
            throw reject("constraint evaluations at the out-of-domain point do not match")
        }

        // DEEP and FRI challenges.
        let deep = DeepCoefficients(
            transcript: &transcript, mainWidth: air.mainWidth, auxWidth: air.auxWidth,
            compositionColumns: compositionColumns)
        var betas: [Ext2] = []
        for root in proof.friRoots {
            transcript.absorb(root)
            betas.append(transcript.drawExt())
        }
        transcript.absorb(proof.friRemainder)
        guard transcript.powLeadingZeros(nonce: proof.powNonce) >= options.grindingBits else {
            throw reject("insufficient proof of work")
        }
        transcript.absorb(nonce: proof.powNonce)
        let positions = transcript.drawPositions(count: options.numQueries, domainSize: m)

        // Trace and composition openings.
        func check(_ opening: MatrixOpening, width: Int, root: Digest, _ what: String) throws(STARKError) {
            guard opening.rows.count == positions.count, opening.rows.allSatisfy({ $0.count == width }) else {
                throw reject("\(what) opening has the wrong shape")
            }
            let leaves = opening.rows.map(MerkleTree.hashLeaf)
            guard MerkleTree.root(leafCount: m, indices: positions, leaves: leaves, proof: opening.nodes) == root else {
                throw reject("\(what) opening does not match its commitment")
            }
        }
        try check(proof.mainOpening, width: air.mainWidth, root: proof.mainRoot, "main trace")
        if let auxOpening = proof.auxOpening, let auxRoot = proof.auxRoot {
            try check(auxOpening, width: 2 * air.auxWidth, root: auxRoot, "auxiliary trace")
        }
        try check(proof.compositionOpening, width: 2 * compositionColumns, root: proof.compositionRoot, "composition")

        // DEEP composition values at the query positions.
        var c1 = Ext2.zero
        var c2 = Ext2.zero
        for (g, v) in zip(deep.mainCurrent, proof.oodMainCurrent) { c1 += g * v }
        for (g, v) in zip(deep.mainNext, proof.oodMainNext) { c2 += g * v }
        for (g, v) in zip(deep.auxCurrent, proof.oodAuxCurrent) { c1 += g * v }
        for (g, v) in zip(deep.auxNext, proof.oodAuxNext) { c2 += g * v }
        for (g, v) in zip(deep.composition, proof.oodComposition) { c1 += g * v }
        var expectedValues: [Int: Ext2] = [:]
        for (q, p) in positions.enumerated() {
            var a = Ext2.zero
            var b = Ext2.zero
            for (c, v) in proof.mainOpening.rows[q].enumerated() {
                a += deep.mainCurrent[c] * v
                b += deep.mainNext[c] * v
            }
            if let auxRow = proof.auxOpening?.rows[q] {
                for c in 0..<air.auxWidth {
                    let v = Ext2(auxRow[2 * c], auxRow[2 * c + 1])
                    a += deep.auxCurrent[c] * v
                    b += deep.auxNext[c] * v
                }
            }
            let compRow = proof.compositionOpening.rows[q]
            for c in 0..<compositionColumns {
                a += deep.composition[c] * Ext2(compRow[2 * c], compRow[2 * c + 1])
            }
            let x = Ext2(domain.ldePoint(p))
            let dz = x - z
            let dzg = x - zNext
            let denominator = dz * dzg
            guard denominator != .zero else { throw reject("query position hit the out-of-domain point") }
            expectedValues[p] = ((a - c1) * dzg + (b - c2) * dz) * denominator.inverse
        }

        // FRI query phase.
        let f = options.foldingFactor
        let folder = FRIFolder(factor: f)
        var layerOffset = domain.offset
        var layerPositions = positions
        for (k, size) in schedule.layerDomainSizes.enumerated() {
            let leafCount = size / f
            let indices = Array(Set(layerPositions.map { $0 % leafCount })).sorted()
            let opening = proof.friOpenings[k]
            guard opening.leaves.count == indices.count, opening.leaves.allSatisfy({ $0.count == f }) else {
                throw reject("FRI layer \(k) opening has the wrong shape")
            }
            let leafDigests = opening.leaves.map { leaf in
                MerkleTree.hashLeaf(leaf.flatMap { [$0.c0, $0.c1] })
            }
            guard
                MerkleTree.root(leafCount: leafCount, indices: indices, leaves: leafDigests, proof: opening.nodes)
                    == proof.friRoots[k]
            else { throw reject("FRI layer \(k) opening does not match its commitment") }
            var leafOf: [Int: Int] = [:]
            for (slot, i) in indices.enumerated() { leafOf[i] = slot }
            for p in layerPositions {
                guard let slot = leafOf[p % leafCount], let value = expectedValues[p],
                    opening.leaves[slot][p / leafCount] == value
                else { throw reject("FRI layer \(k) is inconsistent with the previous layer at position \(p)") }
            }
            let generator = Goldilocks.rootOfUnity(logOrder: size.trailingZeroBitCount)
            var next: [Int: Ext2] = [:]
            for (slot, i) in indices.enumerated() {
                let x = layerOffset * generator.power(UInt64(i))
                next[i] = opening.leaves[slot].withUnsafeBufferPointer {
                    folder.fold($0, xInverse: x.inverse, beta: betas[k])
                }
            }
            expectedValues = next
            layerPositions = indices
            layerOffset = layerOffset.power(UInt64(f))
        }
        // Remainder: the last folded values must lie on the sent low-degree polynomial.
        let remainderGenerator = Goldilocks.rootOfUnity(logOrder: schedule.remainderDomainSize.trailingZeroBitCount)
        for p in layerPositions {
            let x = Ext2(layerOffset * remainderGenerator.power(UInt64(p)))
            guard let value = expectedValues[p], Polynomial.evaluate(proof.friRemainder, at: x) == value else {
                throw reject("FRI remainder does not match the folded values")
            }
        }
    }
}
