import Testing

@testable import ThreadVM

/// The semantics of every instruction, one small program each.
@Suite struct InstructionTests {
    static let pMinus1 = Felt(Felt.modulus - 1)

    @Test func setAndMov() throws {
        #expect(try returnedWord("set r3, 42\nmov r7, r3\nret r7") == 42)
        #expect(try returnedWord("set r0, -1\nret r0") == Self.pMinus1)
        #expect(try returnedWord("set r0, 0xff\nret r0") == 255)
        #expect(try returnedWord("ret r9") == 0)  // registers start at zero
    }

    @Test func nopDoesNothingButCountsAStep() throws {
        let result = try runMain("set r0, 5\nnop\nnop\nret r0")
        #expect(result.returnData == [5])
        #expect(result.steps == 4)
    }

    @Test func addWrapsModP() throws {
        #expect(try returnedWord("set r0, 2\nset r1, 3\nadd r2, r0, r1\nret r2") == 5)
        #expect(try returnedWord("set r0, -1\nset r1, 2\nadd r2, r0, r1\nret r2") == 1)
    }

    @Test func addiAddsAnImmediate() throws {
        #expect(try returnedWord("set r0, 40\naddi r0, r0, 2\nret r0") == 42)
        #expect(try returnedWord("set r0, 1\naddi r0, r0, -2\nret r0") == Self.pMinus1)
    }

    @Test func subWrapsModP() throws {
        #expect(try returnedWord("set r0, 10\nset r1, 4\nsub r2, r0, r1\nret r2") == 6)
        #expect(try returnedWord("set r0, 3\nset r1, 5\nsub r2, r0, r1\nret r2") == Felt(Felt.modulus - 2))
    }

    @Test func mulWrapsModP() throws {
        #expect(try returnedWord("set r0, 6\nset r1, 7\nmul r2, r0, r1\nret r2") == 42)
        // 2^32 · 2^32 = 2^64 ≡ 2^32 − 1
        #expect(try returnedWord("set r0, 0x100000000\nmul r1, r0, r0\nret r1") == 0xFFFF_FFFF)
        #expect(try returnedWord("set r0, -1\nmul r1, r0, r0\nret r1") == 1)
    }

    @Test func divIsFieldDivision() throws {
        #expect(try returnedWord("set r0, 42\nset r1, 6\ndiv r2, r0, r1\nret r2") == 7)
        let half = try returnedWord("set r0, 1\nset r1, 2\ndiv r2, r0, r1\nret r2")
        #expect(half * 2 == 1)
        #expect(half == Felt((Felt.modulus + 1) / 2))
    }

    @Test func divAndInvByZeroFail() throws {
        let div = try runMain("set r0, 1\ndiv r2, r0, r1\nret r2")
        guard case .divisionByZero(let location) = div.failure else {
            Issue.record("expected division by zero, got \(div.outcome)")
            return
        }
        #expect(location.pc == 1)
        #expect(location.line == 3)  // line 1 is the .entry header
        #expect(div.failure?.code == "DIVISION_BY_ZERO")
        let inv = try runMain("inv r2, r1\nret r2")
        #expect(inv.failure == .divisionByZero(Location(entrypoint: "main", pc: 0, line: 2)))
    }

    @Test func invIsTheMultiplicativeInverse() throws {
        let inverse = try returnedWord("set r0, 12345\ninv r1, r0\nret r1")
        #expect(inverse * 12345 == 1)
    }

    @Test func eqLtNot() throws {
        #expect(try returnedWord("set r0, 5\nset r1, 5\neq r2, r0, r1\nret r2") == 1)
        #expect(try returnedWord("set r0, 5\nset r1, 6\neq r2, r0, r1\nret r2") == 0)
        #expect(try returnedWord("set r0, 5\nset r1, 6\nlt r2, r0, r1\nret r2") == 1)
        #expect(try returnedWord("set r0, 6\nset r1, 5\nlt r2, r0, r1\nret r2") == 0)
        #expect(try returnedWord("set r0, 5\nlt r2, r0, r0\nret r2") == 0)
        // lt compares canonical integers: p − 1 is the largest word, not "−1".
        #expect(try returnedWord("set r0, -1\nset r1, 0\nlt r2, r1, r0\nret r2") == 1)
        #expect(try returnedWord("not r1, r0\nret r1") == 1)
        #expect(try returnedWord("set r0, 9\nnot r1, r0\nret r1") == 0)
    }

    @Test func jumpsAndBranches() throws {
        // Sum 1…10 with a loop: jnz back-edge, jz exit.
        let sum = try returnedWord(
            """
                set r0, 10
                set r1, 0
            loop:
                jz r0, done
                add r1, r1, r0
                addi r0, r0, -1
                jmp loop
            done:
                ret r1
            """)
        #expect(sum == 55)
        #expect(try returnedWord("set r0, 1\njnz r0, yes\nret r0\nyes:\nset r0, 7\nret r0") == 7)
        #expect(try returnedWord("jnz r0, yes\nset r0, 3\nret r0\nyes:\nset r0, 7\nret r0") == 3)
    }

