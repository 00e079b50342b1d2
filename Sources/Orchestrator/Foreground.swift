@preconcurrency import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Orchestrator {
    /// Keeps `devnet up --foreground` in front: returns when SIGINT or SIGTERM arrives or a
    /// process of the devnet exits by itself, saying which.
    public func waitInForeground(_ state: DevnetState) async -> String {
        let signals = AsyncStream<Int32> { continuation in
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                sources.append(source)
            }
            nonisolated(unsafe) let retained = sources
            continuation.onTermination = { _ in retained.forEach { $0.cancel() } }
        }
        return await withTaskGroup(of: String.self) { group in
            group.addTask {
                for await number in signals {
                    return number == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)"
                }
                return "stopped"
            }
            group.addTask {
                while !Task.isCancelled {
                    for process in state.processes {
                        if let how = ProcessControl.reapIfExited(process.pid) {
                            return "\(process.name) (pid \(process.pid)) \(how); see \(process.log)"
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                return "stopped"
            }
            let reason = await group.next() ?? "stopped"
            group.cancelAll()
            return reason
        }
    }
}
