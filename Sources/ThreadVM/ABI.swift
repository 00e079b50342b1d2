/// The type of an entrypoint parameter or return value, and how it lays out in calldata words.
public enum ABIType: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Any field element: decimal, `0x` hex, or a negative decimal (taken mod p). One word.
    case felt
    /// An unsigned integer below 2^32. One word.
    case u32
    /// An unsigned integer that fits a Goldilocks word: 0 ≤ x < p = 2^64 − 2^32 + 1. One word.
    case u64
    /// `true`/`false` (or `1`/`0`). One word, 0 or 1.
    case bool
    /// An account: `0x` + 64 hex digits (four words, each below p). Four words.
    case address

    /// How many calldata words a value of this type takes.
    public var width: Int { self == .address ? 4 : 1 }

    public var description: String { rawValue }

    /// Encodes `text` as this type's words, or returns why it cannot.
    public func parse(_ text: String) -> Result<[Felt], ArgumentProblem> {
        let trimmed = text.trimmingWhitespace()
        switch self {
        case .felt:
            if let felt = parseFeltLiteral(trimmed) { return .success([felt]) }
            return .failure(.init("'\(text)' is not a field element (decimal, 0x hex, or negative decimal)"))
        case .u32, .u64:
            guard let raw = parseUnsigned(trimmed) else {
                return .failure(.init("'\(text)' is not an unsigned integer"))
            }
            let limit: UInt64 = self == .u32 ? 1 << 32 : Felt.modulus
            guard raw < limit else {
                let bound = self == .u32 ? "2^32" : "p = \(Felt.modulus)"
                return .failure(.init("'\(text)' is out of range for \(rawValue) (must be below \(bound))"))
            }
            return .success([Felt(raw)])
        case .bool:
            switch trimmed.lowercased() {
            case "true", "1": return .success([.one])
            case "false", "0": return .success([.zero])
            default: return .failure(.init("'\(text)' is not a bool (true, false, 1 or 0)"))
            }
        case .address:
            guard let quad = Quad(hex: trimmed), trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") else {
                return .failure(
                    .init("'\(text)' is not an address (0x followed by 64 hex digits, each 16-digit word below p)"))
            }
            return .success(quad.words)
        }
    }

    /// Checks that `words` (exactly ``width`` of them) are a valid value of this type.
    public func validate(_ words: ArraySlice<Felt>) -> ArgumentProblem? {
        precondition(words.count == width)
        switch self {
        case .felt, .u64, .address:
            return nil
        case .u32:
            let v = words[words.startIndex].value
            return v < 1 << 32 ? nil : .init("\(v) is out of range for u32 (must be below 2^32)")
        case .bool:
            let v = words[words.startIndex].value
            return v <= 1 ? nil : .init("\(v) is not a bool (0 or 1)")
        }
    }

    /// Renders ``width`` words as the string ``parse(_:)`` accepts.
    public func format(_ words: ArraySlice<Felt>) -> String {
        switch self {
        case .felt, .u32, .u64: words.first.map(\.description) ?? "?"
        case .bool: words.first.map { $0.isZero ? "false" : "true" } ?? "?"
        case .address: Quad(words: words).map(\.hex) ?? "?"
        }
    }
}

/// Why one argument string is not a value of its type.
public struct ArgumentProblem: Hashable, Sendable, Error {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A named, typed entrypoint parameter.
public struct Parameter: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var type: ABIType

    public init(name: String, type: ABIType) {
        self.name = name
        self.type = type
    }

    public var description: String { "\(name): \(type)" }
}

/// One entrypoint of a program: its name, typed parameters, whether it is a view, its return type
/// and the instruction it starts at.
public struct Entrypoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var parameters: [Parameter]
    /// A view may not `store`; the devnet answers it with a read, never a transaction.
    public var isView: Bool
    /// The declared return type; `ret` must return exactly its width in words (0 when nil).
    public var returns: ABIType?
    /// The index of the first instruction.
    public var pc: Int

    public init(name: String, parameters: [Parameter], isView: Bool, returns: ABIType?, pc: Int) {
        self.name = name
        self.parameters = parameters
        self.isView = isView
        self.returns = returns
        self.pc = pc
    }

    /// The number of calldata words: the sum of the parameter widths.
    public var calldataWidth: Int { parameters.reduce(0) { $0 + $1.type.width } }

    /// The word offset of each parameter in calldata.
    public var offsets: [Int] {
        var offset = 0
        return parameters.map { p in
            defer { offset += p.type.width }
            return offset
        }
    }

    /// `transfer(to: address, amount: u64)`, plus ` view` and ` -> type` when they apply.
    public var signature: String {
        var text = "\(name)(\(parameters.map(\.description).joined(separator: ", ")))"
        if isView { text += " view" }
        if let returns { text += " -> \(returns)" }
        return text
    }

    public var description: String { signature }
}

