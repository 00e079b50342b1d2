/// Radix-2 number-theoretic transforms over power-of-two subgroups of Goldilocks.
///
/// A plan holds the twiddle factors for one size and is shared (read-only) by every thread that
/// transforms columns of that size.
public struct NTTPlan: Sendable {
    /// The transform size, a power of two.
    public let size: Int
    /// log2(size).
    public let logSize: Int
    /// Stage-major twiddles: entry `half + j` is ω_(2·half)^j for j < half, so every butterfly
    /// stage reads its twiddles contiguously.
    let twiddles: [Goldilocks]
    /// The same layout for the inverse roots.
    let inverseTwiddles: [Goldilocks]
    /// size^−1.
    let sizeInverse: Goldilocks

    /// Builds the plan for `size` (a power of two, at most 2^32).
    public init(size: Int) {
        precondition(size > 0 && size & (size - 1) == 0, "NTT size must be a power of two")
        self.size = size
        self.logSize = size.trailingZeroBitCount
        let omega = Goldilocks.rootOfUnity(logOrder: logSize)
        twiddles = NTTPlan.stageTwiddles(omega, size: size)
        inverseTwiddles = NTTPlan.stageTwiddles(omega.inverse, size: size)
        sizeInverse = Goldilocks(UInt64(size)).inverse
    }

    static func stageTwiddles(_ omega: Goldilocks, size: Int) -> [Goldilocks] {
        var out = [Goldilocks](repeating: .one, count: max(size, 2))
        let base = powers(of: omega, count: max(size / 2, 1))
        var half = 1
        while half < size {
            let stride = size / (2 * half)
            for j in 0..<half { out[half + j] = base[j * stride] }
            half *= 2
        }
        return out
    }

    /// Coefficients → evaluations at ω^0, ω^1, …, ω^(n−1) (natural order in and out).
    public func forward(_ values: inout [Goldilocks]) {
        precondition(values.count == size)
        values.withUnsafeMutableBufferPointer { transform($0, twiddles: twiddles) }
    }

    /// Evaluations at ω^i → coefficients.
    public func inverse(_ values: inout [Goldilocks]) {
        precondition(values.count == size)
        let scale = sizeInverse
        values.withUnsafeMutableBufferPointer { buffer in
            transform(buffer, twiddles: inverseTwiddles)
            for i in 0..<buffer.count { buffer[i] = buffer[i] * scale }
        }
    }

    func transform(_ a: UnsafeMutableBufferPointer<Goldilocks>, twiddles: [Goldilocks]) {
        let n = size
        if n == 1 { return }
        // Bit-reversal permutation (j tracks the bit-reverse of i incrementally).
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 {
                j ^= bit
                bit >>= 1
            }
            j |= bit
            if i < j { a.swapAt(i, j) }
        }
        twiddles.withUnsafeBufferPointer { tw in
            // First stage: the twiddle is 1.
            var start = 0
            while start < n {
                let u = a[start]
                let v = a[start + 1]
                a[start] = u + v
                a[start + 1] = u - v
                start += 2
            }
            var half = 2
            while half < n {
                let stageTwiddles = tw.baseAddress! + half
                start = 0
                while start < n {
                    let lo = a.baseAddress! + start
                    let hi = lo + half
                    for j in 0..<half {
                        let u = lo[j]
                        let v = hi[j] * stageTwiddles[j]
                        lo[j] = u + v
                        hi[j] = u - v
                    }
                    start += 2 * half
                }
                half *= 2
            }
        }
    }
}

/// `[1, x, x², …, x^(count−1)]`.
public func powers<F: STARKField>(of x: F, count: Int) -> [F] {
    var out = [F]()
    out.reserveCapacity(count)
    var acc = F.one
    for _ in 0..<count {
        out.append(acc)
        acc = acc * x
    }
    return out
}

/// Polynomial helpers used by the prover and by tests.
public enum Polynomial {
    /// Evaluates base-field coefficients at a point of any field (Horner).
    @inlinable
    public static func evaluate<F: STARKField>(_ coefficients: [Goldilocks], at x: F) -> F {
        var acc = F.zero
        for c in coefficients.reversed() { acc = acc * x + F(c) }
        return acc
    }

