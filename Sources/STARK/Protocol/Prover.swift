/// Builds STARK proofs for any ``AIR``.
public enum Prover {
    /// Proves that `trace` satisfies the AIR `air` built from `publicInputs`; returns proof bytes.
    ///
    /// Throws ``STARKError/unsatisfiedConstraint(name:row:)`` instead of producing a proof for a
    /// trace that violates a constraint.
    public static func prove<A: AIR>(
        air: A.Type, trace: TraceTable, publicInputs: A.PublicInputs, options: ProofOptions = .default,
        threads: Int = Parallelism.availableCores
    ) throws(STARKError) -> [UInt8] {
        let instance = try A(traceLength: trace.length, publicInputs: publicInputs)
        return try prove(air: instance, trace: trace, options: options, threads: threads).bytes
    }

    /// Proves with an already-built AIR instance and returns the structured proof.
    public static func prove<A: AIR>(
        air: A, trace: TraceTable, options: ProofOptions = .default, threads: Int = Parallelism.availableCores
    ) throws(STARKError) -> Proof {
        try prove(air: air, trace: trace, options: options, threads: threads, checkConstraints: true)
    }

    /// `checkConstraints: false` exists only so tests can show the verifier rejects bad traces.
    static func prove<A: AIR>(
        air: A, trace: TraceTable, options: ProofOptions, threads: Int, checkConstraints: Bool
    ) throws(STARKError) -> Proof {
        let n = trace.length
        try validateShape(air: air, traceLength: n, options: options)
        guard trace.width == air.mainWidth, trace.columns.allSatisfy({ $0.count == n }) else {
            throw .invalidTrace("trace has \(trace.width) columns, the AIR expects \(air.mainWidth)")
        }
        let threads = max(1, threads)
        let domain = Domain(traceLength: n, blowup: options.blowupFactor)
        let m = domain.ldeSize
        let tracePlan = NTTPlan(size: n)
        var transcript = Transcript(seed: statementSeed(air: air, options: options))

        // 1. Main segment: interpolate, extend, commit.
        let main = extend(columns: trace.columns, domain: domain, tracePlan: tracePlan, threads: threads)
        let mainTree = MerkleTree(matrix: main.lde, threads: threads)
        transcript.absorb(mainTree.root)

        // 2. Auxiliary segment from verifier challenges.
        var challenges: [Ext2] = []
        var auxColumns: [[Ext2]] = []
        var aux: Extension?
        var auxTree: MerkleTree?
        if air.auxWidth > 0 {
            challenges = transcript.drawExt(count: air.auxChallengeCount)
            auxColumns = try air.buildAuxTrace(main: trace, challenges: challenges, threads: threads)
            guard auxColumns.count == air.auxWidth, auxColumns.allSatisfy({ $0.count == n }) else {
                throw .invalidTrace("auxiliary trace has the wrong shape")
            }
            let split = auxColumns.flatMap { col in [col.map(\.c0), col.map(\.c1)] }
            let ext = extend(columns: split, domain: domain, tracePlan: tracePlan, threads: threads)
            let tree = MerkleTree(matrix: ext.lde, threads: threads)
            transcript.absorb(tree.root)
            aux = ext
            auxTree = tree
        }
        let mainAssertions = air.mainAssertions()
        let auxAssertions = air.auxAssertions(challenges: challenges)
        try checkAssertions(mainAssertions, auxAssertions, air: air, n: n)

        if checkConstraints {
            try checkTransitions(air: air, trace: trace, aux: auxColumns, challenges: challenges, threads: threads)
        }

        // 3. Constraint composition.
        let coefficients = CompositionCoefficients(
            transition: transcript.drawExt(count: air.allTransitionConstraints.count),
            mainBoundary: transcript.drawExt(count: mainAssertions.count),
            auxBoundary: transcript.drawExt(count: auxAssertions.count))
        #if DEBUG
            try checkDegrees(air: air, main: main.lde, aux: aux?.lde, challenges: challenges, domain: domain)
        #endif
        let composition = evaluateComposition(
            air: air, main: main.lde, aux: aux?.lde, challenges: challenges, coefficients: coefficients,
            mainAssertions: mainAssertions, auxAssertions: auxAssertions, domain: domain, threads: threads)
        let compositionColumns = air.compositionColumns
        let compositionPlan = NTTPlan(size: composition.count)
        let hCoefficients = parallelMap([composition.map(\.c0), composition.map(\.c1)], threads: threads) {
            Polynomial.interpolateFromCoset($0, offset: domain.offset, plan: compositionPlan)
        }
        for part in hCoefficients where checkConstraints && Polynomial.degree(part) >= compositionColumns * n {
            throw .invalidTrace(
                "composition polynomial degree \(Polynomial.degree(part)) is not below \(compositionColumns * n): a constraint does not hold or its degree is wrong"
            )
        }
        // Column j holds coefficients [j·n, (j+1)·n) of both components.
        var hColumnCoefficients: [[Goldilocks]] = []
        for j in 0..<compositionColumns {
            for part in hCoefficients {
                hColumnCoefficients.append(j * n < part.count ? Array(part[(j * n)..<((j + 1) * n)]) : [])
            }
        }
        let hLDE = parallelMap(hColumnCoefficients, threads: threads) {
            Polynomial.extendOnCoset($0, offset: domain.offset, blowup: domain.blowup, plan: tracePlan)
        }
        let compositionMatrix = RowMatrix(columns: hLDE, threads: threads)
        let compositionTree = MerkleTree(matrix: compositionMatrix, threads: threads)
        transcript.absorb(compositionTree.root)

        // 4. Out-of-domain evaluations.
        let z = transcript.drawExt()
        let zNext = z * domain.traceGenerator
        let mainCoefficients = main.coefficients
        let oodMainCurrent = parallelMap(mainCoefficients, threads: threads) { Polynomial.evaluate($0, at: z) }
        let oodMainNext = parallelMap(mainCoefficients, threads: threads) { Polynomial.evaluate($0, at: zNext) }
        func combine(_ evals: [Ext2]) -> [Ext2] {
            stride(from: 0, to: evals.count, by: 2).map { evals[$0] + Ext2.u * evals[$0 + 1] }
        }
        let auxCoefficients = aux?.coefficients ?? []
        let oodAuxCurrent = combine(parallelMap(auxCoefficients, threads: threads) { Polynomial.evaluate($0, at: z) })
        let oodAuxNext = combine(parallelMap(auxCoefficients, threads: threads) { Polynomial.evaluate($0, at: zNext) })
        let oodComposition = combine(hColumnCoefficients.map { Polynomial.evaluate($0, at: z) })
        for values in [oodMainCurrent, oodMainNext, oodAuxCurrent, oodAuxNext, oodComposition] {
            transcript.absorb(values)
        }

        // 5. DEEP composition polynomial over the LDE domain.
        let deep = DeepCoefficients(
            transcript: &transcript, mainWidth: air.mainWidth, auxWidth: air.auxWidth,
            compositionColumns: compositionColumns)
        let deepValues = evaluateDeep(
            main: main.lde, aux: aux?.lde, composition: compositionMatrix, deep: deep, z: z, zNext: zNext,
            ood: (oodMainCurrent, oodMainNext, oodAuxCurrent, oodAuxNext, oodComposition),
            domain: domain, threads: threads)

        // 6. FRI commit phase.
        let schedule = FRISchedule(traceLength: n, options: options)
        let folder = FRIFolder(factor: options.foldingFactor)
        var layerValues = deepValues
        var layerOffset = domain.offset
        var friTrees: [MerkleTree] = []
        var friMatrices: [[Ext2]] = []
        for size in schedule.layerDomainSizes {
            let f = options.foldingFactor
            let leaves = size / f
            // Leaf i holds the values at i + t·leaves, t < f: the f points that fold together.
            let matrix = RowMatrix(
                width: 2 * f, height: leaves,
                data: parallelArray(count: leaves * 2 * f, threads: threads, minChunk: 1 << 14) { range, out in
                    for idx in range {
                        let i = idx / (2 * f)
                        let rem = idx - i * 2 * f
                        let v = layerValues[i + (rem >> 1) * leaves]
                        (out.baseAddress! + idx).initialize(to: rem & 1 == 0 ? v.c0 : v.c1)
                    }
                })
            let tree = MerkleTree(matrix: matrix, threads: threads)
            transcript.absorb(tree.root)
            let beta = transcript.drawExt()
            let generatorInverse = Goldilocks.rootOfUnity(logOrder: size.trailingZeroBitCount).inverse
            let offsetInverse = layerOffset.inverse
            let current = layerValues
            let folded: [Ext2] = parallelArray(count: leaves, threads: threads, minChunk: 1024) { range, out in
                var xInverse = offsetInverse * generatorInverse.power(UInt64(range.lowerBound))
                var scratch = [Ext2](repeating: .zero, count: f)
                for i in range {
                    for t in 0..<f { scratch[t] = current[i + t * leaves] }
                    let v = scratch.withUnsafeBufferPointer { folder.fold($0, xInverse: xInverse, beta: beta) }
                    (out.baseAddress! + i).initialize(to: v)
                    xInverse = xInverse * generatorInverse
                }
            }
            friTrees.append(tree)
            friMatrices.append(current)
            layerValues = folded
            layerOffset = layerOffset.power(UInt64(f))
        }
        // Remainder: interpolate the last layer; only the first `remainderLength` coefficients may be non-zero.
        let remainderPlan = NTTPlan(size: schedule.remainderDomainSize)
        let r0 = Polynomial.interpolateFromCoset(layerValues.map(\.c0), offset: layerOffset, plan: remainderPlan)
        let r1 = Polynomial.interpolateFromCoset(layerValues.map(\.c1), offset: layerOffset, plan: remainderPlan)
        let remainder = (0..<schedule.remainderLength).map { Ext2(r0[$0], r1[$0]) }
        if checkConstraints && max(Polynomial.degree(r0), Polynomial.degree(r1)) >= schedule.remainderLength {
            throw .invalidTrace("FRI remainder degree too high: the DEEP polynomial is not low-degree")
        }
        transcript.absorb(remainder)

        // 7. Grinding and queries.
        let nonce = transcript.grind(bits: options.grindingBits, threads: threads)
        transcript.absorb(nonce: nonce)
        let positions = transcript.drawPositions(count: options.numQueries, domainSize: m)

        func open(_ matrix: RowMatrix, _ tree: MerkleTree) -> MatrixOpening {
            MatrixOpening(rows: positions.map { matrix.row($0) }, nodes: tree.batchProof(indices: positions))
        }
        var friOpenings: [FRILayerOpening] = []
        var layerPositions = positions
        for (k, size) in schedule.layerDomainSizes.enumerated() {
            let leaves = size / options.foldingFactor
            let indices = Array(Set(layerPositions.map { $0 % leaves })).sorted()
            let values = friMatrices[k]
            friOpenings.append(
                FRILayerOpening(
                    leaves: indices.map { i in (0..<options.foldingFactor).map { values[i + $0 * leaves] } },
                    nodes: friTrees[k].batchProof(indices: indices)))
            layerPositions = indices
        }

        return Proof(
            options: options, traceLength: n, mainRoot: mainTree.root, auxRoot: auxTree?.root,
            compositionRoot: compositionTree.root, oodMainCurrent: oodMainCurrent, oodMainNext: oodMainNext,
            oodAuxCurrent: oodAuxCurrent, oodAuxNext: oodAuxNext, oodComposition: oodComposition,
            friRoots: friTrees.map(\.root), friRemainder: remainder, powNonce: nonce,
            mainOpening: open(main.lde, mainTree), auxOpening: aux.map { open($0.lde, auxTree!) },
            compositionOpening: open(compositionMatrix, compositionTree), friOpenings: friOpenings)
    }