    @Test func assertPassesOnNonZeroAndFailsWithItsMessage() throws {
        #expect(try returnedWord("set r0, 1\nassert r0, \"never\"\nret r0") == 1)
        let failed = try runMain("set r0, 0\nnop\nassert r0, \"must be set\"\nret r0")
        #expect(
            failed.failure == .assertionFailed(Location(entrypoint: "main", pc: 2, line: 4), message: "must be set"))
        #expect(failed.failure?.description == "assertion failed at main, pc 2 (line 4): must be set")
        #expect(failed.failure?.code == "ASSERTION_FAILED")
        let bare = try runMain("assert r0\nret r0")
        #expect(bare.failure == .assertionFailed(Location(entrypoint: "main", pc: 0, line: 2), message: nil))
    }

    @Test func failAborts() throws {
        let result = try runMain("fail \"nope\"")
        #expect(result.failure == .aborted(Location(entrypoint: "main", pc: 0, line: 2), message: "nope"))
        #expect(result.failure?.code == "ABORTED")
    }

    @Test func retReturnsTheDeclaredWidth() throws {
        let quad = try runMain("set r4, 1\nset r5, 2\nset r6, 3\nset r7, 4\nret r4, 4", returns: "-> address")
        #expect(quad.returnData == [1, 2, 3, 4])
        // `ret rs` takes the declared width: four words for an address.
        let implicit = try runMain("set r4, 1\nset r7, 4\nret r4", returns: "-> address")
        #expect(implicit.returnData == [1, 0, 0, 4])
        expectAssemblyError(".entry f() -> address\n  ret r13", code: .badRegister, line: 2, column: 7)
        let none = try runMain("ret", returns: "")
        #expect(none.returnData == [])
        let wrong = try runMain("ret r0, 2", returns: "-> u64")
        #expect(wrong.failure == .badReturn(Location(entrypoint: "main", pc: 0, line: 2), expected: 1, got: 2))
    }

    @Test func argReadsCalldataByParameterOrOffset() throws {
        let program = try assemble(
            """
            .entry pick(a: u64, who: address, b: u64) -> address
                arg r0, b           ; offset 5
                arg r1, a           ; offset 0
                arg r4, who         ; offsets 1…4
                arg r8, 1, 4        ; the same four words by offset
                eq  r12, r4, r8
                assert r12
                add r4, r4, r0
                add r4, r4, r1
                ret r4, 4
            """)
        let entry = try program.abi.entrypoint(named: "pick")
        #expect(entry.offsets == [0, 1, 5])
        #expect(entry.calldataWidth == 6)
        let result = Interpreter(program: program).execute(
            Transaction(caller: alice, entrypoint: "pick", calldata: [10, 1, 2, 3, 4, 20]), state: MemoryState())
        #expect(result.returnData == [31, 2, 3, 4])
    }

    @Test func callerIsTheSignersAddress() throws {
        let result = try runMain("caller r3\nret r3, 4", returns: "-> address")
        #expect(result.returnData == alice.words)
    }

    @Test func loadAndStore() throws {
        let key = StorageKey(1, 2, 3, 4)
        let result = try runMain(
            """
                set r0, 1
                set r1, 2
                set r2, 3
                set r3, 4
                load r5, r0
                addi r5, r5, 1
                store r0, r5
                load r6, r0
                ret r6
            """, state: MemoryState([key: 41]))
        #expect(result.returnData == [42])
        #expect(result.outputs == [KeyValue(key: key, value: 42)])
        // Absent keys read as zero.
        #expect(try returnedWord("set r0, 9\nload r5, r0\nret r5") == 0)
    }

    @Test func xloadReadsAnotherThread() throws {
        let key = StorageKey(7, 0, 0, 0)
        let threads = MemoryThreads([5: MemoryState([key: 99])])
        let result = try runMain("set r0, 7\nset r4, 5\nxload r9, r4, r0\nret r9", threads: threads)
        #expect(result.returnData == [99])
        #expect(result.crossReads == [CrossRead(thread: 5, key: key, value: 99)])
        #expect(result.inputs.isEmpty)  // cross reads are not inputs of this thread
        let unknown = try runMain("set r4, 6\nxload r9, r4, r0\nret r9", threads: threads)
        #expect(unknown.failure == .unknownThread(Location(entrypoint: "main", pc: 1, line: 3), thread: 6))
    }

    @Test func hashDerivesKeys() throws {
        let result = try runMain("set r0, 1\ncaller r1\nhash r8, r0, 5\nret r8, 4", returns: "-> address")
        #expect(result.returnData == StorageKey.map(slot: 1, alice.words).words)
        let single = try runMain("set r2, 1\nhash r0, r2, 1\nret r0, 4", returns: "-> address")
        #expect(single.returnData == StorageKey.derive([1]).words)
    }

    @Test func everyOpcodeHasAFixedFourWordEncoding() throws {
        for opcode in Opcode.allCases {
            let instruction = Instruction(opcode)
            #expect(instruction.words.count == 4)
            #expect(Instruction(words: instruction.words) == instruction)
        }
        #expect(Instruction(words: [0xFF, 0, 0, 0]) == nil)
        #expect(Set(Opcode.allCases.map(\.rawValue)).count == Opcode.allCases.count)
    }
}
