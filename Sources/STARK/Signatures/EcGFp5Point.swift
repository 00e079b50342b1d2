extension EcGFp5 {
    /// An element of the EcGFp5 group: prime order n, canonical encoding as one ``GFp5`` element.
    ///
    /// The curve is y² = x(x² + 2x + 263z) over GF(p^5), of order 2n. The paper defines the
    /// group as the curve points that are not of n-torsion, with neutral N = (0, 0) and the law
    /// P ⊕ Q = P + Q + N. The map P ↦ P + N is an isomorphism from that group onto the n-torsion
    /// subgroup, so, as the paper's in-VM section does, a point is kept here as its image in the
    /// n-torsion subgroup, on the short Weierstrass form Y² = X³ + A·X + B with X = x + a/3
    /// (A = b − a²/3, B = a(2a² − 9b)/27), in projective coordinates (X : Y : Z), and added with
    /// the complete formulas of Renes, Costello and Batina (ePrint 2015/1060, §3.1). Those are
    /// exception-free when P − Q never has order 2, which holds in a group of odd order; the
    /// identity is (0 : 1 : 0), and doubling is the same formulas with P = Q (fewer products).
    ///
    /// The encoding of an element (x, y) of the paper's group is w = y/x (0 for N); its image
    /// (x′, y′) = (x, y) + N has y′/x′ = −w, so here w = −Y / (X − (a/3)·Z).
    public struct Point: Sendable, CustomStringConvertible {
        var x: GFp5
        var y: GFp5
        var z: GFp5

        init(x: GFp5, y: GFp5, z: GFp5) {
            self.x = x
            self.y = y
            self.z = z
        }

        /// The neutral element (the paper's N; encoded as 0).
        public static let identity = Point(x: .zero, y: .one, z: .zero)

        // MARK: Curve constants

        /// a = 2 and b = 263·z of the curve y² = x(x² + a·x + b).
        static let a = GFp5(Goldilocks(2))
        static let b = GFp5([.zero, Goldilocks(263), .zero, .zero, .zero])
        /// a/3, the shift between x and the short Weierstrass X.
        static let aOverThree = a * Goldilocks(3).inverse
        /// A = b − a²/3.
        static let curveA = b - (a * a) * Goldilocks(3).inverse
        /// Multiplication by A and by 3B, which have only their first two coefficients.
        @inline(__always) static func timesA(_ v: GFp5) -> GFp5 {
            v.timesLinear(curveA.c0, curveA.c1, threeC1: ConstantTime.mul(3, curveA.c1))
        }
        @inline(__always) static func timesThreeB(_ v: GFp5) -> GFp5 {
            v.timesLinear(threeB.c0, threeB.c1, threeC1: ConstantTime.mul(3, threeB.c1))
        }
        /// 3·B = a(2a² − 9b)/9.
        static let threeB = (a * (a * a * Goldilocks(2) - b * Goldilocks(9))) * Goldilocks(9).inverse

        /// The conventional generator: the element whose encoding is w = 4 (the paper's G, with
        /// y/x = 4).
        public static let generator = Point(encoded: GFp5(Goldilocks(4)))!

        // MARK: Encoding

        /// Decodes w; nil when w is not the encoding of an element (the check is complete: each
        /// element has exactly one encoding and every other value is refused). Variable-time:
        /// encodings are public.
        ///
        /// The paper's decoding (ePrint 2022/274, §3.3): e = w² − a, Δ = e² − 4b; w = 0 is the
        /// neutral; otherwise Δ must be a square, and of x₁,₂ = (e ± √Δ)/2 the one that is a
        /// square gives the n-torsion image (x, −w·x).
        public init?(encoded w: GFp5) {
            if w.isZero {
                self = .identity
                return
            }
            let e = w * w - Point.a
            let delta = e * e - Point.b * Goldilocks(4)
            guard let root = delta.squareRoot() else { return nil }
            let half = Goldilocks(2).inverse
            let x1 = (e + root) * half
            let x2 = (e - root) * half
            // x₁·x₂ = b, which is not a square, so exactly one of the two is a square.
            let x = x1.legendre == 1 ? x1 : x2
            guard x.legendre == 1 else { return nil }
            self.init(x: x + Point.aOverThree, y: -(w * x), z: .one)
        }

        /// Decodes five words; nil when a word is not below p or the value is not an encoding.
        public init?(encodedWords words: [UInt64]) {
            guard let w = GFp5(words: words) else { return nil }
            self.init(encoded: w)
        }

        /// The canonical encoding w (constant-time; 0 for the neutral).
        public var encoded: GFp5 {
            -(y * (x - z * Point.aOverThree).inverse)
        }

        public var description: String { "EcGFp5.Point(w: \(encoded))" }

        /// Whether this is the neutral element.
        public var isIdentity: Bool { z.isZero }

        // MARK: Group law

        /// The sum, by the complete projective formulas (Renes–Costello–Batina, general A):
        ///
        ///     X₃ = (X₁Y₂ + X₂Y₁)(Y₁Y₂ − A(X₁Z₂ + X₂Z₁) − 3B·Z₁Z₂)
        ///          − (Y₁Z₂ + Y₂Z₁)(A·X₁X₂ + 3B(X₁Z₂ + X₂Z₁) − A²·Z₁Z₂)
        ///     Y₃ = (3X₁X₂ + A·Z₁Z₂)(A·X₁X₂ + 3B(X₁Z₂ + X₂Z₁) − A²·Z₁Z₂)
        ///          + (Y₁Y₂ + A(X₁Z₂ + X₂Z₁) + 3B·Z₁Z₂)(Y₁Y₂ − A(X₁Z₂ + X₂Z₁) − 3B·Z₁Z₂)
        ///     Z₃ = (Y₁Z₂ + Y₂Z₁)(Y₁Y₂ + A(X₁Z₂ + X₂Z₁) + 3B·Z₁Z₂) + (X₁Y₂ + X₂Y₁)(3X₁X₂ + A·Z₁Z₂)
        public static func + (p: Point, q: Point) -> Point {
            let xx = p.x * q.x
            let yy = p.y * q.y
            let zz = p.z * q.z
            // Karatsuba-style cross terms: (X₁ + Y₁)(X₂ + Y₂) − X₁X₂ − Y₁Y₂ = X₁Y₂ + X₂Y₁, etc.
            let xy = (p.x + p.y) * (q.x + q.y) - xx - yy
            let yz = (p.y + p.z) * (q.y + q.z) - yy - zz
            let xz = (p.x + p.z) * (q.x + q.z) - xx - zz
            return combine(xx: xx, yy: yy, zz: zz, xy: xy, yz: yz, xz: xz)
        }

        /// The rest of the addition formulas, from the products X₁X₂, Y₁Y₂, Z₁Z₂ and the sums
        /// X₁Y₂ + X₂Y₁, Y₁Z₂ + Y₂Z₁, X₁Z₂ + X₂Z₁.
        @inline(__always)
        static func combine(xx: GFp5, yy: GFp5, zz: GFp5, xy: GFp5, yz: GFp5, xz: GFp5) -> Point {
            let aXZ = timesA(xz)
            let bZZ = timesThreeB(zz)
            let aZZ = timesA(zz)
            let u = yy - aXZ - bZZ
            let v = yy + aXZ + bZZ
            let w = timesA(xx) + timesThreeB(xz) - timesA(aZZ)
            let t = xx + xx + xx + aZZ
            return Point(x: xy * u - yz * w, y: t * w + v * u, z: yz * v + xy * t)
        }

        public static prefix func - (p: Point) -> Point { Point(x: p.x, y: -p.y, z: p.z) }

        public static func - (p: Point, q: Point) -> Point { p + (-q) }

        /// 2·P: the addition formulas with P = Q, where the cross sums are 2XY, 2YZ and 2XZ.
        public var doubled: Point {
            let xy = x * y
            let yz = y * z
            let xz = x * z
            return Point.combine(xx: x * x, yy: y * y, zz: z * z, xy: xy + xy, yz: yz + yz, xz: xz + xz)
        }

        /// Constant-time selection: `b` where `mask` is all ones, `a` where it is zero.
        static func select(_ mask: UInt64, _ a: Point, _ b: Point) -> Point {
            Point(x: GFp5.select(mask, a.x, b.x), y: GFp5.select(mask, a.y, b.y), z: GFp5.select(mask, a.z, b.z))
        }

        /// `table[index]`, reading every entry (no secret-dependent memory access).
        static func lookup(_ table: [Point], _ index: UInt64) -> Point {
            var out = Point.identity
            for (j, entry) in table.enumerated() {
                out = select(ConstantTime.equalMask(UInt64(j), index), out, entry)
            }
            return out
        }

        /// k·P, constant-time in k: a fixed 4-bit window (80 digits, 4 doublings and one addition
        /// each, whatever the digits) and a constant-time lookup in the table 0·P … 15·P.
        public static func * (k: Scalar, p: Point) -> Point {
            var table = [Point](repeating: .identity, count: 16)
            table[1] = p
            for j in 2..<16 { table[j] = table[j - 1] + p }
            var acc = Point.identity
            for i in stride(from: 79, through: 0, by: -1) {
                acc = acc.doubled.doubled.doubled.doubled
                acc = acc + lookup(table, k.nibble(i))
            }
            return acc
        }

        /// Rows i = 0…79 of j·16^i·G for j = 0…15: the fixed-base table of the generator.
        static let generatorTable: [[Point]] = {
            var rows: [[Point]] = []
            var base = Point.generator
            for _ in 0..<80 {
                var row = [Point](repeating: .identity, count: 16)
                row[1] = base
                for j in 2..<16 { row[j] = row[j - 1] + base }
                rows.append(row)
                base = row[15] + base
            }
            return rows
        }()

        /// k·G, constant-time in k: one constant-time lookup per 4-bit digit in the precomputed
        /// table of the generator and 80 additions, with no doubling.
        public static func generatorMultiple(_ k: Scalar) -> Point {
            let rows = generatorTable
            var acc = Point.identity
            for i in 0..<80 { acc = acc + lookup(rows[i], k.nibble(i)) }
            return acc
        }
    }
}

extension EcGFp5.Point: Equatable {
    /// Projective equality: X₁Z₂ = X₂Z₁ and Y₁Z₂ = Y₂Z₁ (constant-time).
    public static func == (p: EcGFp5.Point, q: EcGFp5.Point) -> Bool {
        ((p.x * q.z).equalMask(q.x * p.z) & (p.y * q.z).equalMask(q.y * p.z)) != 0
    }
}
