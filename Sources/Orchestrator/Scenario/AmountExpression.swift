/// An amount written as a sum in a scenario: whole numbers, `fees_paid` and `${NAME}` values
/// captured earlier, added and subtracted, e.g. `-250 - fees_paid` or `${before} + 5`.
///
/// `fees_paid` is what the account paid in L2 fees over the same window (since the expectation's
/// mark); a captured name is read when the expectation is checked.
public struct AmountExpression: Sendable, Equatable, CustomStringConvertible {
    public struct Term: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case number(Int64)
            case feesPaid
            case captured(String)
        }
        public var negated: Bool
        public var kind: Kind
    }

    public var terms: [Term]
    /// The text it was read from.
    public var text: String

    public var description: String { text }

    /// Whether it uses `fees_paid`.
    public var usesFees: Bool { terms.contains { $0.kind == .feesPaid } }

    /// The captured names it reads.
    public var names: [String] {
        terms.compactMap { if case let .captured(name) = $0.kind { name } else { nil } }
    }

    /// Reads `text`; the error says what is wrong where.
    public init(_ text: String) throws(ExpressionError) {
        self.text = text
        terms = []
        var rest = Substring(text)
        var negated = false
        var expectTerm = true
        func skipSpaces() { rest = rest.drop { $0 == " " } }
        skipSpaces()
        while !rest.isEmpty {
            if expectTerm {
                if rest.first == "-" || rest.first == "+" {
                    if rest.first == "-" { negated.toggle() }
                    rest = rest.dropFirst()
                    skipSpaces()
                    continue
                }
                if rest.hasPrefix("fees_paid") {
                    terms.append(Term(negated: negated, kind: .feesPaid))
                    rest = rest.dropFirst("fees_paid".count)
                } else if rest.hasPrefix("${") {
                    guard let close = rest.firstIndex(of: "}") else {
                        throw ExpressionError(message: "'${' without its closing '}' in '\(text)'")
                    }
                    let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close])
                    guard !name.isEmpty else { throw ExpressionError(message: "an empty name '${}' in '\(text)'") }
                    terms.append(Term(negated: negated, kind: .captured(name)))
                    rest = rest[rest.index(after: close)...]
                } else if let first = rest.first, first.isASCII, first.isNumber {
                    let digits = rest.prefix { ($0.isASCII && $0.isNumber) || $0 == "_" }
                    guard let value = Int64(digits.filter { $0 != "_" }) else {
                        throw ExpressionError(message: "'\(digits)' is too large a number in '\(text)'")
                    }
                    terms.append(Term(negated: negated, kind: .number(value)))
                    rest = rest.dropFirst(digits.count)
                } else {
                    throw ExpressionError(
                        message:
                            "'\(rest.prefix(12))' in '\(text)' is not a number, fees_paid or a captured ${NAME}")
                }
                negated = false
                expectTerm = false
            } else {
                guard rest.first == "+" || rest.first == "-" else {
                    throw ExpressionError(
                        message: "expected + or - before '\(rest.prefix(12))' in '\(text)'")
                }
                expectTerm = true
            }
            skipSpaces()
        }
        // A term is due at the end when the text is empty or ends in an operator.
        guard !expectTerm else {
            throw ExpressionError(message: "'\(text)' is not a sum of numbers, fees_paid and ${NAME} values")
        }
    }

    /// The value, with `fees` for `fees_paid` and `captured` for the names; an error naming a
    /// captured value that is missing, or saying the sum overflows.
    public func evaluate(fees: Int64, captured: [String: Int64]) -> Result<Int64, ExpressionError> {
        var total: Int64 = 0
        for term in terms {
            let value: Int64
            switch term.kind {
            case let .number(number): value = number
            case .feesPaid: value = fees
            case let .captured(name):
                guard let known = captured[name] else {
                    return .failure(ExpressionError(message: "no value was captured as \(name)"))
                }
                value = known
            }
            let (sum, overflow) =
                term.negated ? total.subtractingReportingOverflow(value) : total.addingReportingOverflow(value)
            guard !overflow else { return .failure(ExpressionError(message: "'\(text)' overflows")) }
            total = sum
        }
        return .success(total)
    }
}

/// Why an amount expression could not be read or computed.
public struct ExpressionError: Error, Sendable, Equatable {
    public var message: String
}
