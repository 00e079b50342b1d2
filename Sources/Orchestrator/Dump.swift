import Crypto
import DevnetAPI
public import DevnetProtocol
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a dump file holds, written as `manifest.json`, its first entry.
///
/// A dump is an uncompressed POSIX ustar archive (docs/dumps.md):
///
///     manifest.json                 this manifest
///     topology.json                 every process with its threads, contracts, proof systems, seed
///     contracts/<thread>.tasm       the source of each contract read from a file (also inside topology.json)
///     databases/<process>.sqlite    one self-contained SQLite database per process
public struct DumpManifest: Codable, Sendable, Equatable {
    /// One file of the archive besides the manifest.
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: UInt64
        /// Lowercase hex.
        public var sha256: String
    }

    /// One process and the archive path of its database.
    public struct Process: Codable, Sendable, Equatable {
        public var name: String
        public var role: ProcessRole
        public var database: String
    }

    /// A thread's canonical record at the dump, as the manager answered `threads`.
    public struct ThreadRecord: Codable, Sendable, Equatable {
        public var name: String
        public var sequence: UInt64
        public var stateRoot: String
        public var programHash: String
        public var osVersion: UInt32
        public var proofSystem: String
    }

    /// The sequencer at the dump, as it answered `chain`.
    public struct Chain: Codable, Sendable, Equatable {
        public var height: UInt64
        /// L2 transactions waiting for a block.
        public var pending: Int
        public var blockMode: String
    }

    public static let fileName = "manifest.json"
    public static let topologyPath = "topology.json"
    /// What `format` says in every dump.
    public static let formatName = "zkthreads-devnet-dump"
    /// The format version this build writes, and the newest it reads.
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    public var created: Date
    public var seed: UInt64
    public var processes: [Process]
    public var threads: [ThreadRecord]
    public var sequencer: Chain
    /// Every file after the manifest, in archive order.
    public var files: [File]

    public var bytes: UInt64 { files.reduce(0) { $0 + $1.bytes } }

    public static func databasePath(of process: String) -> String { "databases/\(process).sqlite" }

    public func encoded() throws -> Data {
        let encoder = WireCodec.makeEncoder()
        encoder.outputFormatting.formUnion([.prettyPrinted, .sortedKeys])
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Reads a manifest: first its format and version, so that a newer dump is refused by its
    /// version rather than by a field this build does not know.
    ///
    /// - Throws: ``OrchestratorError`` naming `file` when it is not a dump's manifest or is of a
    ///   newer format.
    public static func decode(_ data: Data, file: String) throws -> DumpManifest {
        struct Header: Decodable {
            var format: String?
            var version: Int?
        }
        let decoder = WireCodec.makeDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else {
            throw OrchestratorError(
                "error: \(file) is damaged or not a devnet dump: its manifest.json is not valid JSON")
        }
        guard let header = try? decoder.decode(Header.self, from: data), header.format == formatName,
            let version = header.version
        else {
            throw OrchestratorError(
                "error: \(file) is not a devnet dump: its manifest.json does not say \"format\": \"\(formatName)\" with a version"
            )
        }
        guard version <= currentVersion else {
            throw OrchestratorError(
                "error: \(file) is a devnet dump in format version \(version); this build of devnet reads format version \(currentVersion) and older. Load it with a newer devnet"
            )
        }
        guard version >= 1 else {
            throw OrchestratorError("error: \(file) is not a devnet dump: its format version \(version) does not exist")
        }
        do {
            return try decoder.decode(DumpManifest.self, from: data)
        } catch {
            throw OrchestratorError("error: \(file) is damaged: its manifest.json cannot be read (\(error))")
        }
    }
}

