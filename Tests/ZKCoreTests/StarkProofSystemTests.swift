import Foundation
import Testing
import ThreadVM

@testable import STARK
@testable import ZKCore

/// Every stark test, one at a time: a proof keeps both cores busy, and the tests of live sockets and
/// processes beside them need the concurrency pool to get their replies in time.
@Suite(.serialized) enum StarkSuites {}

extension StarkSuites {
    /// The `stark` proof system: honest sub-blocks verify, and a lying prover is never accepted.
    ///
    /// The lying prover here builds the honest trace, then changes the statement, the claims or the
    /// trace itself, and proves the result with the constraint check switched off, so the verifier
    /// faces a real STARK proof of a false statement rather than flipped bytes.
    @Suite(.serialized) struct StarkProofSystemTests {
        typealias F = Fixture
        let system = StarkProofSystem()

        /// A sub-block of the token thread under OS version 2 (not proved).
        static func tokenSubBlock(_ txs: [ThreadTransaction], canonical: [KeyValue] = []) -> SubBlockSubmission {
            var batcher = SubBlockBatcher(
                thread: F.token, program: F.tokenProgram, osVersion: 2, proofSystem: StarkProofSystem.name,
                canonical: MemoryState(
                    Dictionary(canonical.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })),
                sequence: 0, threads: MemoryThreads())
            for tx in txs {
                if case .failure(let refusal) = batcher.add(tx) { fatalError("\(refusal)") }
            }
            return batcher.seal()!
        }

        func tx(_ entrypoint: String, _ arguments: [String], by signer: DevAccount, nonce: UInt64) -> ThreadTransaction
        {
            F.tx(F.token, F.tokenProgram, entrypoint, arguments, by: signer, nonce: nonce)
        }

        /// Mint to alice, two transfers, and between them one that fails for lack of balance (carol's
        /// balance is then an input that is never written).
        var mixed: SubBlockSubmission {
            Self.tokenSubBlock([
                tx("mint", ["to=\(F.alice.address.hex)", "amount=100"], by: F.alice, nonce: 0),
                tx("transfer", ["to=\(F.bob.address.hex)", "amount=30"], by: F.alice, nonce: 1),
                tx("transfer", ["to=\(F.alice.address.hex)", "amount=500"], by: F.carol, nonce: 0),
                tx("transfer", ["to=\(F.alice.address.hex)", "amount=5"], by: F.bob, nonce: 0),
            ])
        }

        /// Builds the honest trace and claims for `honest`, lets `lie` change any of them, and proves
        /// whatever results without checking the constraints.
        func lyingProof(
            _ honest: SubBlockSubmission, program: Program = F.tokenProgram,
            lie: (inout SubBlockSubmission, inout ThreadProofClaims, inout TraceTable) -> Void
        ) throws -> SubBlockSubmission {
            var builder = ThreadTraceBuilder(
                program: program, rules: .v2, inputs: honest.inputs, crossReads: honest.crossReads)
            for tx in honest.transactions { _ = try builder.add(tx) }
            var (trace, claims) = try builder.finish(claimedOutputs: honest.outputs)
            var statement = honest
            lie(&statement, &claims, &trace)
            statement.txCommitment = SubBlockSubmission.commitment(to: statement.transactions)
            statement.proof = Data()
            // Public inputs the false statement gives, or, when the verifier would refuse to build
            // them at all, the honest ones (the best a liar can prove against).
            let inputs =
                try (try? StarkProofSystem.publicInputs(statement, program: program, rules: .v2, claims: claims).get())
                ?? StarkProofSystem.publicInputs(honest, program: program, rules: .v2, claims: claims).get()
            let air = try ThreadVMAIR(traceLength: trace.length, publicInputs: inputs)
            let stark = try Prover.prove(
                air: air, trace: trace, options: ProofOptions.default, threads: 2, checkConstraints: false
            ).bytes
            statement.proof = StarkProofSystem.proofBytes(claims: claims, stark: stark)
            return statement
        }

