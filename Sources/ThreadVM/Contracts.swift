internal import Foundation

/// The example contracts shipped with the VM, as assembly in the module's `Contracts/` resources.
public enum Contracts {
    /// The names of the shipped contracts, sorted.
    public static let names = ["achievements", "counter", "karts", "token"]

    /// The assembly source of the contract called `name`.
    public static func source(named name: String) throws(ContractError) -> String {
        guard names.contains(name) else {
            var message = "unknown contract '\(name)'"
            if let guess = closestMatch(to: name, in: names) { message += " (did you mean '\(guess)'?)" }
            message += "; known contracts: \(names.joined(separator: ", "))"
            throw ContractError(code: .unknownContract, contract: name, message: message)
        }
        guard let url = Bundle.module.url(forResource: name, withExtension: "tasm", subdirectory: "Contracts"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            throw ContractError(
                code: .missingResource, contract: name,
                message: "the source of contract '\(name)' (Contracts/\(name).tasm) is missing from the ThreadVM bundle"
            )
        }
        return text
    }

    /// The assembled contract called `name`, e.g. `try Contracts.named("token")`.
    ///
    /// - Parameter constants: `.const` overrides, e.g. `["ACHIEVEMENTS_THREAD": 7]` for `karts`.
    public static func named(_ name: String, constants: [String: Felt] = [:]) throws(ContractError) -> Program {
        let text = try source(named: name)
        do {
            return try Assembler.assemble(text, constants: constants)
        } catch {
            throw ContractError(
                code: .assembly, contract: name, message: "contract '\(name)': \(error.description)",
                assemblyError: error)
        }
    }
}

/// A shipped contract could not be found or assembled.
public struct ContractError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case unknownContract = "UNKNOWN_CONTRACT"
        case missingResource = "MISSING_RESOURCE"
        case assembly = "ASSEMBLY"
    }

    public var code: Code
    public var contract: String
    public var message: String
    /// The assembler's error, for ``Code/assembly``.
    public var assemblyError: AssemblyError?

    public init(code: Code, contract: String, message: String, assemblyError: AssemblyError? = nil) {
        self.code = code
        self.contract = contract
        self.message = message
        self.assemblyError = assemblyError
    }

    public var description: String { message }
}
