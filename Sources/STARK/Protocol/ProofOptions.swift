#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The parameters that trade proof size and prover time for soundness.
///
/// Two security figures are reported: ``provenSecurityBits(traceLength:)`` (list-decoding regime,
/// no conjecture) and ``conjecturedSecurityBits(traceLength:)``. The conjectured security (see
/// docs/stark.md) is
/// `min(fieldBits − log2(ldeDomainSize), log2(blowup)·queries + grinding) − 1`, capped by the
/// hash's 128-bit collision resistance, where the extension field has 128 bits and grinding only
/// counts once the query part alone reaches 80 bits (as in Winterfell and ethSTARK).
public struct ProofOptions: Sendable, Hashable, Codable, CustomStringConvertible {
    /// LDE blowup factor: a power of two in 2...256, at least the AIR's highest constraint degree.
    public var blowupFactor: Int
    /// Number of FRI query positions, 1...255.
    public var numQueries: Int
    /// Proof-of-work bits ground before query positions are drawn, 0...32.
    public var grindingBits: Int
    /// FRI folding factor: 2, 4, 8 or 16.
    public var foldingFactor: Int
    /// FRI stops folding once the degree bound is at most this + 1 and sends the remainder
    /// polynomial's coefficients (a power of two minus one, 0...255).
    public var remainderMaxDegree: Int

    public init(blowupFactor: Int, numQueries: Int, grindingBits: Int, foldingFactor: Int, remainderMaxDegree: Int) {
        self.blowupFactor = blowupFactor
        self.numQueries = numQueries
        self.grindingBits = grindingBits
        self.foldingFactor = foldingFactor
        self.remainderMaxDegree = remainderMaxDegree
    }

    /// 96 bits conjectured / 55 bits proven at 2^16 rows (blowup 8, 27 queries, 16 grinding bits,
    /// folding 8, remainder < 32). Conjectured stays 96 up to 2^28 rows; proven falls from 56 bits at
    /// 2^10 rows to 49 at 2^28.
    public static let `default` = ProofOptions(
        blowupFactor: 8, numQueries: 27, grindingBits: 16, foldingFactor: 8, remainderMaxDegree: 31)

    /// 107 bits conjectured / 69 bits proven at 2^16 rows (blowup 16, 28 queries, 20 grinding bits):
    /// as strong as the quadratic extension allows; field-bound, so both figures fall with the trace
    /// length (99 / 54 at 2^24 rows).
    public static let high = ProofOptions(
        blowupFactor: 16, numQueries: 28, grindingBits: 20, foldingFactor: 8, remainderMaxDegree: 31)

    /// 15 bits conjectured / 9 proven: fast and insecure, for unit tests only (below the verifier's
    /// ``SecurityFloor``).
    public static let testing = ProofOptions(
        blowupFactor: 4, numQueries: 8, grindingBits: 2, foldingFactor: 4, remainderMaxDegree: 7)

    /// "96-bit conjectured / 55-bit proven": both figures at `traceLength` rows.
    public func securityLabel(traceLength: Int) -> String {
        "\(conjecturedSecurityBits(traceLength: traceLength))-bit conjectured / \(provenSecurityBits(traceLength: traceLength))-bit proven"
    }

    /// Bits of the extension field every challenge is drawn from.
    public static let extensionFieldBits = 128
    /// Collision resistance of BLAKE3-256.
    public static let hashCollisionBits = 128
    /// Grinding only counts once queries alone give this many bits.
    public static let grindingFloor = 80

    /// Conjectured security in bits for a trace of `traceLength` rows.
    public func conjecturedSecurityBits(traceLength: Int) -> Int {
        let ldeLog = (max(traceLength, 1) * blowupFactor).trailingZeroBitCount
        let fieldSecurity = ProofOptions.extensionFieldBits - ldeLog
        var querySecurity = blowupFactor.trailingZeroBitCount * numQueries
        if querySecurity >= ProofOptions.grindingFloor { querySecurity += grindingBits }
        return max(0, min(min(fieldSecurity, querySecurity) - 1, ProofOptions.hashCollisionBits))
    }

    /// Proven security in bits for a trace of `traceLength` rows, in the list-decoding regime.
    ///
    /// The round-by-round soundness bound of Theorem 2 in ePrint 2024/1553 (the bound Winterfell
    /// reports as `ProvenSecurity`), maximised over the proximity parameter m and capped by the
    /// hash's collision resistance. Unlike ``conjecturedSecurityBits(traceLength:)`` it rests on no
    /// conjecture about Reed–Solomon codes; with the 128-bit extension field it stays well below
    /// the conjectured figure (about 55 bits for `.default`; see docs/stark.md).
    public func provenSecurityBits(traceLength: Int) -> Int {
        let upper = ProofOptions.maximumProximity(traceLength: traceLength)
        guard upper > 3 else { return 0 }
        var best = 0
        for m in 3..<upper {
            best = max(best, Int(max(0, provenSecurityTerms(traceLength: traceLength, proximity: m).bits)))
        }
        return min(best, ProofOptions.hashCollisionBits)
    }

