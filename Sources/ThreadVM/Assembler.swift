/// An assembly error at a source position: stable ``code``, 1-based ``line`` and ``column``.
///
/// Printed as `line 12, column 7: unknown instruction 'lod' (did you mean 'load'?)`. Errors not
/// tied to a source position (a constant override that names no constant) have line and column 0.
public struct AssemblyError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case unexpectedCharacter = "UNEXPECTED_CHARACTER"
        case unterminatedString = "UNTERMINATED_STRING"
        case syntax = "SYNTAX"
        case unknownInstruction = "UNKNOWN_INSTRUCTION"
        case unknownDirective = "UNKNOWN_DIRECTIVE"
        case wrongOperandCount = "WRONG_OPERAND_COUNT"
        case expectedRegister = "EXPECTED_REGISTER"
        case badRegister = "BAD_REGISTER"
        case badLiteral = "BAD_LITERAL"
        case badCount = "BAD_COUNT"
        case expectedMessage = "EXPECTED_MESSAGE"
        case unknownName = "UNKNOWN_NAME"
        case unknownLabel = "UNKNOWN_LABEL"
        case duplicateLabel = "DUPLICATE_LABEL"
        case duplicateConstant = "DUPLICATE_CONSTANT"
        case unknownConstant = "UNKNOWN_CONSTANT"
        case unknownType = "UNKNOWN_TYPE"
        case unknownParameter = "UNKNOWN_PARAMETER"
        case duplicateEntry = "DUPLICATE_ENTRY"
        case duplicateParameter = "DUPLICATE_PARAMETER"
        case emptyEntry = "EMPTY_ENTRY"
        case noEntrypoints = "NO_ENTRYPOINTS"
        case fallsOffEnd = "FALLS_OFF_END"
    }

    public var line: Int
    public var column: Int
    public var code: Code
    public var message: String

    public init(line: Int, column: Int, code: Code, message: String) {
        self.line = line
        self.column = column
        self.code = code
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Turns ThreadVM assembly text into a ``Program``. The grammar is in docs/threadvm.md.
public enum Assembler {
    /// Assembles `source`.
    ///
    /// - Parameter constants: values that replace `.const` declarations of the same name (e.g. the
    ///   thread id another thread was registered under). Naming an undeclared constant is an error.
    public static func assemble(_ source: String, constants: [String: Felt] = [:]) throws(AssemblyError) -> Program {
        var parser = Parser()
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, text) in lines.enumerated() {
            try parser.parse(line: text, number: index + 1)
        }
        return try parser.finish(overrides: constants)
    }
}

// MARK: - Tokens

private struct Token {
    enum Kind: Equatable {
        case identifier(String)
        case directive(String)
        case number(String)
        case string(String)
        case punctuation(String)
    }

    var kind: Kind
    var column: Int

    var text: String {
        switch kind {
        case .identifier(let s), .number(let s), .punctuation(let s): s
        case .directive(let s): "." + s
        case .string(let s): "\"" + s + "\""
        }
    }
}

