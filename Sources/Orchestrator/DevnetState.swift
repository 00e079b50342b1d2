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
    /// Processes of the topology on other hosts: started there, not by this orchestrator, which
    /// only waits for them, probes them and asks them to stop. Nil when there are none.
    public var remote: [Remote]?

    /// A process on another host.
    public struct Remote: Codable, Sendable {
        public var name: String
        public var role: ProcessRole
        public var endpoints: Endpoints
    }

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

    /// The endpoints of a process, local or on another host.
    func endpoints(of name: String) -> Endpoints? {
        processes.first { $0.name == name }?.endpoints ?? remote?.first { $0.name == name }?.endpoints
    }

    /// Every process's name, local ones first.
    var names: [String] { processes.map(\.name) + (remote ?? []).map(\.name) }

    /// The processes still running.
    var alive: [Process] {
        processes.filter { ProcessControl.isAlive(pid: $0.pid, startTime: $0.startTime) }
    }
}
