/// The checks OS version 2 makes when a program is loaded or registered, so that failures that
/// do not depend on data (a jump out of the program, running past the last instruction, a
/// calldata read past the end, a `ret` of the wrong width, a `store` in a view) are registration
/// errors rather than failed transactions.
///
/// The rules, for every entrypoint and every instruction its code can reach (following both
/// branches of every `jz`/`jnz`, whatever the data):
///
/// 1. every jump target (`jmp`, `jz`, `jnz`) is an instruction of the program;
/// 2. every path ends in `ret` or `fail`: execution can never run past the last instruction;
/// 3. `arg rd, offset, n` reads within the entrypoint's calldata (offset + n ≤ its width);
/// 4. `ret rs, n` returns exactly the entrypoint's return width;
/// 5. no `store` is reachable from a view entrypoint;
/// 6. register spans are in range (a quad starts at r12 at most; rs + n ≤ 16); ``Program``'s
///    initializer already refuses these, so this rule only restates it;
/// 7. each entrypoint's calldata is at most ``maxCalldataWords`` words.
public enum StaticChecks {
    /// The widest calldata an entrypoint may take: the rate of the Poseidon2 sponge.
    public static let maxCalldataWords = 8

    /// Throws the first problem of ``problems(in:)``.
    public static func check(_ program: Program) throws(StaticCheckError) {
        if let first = problems(in: program).first { throw first }
    }

    /// Every problem in `program`, by instruction index (problems of an entrypoint's declaration
    /// first); empty when it passes.
    public static func problems(in program: Program) -> [StaticCheckError] {
        var found: [StaticCheckError] = []
        let code = program.instructions
        func problem(_ kind: StaticCheckError.Code, at pc: Int?, entrypoint: String? = nil, _ text: String) {
            found.append(
                StaticCheckError(
                    code: kind, instruction: pc, mnemonic: pc.map { code[$0].opcode.mnemonic },
                    line: pc.flatMap { program.line(at: $0) }, entrypoint: entrypoint, problem: text))
        }

        // Rules 1 and 6: each instruction on its own.
        for (pc, ins) in code.enumerated() {
            if let span = badRegisterSpan(ins) {
                problem(.registerOutOfRange, at: pc, "\(ins.opcode) uses \(span), outside r0…r15")
            }
            if let target = jumpTarget(ins), target.value >= UInt64(code.count) {
                problem(
                    .jumpOutOfRange, at: pc,
                    "\(ins.opcode) target \(target.value) is outside the program (\(code.count) instructions)")
            }
        }

        var fallsOffEnd: Set<Int> = []
        for entry in program.abi.entrypoints {
            // Rule 7.
            if entry.calldataWidth > maxCalldataWords {
                problem(
                    .calldataTooWide, at: nil, entrypoint: entry.name,
                    "entrypoint \(entry.signature) takes \(entry.calldataWidth) calldata words; at most \(maxCalldataWords) are allowed"
                )
            }
            let width = entry.calldataWidth
            let returns = entry.returns?.width ?? 0
            for pc in reachable(from: entry.pc, in: code) {
                let ins = code[pc]
                switch ins.opcode {
                case .arg:
                    // Rule 3.
                    let offset = ins.b.value
                    let count = ins.c.value
                    if offset > UInt64(width) || offset + count > UInt64(width) {
                        let words = count == 1 ? "word \(offset)" : "words \(offset)…\(offset &+ count &- 1)"
                        problem(
                            .argOutOfRange, at: pc, entrypoint: entry.name,
                            "arg reads calldata \(words), but entrypoint \(entry.name) takes \(plural(width, "calldata word"))"
                        )
                    }
                case .ret:
                    // Rule 4.
                    let count = Int(ins.b.value)
                    if count != returns {
                        problem(
                            .returnWidth, at: pc, entrypoint: entry.name,
                            "ret returns \(plural(count, "word")), but entrypoint \(entry.signature) returns \(returns)"
                        )
                    }
                case .store where entry.isView:
                    // Rule 5.
                    problem(
                        .storeInView, at: pc, entrypoint: entry.name,
                        "store is reachable from view entrypoint \(entry.name)")
                default:
                    break
                }
                // Rule 2: the instruction would continue to pc + 1, past the end.
                if pc == code.count - 1, continues(ins), fallsOffEnd.insert(pc).inserted {
                    problem(
                        .fallsOffEnd, at: pc, entrypoint: entry.name,
                        "\(ins.opcode) is the last instruction and execution can continue past it (from entrypoint \(entry.name)); every path must end in ret or fail"
                    )
                }
            }
        }
        return found.enumerated()
            .sorted { ($0.element.instruction ?? -1, $0.offset) < ($1.element.instruction ?? -1, $1.offset) }
            .map(\.element)
    }