private func tokenize(_ line: Substring, number: Int) throws(AssemblyError) -> [Token] {
    let chars = Array(line)
    var tokens: [Token] = []
    var i = 0
    func isWordChar(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }
    while i < chars.count {
        let c = chars[i]
        let column = i + 1
        if c.isWhitespace {
            i += 1
        } else if c == ";" || c == "#" {
            break
        } else if c == "/" && i + 1 < chars.count && chars[i + 1] == "/" {
            break
        } else if c == "\"" {
            var text = ""
            i += 1
            var closed = false
            while i < chars.count {
                let d = chars[i]
                if d == "\"" {
                    closed = true
                    i += 1
                    break
                }
                if d == "\\" && i + 1 < chars.count {
                    let e = chars[i + 1]
                    text.append(e == "n" ? "\n" : e == "t" ? "\t" : e)
                    i += 2
                } else {
                    text.append(d)
                    i += 1
                }
            }
            guard closed else {
                throw AssemblyError(
                    line: number, column: column, code: .unterminatedString, message: "unterminated string")
            }
            tokens.append(Token(kind: .string(text), column: column))
        } else if c.isASCII && c.isNumber
            || (c == "-" && i + 1 < chars.count && chars[i + 1].isASCII && chars[i + 1].isNumber)
        {
            var j = i + 1
            while j < chars.count && isWordChar(chars[j]) { j += 1 }
            tokens.append(Token(kind: .number(String(chars[i..<j])), column: column))
            i = j
        } else if c == "." && i + 1 < chars.count && isWordChar(chars[i + 1]) {
            var j = i + 1
            while j < chars.count && isWordChar(chars[j]) { j += 1 }
            tokens.append(Token(kind: .directive(String(chars[(i + 1)..<j])), column: column))
            i = j
        } else if isWordChar(c) {
            var j = i
            while j < chars.count && isWordChar(chars[j]) { j += 1 }
            tokens.append(Token(kind: .identifier(String(chars[i..<j])), column: column))
            i = j
        } else if c == "-" && i + 1 < chars.count && chars[i + 1] == ">" {
            tokens.append(Token(kind: .punctuation("->"), column: column))
            i += 2
        } else if ":,()=".contains(c) {
            tokens.append(Token(kind: .punctuation(String(c)), column: column))
            i += 1
        } else {
            throw AssemblyError(
                line: number, column: column, code: .unexpectedCharacter, message: "unexpected character '\(c)'")
        }
    }
    return tokens
}

/// `r0`…`r15` → 0…15; `rN` with N ≥ 16 → N (reported as nonexistent); anything else → nil.
private func registerNumber(_ name: String) -> Int? {
    guard name.count >= 2, name.first == "r", name.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) else {
        return nil
    }
    return Int(name.dropFirst()) ?? Int.max
}

// MARK: - Parser

private struct PendingInstruction {
    var opcode: Opcode
    var mnemonicColumn: Int
    var operands: [Token]
    var line: Int
    /// The index of the entrypoint whose body this instruction follows, if any.
    var entry: Int?
}

private struct PendingEntry {
    var entrypoint: Entrypoint
    var line: Int
    var column: Int
}

private struct Parser {
    var instructions: [PendingInstruction] = []
    var labels: [String: Int] = [:]
    var labelSites: [String: (line: Int, column: Int)] = [:]
    var constants: [String: Felt] = [:]
    var constantSites: [String: (line: Int, column: Int)] = [:]
    var entries: [PendingEntry] = []
    /// Entries declared since the last instruction: they start at the next one.
    var openEntries: [Int] = []

