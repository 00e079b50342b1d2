import Foundation
import Testing

@testable import ThreadVM

@Suite struct Poseidon2Tests {
    /// The known-answer test of the reference implementation: HorizenLabs/poseidon2,
    /// plain_implementations/src/poseidon2/poseidon2.rs, `poseidon2_tests_goldilocks::kats`
    /// (POSEIDON2_GOLDILOCKS_12_PARAMS applied to [0, 1, …, 11]).
    static let referenceOutput: [Felt] = [
        0x01ea_ef96_bdf1_c0c1, 0x1f0d_2cc5_25b2_540c, 0x6282_c1df_e1e0_358d, 0xe780_d721_f698_e1e6,
        0x280c_0b6f_753d_833b, 0x1b94_2dd5_0231_56ab, 0x43f0_df3f_cccb_8398, 0xe8e8_1905_8548_9025,
        0x56bd_bf72_f77a_da22, 0x7911_c32b_f9dc_d705, 0xec46_7926_508f_be67, 0x6a50_450d_df85_a6ed,
    ]

    static let referenceInput: [Felt] = (0..<12).map { Felt(UInt64($0)) }

    @Test func permutationMatchesTheReferenceVector() {
        var state = Self.referenceInput
        Poseidon2.permute(&state)
        #expect(state == Self.referenceOutput)
    }

    @Test func everyConstantTakesPart() {
        // The vector above pins every constant: changing any one of them changes the output.
        let reference = Poseidon2.Constants.reference
        #expect(reference.external.count == 8 && reference.external.allSatisfy { $0.count == 12 })
        #expect(reference.partial.count == 22 && reference.diagonalMinusOne.count == 12)
        func output(_ constants: Poseidon2.Constants) -> [Felt] {
            var state = Self.referenceInput
            Poseidon2.permute(&state, with: constants)
            return state
        }
        var unchanged = 0
        for round in 0..<8 {
            for i in 0..<12 {
                var altered = reference
                altered.external[round][i] += .one
                if output(altered) == Self.referenceOutput { unchanged += 1 }
            }
        }
        for round in 0..<22 {
            var altered = reference
            altered.partial[round] += .one
            if output(altered) == Self.referenceOutput { unchanged += 1 }
        }
        for i in 0..<12 {
            var altered = reference
            altered.diagonalMinusOne[i] += .one
            if output(altered) == Self.referenceOutput { unchanged += 1 }
        }
        #expect(unchanged == 0)
    }

    @Test func version2KeysFollowTheDocumentedLayout() {
        // [1, 0 × 7 | 1 (n), domain tag, 0, 0], one permutation, elements 0–3.
        var state: [Felt] = [1, 0, 0, 0, 0, 0, 0, 0, 1, KeyDerivation.poseidon2Domain, 0, 0]
        Poseidon2.permute(&state)
        let key = VMRules.v2.hash([1])
        #expect(key.words == Array(state[0..<4]))
        #expect(key.hex == "0x35fc3129fe6ec46986bb78d7dabf52a9807b7f6e2447ec8a2c5a0c042c3830ba")
        #expect(KeyDerivation.poseidon2Domain.value == UInt64(bigEndianBytes: Array("zkt/key2".utf8)))
        // The count is part of the input, so a trailing zero gives another key.
        #expect(VMRules.v2.hash([1]) != VMRules.v2.hash([1, 0]))
        #expect(VMRules.v2.hash([1, 2]) != VMRules.v2.hash([2, 1]))
        #expect(VMRules.v2.hash([1]) != VMRules.v1.hash([1]))
        #expect(VMRules.v1.hash([1]) == StorageKey.derive([1]))
    }
}

