import ArgumentParser
import DaemonCLI
import ThreadNode

@main
struct ThreadNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thread-node",
        abstract: "One zkThread node (batcher and prover) of a zkThreads devnet.",
        discussion: "Started by `devnet up`; logs go to standard error."
    )

    @OptionGroup var arguments: DaemonArguments

    func run() async throws {
        await arguments.run(ThreadNodeRole.self)
    }
}