    mutating func parse(line text: Substring, number: Int) throws(AssemblyError) {
        var tokens = try tokenize(text, number: number)
        func error(_ token: Token, _ code: AssemblyError.Code, _ message: String) -> AssemblyError {
            AssemblyError(line: number, column: token.column, code: code, message: message)
        }
        // Labels: `name:` at the start of the line (several allowed).
        while tokens.count >= 2, case .identifier(let name) = tokens[0].kind, tokens[1].kind == .punctuation(":") {
            if registerNumber(name) != nil || Opcode.byMnemonic[name] != nil {
                throw error(tokens[0], .syntax, "'\(name)' is reserved and cannot be a label")
            }
            if let site = labelSites[name] {
                throw error(tokens[0], .duplicateLabel, "label '\(name)' is already defined on line \(site.line)")
            }
            labels[name] = instructions.count
            labelSites[name] = (number, tokens[0].column)
            tokens.removeFirst(2)
        }
        guard let head = tokens.first else { return }
        switch head.kind {
        case .directive(let name):
            switch name {
            case "entry": try parseEntry(Array(tokens.dropFirst()), head: head, line: number)
            case "const": try parseConst(Array(tokens.dropFirst()), head: head, line: number)
            default:
                var message = "unknown directive '.\(name)'"
                if let guess = closestMatch(to: name, in: ["entry", "const"]) {
                    message += " (did you mean '.\(guess)'?)"
                }
                throw error(head, .unknownDirective, message)
            }
        case .identifier(let mnemonic):
            guard let opcode = Opcode.byMnemonic[mnemonic.lowercased()] else {
                var message = "unknown instruction '\(mnemonic)'"
                if let guess = closestMatch(to: mnemonic, in: Opcode.allCases.map(\.mnemonic)) {
                    message += " (did you mean '\(guess)'?)"
                }
                throw error(head, .unknownInstruction, message)
            }
            // Operands: comma-separated single tokens.
            var operands: [Token] = []
            var rest = tokens.dropFirst()
            while let token = rest.first {
                switch token.kind {
                case .punctuation(let p):
                    throw error(token, .syntax, "expected an operand, found '\(p)'")
                default:
                    operands.append(token)
                }
                rest = rest.dropFirst()
                guard let separator = rest.first else { break }
                guard separator.kind == .punctuation(",") else {
                    throw error(separator, .syntax, "expected ',' between operands, found '\(separator.text)'")
                }
                rest = rest.dropFirst()
                if rest.isEmpty { throw error(separator, .syntax, "expected an operand after ','") }
            }
            for index in openEntries { entries[index].entrypoint.pc = instructions.count }
            openEntries = []
            instructions.append(
                PendingInstruction(
                    opcode: opcode, mnemonicColumn: head.column, operands: operands, line: number,
                    entry: entries.isEmpty ? nil : entries.count - 1))
        default:
            throw error(head, .syntax, "expected an instruction, a label or a directive, found '\(head.text)'")
        }
    }

    /// `.entry name(p: type, …) [view] [-> type]`
    mutating func parseEntry(_ tokens: [Token], head: Token, line: Int) throws(AssemblyError) {
        var cursor = TokenCursor(tokens: tokens, line: line, endColumn: head.column)
        let (name, nameToken) = try cursor.identifier("an entrypoint name after '.entry'")
        if let existing = entries.first(where: { $0.entrypoint.name == name }) {
            throw AssemblyError(
                line: line, column: nameToken.column, code: .duplicateEntry,
                message: "entrypoint '\(name)' is already declared on line \(existing.line)")
        }
        try cursor.expect("(")
        var parameters: [Parameter] = []
        if !cursor.peek(")") {
            repeat {
                let (pname, ptoken) = try cursor.identifier("a parameter name")
                if registerNumber(pname) != nil {
                    throw AssemblyError(
                        line: line, column: ptoken.column, code: .syntax,
                        message: "parameter name '\(pname)' is a register name")
                }
                if parameters.contains(where: { $0.name == pname }) {
                    throw AssemblyError(
                        line: line, column: ptoken.column, code: .duplicateParameter,
                        message: "parameter '\(pname)' appears twice in '\(name)'")
                }
                try cursor.expect(":")
                let type = try cursor.type()
                parameters.append(Parameter(name: pname, type: type))
            } while try cursor.accept(",")
        }
        try cursor.expect(")")
        var isView = false
        var returns: ABIType?
        if let token = cursor.next() {
            if token.kind == .identifier("view") {
                isView = true
            } else {
                cursor.back()
            }
        }
        if try cursor.accept("->") { returns = try cursor.type() }
        try cursor.end()
        entries.append(
            PendingEntry(
                entrypoint: Entrypoint(name: name, parameters: parameters, isView: isView, returns: returns, pc: -1),
                line: line, column: head.column))
        openEntries.append(entries.count - 1)
    }

