import DevnetProtocol
import Foundation
import Testing

@testable import Orchestrator

@Suite("dumps: the tar container, the manifest, and refusing newer or damaged files")
struct DumpTests {
    /// A folder of its own, removed at the end.
    private final class Directory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dump-unit-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    private func bytes(_ count: Int, seed: UInt8) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) &+ seed })
    }

    private func topology(basePort: Int = 27100) -> Topology {
        var config = DevnetConfig()
        config.basePort = basePort
        config.threads = [ThreadSpec(name: "token", contract: "token", proofSystem: "reexec")]
        return config.topology()
    }

    /// A dump as `devnet dump` writes it, of made-up databases; returns its path and manifest.
    @discardableResult
    private func writeDump(in directory: Directory, version: Int = DumpManifest.currentVersion, name: String = "a.dump")
        throws -> (String, DumpManifest)
    {
        let topology = topology()
        let topologyFile = directory.path("topology-source.json")
        try topology.write(to: URL(fileURLWithPath: topologyFile))
        var files: [(path: String, source: String)] = [(DumpManifest.topologyPath, topologyFile)]
        for (index, process) in topology.processes.enumerated() {
            let source = directory.path("\(process.name)-source.sqlite")
            try bytes(4096 * (index + 1) + 100 * index, seed: UInt8(index)).write(to: URL(fileURLWithPath: source))
            files.append((DumpManifest.databasePath(of: process.name), source))
        }
        let manifest = DumpManifest(
            format: DumpManifest.formatName, version: version, created: Date(timeIntervalSince1970: 1_700_000_000),
            seed: topology.seed,
            processes: topology.processes.map {
                .init(name: $0.name, role: $0.role, database: DumpManifest.databasePath(of: $0.name))
            },
            threads: [
                .init(
                    name: "token", sequence: 3, stateRoot: String(repeating: "ab", count: 32),
                    programHash: String(repeating: "cd", count: 32), osVersion: 1, proofSystem: "reexec")
            ],
            sequencer: .init(height: 7, pending: 0, blockMode: "instant"),
            files: try files.map {
                .init(
                    path: $0.path, bytes: try TarWriter.fileSize($0.source),
                    sha256: try Orchestrator.sha256(of: $0.source))
            })
        let path = directory.path(name)
        try DumpArchive.write(manifest, files: files, to: path)
        return (path, manifest)
    }

    /// The message of the ``OrchestratorError`` `body` throws, or nil (recorded as an issue).
    private func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            Issue.record("no error")
            return nil
        } catch let error as OrchestratorError {
            return error.message
        } catch {
            Issue.record("not an OrchestratorError: \(error)")
            return nil
        }
    }

    /// Changes one byte of the file at `offset`.
    private func flip(_ path: String, at offset: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[offset] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test func tarEntriesRoundTripWithTheirBytesAndNames() throws {
        let directory = try Directory()
        let long = String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 90) + ".sqlite"
        let big = bytes(3 * 512 + 17, seed: 3)
        try big.write(to: URL(fileURLWithPath: directory.path("big")))
        let path = directory.path("x.tar")
        let writer = try TarWriter(path: path, modified: Date(timeIntervalSince1970: 1_700_000_000))
        try writer.add("manifest.json", data: Data("{}".utf8))
        try writer.add("empty", data: Data())
        try writer.add("exact", data: bytes(512, seed: 9))
        let written = try writer.add(long, file: directory.path("big"))
        try writer.finish()
        #expect(written.bytes == UInt64(big.count))
        #expect(written.sha256 == (try Orchestrator.sha256(of: directory.path("big"))))
        // Headers and data padded to 512-byte blocks, then two zero blocks.
        let blocks: UInt64 = 2 + 1 + 2 + (1 + 4) + 2
        #expect(try TarWriter.fileSize(path) == blocks * 512)

        let reader = try TarReader(path: path)
        var entries: [(String, Data)] = []
        while let entry = try reader.next() {
            if entry.name == long {
                let copy = directory.path("copy")
                #expect(try reader.copy(to: copy) == written.sha256)
                entries.append((entry.name, try Data(contentsOf: URL(fileURLWithPath: copy))))
            } else {
                entries.append((entry.name, try reader.readData()))
            }
        }
        #expect(entries.map(\.0) == ["manifest.json", "empty", "exact", long])
        #expect(entries.map(\.1) == [Data("{}".utf8), Data(), bytes(512, seed: 9), big])
        #expect(try reader.next() == nil)
    }

    @Test func theSystemTarReadsTheArchive() throws {
        let tar = ["/usr/bin/tar", "/bin/tar"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tar else { return }
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tar)
        process.arguments = ["-tf", path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let listing = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(
            listing.split(separator: "\n") == [
                "manifest.json", "topology.json", "databases/sequencer.sqlite", "databases/manager.sqlite",
                "databases/node-token.sqlite",
            ])
    }

    @Test func aDumpUnpacksToItsManifestAndFiles() throws {
        let directory = try Directory()
        let (path, written) = try writeDump(in: directory)
        #expect(try DumpArchive.manifest(of: path) == written)
        let out = directory.url.appendingPathComponent("out")
        let read = try DumpArchive.unpack(path, into: out)
        #expect(read == written)
        #expect(read.seed == 42)
        #expect(read.sequencer.height == 7)
        #expect(read.threads.first?.sequence == 3)
        for process in topology().processes {
            #expect(
                FileManager.default.contents(
                    atPath: out.appendingPathComponent(DumpManifest.databasePath(of: process.name)).path)
                    == FileManager.default.contents(atPath: directory.path("\(process.name)-source.sqlite")))
        }
        #expect(try Topology.load(from: out.appendingPathComponent("topology.json")) == topology())
        // The manifest's fields, as documented in docs/dumps.md.
        let json = try JSONSerialization.jsonObject(with: written.encoded()) as? [String: Any]
        #expect(json?["format"] as? String == "zkthreads-devnet-dump")
        #expect(json?["version"] as? Int == 1)
        #expect(json?["created"] as? String == "2023-11-14T22:13:20Z")
        #expect((json?["sequencer"] as? [String: Any])?["height"] as? Int == 7)
        #expect(
            ((json?["threads"] as? [[String: Any]])?.first)?["state_root"] as? String
                == String(repeating: "ab", count: 32))
        #expect(((json?["files"] as? [[String: Any]])?.first)?.keys.sorted() == ["bytes", "path", "sha256"])
    }

    @Test func aNewerFormatIsRefusedNamingBothVersions() throws {
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory, version: 2)
        let message = refusal { _ = try DumpArchive.unpack(path, into: directory.url.appendingPathComponent("out")) }
        #expect(message?.contains("\(path) is a devnet dump in format version 2") == true)
        #expect(message?.contains("reads format version 1") == true)
    }

    @Test func aChangedDatabaseIsRefusedByItsChecksum() throws {
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory)
        let archive = try Data(contentsOf: URL(fileURLWithPath: path))
        // A byte in the middle of the manager's database (the last entry but one).
        let header = archive.range(of: Data("databases/manager.sqlite\0".utf8))!.lowerBound
        try flip(path, at: header + 512 + 1000)
        let message = refusal { _ = try DumpArchive.unpack(path, into: directory.url.appendingPathComponent("out")) }
        #expect(message?.contains("\(path) is damaged: databases/manager.sqlite has SHA-256") == true)
        #expect(message?.contains("its manifest says") == true)
    }

    @Test func aDamagedHeaderIsRefused() throws {
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory)
        let archive = try Data(contentsOf: URL(fileURLWithPath: path))
        let header = archive.range(of: Data("databases/node-token.sqlite\0".utf8))!.lowerBound
        try flip(path, at: header + 2)
        let message = refusal { _ = try DumpArchive.unpack(path, into: directory.url.appendingPathComponent("out")) }
        #expect(message?.contains("is damaged: the header of entry 5") == true)
        #expect(message?.contains("wrong checksum") == true)
    }

    @Test(arguments: [100, 2000, 9000])
    func aTruncatedDumpIsRefused(_ cut: Int) throws {
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory)
        let archive = try Data(contentsOf: URL(fileURLWithPath: path))
        try archive.prefix(archive.count - cut).write(to: URL(fileURLWithPath: path))
        let message = refusal { _ = try DumpArchive.unpack(path, into: directory.url.appendingPathComponent("out")) }
        #expect(message?.contains("\(path) is truncated: it ends in") == true)
    }

    @Test func aMissingFileIsRefused() throws {
        let directory = try Directory()
        let (path, manifest) = try writeDump(in: directory)
        // The same manifest, but the archive without the node's database.
        var files = [(DumpManifest.topologyPath, directory.path("topology-source.json"))]
        files += ["sequencer", "manager"].map {
            (DumpManifest.databasePath(of: $0), directory.path("\($0)-source.sqlite"))
        }
        try DumpArchive.write(manifest, files: files.map { (path: $0.0, source: $0.1) }, to: path)
        let message = refusal { _ = try DumpArchive.unpack(path, into: directory.url.appendingPathComponent("out")) }
        #expect(message == "error: \(path) is damaged: it lacks databases/node-token.sqlite, which its manifest lists")
    }

    @Test func filesThatAreNotDumpsAreRefused() throws {
        let directory = try Directory()
        let text = directory.path("devnet.yaml")
        try "threads: [{name: token}]\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(refusal { _ = try DumpArchive.manifest(of: text) }?.contains("is not a tar archive") == true)
        #expect(refusal { _ = try DumpArchive.manifest(of: text) }?.contains("not a devnet dump") == true)
        let random = directory.path("random")
        try bytes(4096, seed: 1).write(to: URL(fileURLWithPath: random))
        #expect(refusal { _ = try DumpArchive.manifest(of: random) }?.contains("not a devnet dump") == true)
        #expect(
            refusal { _ = try DumpArchive.manifest(of: directory.path("nothing")) }?.contains("does not exist") == true)
        // A tar archive, but not of a dump.
        let other = directory.path("other.tar")
        let writer = try TarWriter(path: other)
        try writer.add("notes.txt", data: Data("hello".utf8))
        try writer.finish()
        #expect(
            refusal { _ = try DumpArchive.manifest(of: other) }
                == "error: \(other) is not a devnet dump: its first entry is notes.txt, not manifest.json")
        // A manifest that is not a dump's.
        let foreign = directory.path("foreign.tar")
        let second = try TarWriter(path: foreign)
        try second.add("manifest.json", data: Data(#"{"name": "snap-1", "version": 1}"#.utf8))
        try second.finish()
        #expect(refusal { _ = try DumpArchive.manifest(of: foreign) }?.contains("is not a devnet dump") == true)
    }

    @Test func theTopologyMovesToTheBasePortAskedFor() throws {
        let moved = try topology().moved(toBasePort: 30000, metricsPort: 31000)
        #expect(
            moved.processes.map(\.endpoints.api) == [
                "tcp://127.0.0.1:30000", "tcp://127.0.0.1:30003", "tcp://127.0.0.1:30006",
            ])
        #expect(moved.processes[2].endpoints.events == "tcp://127.0.0.1:30008")
        #expect(moved.processes[1].endpoints.metrics == "http://127.0.0.1:31001/metrics")
        #expect(moved.processes.map(\.name) == topology().processes.map(\.name))
        #expect(moved.processes.map(\.thread) == topology().processes.map(\.thread))
        #expect(topology(basePort: 14100).basePort == 14100)
        #expect(
            try topology().moved(toBasePort: 30000, metricsPort: nil).processes.allSatisfy {
                $0.endpoints.metrics == nil
            })
        #expect(
            refusal { _ = try topology().moved(toBasePort: 65530, metricsPort: nil) }?.contains("leaves no room")
                == true)
        #expect(
            refusal { _ = try topology().moved(toBasePort: 30000, metricsPort: 30003) }?.contains("does not fit")
                == true)
    }

    @Test func aDatabaseThatRecordsAnEndpointIsFound() throws {
        let directory = try Directory()
        let clean = directory.path("clean.sqlite")
        var data = bytes(50_000, seed: 5)
        data.append(Data("tcp://127.0.0.1:99999 http://example/ tcp://127.0.0.1:2710".utf8))
        try data.write(to: URL(fileURLWithPath: clean))
        #expect(try Orchestrator.firstEndpoint(of: topology(), in: clean) == nil)
        let recording = directory.path("recording.sqlite")
        data.append(Data("\0tcp://127.0.0.1:27104\0".utf8))
        data.append(bytes(1000, seed: 6))
        try data.write(to: URL(fileURLWithPath: recording))
        #expect(try Orchestrator.firstEndpoint(of: topology(), in: recording) == "tcp://127.0.0.1:27104")
    }

    @Test func loadingIntoADataDirectoryWithADevnetIsRefusedBeforeReadingTheDump() async throws {
        let directory = try Directory()
        let (path, _) = try writeDump(in: directory)
        let data = directory.url.appendingPathComponent("data")
        try FileManager.default.createDirectory(
            at: data.appendingPathComponent("manager"), withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: data.appendingPathComponent("manager/state.sqlite").path, contents: Data())
        do {
            _ = try await Orchestrator(dataDirectory: data.path).load(.init(file: path))
            Issue.record("loaded into a data directory with a devnet")
        } catch let error as OrchestratorError {
            #expect(error.message.contains("\(data.path) already holds a devnet (it has manager/state.sqlite)"))
        }
        // A damaged dump into an empty directory leaves nothing behind.
        let empty = directory.url.appendingPathComponent("empty")
        let archive = try Data(contentsOf: URL(fileURLWithPath: path))
        try flip(path, at: archive.range(of: Data("databases/node-token.sqlite\0".utf8))!.lowerBound + 512 + 10)
        do {
            _ = try await Orchestrator(dataDirectory: empty.path).load(.init(file: path))
            Issue.record("loaded a damaged dump")
        } catch let error as OrchestratorError {
            #expect(error.message.contains("is damaged"))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: empty.path)
        #expect(left == [])
    }
}
