import DevnetAPI
import DevnetProtocol
import Foundation
public import ThreadVM
import ZKCore

/// Contracts that users write: read from `.tasm` files named in a config, a scenario or
/// `devnet attach --contract`, with constants set from the config.
enum ContractFiles {
    /// Whether a `contract:` value names a file rather than a shipped contract.
    static func isPath(_ value: String) -> Bool {
        value.hasSuffix(".tasm") || value.contains("/")
    }

    /// `value` resolved against the directory of `file` (the config or scenario that names it).
    static func resolve(_ value: String, relativeTo file: String) -> String {
        if value.hasPrefix("/") { return value }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        return directory.appendingPathComponent(value).standardizedFileURL.path
    }

    /// The contract's label: the file's name without `.tasm`.
    static func label(of path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// What a path on the command line is relative to.
    static var workingDirectory: String { FileManager.default.currentDirectoryPath + "/." }

    /// Makes `spec` run the contract file `value` (resolved against `file`): reads its source
    /// and sets the label.
    static func load(_ value: String, relativeTo file: String, into spec: inout ThreadSpec) throws(ContractProblem) {
        let path = resolve(value, relativeTo: file)
        do {
            spec.source = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ContractProblem(file: path, message: "cannot read the contract file: \(error.localizedDescription)")
        }
        spec.sourceFile = path
        spec.contract = label(of: path)
    }

    /// Assembles the program `spec` names, as the daemons will; a failure names the contract
    /// file, line and column.
    /// A program over the limits a registration publishes is refused here, naming the limit, and
    /// so is one that fails the static checks of the thread's OS version, naming the instruction
    /// and its line.
    @discardableResult
    static func program(of spec: ThreadSpec) throws(ContractProblem) -> Program {
        let program: Program
        do {
            program = try TopologyPrograms.program(of: spec)
        } catch let error as AssemblyError {
            throw ContractProblem(
                file: spec.sourceFile, line: error.line, column: error.column, message: error.message)
        } catch let error as ContractError {
            let assembly = error.assemblyError
            throw ContractProblem(
                file: assembly == nil ? nil : "\(spec.contract).tasm (shipped)", line: assembly?.line ?? 0,
                column: assembly?.column ?? 0, message: assembly?.message ?? error.message)
        } catch {
            throw ContractProblem(file: spec.sourceFile, message: "\(error)")
        }
        let bytes = program.canonicalEncoding.count
        guard bytes <= Program.maxEncodedBytes, program.instructions.count <= Program.maxInstructions else {
            throw ContractProblem(
                file: spec.sourceFile,
                message:
                    "the program has \(program.instructions.count) instructions and \(bytes) bytes encoded; a thread's program may have at most \(Program.maxInstructions) instructions and \(Program.maxEncodedBytes) bytes"
            )
        }
        if let problem = staticCheck(program, version: spec.pinnedOSVersion) {
            throw ContractProblem(
                file: spec.sourceFile ?? "\(spec.contract).tasm (shipped)", line: problem.line ?? 0,
                column: problem.line == nil ? 0 : 1, message: staticCheckMessage(problem, version: spec.pinnedOSVersion)
            )
        }
        return program
    }

    /// The first static check of OS `version` that `program` fails, or nil.
    static func staticCheck(_ program: Program, version: UInt32) -> StaticCheckError? {
        OSVersion.rules(version)?.problems(in: program).first
    }

    static func staticCheckMessage(_ problem: StaticCheckError, version: UInt32) -> String {
        "the program fails the static checks of OS version \(version): \(problem)"
    }

    /// `NAME=VALUE` assignments from the command line (`--const`), each value a number or a
    /// thread of `threads`.
    ///
    /// - Throws: ``OrchestratorError`` with exit code 2 naming the assignment at fault.
    static func constants(_ assignments: [String], threads: [String]) throws -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw OrchestratorError.usage(
                    "error: --const '\(assignment)': write NAME=VALUE, e.g. KARTS_THREAD=karts")
            }
            switch constant(parts[1], threads: threads) {
            case .success(let value): values[parts[0]] = value
            case .failure(let problem): throw OrchestratorError.usage("error: --const \(parts[0]): \(problem.message)")
            }
        }
        return values
    }

    /// A constant's value: a number (decimal or `0x` hex, below p), or the name of a thread of
    /// the devnet, which stands for its thread id.
    static func constant(_ text: String, threads: [String]) -> Result<UInt64, ConstantProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number: UInt64? =
            trimmed.lowercased().hasPrefix("0x") ? UInt64(trimmed.dropFirst(2), radix: 16) : UInt64(trimmed)
        if let number {
            return number < Felt.modulus
                ? .success(number)
                : .failure(ConstantProblem(message: "\(number) is not below the field modulus \(Felt.modulus)"))
        }
        if threads.contains(trimmed) { return .success(ThreadId.derive(name: trimmed).value) }
        return .failure(
            ConstantProblem(
                message: threads.isEmpty
                    ? "'\(trimmed)' is not a number (decimal, or 0x hex) below the field modulus"
                    : "'\(trimmed)' is neither a number nor a thread of this devnet (threads: \(threads.joined(separator: ", ")))"
            ))
    }
}

