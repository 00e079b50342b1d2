import Foundation

/// The proof counters of a bench devnet at one moment: what its thread nodes proved (`proofs`,
/// `prove_us`, `proof_bytes` in each node's `stats`, summed) and what the manager verified for one
/// proof system (`<system>_proofs_verified`, `<system>_proof_bytes`, `<system>_verify_us`).
///
/// A load run takes them after its warm-up and again at the end; the difference is what the load
/// cost (``figures``).
public struct ProofCounters: Sendable, Equatable {
    /// Proofs the nodes made; a sub-block proved again after a revert counts again.
    public var proofs: UInt64 = 0
    public var proveMicros: UInt64 = 0
    public var proofBytes: UInt64 = 0
    /// Proofs the manager verified.
    public var verified: UInt64 = 0
    public var verifyMicros: UInt64 = 0
    public var verifiedBytes: UInt64 = 0

    public init(
        proofs: UInt64 = 0, proveMicros: UInt64 = 0, proofBytes: UInt64 = 0, verified: UInt64 = 0,
        verifyMicros: UInt64 = 0, verifiedBytes: UInt64 = 0
    ) {
        self.proofs = proofs
        self.proveMicros = proveMicros
        self.proofBytes = proofBytes
        self.verified = verified
        self.verifyMicros = verifyMicros
        self.verifiedBytes = verifiedBytes
    }

    /// Reads the counters of `system` from the `counters` of every thread node's `stats` reply and
    /// of the manager's. A counter a daemon does not report counts as 0.
    public init(system: String, nodes: [[String: UInt64]], manager: [String: UInt64]) {
        for node in nodes {
            proofs += node["proofs"] ?? 0
            proveMicros += node["prove_us"] ?? 0
            proofBytes += node["proof_bytes"] ?? 0
        }
        verified = manager["\(system)_proofs_verified"] ?? 0
        verifyMicros = manager["\(system)_verify_us"] ?? 0
        verifiedBytes = manager["\(system)_proof_bytes"] ?? 0
    }

    /// What was counted between `before` and `after`. A counter that went down (its daemon
    /// started again) counts from 0.
    public static func - (after: ProofCounters, before: ProofCounters) -> ProofCounters {
        func since(_ later: UInt64, _ earlier: UInt64) -> UInt64 { later >= earlier ? later - earlier : later }
        return ProofCounters(
            proofs: since(after.proofs, before.proofs), proveMicros: since(after.proveMicros, before.proveMicros),
            proofBytes: since(after.proofBytes, before.proofBytes), verified: since(after.verified, before.verified),
            verifyMicros: since(after.verifyMicros, before.verifyMicros),
            verifiedBytes: since(after.verifiedBytes, before.verifiedBytes))
    }

    /// The means per sub-block, as the report shows them.
    public var figures: BenchReport.ProofFigures {
        BenchReport.ProofFigures(
            proved: Int(proofs),
            proveMsPerSubBlock: proofs > 0 ? Double(proveMicros) / Double(proofs) / 1000 : nil,
            proofKibPerSubBlock: proofs > 0 ? Double(proofBytes) / Double(proofs) / 1024 : nil,
            verified: Int(verified),
            verifyMsPerSubBlock: verified > 0 ? Double(verifyMicros) / Double(verified) / 1000 : nil)
    }
}
