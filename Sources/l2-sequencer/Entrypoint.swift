import ArgumentParser
import DaemonCLI
import Sequencer

@main
struct L2Sequencer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2-sequencer",
        abstract: "The zkThreads devnet's L2 sequencer mock.",
        discussion: "Started by `devnet up`; logs go to standard error."
    )

    @OptionGroup var arguments: DaemonArguments

    func run() async throws {
        await arguments.run(SequencerRole.self)
    }
}