/// A program's interface: its entrypoints in declaration order.
public struct ABI: Hashable, Sendable, Codable {
    public var entrypoints: [Entrypoint]

    public init(entrypoints: [Entrypoint]) { self.entrypoints = entrypoints }

    /// The entrypoint called `name`, or an error listing the known ones.
    public func entrypoint(named name: String) throws(CalldataError) -> Entrypoint {
        if let entry = entrypoints.first(where: { $0.name == name }) { return entry }
        let names = entrypoints.map(\.name)
        var message = "unknown entrypoint '\(name)'"
        if let guess = closestMatch(to: name, in: names) { message += " (did you mean '\(guess)'?)" }
        message += "; entrypoints: \(names.sorted().joined(separator: ", "))"
        throw CalldataError(code: .unknownEntrypoint, entrypoint: name, parameter: nil, message: message)
    }

    /// Encodes string arguments as calldata for `entrypoint`.
    ///
    /// Arguments are either all positional (`"0x…"`, `"25"`) or all named (`"to=0x…"`,
    /// `"amount=25"`, in any order). Every error names the entrypoint and, where there is one, the
    /// parameter.
    public func encodeCalldata(entrypoint name: String, arguments: [String]) throws(CalldataError) -> [Felt] {
        let entry = try entrypoint(named: name)
        let named = arguments.map(splitNamedArgument)
        let namedCount = named.filter { $0 != nil }.count
        if namedCount == 0 {
            guard arguments.count == entry.parameters.count else {
                throw CalldataError(
                    code: .wrongArity, entrypoint: name, parameter: nil,
                    message:
                        "\(entry.name)(\(entry.parameters.map(\.description).joined(separator: ", "))) takes \(entry.parameters.count) argument\(entry.parameters.count == 1 ? "" : "s"), got \(arguments.count)"
                )
            }
            var words: [Felt] = []
            for (parameter, text) in zip(entry.parameters, arguments) {
                words += try encode(text, for: parameter, of: entry)
            }
            return words
        }
        guard namedCount == arguments.count else {
            throw CalldataError(
                code: .mixedArguments, entrypoint: name, parameter: nil,
                message: "\(entry.name): pass arguments either all by position or all as name=value, not mixed")
        }
        var byName: [String: String] = [:]
        for pair in named {
            let (key, value) = pair!
            guard byName[key] == nil else {
                throw CalldataError(
                    code: .duplicateArgument, entrypoint: name, parameter: key,
                    message: "\(entry.name): argument '\(key)' is given twice")
            }
            byName[key] = value
        }
        return try encodeCalldata(entrypoint: name, named: byName)
    }

    /// Encodes named string arguments as calldata for `entrypoint`.
    public func encodeCalldata(entrypoint name: String, named: [String: String]) throws(CalldataError) -> [Felt] {
        let entry = try entrypoint(named: name)
        let known = Set(entry.parameters.map(\.name))
        for key in named.keys.sorted() where !known.contains(key) {
            var message = "\(entry.name) has no parameter '\(key)'"
            if let guess = closestMatch(to: key, in: entry.parameters.map(\.name)) {
                message += " (did you mean '\(guess)'?)"
            }
            message += "; signature: \(entry.signature)"
            throw CalldataError(code: .unknownParameter, entrypoint: name, parameter: key, message: message)
        }
        var words: [Felt] = []
        for parameter in entry.parameters {
            guard let text = named[parameter.name] else {
                throw CalldataError(
                    code: .missingArgument, entrypoint: name, parameter: parameter.name,
                    message:
                        "\(entry.name): missing argument '\(parameter.name)' (\(parameter.type)); signature: \(entry.signature)"
                )
            }
            words += try encode(text, for: parameter, of: entry)
        }
        return words
    }

