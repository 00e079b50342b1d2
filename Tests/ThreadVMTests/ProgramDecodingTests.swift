import Testing

@testable import ThreadVM

/// A published program reads back exactly, and damaged bytes are refused with a reason.
@Suite struct ProgramDecodingTests {
    @Test(arguments: Contracts.names)
    func everyShippedContractRoundTrips(name: String) throws {
        let program = try Contracts.named(name)
        let decoded = try Program(decoding: program.canonicalEncoding)
        #expect(decoded.hash == program.hash)
        #expect(decoded.instructions == program.instructions)
        #expect(decoded.abi == program.abi)
        #expect(decoded.messages == program.messages)
    }

    @Test func damagedBytesAreRefusedWithAReason() throws {
        let bytes = try Contracts.named("token").canonicalEncoding
        func problem(_ damaged: [UInt8]) -> String {
            do {
                _ = try Program(decoding: damaged)
                return "decoded"
            } catch {
                return error.message
            }
        }
        #expect(problem(Array(bytes.dropLast())).contains("ends at byte"))
        #expect(problem(bytes + [0]).contains("follow the end"))
        #expect(problem([0x54, 0x56, 0x4D, 0x32] + bytes.dropFirst(4)).contains("TVM1"))
        var badOpcode = bytes
        badOpcode[15] = 0xEE  // the low byte of the first instruction's opcode word
        #expect(problem(badOpcode).contains("unknown opcode"))
        #expect(problem(Array(repeating: 0, count: Program.maxEncodedBytes + 1)).contains("limit"))
    }
}