        /// The verifier refuses `submission`, for a reason that mentions `reason` (by default: the
        /// STARK proof itself, not a check in front of it).
        func expectRejected(
            _ submission: SubBlockSubmission, _ what: Comment, mentions reason: String = "STARK proof does not verify",
            program: Program = F.tokenProgram
        ) {
            let verdict = system.verify(submission, program: program)
            #expect(!verdict.isOK, what)
            #expect(verdict.description.contains(reason), "\(what): \(verdict)")
        }

        @Test func anHonestSubBlockVerifiesAndReportsItsFailure() throws {
            let sub = try mixed.proved(by: system, program: F.tokenProgram)
            let (verdict, failures) = system.verifyReportingFailures(sub, program: F.tokenProgram)
            #expect(verdict == .ok)
            #expect(failures?.keys.sorted() == [2])
            #expect(failures?[2]?.contains("insufficient balance") == true)
        }

        @Test func theHonestTraceSatisfiesEveryConstraint() throws {
            // The lying harness with no lie: proving with the constraint check off still verifies.
            let sub = try lyingProof(mixed) { _, _, _ in }
            #expect(system.verify(sub, program: F.tokenProgram) == .ok)
        }

        @Test func aWrongOutputValueIsRejected() throws {
            let sub = try lyingProof(mixed) { statement, _, _ in
                statement.outputs[0].value = statement.outputs[0].value + .one
            }
            expectRejected(sub, "a wrong output value")
        }

        @Test func anOmittedWriteIsRejected() throws {
            let sub = try lyingProof(mixed) { statement, _, _ in statement.outputs.removeLast() }
            expectRejected(sub, "an omitted write")
        }

        @Test func anExtraWriteIsRejected() throws {
            let honest = mixed
            let unwritten = honest.inputs.first { input in !honest.outputs.contains { $0.key == input.key } }
            // Carol's balance: read by the failing transfer, never written.
            let key = try #require(unwritten?.key)
            let sub = try lyingProof(honest) { statement, _, _ in
                statement.outputs.append(KeyValue(key: key, value: 999))
                statement.outputs.sort { $0.key < $1.key }
            }
            expectRejected(sub, "an extra write")
        }

        @Test func aSkippedTransactionIsRejected() throws {
            let sub = try lyingProof(mixed) { statement, claims, _ in
                statement.transactions.remove(at: 1)
                claims.outcomes.remove(at: 1)
            }
            expectRejected(sub, "a skipped transaction")
        }

        @Test func reorderedTransactionsAreRejected() throws {
            let sub = try lyingProof(mixed) { statement, claims, _ in
                statement.transactions.swapAt(2, 3)
                claims.outcomes.swapAt(2, 3)
            }
            expectRejected(sub, "reordered transactions")
        }

        @Test func alteredCalldataIsRejected() throws {
            let sub = try lyingProof(mixed) { statement, _, _ in
                statement.transactions[1] = tx(
                    "transfer", ["to=\(F.bob.address.hex)", "amount=31"], by: F.alice, nonce: 1)
            }
            expectRejected(sub, "altered calldata")
        }

        @Test func aDifferentCallerIsRejected() throws {
            let sub = try lyingProof(mixed) { statement, _, _ in
                statement.transactions[3] = tx(
                    "transfer", ["to=\(F.alice.address.hex)", "amount=5"], by: F.carol, nonce: 1)
            }
            // Carol's nonce key is not among the inputs: refused before the STARK check.
            expectRejected(sub, "a different caller", mentions: "nonce keys")
        }

        @Test func aFailedTransactionReportedAsSucceededIsRejected() throws {
            let sub = try lyingProof(mixed) { _, claims, _ in claims.outcomes[2] = .success }
            expectRejected(sub, "failure reported as success")
        }

        @Test func aSucceededTransactionReportedAsFailedIsRejected() throws {
            let failing = mixed
            let sub = try lyingProof(failing) { _, claims, _ in claims.outcomes[1] = claims.outcomes[2] }
            expectRejected(sub, "success reported as failure")
        }

