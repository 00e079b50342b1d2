/// Proves the 4n-th Fibonacci number over Goldilocks: F(0) = F(1) = 1, F(k+2) = F(k+1) + F(k).
///
/// Four columns; row i holds F(4i), F(4i+1), F(4i+2), F(4i+3). Four degree-1 transition
/// constraints, four assertions pinning the first row and one pinning the public result
/// F(4n − 1) in the last row.
public struct FibonacciAIR: AIR {
    /// The claimed value of F(4n − 1) for a trace of n rows.
    public struct PublicInputs: Sendable, Hashable {
        public var result: Goldilocks
        public init(result: Goldilocks) { self.result = result }
    }

    public static let identity = "fibonacci4/v1"

    public let traceLength: Int
    public let publicInputs: PublicInputs

    /// The AIR for `traceLength` rows claiming `publicInputs.result`.
    public init(traceLength: Int, publicInputs: PublicInputs) throws(STARKError) {
        self.traceLength = traceLength
        self.publicInputs = publicInputs
    }

    public var publicInputElements: [Goldilocks] { [publicInputs.result] }
    public var mainWidth: Int { 4 }

    public var transitionConstraints: [ConstraintInfo] {
        [
            ConstraintInfo("next a = c + d", degree: 1),
            ConstraintInfo("next b = d + next a", degree: 1),
            ConstraintInfo("next c = next a + next b", degree: 1),
            ConstraintInfo("next d = next b + next c", degree: 1),
        ]
    }

    public func evaluateTransition<E: STARKField>(_ frame: EvaluationFrame<E>, into result: inout [E]) {
        let cur = frame.current
        let nxt = frame.next
        result[0] = nxt[0] - (cur[2] + cur[3])
        result[1] = nxt[1] - (cur[3] + nxt[0])
        result[2] = nxt[2] - (nxt[0] + nxt[1])
        result[3] = nxt[3] - (nxt[1] + nxt[2])
    }

    public func mainAssertions() -> [Assertion<Goldilocks>] {
        [
            Assertion(column: 0, row: 0, value: Goldilocks(1)),
            Assertion(column: 1, row: 0, value: Goldilocks(1)),
            Assertion(column: 2, row: 0, value: Goldilocks(2)),
            Assertion(column: 3, row: 0, value: Goldilocks(3)),
            Assertion(column: 3, row: traceLength - 1, value: publicInputs.result),
        ]
    }

    /// The trace of `length` rows and the public result it proves.
    public static func trace(length: Int) -> (trace: TraceTable, publicInputs: PublicInputs) {
        var columns = [[Goldilocks]](repeating: [], count: 4)
        for c in 0..<4 { columns[c].reserveCapacity(length) }
        var a = Goldilocks.one
        var b = Goldilocks.one
        for _ in 0..<length {
            let c = a + b
            let d = b + c
            columns[0].append(a)
            columns[1].append(b)
            columns[2].append(c)
            columns[3].append(d)
            a = c + d
            b = d + a
        }
        return (TraceTable(columns: columns), PublicInputs(result: columns[3][length - 1]))
    }
}