/// Why a constant's value cannot be used.
struct ConstantProblem: Error {
    var message: String
}

/// A contract that cannot be read or assembled, and where.
struct ContractProblem: Error {
    var file: String?
    var line = 0
    var column = 0
    var message: String

    /// `file:line:column: message`, as much of it as is known.
    var text: String {
        guard let file else { return message }
        return line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }

    /// The problem as a command-line error (exit code 2).
    var usage: OrchestratorError { .usage("error: \(text)") }
}

/// What `devnet contract check` and `hash` report about a contract file.
public struct ContractReport: Codable, Sendable {
    public var file: String
    public var contract: String
    /// The program hash under each OS version that can run it, by version.
    public var hashes: [String: String]
    /// The OS versions whose static checks the program fails, by version: the first problem,
    /// naming the instruction and its source line.
    public var refused: [String: String]
    public var instructions: Int
    public var bytes: Int
    public var entrypoints: [String]
    public var constants: [String: UInt64]
    public var abi: ABI

    /// Assembles `path` with `constants` (`NAME=VALUE`; a value is a number) and describes it
    /// under every OS version.
    ///
    /// - Parameter osVersion: the version the contract must run under (a thread's `os_version`);
    ///   a program that fails its static checks is then an error.
    /// - Throws: ``OrchestratorError`` with exit code 2 naming the file, line and column.
    public static func of(path: String, constants assignments: [String], osVersion: UInt32? = nil) throws
        -> ContractReport
    {
        if let osVersion, !OSVersion.supported.contains(osVersion) {
            throw OrchestratorError.usage(
                "error: --os-version \(osVersion) is not supported (supported: \(OSVersion.supported.sorted().map(String.init).joined(separator: ", ")))"
            )
        }
        var spec = ThreadSpec(
            name: "check", contract: path, proofSystem: ReexecProofSystem.name, osVersion: osVersion)
        let constants = try ContractFiles.constants(assignments, threads: [])
        spec.constants = constants
        let program: Program
        do {
            try ContractFiles.load(path, relativeTo: ContractFiles.workingDirectory, into: &spec)
            program = try ContractFiles.program(of: spec)
        } catch {
            throw error.usage
        }
        var hashes: [String: String] = [:]
        var refused: [String: String] = [:]
        for version in OSVersion.supported.sorted() {
            if let problem = ContractFiles.staticCheck(program, version: version) {
                refused["\(version)"] = problem.description
            } else {
                hashes["\(version)"] = program.hash.hex
            }
        }
        return ContractReport(
            file: path, contract: ContractFiles.label(of: path), hashes: hashes, refused: refused,
            instructions: program.instructions.count, bytes: program.canonicalEncoding.count,
            entrypoints: program.abi.entrypoints.map(\.signature), constants: constants, abi: program.abi)
    }

    /// The report as people read it.
    public var text: String {
        var lines = ["\(file): contract \(contract), \(instructions) instructions, \(bytes) bytes encoded"]
        for (version, hash) in hashes.sorted(by: { $0.key < $1.key }) {
            lines.append("program hash (OS \(version)): \(hash)")
        }
        for (version, reason) in refused.sorted(by: { $0.key < $1.key }) {
            lines.append("OS \(version) refuses it: \(reason)")
        }
        lines.append("entrypoints:")
        lines += entrypoints.map { "  \($0)" }
        return lines.joined(separator: "\n")
    }
}