/// Writes and reads dump files.
public enum DumpArchive {
    /// Writes `manifest` then each of `files` (archive path, file on disk) into a ustar archive at
    /// `path`, through `path.partial` renamed into place when complete.
    static func write(_ manifest: DumpManifest, files: [(path: String, source: String)], to path: String) throws {
        let partial = path + ".partial"
        do {
            let writer = try TarWriter(path: partial, modified: manifest.created)
            try writer.add(DumpManifest.fileName, data: try manifest.encoded())
            for file in files {
                let written = try writer.add(file.path, file: file.source)
                guard let listed = manifest.files.first(where: { $0.path == file.path }),
                    listed.sha256 == written.sha256
                else {
                    throw TarError("\(file.source) changed while it was written into the dump")
                }
            }
            try writer.finish()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// The manifest of the dump at `path` (its first entry), without reading the rest.
    public static func manifest(of path: String) throws -> DumpManifest {
        let reader = try open(path)
        return try manifest(from: reader, path: path)
    }

    /// Unpacks the dump at `path` into `folder` (each file at its archive path), checking every
    /// file's size and SHA-256 against the manifest and that none is missing or unlisted.
    ///
    /// - Throws: ``OrchestratorError`` naming the file and what is wrong with it.
    public static func unpack(_ path: String, into folder: URL) throws -> DumpManifest {
        let reader = try open(path)
        let manifest = try manifest(from: reader, path: path)
        var unseen = Dictionary(uniqueKeysWithValues: manifest.files.map { ($0.path, $0) })
        do {
            while let entry = try reader.next() {
                guard let listed = unseen.removeValue(forKey: entry.name) else {
                    throw OrchestratorError(
                        "error: \(path) is damaged: it holds \(entry.name), which its manifest does not list (or holds twice)"
                    )
                }
                guard entry.size == listed.bytes else {
                    throw OrchestratorError(
                        "error: \(path) is damaged: \(entry.name) is \(entry.size) bytes, its manifest says \(listed.bytes)"
                    )
                }
                let destination = folder.appendingPathComponent(entry.name)
                try FileManager.default.createDirectory(
                    at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                let digest = try reader.copy(to: destination.path)
                guard digest == listed.sha256 else {
                    throw OrchestratorError(
                        "error: \(path) is damaged: \(entry.name) has SHA-256 \(digest), its manifest says \(listed.sha256)"
                    )
                }
            }
        } catch let error as TarError {
            throw OrchestratorError("error: \(error.message)")
        }
        if let missing = manifest.files.first(where: { unseen[$0.path] != nil }) {
            throw OrchestratorError(
                "error: \(path) is damaged: it lacks \(missing.path), which its manifest lists")
        }
        return manifest
    }

    private static func open(_ path: String) throws -> TarReader {
        do {
            return try TarReader(path: path)
        } catch let error as TarError {
            throw OrchestratorError("error: cannot read the dump: \(error.message)")
        }
    }

    private static func manifest(from reader: TarReader, path: String) throws -> DumpManifest {
        do {
            guard let first = try reader.next() else {
                throw OrchestratorError("error: \(path) is not a devnet dump: it is an empty tar archive")
            }
            guard first.name == DumpManifest.fileName else {
                throw OrchestratorError(
                    "error: \(path) is not a devnet dump: its first entry is \(first.name), not \(DumpManifest.fileName)"
                )
            }
            guard first.size <= 16 << 20 else {
                throw OrchestratorError("error: \(path) is not a devnet dump: its manifest.json is \(first.size) bytes")
            }
            return try DumpManifest.decode(try reader.readData(), file: path)
        } catch let error as TarError {
            throw OrchestratorError(
                error.message.contains("is not a tar archive") || error.message.hasSuffix("is empty")
                    ? "error: \(error.message), so not a devnet dump" : "error: \(error.message)")
        }
    }
}

extension Topology {
    /// This topology on other ports: process `i` (in order) takes `basePort + 3i` … `+ 2`, on the
    /// host its endpoints had; with `metricsPort`, `/metrics` on `metricsPort + i`, else none.
    func moved(toBasePort basePort: Int, metricsPort: Int?) throws -> Topology {
        let count = processes.count
        let last = basePort + count * DevnetConfig.portsPerProcess - 1
        guard basePort >= 1024, last <= 65535 else {
            throw OrchestratorError.usage(
                "error: --base-port \(basePort) leaves no room: \(count) processes need ports \(basePort)…\(last), which must lie in 1024…65535"
            )
        }
        if let metricsPort {
            let lastMetrics = metricsPort + count - 1
            guard metricsPort >= 1024, lastMetrics <= 65535, lastMetrics < basePort || metricsPort > last else {
                throw OrchestratorError.usage(
                    "error: --metrics-port \(metricsPort) does not fit: \(count) processes need ports \(metricsPort)…\(lastMetrics), within 1024…65535 and outside the endpoints' \(basePort)…\(last)"
                )
            }
        }
        var moved = self
        for index in moved.processes.indices {
            let host = Self.host(of: processes[index].endpoints.api) ?? "127.0.0.1"
            let first = basePort + index * DevnetConfig.portsPerProcess
            func endpoints(_ host: String) -> Endpoints {
                Endpoints(
                    api: "tcp://\(host):\(first)", admin: "tcp://\(host):\(first + 1)",
                    events: "tcp://\(host):\(first + 2)",
                    metrics: metricsPort.map { "http://\(host):\($0 + index)/metrics" })
            }
            moved.processes[index].endpoints = endpoints(host)
            // A process that binds another address than it is reached at keeps doing so.
            if let bind = processes[index].bind, let bindHost = Self.host(of: bind.api) {
                moved.processes[index].bind = endpoints(bindHost)
            }
        }
        return moved
    }

    /// The first port of the first process: the base port the topology was made with.
    var basePort: Int? {
        processes.first.flatMap { $0.endpoints.api.split(separator: ":").last.flatMap { Int($0) } }
    }

    static func host(of endpoint: String) -> String? {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        return String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
    }

    /// Every endpoint string a process of this topology has, to look for in its databases.
    var endpointStrings: [String] {
        processes.flatMap {
            [$0.endpoints.api, $0.endpoints.admin, $0.endpoints.events] + [$0.endpoints.metrics].compactMap { $0 }
        }
    }
}

extension Orchestrator {
    /// What `devnet dump` did.
    public struct DumpReport: Sendable {
        public var path: String
        public var manifest: DumpManifest
        /// The dump file's size.
        public var bytes: UInt64
        public var milliseconds: Int
        /// How long the daemons were frozen for the copy that went into the dump.
        public var pausedMs: Int
        /// How many cuts it took to find one the devnet did not move on from while it was taken.
        public var attempts: Int
    }

    /// The sequencer's chain and the manager's threads, as the manifest records them.
    struct Observed: Equatable {
        var chain: DumpManifest.Chain
        var threads: [DumpManifest.ThreadRecord]
    }

    func observe(_ session: DevnetClientSession) async throws -> Observed {
        let chain = try await session.call("sequencer", SequencerMessage.chain, Empty(), as: ChainInfo.self)
        let threads = try await session.call("manager", ManagerMessage.threads, Empty(), as: ThreadsReply.self)
        return Observed(
            chain: .init(height: chain.height, pending: chain.pending, blockMode: chain.blockMode),
            threads: threads.threads.map {
                .init(
                    name: $0.name, sequence: $0.sequence, stateRoot: $0.stateRoot, programHash: $0.programHash.hex,
                    osVersion: $0.osVersion, proofSystem: $0.proofSystem)
            }.sorted { $0.name < $1.name })
    }

    /// Writes the whole running devnet into one file at `path`: its topology, a consistent cut of
    /// every process's database (the daemons frozen while they are copied, as for a snapshot), and
    /// a manifest with each thread's canonical sequence and state root and the sequencer's height.
    ///
    /// The chain and the threads are read before and after the cut; if the devnet moved on
    /// meanwhile, the cut is taken again (up to 10 times), so that the manifest says what the
    /// databases hold.
    ///
    /// - Throws: ``OrchestratorError`` for a devnet that is not fully running, one that never held
    ///   still, a database that records an endpoint, or a file that cannot be written.
    public func dump(to path: String, attempts maxAttempts: Int = 10) async throws -> DumpReport {
        let began = ContinuousClock.now
        let file = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw OrchestratorError.usage("error: \(file.path) is a directory; give the path of the dump file to write")
        }
        guard FileManager.default.fileExists(atPath: file.deletingLastPathComponent().path) else {
            throw OrchestratorError.usage(
                "error: cannot write \(file.path): the folder \(file.deletingLastPathComponent().path) does not exist")
        }
        let store = snapshots
        let lock = try store.lock()
        defer { close(lock) }
        let (state, topology) = try runningDevnet(for: "dump it", requireAlive: true)
        let session = try DevnetClientSession(self)
        let staging = store.directory.appendingPathComponent(".dump-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: staging) }

        var found: (Observed, Cut)?
        var attempt = 0
        var last: (Observed, Observed)?
        while found == nil, attempt < maxAttempts {
            attempt += 1
            try? FileManager.default.removeItem(at: staging)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            let before = try await observe(session)
            let cut: Cut
            do {
                cut = try await consistentCopy(of: state, topology, into: staging)
            } catch let error as OrchestratorError {
                await session.close()
                throw error
            } catch {
                await session.close()
                throw OrchestratorError(
                    "error: the dump failed while copying the databases: \(error). The daemons run on; nothing was written"
                )
            }
            let after = try await observe(session)
            if before == after {
                found = (after, cut)
            } else {
                last = (before, after)
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
        await session.close()
        guard let (observed, cut) = found else {
            let moved = last.map { Self.differences(expected: $0.0, found: $0.1).joined(separator: "; ") } ?? ""
            throw OrchestratorError(
                "error: the devnet kept moving while it was dumped (\(maxAttempts) tries; last: \(moved)), so no cut could be matched to its state. Dump it while no transaction is in flight: wait for them to settle, or use block_mode: on_demand"
            )
        }

        // A database that recorded an endpoint would point the loaded devnet at the old ports.
        for entry in cut.entries {
            let copy = staging.appendingPathComponent(entry.database).path
            if let endpoint = try Self.firstEndpoint(of: topology, in: copy) {
                throw OrchestratorError(
                    "error: the database of \(entry.name) records the endpoint \(endpoint); a dump could not be loaded on other ports, so none was written"
                )
            }
        }

        let topologyFile = staging.appendingPathComponent(DumpManifest.topologyPath)
        try topology.write(to: topologyFile)
        var files: [(path: String, source: String)] = [(DumpManifest.topologyPath, topologyFile.path)]
        var seenSources: Set<String> = []
        for thread in topology.processes.compactMap(\.thread) {
            guard let source = thread.source, seenSources.insert(thread.name).inserted else { continue }
            let contract = staging.appendingPathComponent("\(thread.name).tasm")
            try Data(source.utf8).write(to: contract)
            files.append(("contracts/\(thread.name).tasm", contract.path))
        }
        for entry in cut.entries {
            files.append(
                (DumpManifest.databasePath(of: entry.name), staging.appendingPathComponent(entry.database).path))
        }
        var listed: [DumpManifest.File] = []
        for file in files {
            listed.append(
                .init(
                    path: file.path, bytes: try TarWriter.fileSize(file.source),
                    sha256: try Self.sha256(of: file.source)))
        }
        let manifest = DumpManifest(
            format: DumpManifest.formatName, version: DumpManifest.currentVersion, created: Date(), seed: topology.seed,
            processes: topology.processes.map {
                .init(name: $0.name, role: $0.role, database: DumpManifest.databasePath(of: $0.name))
            },
            threads: observed.threads, sequencer: observed.chain, files: listed)
        do {
            try DumpArchive.write(manifest, files: files, to: file.path)
        } catch {
            throw OrchestratorError("error: cannot write the dump to \(file.path): \(error)")
        }
        return DumpReport(
            path: file.path, manifest: manifest, bytes: try TarWriter.fileSize(file.path),
            milliseconds: milliseconds(ContinuousClock.now - began),
            pausedMs: milliseconds(cut.thawed - cut.frozenSince),
            attempts: attempt)
    }

    /// The first endpoint of `topology` that the file at `path` holds, or nil; one scan for each
    /// scheme, and a closer look only where one occurs.
    static func firstEndpoint(of topology: Topology, in path: String) throws -> String? {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        func contains(_ needle: String) -> Bool {
            let pattern = Array(needle.utf8)
            return bytes.withUnsafeBytes { (haystack: UnsafeRawBufferPointer) -> Bool in
                guard let base = haystack.baseAddress, haystack.count >= pattern.count else { return false }
                var offset = 0
                let last = haystack.count - pattern.count
                // memchr finds each candidate first byte; memcmp checks the rest.
                while offset <= last, let hit = memchr(base + offset, Int32(pattern[0]), last - offset + 1) {
                    if memcmp(hit, pattern, pattern.count) == 0 { return true }
                    offset = base.distance(to: UnsafeRawPointer(hit)) + 1
                }
                return false
            }
        }
        guard contains("tcp://") || contains("http://") else { return nil }
        return topology.endpointStrings.first(where: contains)
    }

    static func sha256(of path: String) throws -> String {
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? input.close() }
        var hasher = SHA256()
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return TarWriter.hex(hasher.finalize())
    }

    /// How `found` differs from `expected`, one sentence part per difference.
    static func differences(expected: Observed, found: Observed) -> [String] {
        var parts: [String] = []
        if expected.chain.height != found.chain.height {
            parts.append("the sequencer's height is \(found.chain.height), not \(expected.chain.height)")
        }
        for thread in expected.threads {
            guard let now = found.threads.first(where: { $0.name == thread.name }) else {
                parts.append("thread \(thread.name) is not registered")
                continue
            }
            if now.sequence != thread.sequence {
                parts.append("thread \(thread.name) is at sequence \(now.sequence), not \(thread.sequence)")
            } else if now.stateRoot != thread.stateRoot {
                parts.append("thread \(thread.name)'s state root is \(now.stateRoot), not \(thread.stateRoot)")
            }
        }
        for thread in found.threads where !expected.threads.contains(where: { $0.name == thread.name }) {
            parts.append("thread \(thread.name) is registered, which it was not")
        }
        return parts
    }

    // MARK: load

    /// How `devnet up --load` starts a devnet from a dump.
    public struct LoadOptions: Sendable {
        public var file: String
        /// The first port; nil for the dump's own.
        public var basePort: Int?
        /// The first `/metrics` port; nil serves none.
        public var metricsPort: Int?
        /// True turns fault hooks on; nil keeps the dump's setting.
        public var faultHooks: Bool?
        public var startupTimeout: Duration

        public init(
            file: String, basePort: Int? = nil, metricsPort: Int? = nil, faultHooks: Bool? = nil,
            startupTimeout: Duration = .seconds(30)
        ) {
            self.file = file
            self.basePort = basePort
            self.metricsPort = metricsPort
            self.faultHooks = faultHooks
            self.startupTimeout = startupTimeout
        }
    }

    /// What `devnet up --load` did.
    public struct LoadReport: Sendable {
        public var state: DevnetState
        public var manifest: DumpManifest
        /// Reading and checking the dump and putting the databases in place.
        public var unpackMs: Int
        /// From the first spawn until every process was healthy and the state checked.
        public var startupMs: Int
        public var milliseconds: Int
    }

    /// Whatever in the data directory says a devnet has been there, or nil for a fresh or empty one.
    func devnetTraces() -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path)) ?? []
        for name in [DevnetState.fileName, Topology.fileName, SnapshotStore.directoryName] where names.contains(name) {
            return name
        }
        return names.first {
            FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("\($0)/state.sqlite").path)
        }.map { "\($0)/state.sqlite" }
    }

