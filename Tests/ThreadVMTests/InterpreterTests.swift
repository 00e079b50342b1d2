import Testing

@testable import ThreadVM

@Suite struct InterpreterTests {
    @Test func stepBoundStopsAnInfiniteLoop() throws {
        let result = try runMain("loop:\njmp loop", limits: ExecutionLimits(maxSteps: 500))
        #expect(result.failure == .outOfSteps(limit: 500))
        #expect(result.steps == 500)
        #expect(result.failure?.code == "OUT_OF_STEPS")
    }

    @Test func stepBoundIsExact() throws {
        // Three instructions need exactly three steps.
        let body = "set r0, 1\nnop\nret r0"
        #expect(try runMain(body, limits: ExecutionLimits(maxSteps: 3)).returnData == [1])
        #expect(try runMain(body, limits: ExecutionLimits(maxSteps: 2)).failure == .outOfSteps(limit: 2))
    }

    @Test func writesOfAFailedTransactionAreNotOutputs() throws {
        let result = try runMain("set r0, 1\nset r4, 5\nstore r0, r4\nfail \"late\"", returns: "")
        #expect(result.failure?.code == "ABORTED")
        #expect(result.outputs.isEmpty)
        #expect(result.accessLog == [StorageAccess(.write, key: StorageKey(1, 0, 0, 0), value: 5)])
        #expect(result.inputs == [KeyValue(key: StorageKey(1, 0, 0, 0), value: 0)])
    }

    @Test func badJumpInAHandBuiltProgram() throws {
        let program = try Program(
            instructions: [Instruction(.nop), Instruction(.jmp, 9)],
            abi: ABI(entrypoints: [Entrypoint(name: "go", parameters: [], isView: false, returns: nil, pc: 0)]))
        let result = Interpreter(program: program).execute(
            Transaction(caller: alice, entrypoint: "go", calldata: []), state: MemoryState())
        #expect(result.failure == .badJump(Location(entrypoint: "go", pc: 1, line: nil), target: 9))
        #expect(result.failure?.code == "BAD_JUMP")
        let branch = try Program(
            instructions: [Instruction(.set, 0, 1), Instruction(.jnz, 0, Felt(Felt.modulus - 1))],
            abi: ABI(entrypoints: [Entrypoint(name: "go", parameters: [], isView: false, returns: nil, pc: 0)]))
        let branchResult = Interpreter(program: branch).execute(
            Transaction(caller: alice, entrypoint: "go", calldata: []), state: MemoryState())
        #expect(
            branchResult.failure == .badJump(Location(entrypoint: "go", pc: 1, line: nil), target: Felt.modulus - 1))
    }

    @Test func fallingOffTheEndOfAHandBuiltProgram() throws {
        let program = try Program(
            instructions: [Instruction(.set, 0, 1), Instruction(.nop)],
            abi: ABI(entrypoints: [Entrypoint(name: "go", parameters: [], isView: false, returns: nil, pc: 0)]))
        let result = Interpreter(program: program).execute(
            Transaction(caller: alice, entrypoint: "go", calldata: []), state: MemoryState())
        #expect(result.failure == .fellOffEnd(Location(entrypoint: "go", pc: 1, line: nil)))
    }

    @Test func calldataOutOfRangeInAHandBuiltProgram() throws {
        let program = try Program(
            instructions: [Instruction(.arg, 0, 1, 1), Instruction(.ret, 0, 0)],
            abi: ABI(entrypoints: [
                Entrypoint(
                    name: "go", parameters: [Parameter(name: "x", type: .u64)], isView: false, returns: nil, pc: 0)
            ]))
        let result = Interpreter(program: program).execute(
            Transaction(caller: alice, entrypoint: "go", calldata: [5]), state: MemoryState())
        #expect(result.failure == .calldataOutOfRange(Location(entrypoint: "go", pc: 0, line: nil), offset: 1))
    }

    @Test func handBuiltProgramsAreChecked() {
        let abi = ABI(entrypoints: [Entrypoint(name: "go", parameters: [], isView: false, returns: nil, pc: 0)])
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.mov, 16, 0)], abi: abi) }
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.load, 0, 13)], abi: abi) }
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.hash, 0, 10, 8)], abi: abi) }
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.assert, 0, 1)], abi: abi) }
        #expect(throws: ProgramError.self) { try Program(instructions: [Instruction(.nop, 1)], abi: abi) }
        #expect(throws: ProgramError.self) { try Program(instructions: [], abi: abi) }
        #expect(throws: Never.self) {
            try Program(instructions: [Instruction(.hash, 0, 8, 8), Instruction(.ret)], abi: abi)
        }
    }

    @Test func storeInAViewFails() throws {
        let program = try assemble(".entry peek() view\nset r0, 1\nstore r0, r0\nret")
        let result = Interpreter(program: program).execute(
            Transaction(caller: alice, entrypoint: "peek", calldata: []), state: MemoryState())
        #expect(result.failure == .writeInView(Location(entrypoint: "peek", pc: 1, line: 3)))
    }

    @Test func badCalldataIsCheckedBeforeExecution() throws {
        let program = try Contracts.named("token")
        let interpreter = Interpreter(program: program)
        let short = interpreter.execute(
            Transaction(caller: alice, entrypoint: "transfer", calldata: [1, 2, 3]), state: MemoryState())
        #expect(short.failure?.code == "WRONG_ARITY")
        #expect(short.steps == 0)
        let unknown = interpreter.execute(
            Transaction(caller: alice, entrypoint: "transfr", calldata: []), state: MemoryState())
        #expect(unknown.failure?.code == "UNKNOWN_ENTRYPOINT")
        #expect(unknown.failure?.description.contains("did you mean 'transfer'") == true)
    }

    @Test func accessLogInputsOutputsAndCrossReads() throws {
        let a = StorageKey(1, 0, 0, 0)
        let b = StorageKey(2, 0, 0, 0)
        let c = StorageKey(3, 0, 0, 0)
        let remote = StorageKey(4, 0, 0, 0)
        let state = MemoryState([a: 10, b: 20, c: 30])
        let threads = MemoryThreads([8: MemoryState([remote: 77])])
        let result = try runMain(
            """
                set r0, 2
                load r5, r0          ; read b = 20
                set r0, 1
                set r6, 11
                store r0, r6         ; write a = 11 (first seen as 10)
                load r7, r0          ; read a = 11, from the write
                store r0, r5         ; write a = 20
                set r0, 5
                store r0, r7         ; write a new key = 11 (first seen as 0)
                set r0, 4
                set r12, 8
                xload r9, r12, r0    ; cross read (8, remote) = 77
                xload r10, r12, r0   ; the same read again
                ret r9
            """, state: state, threads: threads)
        #expect(result.returnData == [77])
        let fresh = StorageKey(5, 0, 0, 0)
        #expect(
            result.accessLog == [
                StorageAccess(.read, key: b, value: 20),
                StorageAccess(.write, key: a, value: 11),
                StorageAccess(.read, key: a, value: 11),
                StorageAccess(.write, key: a, value: 20),
                StorageAccess(.write, key: fresh, value: 11),
            ])
        #expect(
            result.inputs == [KeyValue(key: a, value: 10), KeyValue(key: b, value: 20), KeyValue(key: fresh, value: 0)])
        #expect(result.outputs == [KeyValue(key: a, value: 20), KeyValue(key: fresh, value: 11)])
        #expect(result.crossReads == [CrossRead(thread: 8, key: remote, value: 77)])
        #expect(!result.inputs.contains { $0.key == c })
    }
}