    /// The instructions reachable from `start`, ascending, taking every branch either way.
    static func reachable(from start: Int, in code: [Instruction]) -> [Int] {
        var seen: Set<Int> = []
        var work = [start]
        while let pc = work.popLast() {
            guard pc >= 0, pc < code.count, seen.insert(pc).inserted else { continue }
            let ins = code[pc]
            if continues(ins) { work.append(pc + 1) }
            if let target = jumpTarget(ins), target.value < UInt64(code.count) { work.append(Int(target.value)) }
        }
        return seen.sorted()
    }

    /// Whether execution can go on to the next instruction after `ins`.
    static func continues(_ ins: Instruction) -> Bool {
        switch ins.opcode {
        case .jmp, .ret, .fail: false
        default: true
        }
    }

    static func jumpTarget(_ ins: Instruction) -> Felt? {
        switch ins.opcode {
        case .jmp: ins.a
        case .jz, .jnz: ins.b
        default: nil
        }
    }

    /// The register span of `ins` that leaves r0…r15, written `r14…r17`, or nil.
    static func badRegisterSpan(_ ins: Instruction) -> String? {
        let words = [ins.a, ins.b, ins.c]
        let limit = UInt64(Program.registerCount)
        for (index, role) in ins.opcode.operands.enumerated() {
            let v = words[index].value
            switch role {
            case .register where v >= limit:
                return "r\(v)"
            case .quad where v > limit - 4:
                return "r\(v)…r\(v &+ 3)"
            case .count:
                let base = ins.opcode == .hash ? words[1].value : words[0].value
                if v > 0, base > limit || v > limit - base { return "r\(base)…r\(base &+ v &- 1)" }
            default:
                break
            }
        }
        return nil
    }

    private static func plural(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}

/// A program that breaks one of the ``StaticChecks`` of OS version 2.
///
/// Printed as `instruction 12 (line 40): jmp target 99 is outside the program (57 instructions)`,
/// or `entrypoint …: …` for a problem of an entrypoint's declaration.
public struct StaticCheckError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case jumpOutOfRange = "JUMP_OUT_OF_RANGE"
        case fallsOffEnd = "FALLS_OFF_END"
        case argOutOfRange = "ARG_OUT_OF_RANGE"
        case returnWidth = "RETURN_WIDTH"
        case storeInView = "STORE_IN_VIEW"
        case registerOutOfRange = "REGISTER_OUT_OF_RANGE"
        case calldataTooWide = "CALLDATA_TOO_WIDE"
    }

    public var code: Code
    /// The instruction index; nil for a problem of an entrypoint's declaration.
    public var instruction: Int?
    /// The instruction's mnemonic, e.g. `jmp`.
    public var mnemonic: String?
    /// The instruction's source line, when the program was assembled from source.
    public var line: Int?
    /// The entrypoint whose code reaches the instruction, for the checks made per entrypoint.
    public var entrypoint: String?
    /// What is wrong, without the place.
    public var problem: String

    public init(
        code: Code, instruction: Int?, mnemonic: String?, line: Int?, entrypoint: String?, problem: String
    ) {
        self.code = code
        self.instruction = instruction
        self.mnemonic = mnemonic
        self.line = line
        self.entrypoint = entrypoint
        self.problem = problem
    }

    /// `instruction 12 (line 40)`, `instruction 12`, or empty for an entrypoint's declaration.
    public var place: String {
        guard let instruction else { return "" }
        return "instruction \(instruction)" + (line.map { " (line \($0))" } ?? "")
    }

    public var description: String { place.isEmpty ? problem : "\(place): \(problem)" }
}
