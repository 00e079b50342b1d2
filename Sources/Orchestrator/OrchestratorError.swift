/// A failure of a `devnet` command, with the exit code it ends with.
public struct OrchestratorError: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// A bad configuration file or flag: exit code 2.
    public static func usage(_ message: String) -> OrchestratorError {
        OrchestratorError(message, exitCode: 2)
    }
}