        @Test func aDishonestTraceIsRejected() throws {
            // The prover rewrites the balance its failing transfer loaded, so that the assertion
            // passes, and claims success: the memory bus no longer balances.
            let sub = try lyingProof(mixed) { _, claims, trace in
                typealias C = ThreadVMAIR.Column
                let load = C.op + ThreadVMAIR.Op.load.rawValue
                // The first load after the third header is bob's balance in the failing transfer.
                var headers = 0
                for row in 0..<trace.length {
                    if trace.columns[C.header][row] == .one { headers += 1 }
                    if headers == 3 && trace.columns[load][row] == .one {
                        trace.columns[C.result][row] = Goldilocks(1000)
                        trace.columns[C.old][row] = Goldilocks(1000)
                        trace.columns[C.new][row] = Goldilocks(1000)
                        break
                    }
                }
                claims.outcomes[2] = .success
            }
            expectRejected(sub, "a trace whose load returns a value never written")
        }

        /// A karts unlock that reads the achievements thread (level 3 completed by alice).
        var unlock: SubBlockSubmission {
            let completed = VMRules.v2.hash([Felt(1)] + F.alice.address.quad.words + [Felt(3)])
            let achievements = MemoryThreads([F.achievements.id: MemoryState([completed: .one])])
            var batcher = SubBlockBatcher(
                thread: F.karts, program: F.kartsProgram, osVersion: 2, proofSystem: StarkProofSystem.name,
                canonical: MemoryState(), sequence: 0, threads: achievements)
            let tx = F.tx(F.karts, F.kartsProgram, "unlock_kart", ["kart=7", "level=3"], by: F.alice, nonce: 0)
            if case .failure(let refusal) = batcher.add(tx) { fatalError("\(refusal)") }
            return batcher.seal()!
        }

        @Test func aCrossThreadReadVerifies() throws {
            let sub = try unlock.proved(by: system, program: F.kartsProgram)
            #expect(sub.crossReads.count == 1 && sub.crossReads[0].value == .one)
            let (verdict, failures) = system.verifyReportingFailures(sub, program: F.kartsProgram)
            #expect(verdict == .ok)
            #expect(failures == [:])
        }

        @Test func aWrongCrossReadValueIsRejected() throws {
            let sub = try lyingProof(unlock, program: F.kartsProgram) { statement, _, _ in
                statement.crossReads[0].value = Felt(2)
            }
            expectRejected(sub, "a cross read claimed with another value", program: F.kartsProgram)
        }

        @Test func anOmittedCrossReadIsRejected() throws {
            let sub = try lyingProof(unlock, program: F.kartsProgram) { statement, claims, _ in
                statement.crossReads.removeAll()
                claims.crossCounts.removeAll()
            }
            expectRejected(sub, "a cross read left out of the statement", program: F.kartsProgram)
        }

        @Test func aProofForAnotherStatementIsRejected() throws {
            let honest = try mixed.proved(by: system, program: F.tokenProgram)
            var later = honest
            later.sequence += 1
            expectRejected(later, "another sequence")
            var other = honest
            other.threadId = F.counter.id
            expectRejected(other, "another thread", mentions: "is signed for thread")
            var renamed = honest
            renamed.programHash = F.counterProgram.hash
            #expect(!system.verify(renamed, program: F.counterProgram).isOK)
        }

        @Test func garbageTruncatedAndMutatedProofsAreRejectedWithoutATrap() throws {
            let honest = try mixed.proved(by: system, program: F.tokenProgram)
            var garbage = honest
            garbage.proof = Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            expectRejected(garbage, "garbage", mentions: "malformed stark proof")
            var truncated = honest
            truncated.proof = honest.proof.prefix(honest.proof.count / 2)
            expectRejected(truncated, "truncated", mentions: "malformed stark proof")
            var oversized = honest
            oversized.proof = honest.proof + Data(repeating: 0, count: 64)
            expectRejected(oversized, "trailing bytes", mentions: "bytes after the proof")
            // Sampled single-byte mutations across the whole proof, at a fixed stride.
            let bytes = [UInt8](honest.proof)
            var rejected = 0
            var tried = 0
            for position in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 48)) {
                var mutated = bytes
                mutated[position] ^= 0x5A
                var sub = honest
                sub.proof = Data(mutated)
                tried += 1
                if !system.verify(sub, program: F.tokenProgram).isOK { rejected += 1 }
            }
            #expect(rejected == tried)
        }

        @Test func weakerOptionsAreRejected() throws {
            var weak = StarkProofSystem()
            weak.options = STARKOptions(proofOptions: .testing)
            let sub = try mixed.proved(by: weak, program: F.tokenProgram)
            expectRejected(sub, "a proof made with the testing options")
        }

        @Test func onlyOSVersionTwoCanBeProved() throws {
            var sub = mixed
            sub.osVersion = 1
            #expect(throws: ProofError.self) { try sub.proved(by: system, program: F.tokenProgram) }
        }
    }
}

