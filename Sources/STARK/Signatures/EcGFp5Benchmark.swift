/// Native timings of EcGFp5 Schnorr signatures, used by `stark-bench --signatures`.
public struct SignatureBenchmarkResult: Sendable {
    /// Signatures timed (each step runs this many times).
    public var iterations: Int
    /// Seconds to build the generator's fixed-base table (once per process, on first use).
    public var tableSeconds: Double
    /// Mean seconds per key derivation from a seed (two sponges and k·G).
    public var keySeconds: Double
    /// Mean seconds per signature.
    public var signSeconds: Double
    /// Mean seconds per verification (signature already parsed, public key already decoded).
    public var verifySeconds: Double
    /// Mean seconds to decode a public key (a square root in GF(p^5)).
    public var decodeSeconds: Double
    /// Mean seconds per Poseidon2 permutation.
    public var permutationSeconds: Double
}

extension EcGFp5 {
    /// Times key derivation, signing, verification and decoding over `iterations` fresh keys and
    /// 8-word messages; traps if a signature fails to verify.
    public static func benchmark(iterations: Int) -> SignatureBenchmarkResult {
        let clock = ContinuousClock()
        let table = clock.measure { _ = Point.generatorTable }
        let seeds = (0..<iterations).map { i in (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }
        let messages = (0..<iterations).map { i in (0..<8).map { Goldilocks(UInt64(i * 8 + $0)) } }
        var keys: [SecretKey] = []
        let keyTime = clock.measure { keys = seeds.map { SecretKey(seed: $0) } }
        var signatures: [Signature] = []
        let signTime = clock.measure {
            signatures = zip(keys, messages).map { $0.sign(message: $1) }
        }
        var valid = true
        let verifyTime = clock.measure {
            for i in 0..<iterations {
                valid = keys[i].publicKey.verify(message: messages[i], signature: signatures[i]) && valid
            }
        }
        precondition(valid, "a benchmark signature failed to verify")
        var decoded = 0
        let decodeTime = clock.measure {
            for key in keys where PublicKey(encoded: key.publicKey.encoded) != nil { decoded += 1 }
        }
        precondition(decoded == iterations)
        var state = (0..<Poseidon2.width).map { Goldilocks(UInt64($0)) }
        let permutations = 1000
        let permutationTime = clock.measure {
            for _ in 0..<permutations { Poseidon2.permute(&state) }
        }
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        let n = Double(iterations)
        return SignatureBenchmarkResult(
            iterations: iterations, tableSeconds: seconds(table), keySeconds: seconds(keyTime) / n,
            signSeconds: seconds(signTime) / n, verifySeconds: seconds(verifyTime) / n,
            decodeSeconds: seconds(decodeTime) / n, permutationSeconds: seconds(permutationTime) / Double(permutations))
    }
}