    /// The four error terms of the list-decoding bound, each in bits (−log2 of the error).
    struct ProvenSecurityTerms: Equatable {
        /// Batching the constraints with random coefficients (ALI): |F| / L.
        var ali: Double
        /// The out-of-domain (DEEP) point: |F| / (L²·(D·(n + 1) + n − 1)), two openings z and zg.
        var deep: Double
        /// FRI commit phase: |F| / (0.5·(m + ½)^7·N²/ρ^1.5).
        var friCommit: Double
        /// FRI query phase: grinding − queries·log2((1 + 1/(2m))·√ρ).
        var friQuery: Double
        /// The weakest round.
        var bits: Double { min(min(ali, deep), min(friCommit, friQuery)) }
    }

    /// The list-decoding error terms at proximity parameter `m` (an integer ≥ 3).
    ///
    /// ρ = 1/blowup is the code rate, N = n·blowup the LDE size, L = m/(ρ − 2m/N) the list size,
    /// α = (1 + 1/(2m))·√ρ the proximity bound, and the constraint degree D is bounded by
    /// blowup + 1 (the composition needs blowup ≥ D).
    func provenSecurityTerms(traceLength n: Int, proximity m: Int) -> ProvenSecurityTerms {
        let field = Double(ProofOptions.extensionFieldBits)
        let rho = 1 / Double(blowupFactor)
        let mm = Double(m)
        let h = Double(n)
        let lde = h * Double(blowupFactor)
        let list = mm / (rho - 2 * mm / lde)
        let degree = Double(blowupFactor) + 1
        let openings = 2.0
        let alpha = (1 + 0.5 / mm) * rho.squareRoot()
        return ProvenSecurityTerms(
            ali: field - log2(list),
            deep: field - log2(list * list * (degree * (h + openings - 1) + (h - 1))),
            friCommit: field - log2(0.5 * pow(mm + 0.5, 7) / pow(rho, 1.5) * lde * lde),
            friQuery: Double(grindingBits) - Double(numQueries) * log2(alpha))
    }

    /// One past the largest proximity parameter m for which the bound holds (the slack η > 0),
    /// capped at 1000 (the optimum is far lower: larger m weakens the FRI commit term).
    static func maximumProximity(traceLength n: Int) -> Int {
        let h = Double(n)
        let bound = (1 / (2 * (((h + 2) / h).squareRoot() - 1))).rounded(.up)
        return Int(min(bound, 1000))
    }

    /// Checks every option is in range.
    public func validate() throws(STARKError) {
        func bad(_ m: String) -> STARKError { .invalidOptions(m) }
        guard blowupFactor >= 2, blowupFactor <= 256, blowupFactor & (blowupFactor - 1) == 0 else {
            throw bad("blowup factor \(blowupFactor) must be a power of two in 2...256")
        }
        guard (1...255).contains(numQueries) else { throw bad("query count \(numQueries) must be in 1...255") }
        guard (0...32).contains(grindingBits) else { throw bad("grinding bits \(grindingBits) must be in 0...32") }
        guard [2, 4, 8, 16].contains(foldingFactor) else {
            throw bad("folding factor \(foldingFactor) must be 2, 4, 8 or 16")
        }
        guard remainderMaxDegree >= 0, remainderMaxDegree <= 255, (remainderMaxDegree + 1) & remainderMaxDegree == 0
        else { throw bad("remainder max degree \(remainderMaxDegree) must be 2^k − 1 ≤ 255") }
    }

    func write(to w: inout ByteWriter) {
        w.write(UInt8(truncatingIfNeeded: blowupFactor.trailingZeroBitCount))
        w.write(UInt8(truncatingIfNeeded: numQueries))
        w.write(UInt8(truncatingIfNeeded: grindingBits))
        w.write(UInt8(truncatingIfNeeded: foldingFactor))
        w.write(UInt8(truncatingIfNeeded: remainderMaxDegree))
    }

    static func read(from r: inout ByteReader) throws(ParseError) -> ProofOptions {
        let logBlowup = Int(try r.readUInt8())
        guard logBlowup <= 8 else { throw .invalid("blowup exponent \(logBlowup) out of range") }
        return ProofOptions(
            blowupFactor: 1 << logBlowup, numQueries: Int(try r.readUInt8()), grindingBits: Int(try r.readUInt8()),
            foldingFactor: Int(try r.readUInt8()), remainderMaxDegree: Int(try r.readUInt8()))
    }