extension StarkSuites {
    /// Failures that roll back writes, running out of steps, and the row budget that splits sub-blocks.
    @Suite(.serialized) struct StarkFailurePathTests {
        typealias F = Fixture
        let system = StarkProofSystem()

        /// `spin(n)` stores 1, 2, … n under one key, then fails: n undo rows. Past about 255 rounds it
        /// runs out of its 1,024 steps instead.
        static let spin = try! Assembler.assemble(
            """
            .entry spin(n: u64)
                arg    r0, n
                set    r1, 0
            again:
                addi   r1, r1, 1
                store  r2, r1
                eq     r6, r1, r0
                jz     r6, again
                fail   "spun"

            .entry poke(v: u64)
                arg    r1, v
                store  r2, r1
                ret
            """)
        static let thread = ThreadInfo(name: "spin")

        func tx(_ entrypoint: String, _ argument: String, nonce: UInt64) -> ThreadTransaction {
            try! ThreadTransaction.make(
                thread: Self.thread.id, contract: Self.spin, entrypoint: entrypoint, arguments: [argument],
                signer: F.alice, nonce: nonce)
        }

        func batcher(maxTransactions: Int = 256) -> SubBlockBatcher {
            SubBlockBatcher(
                thread: Self.thread, program: Self.spin, osVersion: 2, proofSystem: StarkProofSystem.name,
                canonical: MemoryState(), sequence: 0, maxTransactions: maxTransactions)
        }

        @Test func rolledBackWritesAndOutOfStepsProveAndVerify() throws {
            #expect(VMRules.v2.problems(in: Self.spin).isEmpty)
            var b = batcher()
            var estimated = 0
            for (i, (entry, arg)) in [("poke", "v=7"), ("spin", "n=10"), ("spin", "n=400"), ("poke", "v=9")]
                .enumerated()
            {
                guard case .success(let result) = b.add(tx(entry, arg, nonce: UInt64(i))) else {
                    Issue.record("transaction \(i) refused")
                    return
                }
                estimated += StarkProofSystem.traceRows(of: result)
            }
            let sealed = b.seal()
            let sub = try #require(sealed)
            // The failed spins left no writes: the key holds the last poke.
            #expect(sub.outputs.contains { $0.value == 9 })
            let proved = try sub.proved(by: system, program: Self.spin)
            let (verdict, failures) = system.verifyReportingFailures(proved, program: Self.spin)
            #expect(verdict == .ok)
            #expect(failures?[1]?.contains("spun") == true)
            #expect(failures?[2]?.contains("out of steps") == true)
            #expect(failures?.count == 2)

            // The batcher's row estimate never undercounts the trace.
            var builder = ThreadTraceBuilder(
                program: Self.spin, rules: .v2, inputs: sub.inputs, crossReads: sub.crossReads)
            for tx in sub.transactions { _ = try builder.add(tx) }
            #expect(builder.rows.count <= estimated)
        }

        @Test func aRolledBackWriteCannotBeClaimedAsKept() throws {
            var b = batcher()
            _ = b.add(tx("poke", "v=7", nonce: 0))
            _ = b.add(tx("spin", "n=10", nonce: 1))
            let sealed = b.seal()
            let honest = try #require(sealed)
            var builder = ThreadTraceBuilder(
                program: Self.spin, rules: .v2, inputs: honest.inputs, crossReads: honest.crossReads)
            for tx in honest.transactions { _ = try builder.add(tx) }
            // Claiming the failed spin's last write (10) as the key's final value.
            var lying = honest
            let index = try #require(lying.outputs.firstIndex { $0.value == 7 })
            lying.outputs[index].value = 10
            #expect(throws: ProofError.self) { try builder.finish(claimedOutputs: lying.outputs) }
            lying.proof = try honest.proved(by: system, program: Self.spin).proof
            #expect(!system.verify(lying, program: Self.spin).isOK)
        }

