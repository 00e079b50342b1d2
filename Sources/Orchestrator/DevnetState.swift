public import DevnetProtocol
public import Foundation

/// What `devnet up` records in the data directory about the processes it started.
public struct DevnetState: Codable, Sendable {
    public struct Process: Codable, Sendable {
        public var name: String
        public var role: ProcessRole
        public var pid: Int32
        /// The kernel's start time of the process, to tell it apart from a later one with the same pid.
        public var startTime: UInt64?
        public var endpoints: Endpoints
        public var log: String
    }

    public var dataDirectory: String
    public var config: String
    public var startedAt: Date
    public var startupMs: Int?
    public var processes: [Process]

    public static let fileName = "devnet.json"

    static func url(in dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent(fileName)
    }

    static func load(from dataDirectory: URL) -> DevnetState? {
        guard let data = try? Data(contentsOf: url(in: dataDirectory)) else { return nil }
        let decoder = WireCodec.makeDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DevnetState.self, from: data)
    }

    func write(to dataDirectory: URL) throws {
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(self).write(to: Self.url(in: dataDirectory), options: .atomic)
    }

    static func remove(from dataDirectory: URL) {
        try? FileManager.default.removeItem(at: url(in: dataDirectory))
    }

    /// The processes still running.
    var alive: [Process] {
        processes.filter { ProcessControl.isAlive(pid: $0.pid, startTime: $0.startTime) }
    }
}
