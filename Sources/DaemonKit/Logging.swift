import Foundation
public import Logging

/// Log lines for people: `2026-11-24T12:00:00.123Z info  sequencer: message key=value`.
///
/// Daemons write to standard error; the orchestrator points that at the process's log file.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) {
        self.label = label
        if let level = ProcessInfo.processInfo.environment["DEVNET_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) {
            logLevel = level
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line =
            "\(Self.timestamp()) \(event.level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(label): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += "\n"
        // A full disk or a closed pipe must not take the daemon down with it.
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000
        )
    }

    /// Installs this handler for every logger of the process. Call once, first thing in `main`.
    public static func bootstrap() {
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
    }
}