    /// Checks decoded calldata words against `entrypoint`: the word count and each value's type.
    public func validateCalldata(entrypoint name: String, calldata: [Felt]) throws(CalldataError) {
        try Self.validate(calldata: calldata, for: entrypoint(named: name))
    }

    static func validate(calldata: [Felt], for entry: Entrypoint) throws(CalldataError) {
        guard calldata.count == entry.calldataWidth else {
            throw CalldataError(
                code: .wrongArity, entrypoint: entry.name, parameter: nil,
                message:
                    "\(entry.signature) takes \(entry.calldataWidth) calldata word\(entry.calldataWidth == 1 ? "" : "s"), got \(calldata.count)"
            )
        }
        for (parameter, offset) in zip(entry.parameters, entry.offsets) {
            if let problem = parameter.type.validate(calldata[offset..<offset + parameter.type.width]) {
                throw CalldataError(
                    code: .badArgument, entrypoint: entry.name, parameter: parameter.name,
                    message: "\(entry.name): argument '\(parameter.name)' (\(parameter.type)): \(problem.message)")
            }
        }
    }

    /// Renders an entrypoint's return words using its declared return type.
    public func formatReturn(entrypoint name: String, words: [Felt]) -> String {
        guard let entry = entrypoints.first(where: { $0.name == name }), let type = entry.returns,
            words.count == type.width
        else { return "[" + words.map(\.description).joined(separator: ", ") + "]" }
        return type.format(words[...])
    }

    private func encode(_ text: String, for parameter: Parameter, of entry: Entrypoint) throws(CalldataError) -> [Felt]
    {
        switch parameter.type.parse(text) {
        case .success(let words): return words
        case .failure(let problem):
            throw CalldataError(
                code: .badArgument, entrypoint: entry.name, parameter: parameter.name,
                message: "\(entry.name): argument '\(parameter.name)' (\(parameter.type)): \(problem.message)")
        }
    }

    private func splitNamedArgument(_ text: String) -> (String, String)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let name = text[..<eq].trimmingWhitespace()
        guard isIdentifier(name) else { return nil }
        return (name, String(text[text.index(after: eq)...]))
    }
}

/// A calldata problem found before anything is signed or run.
public struct CalldataError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case unknownEntrypoint = "UNKNOWN_ENTRYPOINT"
        case wrongArity = "WRONG_ARITY"
        case badArgument = "BAD_ARGUMENT"
        case unknownParameter = "UNKNOWN_PARAMETER"
        case missingArgument = "MISSING_ARGUMENT"
        case duplicateArgument = "DUPLICATE_ARGUMENT"
        case mixedArguments = "MIXED_ARGUMENTS"
    }

    public var code: Code
    public var entrypoint: String
    public var parameter: String?
    public var message: String

    public init(code: Code, entrypoint: String, parameter: String?, message: String) {
        self.code = code
        self.entrypoint = entrypoint
        self.parameter = parameter
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Literals and names shared with the assembler

/// Parses a decimal or `0x` hex unsigned integer (underscores allowed as separators).
func parseUnsigned(_ text: String) -> UInt64? {
    let cleaned = text.replacingUnderscores()
    if cleaned.hasPrefix("0x") || cleaned.hasPrefix("0X") {
        let digits = cleaned.dropFirst(2)
        guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
        return UInt64(digits, radix: 16)
    }
    guard !cleaned.isEmpty, cleaned.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return UInt64(cleaned)
}

/// Parses a field literal: an unsigned integer below p, or `-n` meaning p − n.
func parseFeltLiteral(_ text: String) -> Felt? {
    if text.hasPrefix("-") {
        guard let magnitude = parseUnsigned(String(text.dropFirst())), magnitude < Felt.modulus else {
            return nil
        }
        return -Felt(magnitude)
    }
    guard let raw = parseUnsigned(text) else { return nil }
    return Felt(exactly: raw)
}

func isIdentifier(_ text: some StringProtocol) -> Bool {
    guard let first = text.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
    return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }

    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let limit = max(1, min(2, word.count / 3))
    var best: (String, Int)?
    for candidate in candidates {
        let d = editDistance(word.lowercased(), candidate.lowercased())
        if d <= limit, best == nil || d < best!.1 { best = (candidate, d) }
    }
    return best?.0
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}
