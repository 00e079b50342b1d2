import Testing

@testable import STARK

/// A GF(p^5) element from five (possibly unreduced) 64-bit words, like the reference's
/// `GFp5::from_u64_reduce`.
func gfp5(_ c: UInt64...) -> GFp5 { GFp5(c.map { Goldilocks($0) }) }

extension TestRNG {
    mutating func gfp5Element() -> GFp5 { GFp5((0..<5).map { _ in base() }) }
    mutating func scalar() -> EcGFp5.Scalar {
        EcGFp5.Scalar(reducing: (0..<64).map { _ in UInt8.random(in: 0...255, using: &self) })
    }
}

@Suite struct GFp5Tests {
    /// Vectors of pornin/ecgfp5 (commit ce059c6): `rust/src/field.rs`, test `gfp5_ops`, the same
    /// as `python/ecGFp5.py`, `TestGFp5` ("obtained from Sage").
    static let a = gfp5(
        9788683869780751860, 18176307314149915536, 17581807048943060475, 16706651231658143014, 424516324638612383)
    static let b = gfp5(
        1541862605911742196, 5168181287870979863, 10854086836664484156, 11043707160649157424, 943499178011708365)
    static let aPlusB = gfp5(
        11330546475692494056, 4897744532606311078, 9989149816192960310, 9303614322892716117, 1368015502650320748)
    static let aMinusB = gfp5(
        8246821263869009664, 13008126026278935673, 6727720212278576319, 5662944071008985590, 17927761216041488339)
    static let aTimesB = gfp5(
        5924286846078684570, 12564682493825924142, 17116577152380521223, 5260948460973948760, 15673927150284637712)
    static let aOverB = gfp5(
        6854214528917216670, 4676163378868226016, 7338977912708396522, 9922012834063967541, 11413717840889184601)

    @Test func referenceVectors() {
        let (a, b) = (Self.a, Self.b)
        #expect(a + b == Self.aPlusB)
        #expect(a - b == Self.aMinusB)
        #expect(a * b == Self.aTimesB)
        #expect(b * a == Self.aTimesB)
        #expect(a * b.inverse == Self.aOverB)
        #expect(Self.aOverB * b == a)
        #expect(a.squared == a * a)
    }

    @Test func inverseSquareRootAndLegendre() {
        #expect(GFp5.zero.inverse == .zero)
        #expect(GFp5.zero.legendre == 0)
        #expect(GFp5.zero.squareRoot() == .zero)
        var rng = TestRNG(seed: 5)
        let seven = Goldilocks(7)  // not a square in GF(p), so not a square in GF(p^5) either
        for _ in 0..<100 {
            let x = rng.gfp5Element()
            if x.isZero { continue }
            #expect(x * x.inverse == .one)
            let square = x.squared
            #expect(square.legendre == 1)
            let root = square.squareRoot()
            #expect(root == x || root == -x)
            let nonSquare = square * seven
            #expect(nonSquare.legendre == -1)
            #expect(nonSquare.squareRoot() == nil)
        }
    }

    @Test func wordsAreCanonical() {
        #expect(GFp5(words: [0, 0, 0, 0, Goldilocks.modulus]) == nil)
        #expect(GFp5(words: [Goldilocks.modulus - 1, 0, 0, 0, 0]) != nil)
        #expect(GFp5(words: [1, 2, 3, 4]) == nil)
    }

    @Test func constantTimeHelpersAgreeWithGoldilocks() {
        var rng = TestRNG(seed: 9)
        let edges: [UInt64] = [0, 1, 2, Goldilocks.modulus - 1, Goldilocks.modulus - 2, 0xFFFF_FFFF, 1 << 32, 1 << 63]
        var values = edges
        for _ in 0..<200 { values.append(rng.next() % Goldilocks.modulus) }
        for x in values {
            for y in values.prefix(20) {
                let (gx, gy) = (Goldilocks(x), Goldilocks(y))
                #expect(ConstantTime.add(x, y) == (gx + gy).value)
                #expect(ConstantTime.sub(x, y) == (gx - gy).value)
                #expect(ConstantTime.mul(x, y) == (gx * gy).value)
            }
        }
    }
}

@Suite struct EcGFp5CurveTests {
    typealias Point = EcGFp5.Point
    typealias Scalar = EcGFp5.Scalar