    /// A segment's trace-polynomial coefficients and its row-major LDE.
    struct Extension {
        var coefficients: [[Goldilocks]]
        var lde: RowMatrix
    }

    static func extend(
        columns: [[Goldilocks]], domain: Domain, tracePlan: NTTPlan, threads: Int
    ) -> Extension {
        let coefficients = parallelMap(columns, threads: threads) { col -> [Goldilocks] in
            var c = col
            tracePlan.inverse(&c)
            return c
        }
        let lde = parallelMap(coefficients, threads: threads) {
            Polynomial.extendOnCoset($0, offset: domain.offset, blowup: domain.blowup, plan: tracePlan)
        }
        return Extension(coefficients: coefficients, lde: RowMatrix(columns: lde, threads: threads))
    }

    static func parallelMap<T, U>(_ items: [T], threads: Int, _ transform: (T) -> U) -> [U] {
        var out = [U?](repeating: nil, count: items.count)
        out.withUnsafeMutableBufferPointer { buf in
            let box = UncheckedSendable(buf)
            parallelForEach(count: items.count, threads: threads) { i in box.value[i] = transform(items[i]) }
        }
        return out.map { $0! }
    }

    static func checkAssertions<A: AIR>(
        _ main: [Assertion<Goldilocks>], _ aux: [Assertion<Ext2>], air: A, n: Int
    ) throws(STARKError) {
        for a in main where a.column < 0 || a.column >= air.mainWidth || a.row < 0 || a.row >= n {
            throw .invalidTrace("assertion on column \(a.column) row \(a.row) is out of range")
        }
        for a in aux where a.column < 0 || a.column >= air.auxWidth || a.row < 0 || a.row >= n {
            throw .invalidTrace("auxiliary assertion on column \(a.column) row \(a.row) is out of range")
        }
    }

