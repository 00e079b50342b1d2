internal import Crypto

/// An assembled contract: instructions, assert/fail messages and the ABI.
///
/// Identified by ``hash``: SHA-256 of ``canonicalEncoding``. Source line numbers are debug
/// information only: they are not part of the encoding, so reformatting or commenting a contract
/// does not change its hash, while any change to an instruction, a message or the ABI does.
public struct Program: Hashable, Sendable {
    /// Number of registers, `r0`…`r15`.
    public static let registerCount = 16

    public let instructions: [Instruction]
    public let abi: ABI
    /// Messages referenced by `assert` and `fail` (operand value = index + 1).
    public let messages: [String]
    /// For each instruction, the 1-based source line it was assembled from (0 when unknown).
    public let sourceLines: [Int]
    /// SHA-256 of ``canonicalEncoding``.
    public let hash: ProgramHash

    /// Builds and checks a program from its parts.
    ///
    /// Register operands, register spans, counts, message references and entrypoint start indices
    /// are checked here. Jump targets are not: a jump outside the program fails at run time with
    /// ``VMFailure/badJump(_:target:)``.
    public init(instructions: [Instruction], abi: ABI, messages: [String] = [], sourceLines: [Int]? = nil)
        throws(ProgramError)
    {
        for (pc, instruction) in instructions.enumerated() {
            try Program.check(instruction, at: pc, messageCount: messages.count)
        }
        var names = Set<String>()
        for entry in abi.entrypoints {
            guard names.insert(entry.name).inserted else {
                throw ProgramError(message: "entrypoint '\(entry.name)' is declared twice")
            }
            guard (0..<instructions.count).contains(entry.pc) else {
                throw ProgramError(message: "entrypoint '\(entry.name)' starts at \(entry.pc), outside the program")
            }
        }
        if let sourceLines, sourceLines.count != instructions.count {
            throw ProgramError(
                message: "source line table has \(sourceLines.count) entries for \(instructions.count) instructions")
        }
        self.instructions = instructions
        self.abi = abi
        self.messages = messages
        self.sourceLines = sourceLines ?? Array(repeating: 0, count: instructions.count)
        self.hash = ProgramHash(bytes: Array(SHA256.hash(data: Program.encode(instructions, abi, messages))))
    }

    /// The canonical byte encoding that ``hash`` is taken over.
    ///
    /// All integers big-endian: magic `"TVM1"`; u32 instruction count, then each instruction as four
    /// 8-byte words `[opcode, a, b, c]`; u32 message count, then each message as u32 byte length +
    /// UTF-8; u32 entrypoint count, then each entrypoint as name, u32 pc, u8 flags (bit 0 = view),
    /// u8 return type tag (0 = none), u32 parameter count, then each parameter as name + u8 type
    /// tag. Names are u32 byte length + UTF-8. Type tags: felt 1, u32 2, u64 3, bool 4, address 5.
    public var canonicalEncoding: [UInt8] { Program.encode(instructions, abi, messages) }

    /// The source line of the instruction at `pc`, if known.
    public func line(at pc: Int) -> Int? {
        guard sourceLines.indices.contains(pc), sourceLines[pc] > 0 else { return nil }
        return sourceLines[pc]
    }

    // Programs are compared by content; debug line numbers do not take part.
    public static func == (a: Program, b: Program) -> Bool { a.hash == b.hash }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    private static func check(_ instruction: Instruction, at pc: Int, messageCount: Int) throws(ProgramError) {
        let words = [instruction.a, instruction.b, instruction.c]
        let roles = instruction.opcode.operands
        func fail(_ text: String) -> ProgramError {
            ProgramError(message: "instruction \(pc) (\(instruction)): \(text)")
        }
        for (index, role) in roles.enumerated() {
            let v = words[index].value
            switch role {
            case .register:
                guard v < UInt64(registerCount) else { throw fail("register r\(v) does not exist") }
            case .quad:
                guard v + 4 <= UInt64(registerCount) else { throw fail("register quad r\(v)…r\(v + 3) does not exist") }
            case .immediate, .target:
                break
            case .count(let range):
                guard v <= UInt64(range.upperBound), Int(v) >= range.lowerBound else {
                    throw fail("count \(v) is outside \(range.lowerBound)…\(range.upperBound)")
                }
                // The count bounds the span of the register operand before it.
                let first = words[0].value
                let base = instruction.opcode == .hash ? words[1].value : first
                guard base + v <= UInt64(registerCount) else {
                    throw fail("registers r\(base)…r\(base + v - 1) do not exist")
                }
            case .message:
                guard v <= UInt64(messageCount) else { throw fail("message \(v) does not exist") }
            }
        }
        for index in roles.count..<3 where !words[index].isZero {
            throw fail("unused operand \(index) must be 0")
        }
    }

    private static func encode(_ instructions: [Instruction], _ abi: ABI, _ messages: [String]) -> [UInt8] {
        var out: [UInt8] = Array("TVM1".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).bigEndian) { out.append(contentsOf: $0) } }
        func word(_ v: Felt) { withUnsafeBytes(of: v.value.bigEndian) { out.append(contentsOf: $0) } }
        func text(_ s: String) {
            let bytes = Array(s.utf8)
            u32(bytes.count)
            out += bytes
        }
        u32(instructions.count)
        for instruction in instructions { instruction.words.forEach(word) }
        u32(messages.count)
        messages.forEach(text)
        u32(abi.entrypoints.count)
        for entry in abi.entrypoints {
            text(entry.name)
            u32(entry.pc)
            out.append(entry.isView ? 1 : 0)
            out.append(entry.returns.map(\.tag) ?? 0)
            u32(entry.parameters.count)
            for parameter in entry.parameters {
                text(parameter.name)
                out.append(parameter.type.tag)
            }
        }
        return out
    }
}

extension ABIType {
    /// The type's byte in the canonical program encoding.
    var tag: UInt8 {
        switch self {
        case .felt: 1
        case .u32: 2
        case .u64: 3
        case .bool: 4
        case .address: 5
        }
    }
}

/// A 32-byte program hash, printed as 64 lowercase hex digits.
public struct ProgramHash: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a program hash is 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 hex digits, with or without `0x`.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("0x") { digits = digits.dropFirst(2) }
        guard digits.count == 64, digits.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16)!)
            index = next
        }
        self.bytes = bytes
    }

    public var hex: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let hash = ProgramHash(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a program hash"))
        }
        self = hash
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A structurally invalid program built from raw instructions (the assembler never produces one).
public struct ProgramError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
