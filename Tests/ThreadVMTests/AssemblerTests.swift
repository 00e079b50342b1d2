import Testing

@testable import ThreadVM

@Suite struct AssemblerTests {
    @Test func assemblesEntrypointsLabelsConstantsAndMessages() throws {
        let program = try assemble(
            """
            ; a comment line
            .const LIMIT = 0x10        # hex constant
            .const MINUS = -1

            .entry bump(by: u64, flag: bool) -> u64
                arg r0, by
                set r1, LIMIT
                lt r2, r0, r1
                assert r2, "too big"
                jz r2, out           // branch to a later label
                addi r0, r0, MINUS
            out: ret r0
            .entry peek(who: address) view -> felt
                arg r4, who
                assert r4, "too big"
                fail "no"
            """)
        #expect(
            program.instructions == [
                Instruction(.arg, 0, 0, 1),
                Instruction(.set, 1, 16),
                Instruction(.lt, 2, 0, 1),
                Instruction(.assert, 2, 1),
                Instruction(.jz, 2, 6),
                Instruction(.addi, 0, 0, Felt(Felt.modulus - 1)),
                Instruction(.ret, 0, 1),
                Instruction(.arg, 4, 0, 4),
                Instruction(.assert, 4, 1),
                Instruction(.fail, 2),
            ])
        #expect(program.messages == ["too big", "no"])
        #expect(
            program.abi.entrypoints == [
                Entrypoint(
                    name: "bump",
                    parameters: [Parameter(name: "by", type: .u64), Parameter(name: "flag", type: .bool)],
                    isView: false, returns: .u64, pc: 0),
                Entrypoint(
                    name: "peek", parameters: [Parameter(name: "who", type: .address)], isView: true, returns: .felt,
                    pc: 7),
            ])
        #expect(program.abi.entrypoints[0].signature == "bump(by: u64, flag: bool) -> u64")
        #expect(program.abi.entrypoints[1].signature == "peek(who: address) view -> felt")
        #expect(program.line(at: 0) == 6)
        #expect(program.line(at: 6) == 12)
    }

    @Test func constantOverridesReplaceDeclaredConstants() throws {
        let source = ".const K = 1\n.entry f() -> felt\nset r0, K\nret r0"
        #expect(try assemble(source).instructions[0] == Instruction(.set, 0, 1))
        #expect(try assemble(source, constants: ["K": 9]).instructions[0] == Instruction(.set, 0, 9))
        #expect {
            try Assembler.assemble(source, constants: ["Q": 9])
        } throws: { error in
            let error = error as? AssemblyError
            return error?.code == .unknownConstant && error?.message.contains("(declared: K)") == true
        }
    }

    @Test func unknownInstructionSuggestsTheClosestMnemonic() {
        expectAssemblyError(
            ".entry f()\n    set r0, 1\n    lod r1, r0\n    ret", code: .unknownInstruction, line: 3, column: 5,
            message: "line 3, column 5: unknown instruction 'lod' (did you mean 'load'?)")
        expectAssemblyError(
            ".entry f()\nfrobnicate r0\nret", code: .unknownInstruction, line: 2, column: 1,
            message: "line 2, column 1: unknown instruction 'frobnicate'")
    }

    @Test func operandErrorsPointAtTheOperand() {
        expectAssemblyError(
            ".entry f()\n  add r1, r2\n  ret", code: .wrongOperandCount, line: 2, column: 3,
            message: "line 2, column 3: 'add' takes 3 operands (add rd, ra, rb), got 2")
        expectAssemblyError(".entry f()\n  add r1, r2, 5\n  ret", code: .expectedRegister, line: 2, column: 15)
        expectAssemblyError(
            ".entry f()\n  mov r16, r2\n  ret", code: .badRegister, line: 2, column: 7,
            message: "line 2, column 7: register 'r16' does not exist (registers are r0…r15)")
        expectAssemblyError(".entry f()\n  load r0, r13\n  ret", code: .badRegister, line: 2, column: 12)
        expectAssemblyError(".entry f()\n  hash r0, r10, 8\n  ret", code: .badRegister, line: 2, column: 12)
        expectAssemblyError(".entry f()\n  hash r0, r1, 9\n  ret", code: .badCount, line: 2, column: 16)
        expectAssemblyError(".entry f()\n  set r0, 18446744069414584321\n  ret", code: .badLiteral, line: 2, column: 11)
        expectAssemblyError(".entry f()\n  set r0, NOPE\n  ret", code: .unknownName, line: 2, column: 11)
        expectAssemblyError(".entry f()\n  assert r0, r1\n  ret", code: .expectedMessage, line: 2, column: 14)
        expectAssemblyError(".entry f()\n  set r0 1\n  ret", code: .syntax, line: 2, column: 10)
        expectAssemblyError(".entry f()\n  set r0, \"x\n  ret", code: .unterminatedString, line: 2, column: 11)
        expectAssemblyError(".entry f()\n  set r0, 1 @\n  ret", code: .unexpectedCharacter, line: 2, column: 13)
    }

    @Test func labelErrors() {
        expectAssemblyError(
            ".entry f()\nloop: nop\n  jmp lop\n", code: .unknownLabel, line: 3, column: 7,
            message: "line 3, column 7: unknown label 'lop' (did you mean 'loop'?)")
        expectAssemblyError(".entry f()\nx: nop\nx: ret", code: .duplicateLabel, line: 3, column: 1)
    }

    @Test func entryDirectiveErrors() {
        expectAssemblyError(
            ".entry f(a: u46)\nret", code: .unknownType, line: 1, column: 13,
            message: "line 1, column 13: unknown type 'u46' (did you mean 'u64'?); types: felt, u32, u64, bool, address"
        )
        expectAssemblyError(".entry f(a: u64, a: felt)\nret", code: .duplicateParameter, line: 1, column: 18)
        expectAssemblyError(".entry f()\nret\n.entry f()\nret", code: .duplicateEntry, line: 3, column: 8)
        expectAssemblyError(".entry f(a u64)\nret", code: .syntax, line: 1, column: 12)
        expectAssemblyError(".entry f(a: u64\nret", code: .syntax, line: 1, column: 16)
        expectAssemblyError(".entry f() readonly\nret", code: .syntax, line: 1, column: 12)
        expectAssemblyError(
            ".entri f()\nret", code: .unknownDirective, line: 1, column: 1,
            message: "line 1, column 1: unknown directive '.entri' (did you mean '.entry'?)")
        expectAssemblyError(".entry f()\nret\n.entry g()\n", code: .emptyEntry, line: 3, column: 1)
        expectAssemblyError("; nothing\nset r0, 1\nret", code: .noEntrypoints, line: 1, column: 1)
    }

    @Test func argParameterErrors() {
        expectAssemblyError(
            ".entry f(amount: u64)\n  arg r0, amout\n  ret", code: .unknownParameter, line: 2, column: 11,
            message:
                "line 2, column 11: 'amout' is not a parameter of 'f' (did you mean 'amount'?); signature: f(amount: u64)"
        )
        // An address parameter needs four registers.
        expectAssemblyError(".entry f(to: address)\n  arg r13, to\n  ret", code: .badRegister, line: 2, column: 7)
    }

    @Test func theLastInstructionMustNotFallThrough() {
        expectAssemblyError(".entry f()\n  ret\n  set r0, 1", code: .fallsOffEnd, line: 3, column: 3)
    }

    @Test func constantErrors() {
        expectAssemblyError(".const A = 1\n.const A = 2\n.entry f()\nret", code: .duplicateConstant, line: 2, column: 8)
        expectAssemblyError(".const A = zz\n.entry f()\nret", code: .badLiteral, line: 1, column: 12)
    }

    @Test func disassemblyRoundTrips() throws {
        let program = try Contracts.named("token")
        let again = try assemble(program.disassembly)
        #expect(again.hash == program.hash)
        #expect(again.instructions == program.instructions)
    }
}