    /// `.const NAME [=] value`
    mutating func parseConst(_ tokens: [Token], head: Token, line: Int) throws(AssemblyError) {
        var cursor = TokenCursor(tokens: tokens, line: line, endColumn: head.column)
        let (name, nameToken) = try cursor.identifier("a constant name after '.const'")
        if registerNumber(name) != nil {
            throw AssemblyError(
                line: line, column: nameToken.column, code: .syntax,
                message: "constant name '\(name)' is a register name")
        }
        if let site = constantSites[name] {
            throw AssemblyError(
                line: line, column: nameToken.column, code: .duplicateConstant,
                message: "constant '\(name)' is already defined on line \(site.line)")
        }
        _ = try cursor.accept("=")
        guard let valueToken = cursor.next() else {
            throw AssemblyError(
                line: line, column: nameToken.column, code: .syntax, message: "expected a value for constant '\(name)'")
        }
        guard case .number(let text) = valueToken.kind, let value = parseFeltLiteral(text) else {
            throw AssemblyError(
                line: line, column: valueToken.column, code: .badLiteral,
                message:
                    "'\(valueToken.text)' is not a field literal (decimal or 0x hex below p, or a negative decimal)")
        }
        try cursor.end()
        constants[name] = value
        constantSites[name] = (line, nameToken.column)
    }

    mutating func finish(overrides: [String: Felt]) throws(AssemblyError) -> Program {
        for name in overrides.keys.sorted() {
            guard constants[name] != nil else {
                let declared = constants.keys.sorted()
                throw AssemblyError(
                    line: 0, column: 0, code: .unknownConstant,
                    message: "constant override '\(name)' names no .const in the source"
                        + (declared.isEmpty ? "" : " (declared: \(declared.joined(separator: ", ")))"))
            }
            constants[name] = overrides[name]
        }
        if let open = openEntries.first {
            let entry = entries[open]
            throw AssemblyError(
                line: entry.line, column: entry.column, code: .emptyEntry,
                message: "entrypoint '\(entry.entrypoint.name)' has no instructions after it")
        }
        guard !entries.isEmpty else {
            throw AssemblyError(
                line: 1, column: 1, code: .noEntrypoints, message: "the program declares no entrypoints (.entry)")
        }
        var messages: [String] = []
        var assembled: [Instruction] = []
        for pending in instructions {
            assembled.append(try resolve(pending, messages: &messages))
        }
        if let last = instructions.last, ![.ret, .fail, .jmp].contains(last.opcode) {
            throw AssemblyError(
                line: last.line, column: last.mnemonicColumn, code: .fallsOffEnd,
                message:
                    "the last instruction is '\(last.opcode)'; execution would run past the end (end with ret, fail or jmp)"
            )
        }
        do {
            return try Program(
                instructions: assembled, abi: ABI(entrypoints: entries.map(\.entrypoint)),
                messages: messages, sourceLines: instructions.map(\.line))
        } catch {
            // The checks above cover everything Program checks; keep a positioned error regardless.
            throw AssemblyError(line: 1, column: 1, code: .syntax, message: error.message)
        }
    }

