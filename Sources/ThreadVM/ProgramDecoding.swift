/// Reading a program back from its canonical encoding, as a registration publishes it.
extension Program {
    /// The most bytes a published program may take: 256 KiB.
    public static let maxEncodedBytes = 256 * 1024
    /// The most instructions a program may have.
    public static let maxInstructions = 8192

    /// Decodes ``canonicalEncoding`` bytes and checks the program as ``init(instructions:abi:messages:sourceLines:)``
    /// does. The result's ``hash`` is the SHA-256 of `bytes` (line numbers are not part of the
    /// encoding, so a decoded program has none).
    ///
    /// - Throws: ``ProgramError`` naming the offset and what is wrong: not `TVM1`, truncated,
    ///   trailing bytes, an unknown opcode or type tag, a word that is not a field element, more
    ///   than ``maxEncodedBytes`` or ``maxInstructions``, or a structural error.
    public init(decoding bytes: [UInt8]) throws(ProgramError) {
        guard bytes.count <= Self.maxEncodedBytes else {
            throw ProgramError(
                message: "the program is \(bytes.count) bytes; the limit is \(Self.maxEncodedBytes) bytes")
        }
        var reader = EncodedProgramReader(bytes: bytes)
        guard try reader.take(4) == Array("TVM1".utf8) else {
            throw ProgramError(message: "not a ThreadVM v1 program (it does not start with 'TVM1')")
        }
        let count = try reader.count("instruction", limit: Self.maxInstructions)
        var instructions: [Instruction] = []
        instructions.reserveCapacity(count)
        for index in 0..<count {
            let opcodeWord = try reader.word()
            guard opcodeWord.value <= UInt64(UInt8.max), let opcode = Opcode(rawValue: UInt8(opcodeWord.value)) else {
                throw ProgramError(message: "instruction \(index): unknown opcode \(opcodeWord.value)")
            }
            instructions.append(Instruction(opcode, try reader.word(), try reader.word(), try reader.word()))
        }
        let messageCount = try reader.count("message", limit: 65_536)
        var messages: [String] = []
        for _ in 0..<messageCount { messages.append(try reader.text()) }
        let entryCount = try reader.count("entrypoint", limit: 4096)
        var entrypoints: [Entrypoint] = []
        for _ in 0..<entryCount {
            let name = try reader.text()
            let pc = try reader.u32()
            let flags = try reader.byte()
            guard flags <= 1 else { throw ProgramError(message: "entrypoint '\(name)': unknown flags \(flags)") }
            let returnTag = try reader.byte()
            let returns = returnTag == 0 ? nil : try ABIType(tag: returnTag, what: "entrypoint '\(name)' return type")
            let parameterCount = try reader.count("parameter", limit: 256)
            var parameters: [Parameter] = []
            for _ in 0..<parameterCount {
                let parameterName = try reader.text()
                let type = try ABIType(tag: try reader.byte(), what: "parameter '\(parameterName)' of '\(name)'")
                parameters.append(Parameter(name: parameterName, type: type))
            }
            entrypoints.append(
                Entrypoint(name: name, parameters: parameters, isView: flags == 1, returns: returns, pc: Int(pc)))
        }
        guard reader.isAtEnd else {
            throw ProgramError(message: "\(bytes.count - reader.offset) bytes follow the end of the program")
        }
        try self.init(instructions: instructions, abi: ABI(entrypoints: entrypoints), messages: messages)
    }
}

extension ABIType {
    init(tag: UInt8, what: String) throws(ProgramError) {
        guard let type = ABIType.allCases.first(where: { $0.tag == tag }) else {
            throw ProgramError(message: "\(what): unknown type tag \(tag)")
        }
        self = type
    }
}

/// Reads the big-endian fields of a program encoding, naming the offset of anything missing.
private struct EncodedProgramReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws(ProgramError) -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else {
            throw ProgramError(
                message: "the program ends at byte \(bytes.count), in the middle of a field at \(offset)")
        }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func byte() throws(ProgramError) -> UInt8 { try take(1)[0] }

    mutating func u32() throws(ProgramError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func word() throws(ProgramError) -> Felt {
        let at = offset
        let value = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard value < Felt.modulus else {
            throw ProgramError(message: "the word at byte \(at) (\(value)) is not a field element")
        }
        return Felt(value)
    }

    mutating func count(_ what: String, limit: Int) throws(ProgramError) -> Int {
        let value = Int(try u32())
        guard value <= limit else {
            throw ProgramError(message: "the program declares \(value) \(what)s; the limit is \(limit)")
        }
        return value
    }

    mutating func text() throws(ProgramError) -> String {
        let length = Int(try u32())
        let at = offset
        let raw = try take(length)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw ProgramError(message: "the text at byte \(at) is not UTF-8")
        }
        return string
    }
}
