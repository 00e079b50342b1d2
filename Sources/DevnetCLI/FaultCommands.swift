import ArgumentParser
import Orchestrator

/// `devnet fault`: network faults between processes, applied in the daemons' own transport.
struct Fault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cut, slow or thin the messages between two processes (needs fault_hooks: true).",
        discussion: """
            devnet fault partition node-token sequencer            nothing passes either way
            devnet fault partition node-token sequencer --one-way  node-token's messages to the sequencer are lost
            devnet fault delay node-token manager --ms 50 --jitter-ms 20
            devnet fault drop sequencer manager --fraction 0.3
            devnet fault heal node-token sequencer                 lift the faults between the two
            devnet fault heal                                      lift every fault

            Thread nodes talk to the sequencer and the manager, the sequencer to the manager. The
            faults live in the memory of the daemons involved: a daemon restarted has none.
            """,
        subcommands: [Partition.self, Delay.self, Drop.self, Heal.self]
    )

    struct Between: ParsableArguments {
        @Argument(help: "The first process, e.g. node-token.") var from: String
        @Argument(help: "The second process, e.g. sequencer.") var to: String
        @Flag(help: "Only the messages from the first process to the second.") var oneWay = false
        @OptionGroup var dataDirectory: DataDirectory
    }

    static func apply(_ fault: NetworkFault, _ dataDirectory: DataDirectory) async throws {
        try await withSession(dataDirectory) { session in
            try await session.apply(fault)
            print(fault.summary)
        }
    }

    struct Partition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lose every message between the two.")
        @OptionGroup var between: Between

        func run() async throws {
            try await Fault.apply(
                NetworkFault(.partition, between: between.from, between.to, oneWay: between.oneWay),
                between.dataDirectory)
        }
    }

    struct Delay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold every message between the two.")
        @OptionGroup var between: Between
        @Option(help: "Milliseconds each message is held (0…60000).") var ms: Int
        @Option(help: "Up to this many more milliseconds, at random (0…60000).") var jitterMs = 0

        func validate() throws {
            guard (0...60_000).contains(ms), (0...60_000).contains(jitterMs), ms + jitterMs > 0 else {
                throw ValidationError("--ms and --jitter-ms take 0…60000 milliseconds, and not both 0")
            }
        }

        func run() async throws {
            try await Fault.apply(
                NetworkFault(
                    .delay(ms: ms, jitterMs: jitterMs), between: between.from, between.to, oneWay: between.oneWay),
                between.dataDirectory)
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lose a fraction of the messages between the two.")
        @OptionGroup var between: Between
        @Option(help: "The fraction of messages lost, 0…1.") var fraction: Double

        func validate() throws {
            guard fraction > 0, fraction <= 1 else { throw ValidationError("--fraction takes a number in (0, 1]") }
        }

        func run() async throws {
            try await Fault.apply(
                NetworkFault(.drop(fraction), between: between.from, between.to, oneWay: between.oneWay),
                between.dataDirectory)
        }
    }

    struct Heal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift the network faults between two processes, or all of them.")
        @Argument(help: "Two processes, or none for every fault.") var processes: [String] = []
        @OptionGroup var dataDirectory: DataDirectory

        func validate() throws {
            guard processes.isEmpty || processes.count == 2 else {
                throw ValidationError("give two processes, or none to lift every fault")
            }
        }

        func run() async throws {
            try await withSession(dataDirectory) { session in
                let pair = processes.count == 2 ? (processes[0], processes[1]) : nil
                let healed = try await session.heal(between: pair)
                print(
                    "healed \(healed) fault rule\(healed == 1 ? "" : "s")"
                        + (pair.map { " between \($0.0) and \($0.1)" } ?? ""))
            }
        }
    }
}