    /// Evaluates every constraint on the trace itself and names the first one that fails.
    static func checkTransitions<A: AIR>(
        air: A, trace: TraceTable, aux: [[Ext2]], challenges: [Ext2], threads: Int
    ) throws(STARKError) {
        let n = trace.length
        for a in air.mainAssertions() where trace.columns[a.column][a.row] != a.value {
            throw .unsatisfiedConstraint(name: "main assertion on column \(a.column)", row: a.row)
        }
        for a in air.auxAssertions(challenges: challenges) where aux[a.column][a.row] != a.value {
            throw .unsatisfiedConstraint(name: "auxiliary assertion on column \(a.column)", row: a.row)
        }
        let constraints = air.allTransitionConstraints
        let mainCount = air.transitionConstraints.count
        let auxCount = air.auxTransitionConstraints.count
        let periodic = PeriodicColumns(air.periodicColumns, traceLength: n)
        // Each chunk reports its first failing (row, constraint); the smallest row wins, so the
        // error does not depend on the thread count.
        let chunkCount = max(1, min(threads, (n - 1) / 1024))
        var failures = [(row: Int, constraint: Int)?](repeating: nil, count: chunkCount)
        let size = (n - 1 + chunkCount - 1) / chunkCount
        failures.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable(out)
            parallelForEach(count: chunkCount, threads: threads) { chunk in
                var baseFrame = emptyFrame(air: air, as: Goldilocks.self, withAux: false)
                var extFrame = emptyFrame(air: air, as: Ext2.self, withAux: true)
                var result = [Goldilocks](repeating: .zero, count: mainCount)
                var auxResult = [Ext2](repeating: .zero, count: auxCount)
                for row in (chunk * size)..<min(n - 1, (chunk + 1) * size) {
                    for c in 0..<air.mainWidth {
                        baseFrame.current[c] = trace.columns[c][row]
                        baseFrame.next[c] = trace.columns[c][row + 1]
                    }
                    baseFrame.periodic = periodic.atRow(row)
                    air.evaluateTransition(baseFrame, into: &result)
                    if let bad = result.firstIndex(where: { $0 != .zero }) {
                        box.value[chunk] = (row, bad)
                        return
                    }
                    guard auxCount > 0 else { continue }
                    for c in 0..<air.mainWidth {
                        extFrame.current[c] = Ext2(baseFrame.current[c])
                        extFrame.next[c] = Ext2(baseFrame.next[c])
                    }
                    for c in 0..<air.auxWidth {
                        extFrame.auxCurrent[c] = aux[c][row]
                        extFrame.auxNext[c] = aux[c][row + 1]
                    }
                    extFrame.periodic = baseFrame.periodic.map { Ext2($0) }
                    air.evaluateAuxTransition(extFrame, challenges: challenges, into: &auxResult)
                    if let bad = auxResult.firstIndex(where: { $0 != .zero }) {
                        box.value[chunk] = (row, mainCount + bad)
                        return
                    }
                }
            }
        }
        if let first = failures.compactMap({ $0 }).min(by: { $0.row < $1.row }) {
            throw .unsatisfiedConstraint(name: constraints[first.constraint].name, row: first.row)
        }
    }

    /// Debug builds: interpolates every transition constraint over the LDE domain and checks its
    /// real degree against the declared one, naming the first constraint that is wrong.
    static func checkDegrees<A: AIR>(
        air: A, main: RowMatrix, aux: RowMatrix?, challenges: [Ext2], domain: Domain
    ) throws(STARKError) {
        let m = domain.ldeSize
        let n = domain.traceLength
        let b = domain.blowup
        let constraints = air.allTransitionConstraints
        let mainCount = air.transitionConstraints.count
        var perConstraint = [[Ext2]](repeating: [Ext2](repeating: .zero, count: m), count: constraints.count)
        var frame = emptyFrame(air: air, as: Ext2.self, withAux: true)
        var result = [Ext2](repeating: .zero, count: mainCount)
        var auxResult = [Ext2](repeating: .zero, count: constraints.count - mainCount)
        let periodic = PeriodicColumns(air.periodicColumns, traceLength: n).onCoset(offset: domain.offset, blowup: b)
        for i in 0..<m {
            fillFrame(&frame, main: main, aux: aux, row: i, next: (i + b) % m)
            frame.periodic = periodic.map { Ext2($0[i % $0.count]) }
            air.evaluateTransition(frame, into: &result)
            if !auxResult.isEmpty { air.evaluateAuxTransition(frame, challenges: challenges, into: &auxResult) }
            for k in 0..<mainCount { perConstraint[k][i] = result[k] }
            for k in 0..<auxResult.count { perConstraint[mainCount + k][i] = auxResult[k] }
        }
        let plan = NTTPlan(size: m)
        for (k, info) in constraints.enumerated() {
            let values = perConstraint[k]
            let d0 = Polynomial.degree(
                Polynomial.interpolateFromCoset(values.map(\.c0), offset: domain.offset, plan: plan))
            let d1 = Polynomial.degree(
                Polynomial.interpolateFromCoset(values.map(\.c1), offset: domain.offset, plan: plan))
            let actual = max(d0, d1)
            if actual > info.degree * (n - 1) {
                throw .constraintDegreeMismatch(
                    name: info.name, declared: info.degree, actual: (actual + n - 2) / (n - 1))
            }
        }
    }

    static func emptyFrame<A: AIR, E: STARKField>(air: A, as: E.Type, withAux: Bool) -> EvaluationFrame<E> {
        let auxWidth = withAux ? air.auxWidth : 0
        return EvaluationFrame<E>(
            current: [E](repeating: .zero, count: air.mainWidth), next: [E](repeating: .zero, count: air.mainWidth),
            auxCurrent: [E](repeating: .zero, count: auxWidth), auxNext: [E](repeating: .zero, count: auxWidth),
            periodic: [E](repeating: .zero, count: air.periodicColumns.count))
    }

    @inline(__always)
    static func fillFrame(_ frame: inout EvaluationFrame<Ext2>, main: RowMatrix, aux: RowMatrix?, row: Int, next: Int) {
        let w = main.width
        main.data.withUnsafeBufferPointer { d in
            for c in 0..<w {
                frame.current[c] = Ext2(d[row * w + c])
                frame.next[c] = Ext2(d[next * w + c])
            }
        }
        if let aux {
            let aw = aux.width
            aux.data.withUnsafeBufferPointer { d in
                for c in 0..<(aw / 2) {
                    frame.auxCurrent[c] = Ext2(d[row * aw + 2 * c], d[row * aw + 2 * c + 1])
                    frame.auxNext[c] = Ext2(d[next * aw + 2 * c], d[next * aw + 2 * c + 1])
                }
            }
        }
    }

    /// The composition domain's blowup: the smallest power of two ≥ the maximum constraint degree.
    /// H has degree < (D − 1)·n and every constraint numerator degree ≤ D·(n − 1), so evaluating on
    /// the coset h·⟨ω_(n·ce)⟩ (every (blowup/ce)-th LDE point) determines H exactly.
    static func compositionBlowup<A: AIR>(_ air: A) -> Int {
        var ce = 1
        while ce < air.maxConstraintDegree { ce *= 2 }
        return ce
    }

    /// H(x) = Σ α_k·c_k(x)·(x − g^(n−1))/(x^n − 1) + Σ β_j·(T_j(x) − v_j)/(x − g^(row_j)) on the
    /// composition domain h·⟨ω_(n·ce)⟩, read from every (blowup/ce)-th row of the LDE.
    static func evaluateComposition<A: AIR>(
        air: A, main: RowMatrix, aux: RowMatrix?, challenges: [Ext2], coefficients: CompositionCoefficients,
        mainAssertions: [Assertion<Goldilocks>], auxAssertions: [Assertion<Ext2>], domain: Domain, threads: Int
    ) -> [Ext2] {
        let m = domain.ldeSize
        let n = domain.traceLength
        let b = domain.blowup
        let ce = compositionBlowup(air)
        let stride = b / ce
        let count = n * ce
        let generator = domain.ldeGenerator.power(UInt64(stride))
        // 1/(x^n − 1) takes only `blowup` distinct values on the coset.
        let hn = domain.offset.power(UInt64(n))
        let rootB = Goldilocks.rootOfUnity(logOrder: b.trailingZeroBitCount)
        let zerofierInverse = batchInverse(powers(of: rootB, count: b).map { hn * $0 - .one })
        let lastRow = domain.traceGenerator.power(UInt64(n - 1))
        // 1/(x − g^row) for every distinct assertion row.
        let rows = Array(Set(mainAssertions.map(\.row) + auxAssertions.map(\.row))).sorted()
        let rowIndex = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let points: [Goldilocks] = parallelArray(count: count, threads: threads) { range, out in
            var x = domain.offset * generator.power(UInt64(range.lowerBound))
            for i in range {
                (out.baseAddress! + i).initialize(to: x)
                x = x * generator
            }
        }
        let rowInverses: [[Goldilocks]] = rows.map { row in
            let g = domain.traceGenerator.power(UInt64(row))
            return parallelArray(count: count, threads: threads, minChunk: 4096) { range, out in
                let inv = batchInverse(range.map { points[$0] - g })
                for (k, i) in range.enumerated() { (out.baseAddress! + i).initialize(to: inv[k]) }
            }
        }
        let mainByRow = mainAssertions.enumerated().map { (rowIndex[$1.row]!, $1, coefficients.mainBoundary[$0]) }
        let auxByRow = auxAssertions.enumerated().map { (rowIndex[$1.row]!, $1, coefficients.auxBoundary[$0]) }
        let mainCount = air.transitionConstraints.count
        let auxCount = air.auxTransitionConstraints.count
        let alphas = coefficients.transition
        // Periodic columns on the composition domain: column j repeats every k_j·ce points.
        let periodic = PeriodicColumns(air.periodicColumns, traceLength: n).onCoset(offset: domain.offset, blowup: ce)

        return parallelArray(count: count, threads: threads, minChunk: 512) { range, out in
            var rowSums = [Ext2](repeating: .zero, count: rows.count)
            var extFrame = emptyFrame(air: air, as: Ext2.self, withAux: true)
            var baseFrame = emptyFrame(air: air, as: Goldilocks.self, withAux: false)
            var auxResult = [Ext2](repeating: .zero, count: auxCount)
            var baseResult = [Goldilocks](repeating: .zero, count: mainCount)
            let w = main.width
            for i in range {
                let row = i * stride
                let next = (row + b) & (m - 1)
                var t = Ext2.zero
                // Main-segment constraints in the base field, whether or not there is an aux segment.
                main.data.withUnsafeBufferPointer { d in
                    for c in 0..<w {
                        baseFrame.current[c] = d[row * w + c]
                        baseFrame.next[c] = d[next * w + c]
                    }
                }
                for j in 0..<periodic.count { baseFrame.periodic[j] = periodic[j][i & (periodic[j].count - 1)] }
                air.evaluateTransition(baseFrame, into: &baseResult)
                for k in 0..<mainCount { t += alphas[k] * baseResult[k] }
                if auxCount > 0 {
                    fillFrame(&extFrame, main: main, aux: aux, row: row, next: next)
                    for j in 0..<periodic.count { extFrame.periodic[j] = Ext2(baseFrame.periodic[j]) }
                    air.evaluateAuxTransition(extFrame, challenges: challenges, into: &auxResult)
                    for k in 0..<auxCount { t += alphas[mainCount + k] * auxResult[k] }
                }
                let x = points[i]
                var h = t * ((x - lastRow) * zerofierInverse[row & (b - 1)])
                for r in 0..<rowSums.count { rowSums[r] = .zero }
                for (r, a, c) in mainByRow {
                    rowSums[r] += c * (main.data[row * w + a.column] - a.value)
                }
                if let aux {
                    let aw = aux.width
                    for (r, a, c) in auxByRow {
                        let v = Ext2(aux.data[row * aw + 2 * a.column], aux.data[row * aw + 2 * a.column + 1])
                        rowSums[r] += c * (v - a.value)
                    }
                }
                for r in 0..<rowSums.count { h += rowSums[r] * rowInverses[r][i] }
                (out.baseAddress! + i).initialize(to: h)
            }
        }
    }

    /// The DEEP composition polynomial on the LDE domain:
    /// Σ γ_i·(T_i(x) − T_i(z))/(x − z) + γ'_i·(T_i(x) − T_i(zg))/(x − zg) + Σ δ_j·(H_j(x) − H_j(z))/(x − z).
    static func evaluateDeep(
        main: RowMatrix, aux: RowMatrix?, composition: RowMatrix, deep: DeepCoefficients, z: Ext2, zNext: Ext2,
        ood: ([Ext2], [Ext2], [Ext2], [Ext2], [Ext2]), domain: Domain, threads: Int
    ) -> [Ext2] {
        let m = domain.ldeSize
        var c1 = Ext2.zero
        var c2 = Ext2.zero
        for (g, v) in zip(deep.mainCurrent, ood.0) { c1 += g * v }
        for (g, v) in zip(deep.mainNext, ood.1) { c2 += g * v }
        for (g, v) in zip(deep.auxCurrent, ood.2) { c1 += g * v }
        for (g, v) in zip(deep.auxNext, ood.3) { c2 += g * v }
        for (g, v) in zip(deep.composition, ood.4) { c1 += g * v }
        return parallelArray(count: m, threads: threads, minChunk: 1024) { range, out in
            var x = domain.ldePoint(range.lowerBound)
            var numerators = [Ext2]()
            var denominators = [Ext2]()
            numerators.reserveCapacity(range.count)
            denominators.reserveCapacity(range.count)
            let w = main.width
            main.data.withUnsafeBufferPointer { d in
                for i in range {
                    var a = Ext2.zero
                    var bb = Ext2.zero
                    for c in 0..<w {
                        let v = d[i * w + c]
                        a += deep.mainCurrent[c] * v
                        bb += deep.mainNext[c] * v
                    }
                    if let aux {
                        let aw = aux.width
                        for c in 0..<(aw / 2) {
                            let v = Ext2(aux.data[i * aw + 2 * c], aux.data[i * aw + 2 * c + 1])
                            a += deep.auxCurrent[c] * v
                            bb += deep.auxNext[c] * v
                        }
                    }
                    let cw = composition.width
                    for c in 0..<(cw / 2) {
                        let v = Ext2(composition.data[i * cw + 2 * c], composition.data[i * cw + 2 * c + 1])
                        a += deep.composition[c] * v
                    }
                    let xe = Ext2(x)
                    let dz = xe - z
                    let dzg = xe - zNext
                    numerators.append((a - c1) * dzg + (bb - c2) * dz)
                    denominators.append(dz * dzg)
                    x = x * domain.ldeGenerator
                }
            }
            let inv = batchInverse(denominators)
            for (k, i) in range.enumerated() { (out.baseAddress! + i).initialize(to: numerators[k] * inv[k]) }
        }
    }
}
