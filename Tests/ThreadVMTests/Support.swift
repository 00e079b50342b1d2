import Testing

@testable import ThreadVM

/// A deterministic test address whose four words are `n, n+1, n+2, n+3`.
func testAddress(_ n: UInt64) -> Address {
    Address(Felt(n), Felt(n + 1), Felt(n + 2), Felt(n + 3))
}

let alice = testAddress(100)
let bob = testAddress(200)

/// Assembles `source`, failing the test with the assembler's message if it does not assemble.
func assemble(_ source: String, constants: [String: Felt] = [:], sourceLocation: SourceLocation = #_sourceLocation)
    throws -> Program
{
    do {
        return try Assembler.assemble(source, constants: constants)
    } catch {
        Issue.record("assembly failed: \(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Runs a `.entry main() -> felt` program whose body is `body` and returns its result.
func runMain(
    _ body: String,
    returns: String = "-> felt",
    state: MemoryState = MemoryState(),
    threads: MemoryThreads = MemoryThreads(),
    limits: ExecutionLimits = .default,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ExecutionResult {
    let program = try assemble(".entry main() \(returns)\n" + body, sourceLocation: sourceLocation)
    return Interpreter(program: program, limits: limits)
        .execute(Transaction(caller: alice, entrypoint: "main", calldata: []), state: state, threads: threads)
}

/// The single word a successful `main` returned.
func returnedWord(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Felt {
    let result = try runMain(body, sourceLocation: sourceLocation)
    let data = try #require(
        result.returnData, "failed: \(String(describing: result.failure))", sourceLocation: sourceLocation)
    return try #require(data.first, sourceLocation: sourceLocation)
}

/// Asserts that `body` throws an ``AssemblyError`` with this code at this line and column.
func expectAssemblyError(
    _ source: String,
    code: AssemblyError.Code,
    line: Int,
    column: Int,
    message: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let program = try Assembler.assemble(source)
        Issue.record(
            "expected \(code) but it assembled (\(program.instructions.count) instructions)",
            sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.column == column, "\(error)", sourceLocation: sourceLocation)
        if let message {
            #expect(error.description == message, sourceLocation: sourceLocation)
        }
    }
}