    /// Evaluates base-field coefficients at an extension point (Horner), the prover's
    /// out-of-domain evaluation; a concrete overload so the hot loop is never generic.
    public static func evaluate(_ coefficients: [Goldilocks], at x: Ext2) -> Ext2 {
        coefficients.withUnsafeBufferPointer { c in
            var acc = Ext2.zero
            var i = c.count - 1
            while i >= 0 {
                acc = acc * x
                acc.c0 = acc.c0 + c[i]
                i -= 1
            }
            return acc
        }
    }

    /// Evaluates extension-field coefficients at an extension point (Horner).
    @inlinable
    public static func evaluate(_ coefficients: [Ext2], at x: Ext2) -> Ext2 {
        var acc = Ext2.zero
        for c in coefficients.reversed() { acc = acc * x + c }
        return acc
    }

    /// Interpolates values on the subgroup of size `values.count` (a power of two) to coefficients.
    public static func interpolate(_ values: [Goldilocks]) -> [Goldilocks] {
        var v = values
        NTTPlan(size: values.count).inverse(&v)
        return v
    }

    /// Evaluates `coefficients` (zero-padded) on the coset `offset·⟨ω⟩` of size `plan.size`.
    public static func evaluateOnCoset(
        _ coefficients: [Goldilocks], offset: Goldilocks, plan: NTTPlan
    ) -> [Goldilocks] {
        precondition(coefficients.count <= plan.size)
        var v = [Goldilocks](repeating: .zero, count: plan.size)
        var shift = Goldilocks.one
        for (i, c) in coefficients.enumerated() {
            v[i] = c * shift
            shift = shift * offset
        }
        plan.forward(&v)
        return v
    }

    /// Evaluates `coefficients` (at most `plan.size` of them) on the coset `offset·⟨ω_(n·blowup)⟩`
    /// as `blowup` transforms of size n = `plan.size`: the points offset·ω^(k + blowup·j) form the
    /// cosets (offset·ω^k)·⟨ω_n⟩. Same output as ``evaluateOnCoset(_:offset:plan:)`` with a plan of
    /// size n·blowup, with fewer butterflies and a working set of one small transform.
    public static func extendOnCoset(
        _ coefficients: [Goldilocks], offset: Goldilocks, blowup: Int, plan: NTTPlan
    ) -> [Goldilocks] {
        let n = plan.size
        precondition(coefficients.count <= n)
        let omega = Goldilocks.rootOfUnity(logOrder: (n * blowup).trailingZeroBitCount)
        var out = [Goldilocks](repeating: .zero, count: n * blowup)
        var scratch = [Goldilocks](repeating: .zero, count: n)
        var shift = offset
        out.withUnsafeMutableBufferPointer { o in
            for k in 0..<blowup {
                scratch.withUnsafeMutableBufferPointer { s in
                    var power = Goldilocks.one
                    for i in 0..<coefficients.count {
                        s[i] = coefficients[i] * power
                        power = power * shift
                    }
                    for i in coefficients.count..<n { s[i] = .zero }
                }
                plan.forward(&scratch)
                scratch.withUnsafeBufferPointer { s in
                    for j in 0..<n { o[k + blowup * j] = s[j] }
                }
                shift = shift * omega
            }
        }
        return out
    }

    /// Interpolates values on the coset `offset·⟨ω⟩` back to coefficients.
    public static func interpolateFromCoset(
        _ values: [Goldilocks], offset: Goldilocks, plan: NTTPlan
    ) -> [Goldilocks] {
        var v = values
        plan.inverse(&v)
        let inv = offset.inverse
        var shift = Goldilocks.one
        for i in 0..<v.count {
            v[i] = v[i] * shift
            shift = shift * inv
        }
        return v
    }

    /// The degree of a coefficient vector (−1 for the zero polynomial).
    public static func degree<F: STARKField>(_ coefficients: [F]) -> Int {
        var d = coefficients.count - 1
        while d >= 0 && coefficients[d] == .zero { d -= 1 }
        return d
    }
}
