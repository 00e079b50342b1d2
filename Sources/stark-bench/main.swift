// Prove/verify timings and proof sizes of the STARK library's AIRs.
//
//   stark-bench [--min-log 10] [--max-log 18] [--threads 1|all|both|N] [--air fib|kv|all]
//               [--security 96|high]
//   stark-bench --transfers 16,256,4096 [--threads N]
//               (the ThreadVM AIR: `stark` sub-blocks of token transfers)
//   stark-bench --signatures 200
//               (native EcGFp5 Schnorr: key derivation, signing, verification; one core)
import STARK
import ZKCore

func usage() -> Never {
    print(
        "usage: stark-bench [--min-log N] [--max-log N] [--threads 1|all|both|N] [--air fib|kv|all] [--security 96|high] | --transfers N,… | --signatures N"
    )
    exit(2)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

var minLog = 10
var maxLog = 18
var threadCounts = [1, Parallelism.availableCores]
var airs = BenchmarkAIR.allCases
var options = ProofOptions.default
var transfers: [Int] = []
var signatureIterations = 0

var args = CommandLine.arguments.dropFirst()
while let flag = args.popFirst() {
    guard let value = args.popFirst() else { usage() }
    switch flag {
    case "--min-log": minLog = Int(value) ?? { usage() }()
    case "--max-log": maxLog = Int(value) ?? { usage() }()
    case "--threads":
        switch value {
        case "all": threadCounts = [Parallelism.availableCores]
        case "both": threadCounts = [1, Parallelism.availableCores]
        default: threadCounts = [Int(value) ?? { usage() }()]
        }
    case "--air":
        airs = value == "all" ? BenchmarkAIR.allCases : [BenchmarkAIR(rawValue: value) ?? { usage() }()]
    case "--signatures": signatureIterations = Int(value) ?? { usage() }()
    case "--transfers":
        transfers = value.split(separator: ",").map { Int($0) ?? { usage() }() }
    case "--security":
        switch value {
        case "96": options = .default
        case "high": options = .high
        default: usage()
        }
    default: usage()
    }
}
if signatureIterations > 0 {
    let r = EcGFp5.benchmark(iterations: signatureIterations)
    func us(_ s: Double) -> Double { (s * 1e7).rounded() / 10 }
    print("EcGFp5 Schnorr, native, one core, mean of \(r.iterations)")
    print(
        "| key from seed (µs) | sign (µs) | verify (µs) | decode public key (µs) | Poseidon2 permutation (µs) | generator table, once (ms) |"
    )
    print("|---|---|---|---|---|---|")
    print(
        "| \(us(r.keySeconds)) | \(us(r.signSeconds)) | \(us(r.verifySeconds)) | \(us(r.decodeSeconds)) | \(us(r.permutationSeconds)) | \((r.tableSeconds * 1e4).rounded() / 10) |"
    )
    exit(0)
}
if !transfers.isEmpty {
    print("ThreadVM AIR: stark sub-blocks of token transfers (\(StarkProofSystem().options))")
    print(
        "| transfers | rows (used) | columns (main + aux ext) | threads | trace (s) | prove (s) | verify: STARK (ms) | verify: STARK + public data (ms) | verify with signatures (ms) | proof (KB) | security (conj. / proven bits) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for count in transfers {
        for threads in threadCounts {
            do {
                let r = try StarkBenchmark.run(transfers: count, threads: threads)
                func ms(_ s: Double) -> Double { (s * 10000).rounded() / 10 }
                func s3(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
                print(
                    "| \(count) | \(r.rows) (\(r.usedRows)) | \(r.mainColumns) + \(r.auxColumns) | \(threads) | \(s3(r.traceSeconds)) | \(s3(r.proveSeconds)) | \(ms(r.verifySTARKSeconds)) | \(ms(r.verifyProofSeconds)) | \(ms(r.verifyTotalSeconds)) | \((Double(r.proofBytes) / 102.4).rounded() / 10) | \(r.conjecturedBits) / \(r.provenBits) |"
                )
            } catch {
                print("| \(count) | error: \(error) |")
                exit(1)
            }
        }
    }
    exit(0)
}
guard minLog >= 3, maxLog <= 24, minLog <= maxLog else { usage() }
threadCounts = Array(Set(threadCounts)).sorted()

print("options: \(options)")
print("security: conjectured / proven (list-decoding) bits at each trace length")
print(
    "| AIR | rows | columns (main + aux ext) | threads | prove (s) | verify (ms) | proof (KB) | security (conj. / proven bits) |"
)
print("|---|---|---|---|---|---|---|---|")
for air in airs {
    for log in minLog...maxLog {
        for threads in threadCounts {
            do {
                let r = try Benchmark.run(air: air, logRows: log, threads: threads, options: options)
                let prove = (r.proveSeconds * 1000).rounded() / 1000
                let verify = (r.verifySeconds * 10000).rounded() / 10
                let kb = (Double(r.proofBytes) / 102.4).rounded() / 10
                print(
                    "| \(r.air) | 2^\(r.logRows) | \(r.mainWidth) + \(r.auxWidth) | \(r.threads) | \(prove) | \(verify) | \(kb) | \(r.securityBits) / \(r.provenSecurityBits) |"
                )
            } catch {
                print("| \(air.rawValue) | 2^\(log) | error: \(error) |")
                exit(1)
            }
        }
    }
}