    func resolve(_ pending: PendingInstruction, messages: inout [String]) throws(AssemblyError) -> Instruction {
        let opcode = pending.opcode
        let line = pending.line
        let ops = pending.operands
        func error(_ token: Token, _ code: AssemblyError.Code, _ message: String) -> AssemblyError {
            AssemblyError(line: line, column: token.column, code: code, message: message)
        }
        func arityError(_ expected: String) -> AssemblyError {
            AssemblyError(
                line: line, column: pending.mnemonicColumn, code: .wrongOperandCount,
                message: "'\(opcode)' takes \(expected), got \(ops.count)")
        }
        func register(_ token: Token, quad: Bool = false, span: Int = 1) throws(AssemblyError) -> Felt {
            guard case .identifier(let name) = token.kind, let n = registerNumber(name) else {
                throw error(token, .expectedRegister, "expected a register (r0…r15), found '\(token.text)'")
            }
            guard n < Program.registerCount else {
                throw error(token, .badRegister, "register '\(name)' does not exist (registers are r0…r15)")
            }
            let width = quad ? 4 : span
            guard n + width <= Program.registerCount else {
                throw error(
                    token, .badRegister,
                    "registers r\(n)…r\(n + width - 1) do not exist; '\(opcode)' needs \(width) consecutive registers starting at '\(name)' (use r0…r\(Program.registerCount - width))"
                )
            }
            return Felt(UInt64(n))
        }
        func immediate(_ token: Token) throws(AssemblyError) -> Felt {
            switch token.kind {
            case .number(let text):
                guard let value = parseFeltLiteral(text) else {
                    throw error(
                        token, .badLiteral,
                        "'\(text)' is not a field literal (decimal or 0x hex below p, or a negative decimal)")
                }
                return value
            case .identifier(let name):
                if let value = constants[name] { return value }
                if registerNumber(name) != nil {
                    throw error(token, .badLiteral, "expected a value, found register '\(name)'")
                }
                var message = "unknown constant '\(name)'"
                if let guess = closestMatch(to: name, in: constants.keys) { message += " (did you mean '\(guess)'?)" }
                throw error(token, .unknownName, message)
            default:
                throw error(token, .badLiteral, "expected a value, found '\(token.text)'")
            }
        }
        func count(_ token: Token, _ range: ClosedRange<Int>) throws(AssemblyError) -> Int {
            let value = try immediate(token)
            guard value.value <= UInt64(range.upperBound), Int(value.value) >= range.lowerBound else {
                throw error(token, .badCount, "count \(value) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return Int(value.value)
        }
        func target(_ token: Token) throws(AssemblyError) -> Felt {
            guard case .identifier(let name) = token.kind else {
                throw error(token, .unknownLabel, "expected a label, found '\(token.text)'")
            }
            guard let index = labels[name] else {
                var message = "unknown label '\(name)'"
                if let guess = closestMatch(to: name, in: labels.keys) { message += " (did you mean '\(guess)'?)" }
                throw error(token, .unknownLabel, message)
            }
            return Felt(UInt64(index))
        }
        func message(_ token: Token) throws(AssemblyError) -> Felt {
            guard case .string(let text) = token.kind else {
                throw error(token, .expectedMessage, "expected a quoted message, found '\(token.text)'")
            }
            if let index = messages.firstIndex(of: text) { return Felt(UInt64(index + 1)) }
            messages.append(text)
            return Felt(UInt64(messages.count))
        }

        switch opcode {
        case .ret:
            switch ops.count {
            case 0: return Instruction(.ret)
            case 1:
                // `ret rs` returns the enclosing entrypoint's declared width (1 when it declares none).
                let width = pending.entry.flatMap { entries[$0].entrypoint.returns?.width } ?? 1
                return Instruction(.ret, try register(ops[0], span: width), Felt(UInt64(width)))
            case 2:
                let n = try count(ops[1], 0...4)
                return Instruction(.ret, try register(ops[0], span: max(n, 1)), Felt(UInt64(n)))
            default: throw arityError("0 to 2 operands (\(opcode.syntax))")
            }
        case .assert:
            guard (1...2).contains(ops.count) else { throw arityError("1 or 2 operands (\(opcode.syntax))") }
            return Instruction(.assert, try register(ops[0]), ops.count == 2 ? try message(ops[1]) : 0)
        case .fail:
            guard ops.count <= 1 else { throw arityError("0 or 1 operand (\(opcode.syntax))") }
            return Instruction(.fail, ops.isEmpty ? 0 : try message(ops[0]))
        case .arg:
            guard (2...3).contains(ops.count) else { throw arityError("2 or 3 operands (\(opcode.syntax))") }
            // A parameter name of the enclosing entrypoint resolves to its offset and width.
            if ops.count == 2, case .identifier(let name) = ops[1].kind, registerNumber(name) == nil,
                constants[name] == nil
            {
                guard let entryIndex = pending.entry else {
                    throw error(
                        ops[1], .unknownParameter,
                        "'\(name)' is not a parameter: this instruction is not inside an entrypoint")
                }
                let entry = entries[entryIndex].entrypoint
                guard let index = entry.parameters.firstIndex(where: { $0.name == name }) else {
                    var message = "'\(name)' is not a parameter of '\(entry.name)'"
                    if let guess = closestMatch(to: name, in: entry.parameters.map(\.name)) {
                        message += " (did you mean '\(guess)'?)"
                    }
                    message += "; signature: \(entry.signature)"
                    throw error(ops[1], .unknownParameter, message)
                }
                let width = entry.parameters[index].type.width
                return Instruction(
                    .arg, try register(ops[0], span: width), Felt(UInt64(entry.offsets[index])), Felt(UInt64(width)))
            }
            let offset = try immediate(ops[1])
            let n = ops.count == 3 ? try count(ops[2], 1...4) : 1
            return Instruction(.arg, try register(ops[0], span: n), offset, Felt(UInt64(n)))
        default:
            break
        }

        let roles = opcode.operands
        guard ops.count == roles.count else {
            throw arityError("\(roles.count) operand\(roles.count == 1 ? "" : "s") (\(opcode.syntax))")
        }
        var words: [Felt] = []
        for (index, role) in roles.enumerated() {
            let token = ops[index]
            switch role {
            case .register:
                words.append(try register(token))
            case .quad:
                words.append(try register(token, quad: true))
            case .immediate:
                words.append(try immediate(token))
            case .target:
                words.append(try target(token))
            case .count(let range):
                let n = try count(token, range)
                // The count bounds the span of hash's source registers.
                if opcode == .hash { _ = try register(ops[1], span: n) }
                words.append(Felt(UInt64(n)))
            case .message:
                words.append(try message(token))
            }
        }
        while words.count < 3 { words.append(0) }
        return Instruction(opcode, words[0], words[1], words[2])
    }
}

/// A small cursor over a directive's tokens.
private struct TokenCursor {
    let tokens: [Token]
    let line: Int
    /// The column to report when the line ends early.
    var endColumn: Int
    var index = 0

    init(tokens: [Token], line: Int, endColumn end: Int) {
        self.tokens = tokens
        self.line = line
        self.endColumn = tokens.last.map { $0.column + $0.text.count } ?? end + 1
    }

    mutating func next() -> Token? {
        guard index < tokens.count else { return nil }
        defer { index += 1 }
        return tokens[index]
    }

    mutating func back() { index -= 1 }

    func peek(_ punctuation: String) -> Bool {
        index < tokens.count && tokens[index].kind == .punctuation(punctuation)
    }

    mutating func accept(_ punctuation: String) throws(AssemblyError) -> Bool {
        guard peek(punctuation) else { return false }
        index += 1
        return true
    }

    mutating func expect(_ punctuation: String) throws(AssemblyError) {
        guard let token = next() else {
            throw AssemblyError(
                line: line, column: endColumn, code: .syntax,
                message: "expected '\(punctuation)' before the end of the line")
        }
        guard token.kind == .punctuation(punctuation) else {
            throw AssemblyError(
                line: line, column: token.column, code: .syntax,
                message: "expected '\(punctuation)', found '\(token.text)'")
        }
    }

    mutating func identifier(_ what: String) throws(AssemblyError) -> (String, Token) {
        guard let token = next() else {
            throw AssemblyError(
                line: line, column: endColumn, code: .syntax, message: "expected \(what) before the end of the line")
        }
        guard case .identifier(let name) = token.kind else {
            throw AssemblyError(
                line: line, column: token.column, code: .syntax, message: "expected \(what), found '\(token.text)'")
        }
        return (name, token)
    }

    mutating func type() throws(AssemblyError) -> ABIType {
        let (name, token) = try identifier("a type")
        guard let type = ABIType(rawValue: name) else {
            var message = "unknown type '\(name)'"
            if let guess = closestMatch(to: name, in: ABIType.allCases.map(\.rawValue)) {
                message += " (did you mean '\(guess)'?)"
            }
            message += "; types: \(ABIType.allCases.map(\.rawValue).joined(separator: ", "))"
            throw AssemblyError(line: line, column: token.column, code: .unknownType, message: message)
        }
        return type
    }

    mutating func end() throws(AssemblyError) {
        if let token = next() {
            throw AssemblyError(
                line: line, column: token.column, code: .syntax,
                message: "unexpected '\(token.text)' at the end of the line")
        }
    }
}
