import ArgumentParser
import Foundation
import Orchestrator

struct Dump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the whole running devnet into one file, to start it again elsewhere with devnet up --load.",
        discussion: """
            The file is a tar archive: a manifest (format version, seed, each thread's sequence and \
            state root, the sequencer's height, every file's size and SHA-256), the topology with \
            any contract sources, and a consistent copy of every process's database, taken with \
            the daemons paused as for a snapshot (docs/dumps.md).

            devnet dump state.devnet
            devnet up --load state.devnet --data-dir /tmp/dn2 --base-port 30000
            """)

    @Argument(help: "The file to write (replaced if it exists).") var file: String
    @OptionGroup var dataDirectory: DataDirectory

    func run() async throws {
        try await reportingErrors {
            let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
            let report = try await orchestrator.dump(to: file)
            let manifest = report.manifest
            print(
                "dumped the devnet to \(report.path): \(Orchestrator.size(report.bytes)) (\(manifest.processes.count) databases, \(manifest.threads.count) thread\(manifest.threads.count == 1 ? "" : "s"), L2 height \(manifest.sequencer.height)) in \(report.milliseconds) ms; every daemon paused for \(report.pausedMs) ms"
                    + (report.attempts > 1 ? " (the devnet moved during \(report.attempts - 1) earlier tries)" : ""))
            print("start it again with: devnet up --load \(file) --data-dir DIR [--base-port N]")
        }
    }
}

extension Up {
    /// `devnet up --load FILE`: the devnet of a dump, on the ports asked for.
    func runLoad(_ file: String) async throws {
        let orchestrator = Orchestrator(dataDirectory: dataDirectory.path)
        let report = try await orchestrator.loadStoppingOnSignal(
            .init(
                file: file, basePort: basePort, metricsPort: metricsPort, faultHooks: faultHooks ? true : nil,
                startupTimeout: .seconds(timeout)))
        print(Orchestrator.table(try await orchestrator.status()))
        let manifest = report.manifest
        let threads = manifest.threads.map { "\($0.name) at sequence \($0.sequence)" }.joined(separator: ", ")
        print(
            "state checked: L2 height \(manifest.sequencer.height)\(threads.isEmpty ? "" : ", \(threads)"), state roots as dumped"
        )
        print(
            "devnet up from \(file) in \(report.milliseconds) ms (unpacked and checked in \(report.unpackMs) ms, healthy in \(report.startupMs) ms): \(report.state.processes.count) processes, data in \(report.state.dataDirectory)"
        )
        guard foreground else {
            print("stop it with: devnet down --data-dir \(dataDirectory.path)")
            return
        }
        print("running in the foreground; press Ctrl-C to stop")
        let (reason, died) = await orchestrator.waitInForeground(report.state)
        print("stopping: \(reason)")
        try await orchestrator.down()
        if died { throw ExitCode(1) }
    }
}
