public import ArgumentParser
public import DaemonKit

/// The options every daemon takes. The orchestrator passes them; people rarely need to.
public struct DaemonArguments: ParsableArguments {
    @Option(help: "The topology.json written by `devnet up`.")
    public var topology: String

    @Option(help: "This process's name in the topology.")
    public var name: String

    @Option(help: "The devnet's data directory.")
    public var dataDir: String

    public init() {}

    public var options: DaemonOptions {
        DaemonOptions(topologyPath: topology, name: name, dataDirectory: dataDir)
    }

    /// Runs a daemon of `role` with these options until it shuts down.
    public func run<Role: DaemonRole>(_ role: Role.Type) async -> Never {
        await DaemonMain.run(role, options: options)
    }
}