    /// pornin/ecgfp5 `rust/src/curve.rs`, test `ecgfp5_ops` (also `python/ecGFp5.py`,
    /// `TestEcGFp5`), "generated with Sage": w0 is the neutral, P1 random, P2 = e·P1, P3 = P1 + P2,
    /// P4 = 2·P1, P5 = 2·P2, P6 = 2·P1 + P2, P7 = P1 + 2·P2.
    static let w: [GFp5] = [
        gfp5(0, 0, 0, 0, 0),
        gfp5(
            12539254003028696409, 15524144070600887654, 15092036948424041984, 11398871370327264211, 10958391180505708567
        ),
        gfp5(
            11001943240060308920, 17075173755187928434, 3940989555384655766, 15017795574860011099, 5548543797011402287),
        gfp5(246872606398642312, 4900963247917836450, 7327006728177203977, 13945036888436667069, 3062018119121328861),
        gfp5(8058035104653144162, 16041715455419993830, 7448530016070824199, 11253639182222911208, 6228757819849640866),
        gfp5(
            10523134687509281194, 11148711503117769087, 9056499921957594891, 13016664454465495026, 16494247923890248266),
        gfp5(12173306542237620, 6587231965341539782, 17027985748515888117, 17194831817613584995, 10056734072351459010),
        gfp5(
            9420857400785992333, 4695934009314206363, 14471922162341187302, 13395190104221781928, 16359223219913018041),
    ]
    /// Same source: values that must not decode.
    static let invalid: [GFp5] = [
        gfp5(
            13557832913345268708, 15669280705791538619, 8534654657267986396, 12533218303838131749, 5058070698878426028),
        gfp5(135036726621282077, 17283229938160287622, 13113167081889323961, 1653240450380825271, 520025869628727862),
        gfp5(6727960962624180771, 17240764188796091916, 3954717247028503753, 1002781561619501488, 4295357288570643789),
        gfp5(4578929270179684956, 3866930513245945042, 7662265318638150701, 9503686272550423634, 12241691520798116285),
        gfp5(16890297404904119082, 6169724643582733633, 9725973298012340311, 5977049210035183790, 11379332130141664883),
        gfp5(
            13777379982711219130, 14715168412651470168, 17942199593791635585, 6188824164976547520, 15461469634034461986),
    ]
    /// `python/ecGFp5.py`, `TestEcGFp5`: the scalar e with P2 = e·P1, as 40 little-endian bytes
    /// of 841809598287430541331763924924406256080383779033370172527955679319982746101779529382447999363236.
    static let e = Scalar(
        decimal: "841809598287430541331763924924406256080383779033370172527955679319982746101779529382447999363236")