        @Test func aStarkBatcherSealsBeforeTheTraceOutgrowsTheLimit() {
            var b = batcher(maxTransactions: 4096)
            var nonce: UInt64 = 0
            while !b.isFull && nonce < 4096 {
                _ = b.add(tx("spin", "n=255", nonce: nonce))
                nonce += 1
            }
            #expect(b.isFull)
            #expect(b.openCount < 4096)
            #expect(b.openRows < StarkProofSystem.maxTraceRows)
            #expect(b.openRows >= StarkProofSystem.rowBudget(.v2))
        }
    }
}

extension StarkSuites {
    /// Random workloads over the shipped contracts, from a fixed, replayable seed: every sub-block
    /// proves and verifies, and `stark` reports exactly the failed calls, with the same reasons, that
    /// re-execution finds. `STARK_MODEL_SEED` replays another seed; `STARK_MODEL_ROUNDS` (default 3)
    /// runs more rounds of one sub-block per thread.
    @Suite(.serialized) struct StarkDifferentialTests {
        typealias F = Fixture

        @Test func randomSubBlocksAgreeWithReexecution() throws {
            let seed = ProcessInfo.processInfo.environment["STARK_MODEL_SEED"].flatMap(UInt64.init) ?? 20_261_202
            var rng = SplitMix(seed: seed)
            let users = Array(F.accounts.users.prefix(4))
            let amounts = ["0", "1", "5", "100", "1000", "\(Felt.modulus - 1)", "\(UInt64(1) << 63)"]
            var tokenState = MemoryState()
            var kartsState = MemoryState()
            var counterState = MemoryState()
            var nonces: [String: UInt64] = [:]
            var achievements = MemoryState()
            // Alice and carol completed some levels in the achievements thread.
            for (user, level) in [(F.alice, 1), (F.alice, 3), (F.carol, 2)] {
                achievements.values[VMRules.v2.hash([Felt(1)] + user.address.quad.words + [Felt(UInt64(level))])] = .one
            }
            let threads = MemoryThreads([F.achievements.id: achievements])
            var failuresSeen = 0
            let rounds = ProcessInfo.processInfo.environment["STARK_MODEL_ROUNDS"].flatMap(Int.init) ?? 3
            for round in 0..<rounds {
                for (thread, program) in [
                    (F.token, F.tokenProgram), (F.karts, F.kartsProgram), (F.counter, F.counterProgram),
                ] {
                    let canonical =
                        thread == F.token ? tokenState : thread == F.karts ? kartsState : counterState
                    var batcher = SubBlockBatcher(
                        thread: thread, program: program, osVersion: 2, proofSystem: StarkProofSystem.name,
                        canonical: canonical, sequence: UInt64(round), threads: threads)
                    for _ in 0..<(1 + Int(rng.next() % 8)) {
                        let user = users[Int(rng.next() % UInt64(users.count))]
                        let other = users[Int(rng.next() % UInt64(users.count))]
                        let amount = amounts[Int(rng.next() % UInt64(amounts.count))]
                        let (entrypoint, arguments): (String, [String]) =
                            switch thread {
                            case F.token:
                                [
                                    ("mint", ["to=\(other.address.hex)", "amount=\(amount)"]),
                                    ("transfer", ["to=\(other.address.hex)", "amount=\(amount)"]),
                                    ("balance_of", ["account=\(other.address.hex)"]),
                                ][Int(rng.next() % 3)]
                            case F.karts:
                                ("unlock_kart", ["kart=\(rng.next() % 4)", "level=\(rng.next() % 4)"])
                            default:
                                ("increment", ["by=\(amount)"])
                            }
                        let key = "\(thread.name)/\(user.name)"
                        let tx = try ThreadTransaction.make(
                            thread: thread.id, contract: program, entrypoint: entrypoint, arguments: arguments,
                            signer: user, nonce: nonces[key, default: 0])
                        if case .success = batcher.add(tx) { nonces[key, default: 0] += 1 }
                    }
                    guard let sub = batcher.seal() else { continue }
                    let proved = try sub.proved(by: StarkProofSystem(), program: program)
                    let (verdict, starkFailures) = StarkProofSystem().verifyReportingFailures(proved, program: program)
                    #expect(verdict == .ok, "seed \(seed), round \(round), \(thread.name)")
                    var reexec = sub
                    reexec.proofSystem = ReexecProofSystem.name
                    reexec.proof = ReexecProofSystem.digest(of: reexec)
                    let (reexecVerdict, reexecFailures) = ReexecProofSystem().verifyReportingFailures(
                        reexec, program: program)
                    #expect(reexecVerdict == .ok)
                    #expect(starkFailures == reexecFailures, "seed \(seed), round \(round), \(thread.name)")
                    failuresSeen += starkFailures?.count ?? 0
                    var next = canonical
                    next.apply(sub.outputs)
                    if thread == F.token {
                        tokenState = next
                    } else if thread == F.karts {
                        kartsState = next
                    } else {
                        counterState = next
                    }
                }
            }
            // The workload reaches failures (overflows, insufficient balances, levels not completed).
            #expect(failuresSeen > 0)
        }
    }
}

