@preconcurrency import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP as a stream; while it exists they no longer end the process.
func terminationSignals() -> AsyncStream<Int32> {
    AsyncStream<Int32> { continuation in
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        nonisolated(unsafe) let retained = sources
        continuation.onTermination = { _ in retained.forEach { $0.cancel() } }
    }
}

func signalName(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    default: "signal \(number)"
    }
}

extension Orchestrator {
    /// ``up(_:)``, but a SIGINT, SIGTERM or SIGHUP while it runs stops what it started and fails,
    /// instead of leaving daemons behind.
    public func upStoppingOnSignal(_ options: UpOptions) async throws -> DevnetState {
        try await stoppingOnSignal(while: "starting") { try await self.up(options) }
    }

    /// Runs `start`; a SIGINT, SIGTERM or SIGHUP meanwhile stops whatever it had started and fails
    /// with exit code 130, saying it was interrupted `while` doing what it did.
    func stoppingOnSignal<Result: Sendable>(
        while doing: String, _ start: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let signals = terminationSignals()
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await start() }
            group.addTask {
                for await number in signals {
                    throw OrchestratorError(
                        "interrupted by \(signalName(number)) while \(doing); stopped what was started", exitCode: 130)
                }
                return nil
            }
            do {
                while let result = try await group.next() {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                throw CancellationError()
            } catch let error as OrchestratorError where error.exitCode == 130 {
                group.cancelAll()
                if let state = DevnetState.load(from: dataDirectory) {
                    await stopAll(state, timeout: .seconds(5), quiet: true)
                }
                DevnetState.remove(from: dataDirectory)
                throw error
            }
        }
    }

    /// Keeps `devnet up --foreground` in front: returns when SIGINT, SIGTERM or SIGHUP arrives or
    /// a process of the devnet exits by itself, saying which, and whether a process died.
    public func waitInForeground(_ state: DevnetState) async -> (reason: String, died: Bool) {
        let signals = terminationSignals()
        return await withTaskGroup(of: (String, Bool).self) { group in
            group.addTask {
                for await number in signals {
                    return ("\(signalName(number)) received", false)
                }
                return ("stopped", false)
            }
            group.addTask {
                while !Task.isCancelled {
                    for process in state.processes {
                        if let how = ProcessControl.reapIfExited(process.pid) {
                            return ("\(process.name) (pid \(process.pid)) \(how); see \(process.log)", true)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                return ("stopped", false)
            }
            let result = await group.next() ?? ("stopped", false)
            group.cancelAll()
            return result
        }
    }
}