    public var description: String {
        "blowup \(blowupFactor), \(numQueries) queries, \(grindingBits) grinding bits, folding \(foldingFactor), remainder degree < \(remainderMaxDegree + 1)"
    }
}

/// The weakest options a verifier accepts: every public verification entry point refuses options
/// below ``standard``, whatever the proof or the caller asks for.
///
/// The floor is: at least 96 bits of conjectured security at the proof's trace length, a blowup of
/// at least 4 and at least 16 queries. Blowup 2 (rate 1/2) is where the proven bounds are weakest
/// and the conjecture is furthest from what is proven; 16 queries keep the query phase from
/// resting on a handful of positions plus grinding.
public struct SecurityFloor: Sendable, Hashable, CustomStringConvertible {
    /// Least conjectured security, in bits, at the proof's trace length.
    public let conjecturedBits: Int
    /// Least LDE blowup factor.
    public let minimumBlowup: Int
    /// Least number of FRI queries.
    public let minimumQueries: Int

    init(conjecturedBits: Int, minimumBlowup: Int, minimumQueries: Int) {
        self.conjecturedBits = conjecturedBits
        self.minimumBlowup = minimumBlowup
        self.minimumQueries = minimumQueries
    }

    /// 96 bits conjectured, blowup ≥ 4, ≥ 16 queries.
    public static let standard = SecurityFloor(conjecturedBits: 96, minimumBlowup: 4, minimumQueries: 16)

    /// No floor: only for unit tests, which prove with fast, insecure options.
    static let none = SecurityFloor(conjecturedBits: 0, minimumBlowup: 2, minimumQueries: 1)

    /// Throws ``STARKError/invalidOptions(_:)`` when `options` are below the floor for a trace of
    /// `traceLength` rows.
    public func check(_ options: ProofOptions, traceLength: Int) throws(STARKError) {
        try options.validate()
        guard options.blowupFactor >= minimumBlowup else {
            throw .invalidOptions("blowup \(options.blowupFactor) is below the floor of \(minimumBlowup)")
        }
        guard options.numQueries >= minimumQueries else {
            throw .invalidOptions("\(options.numQueries) queries are below the floor of \(minimumQueries)")
        }
        let bits = options.conjecturedSecurityBits(traceLength: traceLength)
        guard bits >= conjecturedBits else {
            throw .invalidOptions(
                "options (\(options)) give \(bits) bits of conjectured security at \(traceLength) rows, below the floor of \(conjecturedBits)"
            )
        }
    }

    public var description: String {
        "\(conjecturedBits) bits conjectured, blowup ≥ \(minimumBlowup), ≥ \(minimumQueries) queries"
    }
}

/// Everything that can go wrong when proving or verifying.
public enum STARKError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Proof options out of range or unsuitable for the AIR.
    case invalidOptions(String)
    /// The trace's shape does not match the AIR.
    case invalidTrace(String)
    /// The public inputs are malformed.
    case invalidPublicInputs(String)
    /// The witness does not satisfy a constraint (the prover refuses to prove a false statement).
    case unsatisfiedConstraint(name: String, row: Int)
    /// A constraint's real degree exceeds its declared degree (debug builds check this).
    case constraintDegreeMismatch(name: String, declared: Int, actual: Int)
    /// The proof bytes could not be parsed.
    case malformedProof(ParseError)
    /// The proof is well-formed but does not verify.
    case rejected(String)

    /// A stable machine-readable code for logs and revert reasons.
    public var code: String {
        switch self {
        case .invalidOptions: "invalid_options"
        case .invalidTrace: "invalid_trace"
        case .invalidPublicInputs: "invalid_public_inputs"
        case .unsatisfiedConstraint: "unsatisfied_constraint"
        case .constraintDegreeMismatch: "constraint_degree_mismatch"
        case .malformedProof: "malformed_proof"
        case .rejected: "rejected"
        }
    }

    public var description: String {
        switch self {
        case .invalidOptions(let m): "invalid proof options: \(m)"
        case .invalidTrace(let m): "invalid trace: \(m)"
        case .invalidPublicInputs(let m): "invalid public inputs: \(m)"
        case .unsatisfiedConstraint(let n, let r): "constraint '\(n)' does not hold at row \(r)"
        case .constraintDegreeMismatch(let n, let d, let a):
            "constraint '\(n)' is declared degree \(d) but has degree \(a) in the trace polynomials"
        case .malformedProof(let e): "malformed proof: \(e)"
        case .rejected(let m): "proof rejected: \(m)"
        }
    }
}
