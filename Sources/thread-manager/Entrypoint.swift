import ArgumentParser
import DaemonCLI
import Manager

@main
struct ThreadManager: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thread-manager",
        abstract: "Hosts the zkThreadManager contract of a zkThreads devnet.",
        discussion: "Started by `devnet up`; logs go to standard error."
    )

    @OptionGroup var arguments: DaemonArguments

    func run() async throws {
        await arguments.run(ManagerRole.self)
    }
}