    /// Starts a devnet from the dump `options.file` in this (fresh or empty) data directory: checks
    /// the dump, puts each database in its process's folder, writes the topology with endpoints
    /// from the chosen base port, starts the sequencer and the manager, checks that every thread's
    /// sequence and state root and the sequencer's height are the manifest's, then starts the
    /// thread nodes and waits until all are healthy.
    ///
    /// On failure nothing is left running.
    /// - Throws: ``OrchestratorError`` for a data directory that holds a devnet, a dump that is
    ///   damaged, of a newer format or not a dump, ports in use, or a state that does not match.
    public func load(_ options: LoadOptions) async throws -> LoadReport {
        let began = ContinuousClock.now
        let file = URL(fileURLWithPath: options.file).standardizedFileURL.path
        if let trace = devnetTraces() {
            throw OrchestratorError(
                "error: \(dataDirectory.path) already holds a devnet (it has \(trace)); `devnet up --load` starts one only in a fresh or empty data directory. Choose another --data-dir, or `devnet down` and remove that one"
            )
        }
        // The format and version first, before anything is written.
        _ = try DumpArchive.manifest(of: file)
        let staging = dataDirectory.appendingPathComponent(".load-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        let manifest = try DumpArchive.unpack(file, into: staging)
        try FileManager.default.createDirectory(at: logsDirectory, withIntermediateDirectories: true)
        var topology: Topology
        do {
            topology = try Topology.load(from: staging.appendingPathComponent(DumpManifest.topologyPath))
        } catch {
            throw OrchestratorError("error: \(file) is damaged: its topology.json cannot be read (\(error))")
        }
        guard topology.seed == manifest.seed,
            topology.processes.map(\.name) == manifest.processes.map(\.name)
        else {
            throw OrchestratorError(
                "error: \(file) is damaged: its topology.json and its manifest do not name the same seed and processes")
        }
        topology = try topology.moved(
            toBasePort: options.basePort ?? topology.basePort ?? 27100, metricsPort: options.metricsPort)
        if options.faultHooks == true { topology.faultHooks = true }
        try checkPorts(topology)
        try prepareCredentials(for: topology)
        let binaries = ProcessControl.binaryDirectory()
        for role in Set(topology.processes.map(\.role)) {
            let path = binaries.appendingPathComponent(role.executable).path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw OrchestratorError(
                    "error: cannot find the \(role.executable) executable in \(binaries.path). Build the package first (swift build), or set DEVNET_BIN_DIR."
                )
            }
        }
        for process in manifest.processes {
            let folder = dataDirectory.appendingPathComponent(process.name, isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.moveItem(
                at: staging.appendingPathComponent(process.database),
                to: URL(fileURLWithPath: databasePath(of: process.name)))
        }
        try topology.write(to: dataDirectory.appendingPathComponent(Topology.fileName))
        let unpacked = ContinuousClock.now

        // The sequencer and the manager first: nothing moves them until a node submits, so what
        // they answer now is what the databases hold.
        var state = DevnetState(
            dataDirectory: dataDirectory.path, config: "dump \(file)", startedAt: Date(), startupMs: nil, processes: [])
        let deadline = unpacked + options.startupTimeout
        let core = Set(topology.processes.filter { $0.role != .threadNode }.map(\.name))
        try await startAll(topology, in: &state, until: deadline, doing: "starting from the dump", only: core)
        let expected = Observed(chain: manifest.sequencer, threads: manifest.threads)
        var found: Observed?
        do {
            let session = try DevnetClientSession(self)
            do {
                found = try await observe(session)
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        } catch {
            await stopAll(state, timeout: .seconds(5), quiet: true)
            DevnetState.remove(from: dataDirectory)
            throw error
        }
        var differences = found.map { Self.differences(expected: expected, found: $0) } ?? []
        if found?.chain.pending != expected.chain.pending, let found {
            differences.append(
                "the sequencer holds \(found.chain.pending) pending transactions, not \(expected.chain.pending)")
        }
        guard differences.isEmpty else {
            await stopAll(state, timeout: .seconds(5), quiet: true)
            DevnetState.remove(from: dataDirectory)
            throw OrchestratorError(
                "error: the devnet started from \(file) is not in the dumped state: \(differences.joined(separator: "; ")). It was stopped; its databases stay in \(dataDirectory.path)"
            )
        }
        let nodes = Set(topology.processes.filter { $0.role == .threadNode }.map(\.name))
        if !nodes.isEmpty {
            try await startAll(topology, in: &state, until: deadline, doing: "starting from the dump", only: nodes)
        }
        let ended = ContinuousClock.now
        state.startupMs = milliseconds(ended - unpacked)
        try state.write(to: dataDirectory)
        return LoadReport(
            state: state, manifest: manifest, unpackMs: milliseconds(unpacked - began),
            startupMs: milliseconds(ended - unpacked), milliseconds: milliseconds(ended - began))
    }

    /// ``load(_:)``, but a SIGINT, SIGTERM or SIGHUP while it runs stops what it started and fails.
    public func loadStoppingOnSignal(_ options: LoadOptions) async throws -> LoadReport {
        try await stoppingOnSignal(while: "starting from the dump") { try await self.load(options) }
    }
}