extension StarkSuites {
    /// Storage and nonces: thread nonces are their own address space in the proof, as in execution.
    @Suite(.serialized) struct StarkNonceSpaceTests {
        typealias F = Fixture
        let system = StarkProofSystem()

        /// `put(key, v)` stores `v` under any key the caller names, a nonce key included.
        static let raw = try! Assembler.assemble(
            """
            .entry put(key: address, v: u64)
                arg    r0, key
                arg    r4, v
                store  r0, r4
                ret
            """)
        static let thread = ThreadInfo(name: "raw")

        func put(_ key: Quad, _ value: UInt64, by signer: DevAccount, nonce: UInt64) -> ThreadTransaction {
            try! ThreadTransaction.make(
                thread: Self.thread.id, contract: Self.raw, entrypoint: "put",
                arguments: ["key=\(key.hex)", "v=\(value)"], signer: signer, nonce: nonce)
        }

        @Test func aContractStoringUnderANonceKeyDoesNotMoveTheNonce() throws {
            let aliceNonce = ThreadNonce.key(of: F.alice.address).quad
            var batcher = SubBlockBatcher(
                thread: Self.thread, program: Self.raw, osVersion: 2, proofSystem: StarkProofSystem.name,
                canonical: MemoryState(), sequence: 0)
            let txs = [
                put(Quad(1, 2, 3, 4), 5, by: F.alice, nonce: 0),
                put(aliceNonce, 0, by: F.bob, nonce: 0),
                put(Quad(1, 2, 3, 4), 6, by: F.alice, nonce: 1),
            ]
            for tx in txs {
                guard case .success = batcher.add(tx) else {
                    Issue.record("refused")
                    return
                }
            }
            // Alice's first transaction again, byte for byte: her nonce is 2 whatever bob stored.
            if case .success = batcher.add(txs[0]) { Issue.record("a replay was admitted") }
            let sealed = batcher.seal()
            let sub = try #require(sealed)
            #expect(sub.outputs.contains(KeyValue(key: StorageKey(aliceNonce), value: 2)))
            let proved = try sub.proved(by: system, program: Self.raw)
            #expect(system.verify(proved, program: Self.raw) == .ok)
        }
    }
}

extension StarkSuites {
    /// The last row of a trace is padding and nothing else.
    @Suite struct StarkLastRowTests {
        typealias F = Fixture

        @Test func aRunLeftOpenOnTheLastRowIsRejected() throws {
            let tests = StarkProofSystemTests()
            let sub = try tests.lyingProof(tests.mixed) { _, _, trace in
                typealias C = ThreadVMAIR.Column
                let last = trace.length - 1
                trace.columns[C.step][last] = .one
            }
            #expect(!StarkProofSystem().verify(sub, program: F.tokenProgram).isOK)
            let air = try ThreadVMAIR(
                traceLength: 512, publicInputs: .init(binding: [], maxSteps: 1024, tables: []))
            let pinned = air.mainAssertions().filter { $0.row == 511 }.map(\.column).sorted()
            typealias C = ThreadVMAIR.Column
            #expect(pinned == [C.header, C.step, C.outOfSteps, C.undo, C.padding].sorted())
        }
    }
}
