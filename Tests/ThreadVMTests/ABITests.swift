import Testing

@testable import ThreadVM

@Suite struct ABITests {
    let abi: ABI

    init() throws { abi = try Contracts.named("token").abi }

    @Test func encodesPositionalArguments() throws {
        let words = try abi.encodeCalldata(entrypoint: "transfer", arguments: [bob.hex, "25"])
        #expect(words == bob.words + [25])
    }

    @Test func encodesNamedArgumentsInAnyOrder() throws {
        let words = try abi.encodeCalldata(entrypoint: "transfer", arguments: ["amount=0x19", "to=\(bob.hex)"])
        #expect(words == bob.words + [25])
        let dict = try abi.encodeCalldata(entrypoint: "transfer", named: ["to": bob.hex, "amount": "25"])
        #expect(dict == words)
    }

    @Test func arityErrorsNameTheEntrypointAndSignature() {
        #expect {
            try abi.encodeCalldata(entrypoint: "transfer", arguments: ["25"])
        } throws: { error in
            let error = error as? CalldataError
            return error?.code == .wrongArity && error?.entrypoint == "transfer"
                && error?.message == "transfer(to: address, amount: u64) takes 2 arguments, got 1"
        }
    }

    @Test func typeErrorsNameTheParameter() {
        func problem(_ arguments: [String], entry: String = "transfer") -> CalldataError? {
            do {
                _ = try abi.encodeCalldata(entrypoint: entry, arguments: arguments)
                return nil
            } catch {
                return error
            }
        }
        let notNumber = problem([bob.hex, "12x"])
        #expect(notNumber?.code == .badArgument)
        #expect(notNumber?.parameter == "amount")
        #expect(notNumber?.message == "transfer: argument 'amount' (u64): '12x' is not an unsigned integer")
        let tooBig = problem([bob.hex, String(Felt.modulus)])
        #expect(tooBig?.parameter == "amount")
        #expect(tooBig?.message.contains("out of range for u64") == true)
        #expect(problem([bob.hex, "-1"])?.code == .badArgument)
        let badAddress = problem(["0x1234", "1"])
        #expect(badAddress?.parameter == "to")
        #expect(badAddress?.message.hasPrefix("transfer: argument 'to' (address):") == true)
        // An address needs its 0x prefix.
        #expect(problem([String(bob.hex.dropFirst(2)), "1"])?.parameter == "to")
    }

    @Test func namedArgumentErrors() {
        func code(_ arguments: [String]) -> CalldataError.Code? {
            do {
                _ = try abi.encodeCalldata(entrypoint: "transfer", arguments: arguments)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(["to=\(bob.hex)"]) == .missingArgument)
        #expect(code(["to=\(bob.hex)", "amount=1", "memo=hi"]) == .unknownParameter)
        #expect(code(["to=\(bob.hex)", "amount=1", "amount=2"]) == .duplicateArgument)
        #expect(code([bob.hex, "amount=1"]) == .mixedArguments)
        #expect(throws: CalldataError.self) {
            try abi.encodeCalldata(entrypoint: "transfer", named: ["amuont": "1", "to": bob.hex])
        }
        do {
            _ = try abi.encodeCalldata(entrypoint: "transfer", named: ["amuont": "1", "to": bob.hex])
        } catch {
            #expect(error.parameter == "amuont")
            #expect(error.message.contains("did you mean 'amount'"))
        }
    }

    @Test func unknownEntrypointListsTheKnownOnes() {
        do {
            _ = try abi.encodeCalldata(entrypoint: "send", arguments: [])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownEntrypoint)
            #expect(error.message == "unknown entrypoint 'send'; entrypoints: balance_of, mint, total_supply, transfer")
        }
    }

    @Test func typesParseAndValidate() throws {
        #expect(try ABIType.felt.parse("-1").get() == [Felt(Felt.modulus - 1)])
        #expect(try ABIType.u32.parse("4294967295").get() == [0xFFFF_FFFF])
        #expect((try? ABIType.u32.parse("4294967296").get()) == nil)
        #expect(try ABIType.bool.parse("true").get() == [1])
        #expect(try ABIType.bool.parse("0").get() == [0])
        #expect((try? ABIType.bool.parse("yes").get()) == nil)
        #expect(try ABIType.u64.parse("1_000").get() == [1000])
        #expect(ABIType.bool.validate([2]) != nil)
        #expect(ABIType.u32.validate([Felt(1 << 32)]) != nil)
        #expect(ABIType.u64.validate([Felt(Felt.modulus - 1)]) == nil)
    }

    @Test func validatesDecodedCalldata() throws {
        let program = try assemble(".entry f(flag: bool, n: u32)\nret")
        #expect(throws: Never.self) { try program.abi.validateCalldata(entrypoint: "f", calldata: [1, 7]) }
        do {
            try program.abi.validateCalldata(entrypoint: "f", calldata: [2, 7])
            Issue.record("expected an error")
        } catch {
            #expect(error.parameter == "flag")
            #expect(error.code == .badArgument)
        }
        do {
            try program.abi.validateCalldata(entrypoint: "f", calldata: [1])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .wrongArity)
            #expect(error.message == "f(flag: bool, n: u32) takes 2 calldata words, got 1")
        }
    }

    @Test func formatsReturnValues() {
        #expect(abi.formatReturn(entrypoint: "balance_of", words: [42]) == "42")
        #expect(abi.formatReturn(entrypoint: "transfer", words: []) == "[]")
    }

    @Test func transactionFromArguments() throws {
        let tx = try Transaction(caller: alice, entrypoint: "mint", arguments: [bob.hex, "5"], abi: abi)
        #expect(tx.calldata == bob.words + [5])
        #expect(throws: CalldataError.self) {
            try Transaction(caller: alice, entrypoint: "mint", arguments: [bob.hex], abi: abi)
        }
    }
}
