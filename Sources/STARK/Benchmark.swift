/// Timings and sizes for one prove/verify round, used by the `stark-bench` executable.
public struct BenchmarkResult: Sendable {
    /// Which AIR was proved.
    public var air: String
    /// log2 of the trace length.
    public var logRows: Int
    /// Main-segment width (base columns) plus auxiliary width (extension columns).
    public var mainWidth: Int
    public var auxWidth: Int
    /// Prover threads.
    public var threads: Int
    /// Wall-clock seconds to build the trace (not included in `proveSeconds`).
    public var traceSeconds: Double
    /// Wall-clock seconds to prove (including serialization).
    public var proveSeconds: Double
    /// Wall-clock seconds to parse and verify.
    public var verifySeconds: Double
    /// Serialized proof size in bytes.
    public var proofBytes: Int
    /// Conjectured security of the options at this trace length.
    public var securityBits: Int
    /// Proven (list-decoding) security of the options at this trace length.
    public var provenSecurityBits: Int
}

/// The AIRs the benchmark knows how to build traces for.
public enum BenchmarkAIR: String, Sendable, CaseIterable {
    case fibonacci = "fib"
    case keyValue = "kv"
}

/// Proves and verifies the example AIRs at a given size; pure computation, the caller prints.
public enum Benchmark {
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Runs one round: build the trace, prove, verify; throws if verification fails.
    public static func run(
        air: BenchmarkAIR, logRows: Int, threads: Int, options: ProofOptions = .default
    ) throws -> BenchmarkResult {
        let clock = ContinuousClock()
        let rows = 1 << logRows
        switch air {
        case .fibonacci:
            var built: (trace: TraceTable, publicInputs: FibonacciAIR.PublicInputs)?
            let traceTime = clock.measure { built = FibonacciAIR.trace(length: rows) }
            guard let (trace, inputs) = built else { throw STARKError.invalidTrace("no trace") }
            return try measure(
                FibonacciAIR.self, name: air.rawValue, trace: trace, inputs: inputs, traceTime: seconds(traceTime),
                logRows: logRows, threads: threads, options: options)
        case .keyValue:
            var built: (trace: TraceTable, publicInputs: KeyValueAIR.PublicInputs)?
            var failure: (any Error)?
            let traceTime = clock.measure {
                do { built = try KeyValueAIR.benchmarkWorkload(traceLength: rows) } catch { failure = error }
            }
            if let failure { throw failure }
            guard let (trace, inputs) = built else { throw STARKError.invalidTrace("no trace") }
            return try measure(
                KeyValueAIR.self, name: air.rawValue, trace: trace, inputs: inputs, traceTime: seconds(traceTime),
                logRows: logRows, threads: threads, options: options)
        }
    }

    static func measure<A: AIR>(
        _ air: A.Type, name: String, trace: TraceTable, inputs: A.PublicInputs, traceTime: Double, logRows: Int,
        threads: Int, options: ProofOptions
    ) throws -> BenchmarkResult {
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        var proveError: (any Error)?
        let proveTime = clock.measure {
            do {
                bytes = try Prover.prove(
                    air: A.self, trace: trace, publicInputs: inputs, options: options, threads: threads)
            } catch { proveError = error }
        }
        if let proveError { throw proveError }
        var verifyError: (any Error)?
        let verifyTime = clock.measure {
            do { try Verifier.verify(air: A.self, proof: bytes, publicInputs: inputs, options: options) } catch {
                verifyError = error
            }
        }
        if let verifyError { throw verifyError }
        let instance = try A(traceLength: trace.length, publicInputs: inputs)
        return BenchmarkResult(
            air: name, logRows: logRows, mainWidth: instance.mainWidth, auxWidth: instance.auxWidth, threads: threads,
            traceSeconds: traceTime, proveSeconds: seconds(proveTime), verifySeconds: seconds(verifyTime),
            proofBytes: bytes.count, securityBits: options.conjecturedSecurityBits(traceLength: trace.length),
            provenSecurityBits: options.provenSecurityBits(traceLength: trace.length))
    }
}
