import Foundation
import ThreadVM
import ZKCore

extension BenchReport {
    /// What Ed25519 costs on this machine, and the throughput that allows the pipeline: the floor
    /// a settled tx/s figure is read against.
    ///
    /// The rates are of the calls the daemons make, timed on one core: signing is
    /// `ThreadTransaction.sign(with:)` (the canonical signing bytes, then swift-crypto's
    /// `Curve25519.Signing` through ``DevAccount``), verifying is
    /// `ThreadTransaction.verifySignature()`.
    public struct Signatures: Codable, Sendable, Equatable {
        /// The library and the calls timed.
        public var library: String
        /// Mean time of one signature, in microseconds, on one core.
        public var signUs: Double
        /// Mean time of one verification, in microseconds, on one core.
        public var verifyUs: Double
        public var signsPerSecond: Double
        public var verifiesPerSecond: Double
        /// The cores the limits assume the daemons share.
        public var cores: Int
        /// The crypto-bound limit of each proof system that ran.
        public var limits: [CryptoLimit]

        public init(signUs: Double, verifyUs: Double, cores: Int, proofSystems: [String]) {
            library = "swift-crypto Curve25519.Signing (Ed25519)"
            self.signUs = signUs
            self.verifyUs = verifyUs
            signsPerSecond = signUs > 0 ? 1_000_000 / signUs : 0
            verifiesPerSecond = verifyUs > 0 ? 1_000_000 / verifyUs : 0
            self.cores = cores
            limits = proofSystems.map { CryptoLimit(proofSystem: $0, cores: cores, verifyUs: verifyUs) }
        }

        /// The limit of `proofSystem`, if it ran.
        public func limit(of proofSystem: String) -> CryptoLimit? {
            limits.first { $0.proofSystem == proofSystem }
        }

        /// `settledPerSecond` as a fraction of `proofSystem`'s crypto-bound limit (0.05 is 5 %);
        /// nil when there is no limit to compare with.
        public func fraction(settledPerSecond: Double, proofSystem: String) -> Double? {
            guard let limit = limit(of: proofSystem), limit.txPerSecond > 0 else { return nil }
            return settledPerSecond / limit.txPerSecond
        }
    }

    /// The most thread transactions per second a proof system could settle on this machine if
    /// the signature checks it cannot skip were the only work: `cores / (verifications × verify
    /// time)`.
    public struct CryptoLimit: Codable, Sendable, Equatable {
        public var proofSystem: String
        /// Verifications of every thread transaction the limit counts: the node's at submit (it
        /// admits nothing unsigned) and the manager's (signatures are outside the proof). The
        /// client's signing is not counted: the bench signs before it starts the clock.
        public var verificationsPerTx: Int
        public var txPerSecond: Double
        /// What bounds the proof system's throughput before signatures do: `signatures` when
        /// nothing else should, `proving` for `stark`.
        public var boundBy: String

        public init(proofSystem: String, cores: Int, verifyUs: Double) {
            self.proofSystem = proofSystem
            verificationsPerTx = 2
            // The daemons make exactly these: a reexec node's prover takes the signatures its
            // node checked at admission as checked.
            txPerSecond = Self.limit(cores: cores, verifications: verificationsPerTx, verifyUs: verifyUs)
            boundBy = proofSystem == StarkProofSystem.name ? "proving" : "signatures"
        }

        /// `cores / (verifications × verifyUs)` in transactions per second; 0 when either is
        /// not positive.
        public static func limit(cores: Int, verifications: Int, verifyUs: Double) -> Double {
            guard cores > 0, verifications > 0, verifyUs > 0 else { return 0 }
            return Double(cores) * 1_000_000 / (Double(verifications) * verifyUs)
        }
    }
}

/// Times the Ed25519 calls the daemons make.
public enum SignatureTimer {
    /// Signs, then verifies, `counter.increment(1)` thread transactions for about `duration` each
    /// on one thread of its own (so one core), and returns the mean microseconds of each call.
    public static func measure(duration: Duration = .seconds(1)) async throws -> (signUs: Double, verifyUs: Double) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try measureHere(duration: duration) })
            }
            thread.name = "signature-timer"
            thread.start()
        }
    }

    private static func measureHere(duration: Duration) throws -> (signUs: Double, verifyUs: Double) {
        let program = try Contracts.named("counter")
        let signer = DevAccounts.derive(seed: 1).users[0]
        // Distinct messages, as the daemons see them: one nonce each.
        var transactions = try (0..<64).map { nonce in
            try ThreadTransaction.make(
                thread: ThreadId.derive(name: "counter-1"), contract: program, entrypoint: "increment",
                arguments: ["1"], signer: signer, nonce: UInt64(nonce))
        }
        let signUs = timed(duration: duration) { index in
            transactions[index % transactions.count].sign(with: signer)
            return true
        }
        var valid = true
        let verifyUs = timed(duration: duration) { index in
            let ok = transactions[index % transactions.count].verifySignature()
            valid = valid && ok
            return ok
        }
        guard valid else { throw OrchestratorError("error: a signature the bench made does not verify") }
        return (signUs, verifyUs)
    }

    /// Runs `call` in rounds of 64 until `duration` has passed (after a short warm-up) and
    /// returns its mean time in microseconds.
    private static func timed(duration: Duration, _ call: (Int) -> Bool) -> Double {
        let clock = ContinuousClock()
        for index in 0..<64 { _ = call(index) }
        var calls = 0
        let started = clock.now
        var elapsed = Duration.zero
        repeat {
            for index in 0..<64 { _ = call(calls + index) }
            calls += 64
            elapsed = clock.now - started
        } while elapsed < duration
        return elapsed.seconds * 1_000_000 / Double(calls)
    }
}
