public import Foundation
internal import STARK
public import ThreadVM

/// One measured `stark` sub-block of token transfers.
public struct StarkBenchmarkResult: Sendable {
    public var transfers: Int
    /// Trace rows (a power of two) and the rows in use.
    public var rows: Int
    public var usedRows: Int
    public var mainColumns: Int
    /// Auxiliary columns, each an element of the quadratic extension.
    public var auxColumns: Int
    /// Re-executing the sub-block into the trace.
    public var traceSeconds: Double
    /// The STARK proof alone.
    public var proveSeconds: Double
    /// The manager's proof work: the public inputs from the statement and the STARK verification.
    public var verifyProofSeconds: Double
    /// Of that, the STARK verification alone (the part that grows with log(rows)); the rest is
    /// the per-transaction public data (headers, comparisons, hashes).
    public var verifySTARKSeconds: Double
    /// Everything the manager's `stark` verifier does, the phase-1 signature checks included.
    public var verifyTotalSeconds: Double
    public var proofBytes: Int
    public var conjecturedBits: Int
    public var provenBits: Int
}

/// Proves sub-blocks of token transfers with the `stark` proof system and times each part.
public enum StarkBenchmark {
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// A token sub-block of `count` transfers among the ten seeded users, round robin, each
    /// funded in the canonical state.
    public static func tokenSubBlock(transfers count: Int) throws -> (SubBlockSubmission, Program) {
        let program = try Contracts.named("token")
        let users = DevAccounts.derive(seed: 7).users
        var canonical = MemoryState()
        for user in users {
            canonical.values[VMRules.v2.hash([Felt(1)] + user.address.quad.words)] = Felt(1_000_000_000)
        }
        let thread = ThreadInfo(name: "token")
        var batcher = SubBlockBatcher(
            thread: thread, program: program, osVersion: 2, proofSystem: StarkProofSystem.name,
            canonical: canonical, sequence: 0, maxTransactions: count)
        var nonces = [UInt64](repeating: 0, count: users.count)
        for i in 0..<count {
            let s = i % users.count
            let to = users[(s + 1) % users.count]
            let tx = try ThreadTransaction.make(
                thread: thread.id, contract: program, entrypoint: "transfer",
                arguments: ["to=\(to.address.hex)", "amount=1"], signer: users[s], nonce: nonces[s])
            nonces[s] += 1
            if case .failure(let refusal) = batcher.add(tx, signatureChecked: true) {
                throw ProofError(message: "benchmark transaction \(i) refused: \(refusal)")
            }
        }
        guard let sub = batcher.seal() else { throw ProofError(message: "empty benchmark sub-block") }
        return (sub, program)
    }

    public static func run(transfers: Int, threads: Int? = nil) throws -> StarkBenchmarkResult {
        let threads = threads ?? Parallelism.availableCores
        let (unproved, program) = try tokenSubBlock(transfers: transfers)
        let system = StarkProofSystem()
        let clock = ContinuousClock()
        var builder = ThreadTraceBuilder(
            program: program, rules: .v2, inputs: unproved.inputs, crossReads: unproved.crossReads)
        var built: (TraceTable, ThreadProofClaims)?
        var failure: (any Error)?
        let traceTime = clock.measure {
            do {
                for tx in unproved.transactions { _ = try builder.add(tx) }
                built = try builder.finish(claimedOutputs: unproved.outputs)
            } catch { failure = error }
        }
        if let failure { throw failure }
        let (trace, claims) = built!
        let usedRows = builder.rows.count
        let inputs = try StarkProofSystem.publicInputs(unproved, program: program, rules: .v2, claims: claims).get()
        let air = try ThreadVMAIR(traceLength: trace.length, publicInputs: inputs)
        var stark: [UInt8] = []
        let proveTime = try clock.measure {
            stark = try Prover.prove(air: air, trace: trace, options: system.options.proofOptions, threads: threads)
                .bytes
        }
        var sub = unproved
        sub.proof = StarkProofSystem.proofBytes(claims: claims, stark: stark)
        var verifySTARKTime = Duration.zero
        let verifyProofTime = try clock.measure {
            let inputs = try StarkProofSystem.publicInputs(sub, program: program, rules: .v2, claims: claims).get()
            verifySTARKTime = try clock.measure {
                try Verifier.verify(
                    air: ThreadVMAIR.self, proof: stark, publicInputs: inputs, options: system.options.proofOptions)
            }
        }
        var verdict = ProofCheck.ok
        let verifyTotalTime = clock.measure { verdict = system.verify(sub, program: program) }
        guard verdict.isOK else { throw ProofError(message: "benchmark proof does not verify: \(verdict)") }
        let options = system.options.proofOptions
        return StarkBenchmarkResult(
            transfers: transfers, rows: trace.length, usedRows: usedRows, mainColumns: air.mainWidth,
            auxColumns: air.auxWidth, traceSeconds: seconds(traceTime), proveSeconds: seconds(proveTime),
            verifyProofSeconds: seconds(verifyProofTime), verifySTARKSeconds: seconds(verifySTARKTime),
            verifyTotalSeconds: seconds(verifyTotalTime),
            proofBytes: sub.proof.count, conjecturedBits: options.conjecturedSecurityBits(traceLength: trace.length),
            provenBits: options.provenSecurityBits(traceLength: trace.length))
    }
}