    func decoded() throws -> [Point] { try Self.w.map { try #require(Point(encoded: $0)) } }

    @Test func decodeAndEncodeRoundTrip() throws {
        let points = try decoded()
        #expect(points[0].isIdentity)
        for (point, w) in zip(points, Self.w) { #expect(point.encoded == w) }
        for i in 1..<points.count { #expect(!points[i].isIdentity) }
        #expect(points[1] != points[2] && points[0] != points[1] && points[1] == points[1])
    }

    @Test func invalidEncodingsAreRefused() {
        for w in Self.invalid { #expect(Point(encoded: w) == nil) }
        // Non-canonical words: p + 4 is 4 (G's encoding) and p is 0 (the neutral's) modulo p,
        // but only the canonical words decode.
        #expect(Point(encodedWords: [4, 0, 0, 0, 0]) == Point.generator)
        #expect(Point(encodedWords: [Goldilocks.modulus + 4, 0, 0, 0, 0]) == nil)
        #expect(Point(encodedWords: [0, 0, 0, 0, 0])?.isIdentity == true)
        #expect(Point(encodedWords: [0, 0, Goldilocks.modulus, 0, 0]) == nil)
        #expect(Point(encodedWords: Self.w[6].words) != nil)
    }

    @Test func additionAndDoublingVectors() throws {
        let p = try decoded()
        #expect((p[1] + p[2]).encoded == Self.w[3])
        #expect((p[1] + p[1]).encoded == Self.w[4])
        #expect(p[2].doubled.encoded == Self.w[5])
        #expect((p[1].doubled + p[2]).encoded == Self.w[6])
        #expect((p[1] + p[2] + p[2]).encoded == Self.w[7])
        #expect((p[0] + p[0]).encoded.isZero)
        #expect(p[0].doubled.encoded.isZero)
        #expect((p[0] + p[1]).encoded == Self.w[1])
        #expect((p[1] + p[0]).encoded == Self.w[1])
        #expect((p[1] - p[1]).isIdentity)
        #expect((p[1] - (-p[2])).encoded == Self.w[3])
    }

    @Test func scalarMultiplicationVectors() throws {
        let p = try decoded()
        #expect((Self.e * p[1]).encoded == Self.w[2])
        // `rust/src/curve.rs`, test `ecgfp5_mul`: w2 = e·w1 with e given as 40 bytes.
        let w1 = gfp5(
            7534507442095725921, 16658460051907528927, 12417574136563175256, 2750788641759288856, 620002843272906439)
        let ebuf: [UInt8] = [
            0x1B, 0x18, 0x51, 0xC8, 0x1D, 0x22, 0xD4, 0x0D, 0x6D, 0x36, 0xEC, 0xCE, 0x54, 0x27, 0x41, 0x66,
            0x08, 0x14, 0x2F, 0x8F, 0xFF, 0x64, 0xB4, 0x76, 0x28, 0xCD, 0x3F, 0xF8, 0xAA, 0x25, 0x16, 0xD4,
            0xBA, 0xD0, 0xCC, 0x02, 0x1A, 0x44, 0x7C, 0x03,
        ]
        let w2 = gfp5(
            9486104512504676657, 14312981644741144668, 5159846406177847664, 15978863787033795628, 3249948839313771192)
        let point = try #require(Point(encoded: w1))
        let k = try #require(Scalar(bytes: ebuf))
        #expect((k * point).encoded == w2)
        #expect(k * point == Point(encoded: w2))
    }

    @Test func generatorIsThePublishedPoint() throws {
        // README of pornin/ecgfp5: G is the group element with y/x = 4, and
        // x = 12883135586176881569 + 4356519642755055268·z + 5248930565894896907·z²
        //     + 2165973894480315022·z³ + 2448410071095648785·z⁴.
        let g = Point.generator
        #expect(g.encoded == GFp5(Goldilocks(4)))
        // Here G is kept as G + N = (b/x, −4b/x) shifted by a/3; recover the paper's x.
        let affineX = g.x * g.z.inverse - Point.aOverThree
        let paperX = Point.b * affineX.inverse
        #expect(
            paperX
                == gfp5(
                    12883135586176881569, 4356519642755055268, 5248930565894896907, 2165973894480315022,
                    2448410071095648785))
    }

    @Test func groupLaw() throws {
        let g = Point.generator
        let n = Scalar.zero - Scalar.one  // n − 1
        #expect((n * g + g).isIdentity)
        #expect((n * g) == -g)
        #expect(Point.generatorMultiple(n) == -g)
        #expect((Scalar.zero * g).isIdentity)
        #expect(Point.generatorMultiple(.zero).isIdentity)
        #expect(Point.identity.doubled.isIdentity)
        #expect(g.doubled == g + g && g.doubled != g)
        var rng = TestRNG(seed: 17)
        let p = try decoded()
        for _ in 0..<4 {
            let (k, l) = (rng.scalar(), rng.scalar())
            #expect(Point.generatorMultiple(k) == k * g)
            #expect((k + l) * p[1] == k * p[1] + l * p[1])
            #expect((k * l) * p[2] == k * (l * p[2]))
            // Associativity and commutativity spot checks.
            let (a, b, c) = (k * g, l * p[1], p[2])
            #expect((a + b) + c == a + (b + c))
            #expect(a + b == b + a)
            // The dedicated doubling agrees with the addition of a point to itself.
            #expect(a.doubled == a + a)
            #expect(a.doubled.doubled == (a + a) + (a + a))
            // The dedicated doubling agrees with the addition of a point to itself.
            #expect(a.doubled == a + a)
            #expect(a.doubled.doubled == (a + a) + (a + a))
            #expect((a + b).encoded == (b + a).encoded)
        }
    }
}

@Suite struct EcGFp5ScalarTests {
    typealias Scalar = EcGFp5.Scalar

    /// pornin/ecgfp5 `rust/src/scalar.rs`, test `scalar_ops`: buf1 = n − 1 (decodes), buf2 = n
    /// (refused), buf4 a 512-bit integer, buf5 = buf4 mod n, buf6 = buf5^(2^8) mod n.
    static let buf1: [UInt8] = [
        0xE0, 0xFF, 0x8B, 0x94, 0x96, 0xD9, 0x0F, 0xE8, 0x9C, 0xA0, 0x24, 0xD7, 0x39, 0x5C, 0x88, 0xE8,
        0x39, 0x06, 0xB8, 0xCF, 0xE6, 0xFF, 0xFF, 0x7F, 0x16, 0x00, 0x00, 0x00, 0xF1, 0xFF, 0xFF, 0x7F,
        0x07, 0x00, 0x00, 0x80, 0xFD, 0xFF, 0xFF, 0x7F,
    ]
    static let buf4: [UInt8] = [
        0xB5, 0xDD, 0x28, 0xB8, 0xD2, 0x9B, 0x6F, 0xF8, 0x15, 0x65, 0x3F, 0x89, 0xDB, 0x7B, 0xA9, 0xDE,
        0x33, 0x7D, 0xA8, 0x27, 0x82, 0x26, 0xB4, 0xD6, 0x9E, 0x1F, 0xFA, 0x97, 0x3D, 0x9E, 0x01, 0x9C,
        0x77, 0xC9, 0x63, 0x5C, 0xB8, 0x34, 0xD8, 0x1A, 0x4D, 0xCB, 0x03, 0x48, 0x62, 0xCD, 0xEE, 0xC9,
        0x8E, 0xC8, 0xC9, 0xA7, 0xB3, 0x6E, 0xDA, 0xCE, 0x18, 0x75, 0x1B, 0xDD, 0x4F, 0x94, 0x67, 0xB5,
    ]
    static let buf5: [UInt8] = [
        0x89, 0x01, 0x7A, 0x52, 0xBD, 0xDF, 0x45, 0x60, 0xCE, 0x5B, 0xBA, 0xE5, 0x5D, 0x25, 0x96, 0x5A,
        0x0A, 0x4F, 0x0A, 0x27, 0x1A, 0x7A, 0xE8, 0x1D, 0x7D, 0xBF, 0xE3, 0xE3, 0xFA, 0x5E, 0x17, 0xE0,
        0x44, 0xD9, 0xA5, 0x37, 0x9B, 0xF8, 0x38, 0x74,
    ]
    static let buf6: [UInt8] = [
        0x27, 0x7E, 0x2C, 0xAB, 0x6D, 0xAD, 0x8D, 0xA0, 0x15, 0x44, 0x02, 0x0F, 0xFA, 0xD5, 0x4F, 0x15,
        0xBF, 0x6D, 0x1D, 0x76, 0x22, 0x73, 0xCD, 0xDA, 0x23, 0xFE, 0x5A, 0xED, 0xCA, 0x75, 0xD7, 0x04,
        0x05, 0x66, 0x87, 0x3D, 0x37, 0x5B, 0x24, 0x13,
    ]

    @Test func referenceVectors() throws {
        let nMinusOne = try #require(Scalar(bytes: Self.buf1))
        #expect(nMinusOne.bytes == Self.buf1)
        #expect(nMinusOne + .one == .zero)
        #expect(nMinusOne == Scalar.zero - Scalar.one)
        var n = Self.buf1
        n[0] += 1
        #expect(Scalar(bytes: n) == nil)
        #expect(Scalar(bytes: [UInt8](repeating: 0xFF, count: 40)) == nil)
        let s4 = Scalar(reducing: Self.buf4)
        #expect(s4.bytes == Self.buf5)
        #expect(Scalar(bytes: Self.buf5) == s4)
        var s6 = s4
        for _ in 0..<8 { s6 = s6 * s6 }
        #expect(s6.bytes == Self.buf6)
    }

    @Test func arithmetic() {
        var rng = TestRNG(seed: 3)
        for _ in 0..<50 {
            let (a, b, c) = (rng.scalar(), rng.scalar(), rng.scalar())
            #expect(a + b == b + a)
            #expect(a + b - b == a)
            #expect(a * (b + c) == a * b + a * c)
            #expect((a * b) * c == a * (b * c))
            #expect(-a + a == .zero)
            #expect(a * .one == a)
        }
        #expect(Scalar(words: [Goldilocks(5), Goldilocks(7)]) == Scalar(5) + Scalar(7) * Scalar(Goldilocks.modulus))
    }
}

extension EcGFp5.Scalar {
    /// A scalar from a decimal string (tests only).
    init(decimal: String) {
        var acc = EcGFp5.Scalar.zero
        let ten = EcGFp5.Scalar(10)
        for ch in decimal { acc = acc * ten + EcGFp5.Scalar(UInt64(String(ch))!) }
        self = acc
    }
}