extension UInt64 {
    fileprivate init(bigEndianBytes bytes: [UInt8]) {
        self = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

@Suite struct VMRulesTests {
    func run(_ body: String, returns: String = "-> felt", rules: VMRules, threads: MemoryThreads = MemoryThreads())
        throws -> ExecutionResult
    {
        let program = try assemble(".entry main() \(returns)\n" + body)
        return Interpreter(program: program, rules: rules)
            .execute(
                Transaction(caller: alice, entrypoint: "main", calldata: []), state: MemoryState(), threads: threads)
    }

    @Test func versionsAndTheirRules() throws {
        #expect(VMRules.forVersion(1) == .v1)
        #expect(VMRules.forVersion(2) == .v2)
        #expect(VMRules.forVersion(0) == nil && VMRules.forVersion(3) == nil)
        #expect(VMRules.v1.maxSteps == 10_000 && VMRules.v2.maxSteps == 1_024)
        #expect(!VMRules.v1.unregisteredThreadReadsZero && VMRules.v2.unregisteredThreadReadsZero)
        #expect(ExecutionLimits.default == VMRules.v1.limits)
        #expect(ExecutionLimits(.v2).maxSteps == 1_024)
        // The old initializer keeps version 1's rules.
        let program = try assemble(".entry main()\nret")
        #expect(Interpreter(program: program).rules == .v1)
        #expect(Interpreter(program: program, limits: ExecutionLimits(maxSteps: 5)).rules.version == 1)
    }

    @Test func version2BoundsStepsAt1024() throws {
        let v2 = try run("loop:\njmp loop", rules: .v2)
        #expect(v2.failure == .outOfSteps(limit: 1_024))
        #expect(v2.failure?.code == "OUT_OF_STEPS")
        #expect(v2.steps == 1_024)
        let v1 = try run("loop:\njmp loop", rules: .v1)
        #expect(v1.failure == .outOfSteps(limit: 10_000))
        // A loop that needs more than 1,024 steps but fewer than 10,000 passes only under version 1.
        let counted = """
                set r0, 600
                set r1, 1
            again:
                sub r0, r0, r1
                jnz r0, again
                ret r0
            """
        #expect(try run(counted, rules: .v1).returnData == [0])
        #expect(try run(counted, rules: .v2).failure == .outOfSteps(limit: 1_024))
    }

    @Test func version2ReadsZeroFromAnUnregisteredThread() throws {
        let key = StorageKey(7, 0, 0, 0)
        let threads = MemoryThreads([5: MemoryState([key: 99])])
        let body = "set r0, 7\nset r4, 6\nxload r9, r4, r0\nret r9"
        let v2 = try run(body, rules: .v2, threads: threads)
        #expect(v2.returnData == [0])
        // The finding is part of the statement, for the manager to check.
        #expect(v2.crossReads == [.unregistered(thread: 6, key: key)])
        let v1 = try run(body, rules: .v1, threads: threads)
        #expect(v1.failure == .unknownThread(Location(entrypoint: "main", pc: 2, line: 4), thread: 6))
        #expect(v1.crossReads == [.unregistered(thread: 6, key: key)])
        // A registered thread reads the same under both.
        let known = "set r0, 7\nset r4, 5\nxload r9, r4, r0\nret r9"
        #expect(try run(known, rules: .v2, threads: threads).returnData == [99])
    }

    @Test func version2HashesWithPoseidon2() throws {
        let v2 = try run("set r0, 1\ncaller r1\nhash r8, r0, 5\nret r8, 4", returns: "-> address", rules: .v2)
        #expect(v2.returnData == VMRules.v2.hash([1] + alice.words).words)
        let v1 = try run("set r0, 1\ncaller r1\nhash r8, r0, 5\nret r8, 4", returns: "-> address", rules: .v1)
        #expect(v1.returnData == StorageKey.map(slot: 1, alice.words).words)
    }

    @Test func tokenRunsUnderVersion2WithPoseidon2Keys() throws {
        let interpreter = Interpreter(program: try Contracts.named("token"), rules: .v2)
        var state = MemoryState()
        func send(_ entry: String, _ arguments: [String], from caller: Address = alice) throws -> ExecutionResult {
            let tx = try Transaction(
                caller: caller, entrypoint: entry, arguments: arguments, abi: interpreter.program.abi)
            let result = interpreter.execute(tx, state: state)
            if result.succeeded { state.apply(result.outputs) }
            return result
        }
        #expect(try send("mint", [alice.hex, "100"]).succeeded)
        #expect(try send("transfer", [bob.hex, "30"]).succeeded)
        #expect(try send("transfer", [bob.hex, "500"]).failure?.code == "ASSERTION_FAILED")
        #expect(try send("balance_of", [bob.hex]).returnData == [30])
        #expect(state.values[VMRules.v2.hash([1] + alice.words)] == 70)
        #expect(state.values[VMRules.v2.hash([1] + bob.words)] == 30)
        #expect(state.values[StorageKey.map(slot: 1, alice.words)] == nil)
    }
}

@Suite struct StaticCheckTests {
    /// The one problem `source` has under version 2.
    func problem(_ source: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> StaticCheckError {
        let program = try assemble(source, sourceLocation: sourceLocation)
        #expect(throws: Never.self, sourceLocation: sourceLocation) { try VMRules.v1.check(program) }
        let problems = StaticChecks.problems(in: program)
        #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
        do {
            try VMRules.v2.check(program)
        } catch {
            #expect(error == problems.first, sourceLocation: sourceLocation)
            return error
        }
        Issue.record("the program passed the static checks", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    @Test func jumpTargetsMustBeInTheProgram() throws {
        let error = try problem(
            """
            .entry main() -> felt
                set r0, 1
                jz r0, done
                ret r0
            done:
            """)
        #expect(error.code == .jumpOutOfRange)
        #expect(error.instruction == 1 && error.line == 3 && error.mnemonic == "jz")
        #expect(error.description == "instruction 1 (line 3): jz target 3 is outside the program (3 instructions)")
    }

    @Test func noPathMayRunPastTheLastInstruction() throws {
        // The assembler refuses a program whose last instruction is not ret, fail or jmp, so
        // this one is built by hand, as a published program could be.
        let program = try Program(
            instructions: [
                Instruction(.arg, 0, 0, 1), Instruction(.jz, 0, 3), Instruction(.ret), Instruction(.jnz, 0, 2),
            ],
            abi: ABI(entrypoints: [
                Entrypoint(
                    name: "go", parameters: [Parameter(name: "x", type: .u64)], isView: false, returns: nil, pc: 0)
            ]),
            sourceLines: [10, 11, 12, 13])
        let error = try #require(StaticChecks.problems(in: program).first)
        #expect(StaticChecks.problems(in: program).count == 1)
        #expect(error.code == .fallsOffEnd)
        #expect(error.instruction == 3 && error.line == 13 && error.mnemonic == "jnz" && error.entrypoint == "go")
        #expect(
            error.description
                == "instruction 3 (line 13): jnz is the last instruction and execution can continue past it (from entrypoint go); every path must end in ret or fail"
        )
        // At run time it is a data-dependent failure.
        let result = Interpreter(program: program, rules: .v2).execute(
            Transaction(caller: alice, entrypoint: "go", calldata: [0]), state: MemoryState())
        #expect(result.failure?.code == "FELL_OFF_END")
    }

    @Test func argMustReadWithinTheCalldataOfEveryEntrypointThatReachesIt() throws {
        let error = try problem(
            """
            .entry pair(x: u64, y: u64)
                jmp common
            .entry single(x: u64)
                jmp common
            common:
                arg r0, 1
                ret
            """)
        #expect(error.code == .argOutOfRange)
        #expect(error.instruction == 2 && error.line == 6 && error.entrypoint == "single")
        #expect(
            error.description
                == "instruction 2 (line 6): arg reads calldata word 1, but entrypoint single takes 1 calldata word")
        let wide = try problem(".entry f(a: address)\n    arg r0, 2, 4\n    ret")
        #expect(
            wide.description
                == "instruction 0 (line 2): arg reads calldata words 2…5, but entrypoint f takes 4 calldata words")
    }

    @Test func retMustReturnTheEntrypointsWidth() throws {
        let error = try problem(
            """
            .entry get() view -> u64
                set r0, 5
                jmp out
            .entry poke()
                set r0, 6
            out:
                ret r0, 1
            """)
        #expect(error.code == .returnWidth)
        #expect(error.instruction == 3 && error.line == 7 && error.entrypoint == "poke")
        #expect(error.description == "instruction 3 (line 7): ret returns 1 word, but entrypoint poke() returns 0")
    }

    @Test func noStoreIsReachableFromAView() throws {
        let error = try problem(
            """
            .entry bump()
                set r0, 1
                jmp write
            .entry peek() view
                set r0, 2
            write:
                store r0, r0
                ret
            """)
        #expect(error.code == .storeInView)
        #expect(error.instruction == 3 && error.line == 7 && error.entrypoint == "peek")
        #expect(error.description == "instruction 3 (line 7): store is reachable from view entrypoint peek")
    }

    @Test func calldataIsAtMostEightWords() throws {
        let error = try problem(".entry wide(a: address, b: address, c: u64)\n    ret")
        #expect(error.code == .calldataTooWide)
        #expect(error.instruction == nil && error.entrypoint == "wide")
        #expect(
            error.description
                == "entrypoint wide(a: address, b: address, c: u64) takes 9 calldata words; at most 8 are allowed")
        #expect(throws: Never.self) { try VMRules.v2.check(try assemble(".entry ok(a: address, b: address)\n    ret")) }
    }

    @Test func registerSpansAreInRange() throws {
        // Program's initializer refuses these already, so no program can carry one; the static
        // checks name them all the same.
        #expect(StaticChecks.badRegisterSpan(Instruction(.load, 0, 13)) == "r13…r16")
        #expect(StaticChecks.badRegisterSpan(Instruction(.hash, 0, 10, 8)) == "r10…r17")
        #expect(StaticChecks.badRegisterSpan(Instruction(.ret, 14, 4)) == "r14…r17")
        #expect(StaticChecks.badRegisterSpan(Instruction(.mov, 16, 0)) == "r16")
        #expect(StaticChecks.badRegisterSpan(Instruction(.hash, 0, 8, 8)) == nil)
        #expect(StaticChecks.badRegisterSpan(Instruction(.load, 0, 12)) == nil)
        let abi = ABI(entrypoints: [Entrypoint(name: "go", parameters: [], isView: false, returns: nil, pc: 0)])
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.load, 0, 13)], abi: abi) }
    }

    @Test func codeNoEntrypointReachesIsNotChecked() throws {
        let program = try assemble(
            """
            .entry main()
                ret
            dead:
                arg r0, 5
                ret r0, 1
            """)
        #expect(StaticChecks.problems(in: program).isEmpty)
    }

    @Test func everyProblemIsListedInInstructionOrder() throws {
        let program = try assemble(
            """
            .entry wide(a: address, b: address, c: u64) view
                arg r0, 9
                store r0, r0
                ret r0, 1
            """)
        let problems = StaticChecks.problems(in: program)
        #expect(problems.map(\.code) == [.calldataTooWide, .argOutOfRange, .storeInView, .returnWidth])
        #expect(problems.map(\.instruction) == [nil, 0, 1, 2])
    }

    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let contractFiles = ["Scenarios/contracts/counter-v2.tasm", "examples/market/market.tasm"]

    @Test(arguments: Contracts.names) func shippedContractsPass(_ name: String) throws {
        let program = try Contracts.named(name)
        #expect(StaticChecks.problems(in: program) == [])
    }

    @Test(arguments: contractFiles) func contractFilesPass(_ path: String) throws {
        let source = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
        let program = try assemble(source)
        #expect(StaticChecks.problems(in: program) == [])
    }
}
