extension Program {
    /// The program as assembly text that assembles back to the same program (and hash).
    ///
    /// Jump targets become labels `L<index>`, `arg` uses the numeric `arg rd, offset, n` form, and
    /// constants are inlined, so the text differs from the original source but not in meaning.
    public var disassembly: String {
        let targets = Set(
            instructions.compactMap { instruction -> Int? in
                switch instruction.opcode {
                case .jmp: Int(instruction.a.value)
                case .jz, .jnz: Int(instruction.b.value)
                default: nil
                }
            })
        var lines: [String] = []
        for (pc, instruction) in instructions.enumerated() {
            for entry in abi.entrypoints where entry.pc == pc {
                if !lines.isEmpty { lines.append("") }
                lines.append(".entry \(entry.signature)")
            }
            if targets.contains(pc) { lines.append("L\(pc):") }
            lines.append("    " + render(instruction))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func render(_ instruction: Instruction) -> String {
        let words = [instruction.a, instruction.b, instruction.c]
        var operands: [String] = []
        for (index, role) in instruction.opcode.operands.enumerated() {
            let word = words[index]
            switch role {
            case .register, .quad: operands.append("r\(word.value)")
            case .immediate, .count: operands.append(word.description)
            case .target: operands.append("L\(word.value)")
            case .message:
                if !word.isZero { operands.append(quote(messages[Int(word.value) - 1])) }
            }
        }
        return ([instruction.opcode.mnemonic] + [operands.joined(separator: ", ")])
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    private func quote(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
