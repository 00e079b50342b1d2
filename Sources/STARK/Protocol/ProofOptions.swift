/// The parameters that trade proof size and prover time for soundness.
///
/// The conjectured security (see docs/stark.md) is
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

    /// 96-bit conjectured security (blowup 8, 27 queries, 16 grinding bits, folding 8, remainder < 32).
    public static let `default` = ProofOptions(
        blowupFactor: 8, numQueries: 27, grindingBits: 16, foldingFactor: 8, remainderMaxDegree: 31)

    /// As strong as the quadratic extension allows (107 bits at 2^16 rows, field-bound):
    /// blowup 16, 28 queries, 20 grinding bits.
    public static let high = ProofOptions(
        blowupFactor: 16, numQueries: 28, grindingBits: 20, foldingFactor: 8, remainderMaxDegree: 31)

    /// Fast and insecure (about 16 bits): for unit tests only.
    public static let testing = ProofOptions(
        blowupFactor: 4, numQueries: 8, grindingBits: 2, foldingFactor: 4, remainderMaxDegree: 7)

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
