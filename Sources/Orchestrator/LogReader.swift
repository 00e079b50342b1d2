import Foundation

extension Orchestrator {
    /// Prints a process's log, or its last lines, and with `follow` keeps printing what is appended.
    public func printLog(of name: String, lastLines: Int?, follow: Bool) async throws {
        let path = try log(of: name)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw OrchestratorError("error: cannot open \(path)")
        }
        defer { try? handle.close() }
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        if let lastLines {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let body = lines.last == "" ? lines.dropLast() : lines[...]
            let tail = body.suffix(max(0, lastLines)).joined(separator: "\n")
            if !tail.isEmpty { try? FileHandle.standardOutput.write(contentsOf: Data((tail + "\n").utf8)) }
        } else if !text.isEmpty {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        while follow, !Task.isCancelled {
            let more = handle.readDataToEndOfFile()
            if more.isEmpty {
                try await Task.sleep(for: .milliseconds(200))
            } else {
                FileHandle.standardOutput.write(more)
            }
        }
    }

    /// `devnet status --json`.
    public static func json(_ rows: [ProcessStatus]) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }
}
