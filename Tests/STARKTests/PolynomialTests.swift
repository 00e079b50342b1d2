import Testing

@testable import STARK

@Suite struct PolynomialTests {
    func naiveEvaluate(_ coeffs: [Goldilocks], at x: Goldilocks) -> Goldilocks {
        var acc = Goldilocks.zero
        var power = Goldilocks.one
        for c in coeffs {
            acc = acc + c * power
            power = power * x
        }
        return acc
    }

    /// O(n²) Lagrange interpolation on arbitrary distinct points.
    func naiveInterpolate(xs: [Goldilocks], ys: [Goldilocks]) -> [Goldilocks] {
        let n = xs.count
        var result = [Goldilocks](repeating: .zero, count: n)
        for i in 0..<n {
            var basis: [Goldilocks] = [.one]
            var denominator = Goldilocks.one
            for j in 0..<n where j != i {
                var next = [Goldilocks](repeating: .zero, count: basis.count + 1)
                for (k, b) in basis.enumerated() {
                    next[k + 1] = next[k + 1] + b
                    next[k] = next[k] - b * xs[j]
                }
                basis = next
                denominator = denominator * (xs[i] - xs[j])
            }
            let scale = ys[i] * denominator.inverse
            for k in 0..<n { result[k] = result[k] + basis[k] * scale }
        }
        return result
    }

    @Test(arguments: [1, 2, 4, 8, 32, 64])
    func forwardNTTMatchesNaiveEvaluation(size: Int) {
        var rng = TestRNG(seed: UInt64(size))
        let coeffs = (0..<size).map { _ in rng.base() }
        var values = coeffs
        NTTPlan(size: size).forward(&values)
        let omega = Goldilocks.rootOfUnity(logOrder: size.trailingZeroBitCount)
        for i in 0..<size {
            #expect(values[i] == naiveEvaluate(coeffs, at: omega.power(UInt64(i))))
        }
    }

    @Test(arguments: [2, 16, 64])
    func inverseNTTMatchesNaiveInterpolation(size: Int) {
        var rng = TestRNG(seed: 100 + UInt64(size))
        let ys = (0..<size).map { _ in rng.base() }
        let omega = Goldilocks.rootOfUnity(logOrder: size.trailingZeroBitCount)
        let xs = (0..<size).map { omega.power(UInt64($0)) }
        #expect(Polynomial.interpolate(ys) == naiveInterpolate(xs: xs, ys: ys))
    }

    @Test func cosetExtensionMatchesNaiveEvaluationAndRoundTrips() {
        var rng = TestRNG(seed: 7)
        let coeffs = (0..<16).map { _ in rng.base() }
        let plan = NTTPlan(size: 64)
        let offset = Goldilocks.generator
        let lde = Polynomial.evaluateOnCoset(coeffs, offset: offset, plan: plan)
        let omega = Goldilocks.rootOfUnity(logOrder: 6)
        for i in 0..<64 {
            #expect(lde[i] == naiveEvaluate(coeffs, at: offset * omega.power(UInt64(i))))
        }
        let back = Polynomial.interpolateFromCoset(lde, offset: offset, plan: plan)
        #expect(Array(back[0..<16]) == coeffs)
        #expect(back[16...].allSatisfy { $0 == .zero })
        #expect(Polynomial.degree(back) == 15)
    }

    @Test func extensionEvaluationMatchesComponentwise() {
        var rng = TestRNG(seed: 8)
        let coeffs = (0..<20).map { _ in rng.base() }
        let z = rng.ext()
        var expected = Ext2.zero
        var power = Ext2.one
        for c in coeffs {
            expected += power * c
            power = power * z
        }
        #expect(Polynomial.evaluate(coeffs, at: z) == expected)
    }

    @Test(arguments: [2, 4, 8, 16])
    func friFoldMatchesDefinition(factor: Int) {
        // P of degree < 4f; fold(P)(x^f) = Σ_j β^j P_j(x^f) where P(X) = Σ_j X^j P_j(X^f).
        var rng = TestRNG(seed: 9 + UInt64(factor))
        let coeffs = (0..<(4 * factor)).map { _ in rng.ext() }
        let beta = rng.ext()
        let x = rng.base()
        let omega = Goldilocks.rootOfUnity(logOrder: factor.trailingZeroBitCount)
        let values = (0..<factor).map { t in Polynomial.evaluate(coeffs, at: Ext2(x * omega.power(UInt64(t)))) }
        let folded = values.withUnsafeBufferPointer {
            FRIFolder(factor: factor).fold($0, xInverse: x.inverse, beta: beta)
        }
        var expected = Ext2.zero
        let y = Ext2(x.power(UInt64(factor)))
        for j in 0..<factor {
            let pj = stride(from: j, to: coeffs.count, by: factor).map { coeffs[$0] }
            expected += beta.power(UInt64(j)) * Polynomial.evaluate(pj, at: y)
        }
        #expect(folded == expected)
    }
}

@Suite struct CosetExtensionTests {
    @Test(arguments: [(8, 2), (16, 8), (4, 16)])
    func splitExtensionMatchesOneLargeTransform(n: Int, blowup: Int) {
        var rng = TestRNG(seed: UInt64(n * blowup))
        let coeffs = (0..<n).map { _ in rng.base() }
        let offset = Goldilocks.generator
        let big = Polynomial.evaluateOnCoset(coeffs, offset: offset, plan: NTTPlan(size: n * blowup))
        let split = Polynomial.extendOnCoset(coeffs, offset: offset, blowup: blowup, plan: NTTPlan(size: n))
        #expect(split == big)
    }
}
