import DevnetAPI
import DevnetProtocol
import Foundation
import Testing
import ZKCore

@testable import Orchestrator

/// Contracts read from `.tasm` files named in a config, with constants set from it.
@Suite("contract files")
struct ContractFileTests {
    /// A directory with `devnet.yaml` and the given files; returns the config's path.
    private func directory(config: String, files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("contracts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let path = dir.appendingPathComponent("devnet.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let reader = """
        .const OTHER = 0
        .entry read() view -> felt
            set    r8, 1
            set    r9, 2
            set    r10, 3
            set    r11, 4
            set    r12, OTHER
            xload  r13, r12, r8
            ret    r13
        """

    @Test func aContractFileRunsWithConstantsResolvedFromThreadNames() throws {
        let path = try directory(
            config: """
                threads:
                  - name: token
                  - name: reader
                    contract: contracts/reader.tasm
                    constants: {OTHER: token}
                """, files: ["contracts/reader.tasm": Self.reader])
        let config = try DevnetConfig.load(path: path)
        let spec = try #require(config.threads.last)
        #expect(spec.contract == "reader")
        #expect(spec.source == Self.reader)
        #expect(spec.constants == ["OTHER": ThreadId.derive(name: "token").value])
        // The daemons build the same program from the topology.
        let programs = try TopologyPrograms(topology: config.topology())
        let program = try #require(programs.entry(for: "reader")?.program)
        #expect(program.abi.entrypoints.map(\.name) == ["read"])
        #expect(program.instructions.contains { $0.b == ThreadId.derive(name: "token") })
    }

    @Test func anAssemblyErrorNamesTheContractFileLineAndColumn() throws {
        let path = try directory(
            config: "threads:\n  - name: broken\n    contract: broken.tasm\n",
            files: ["broken.tasm": ".entry f()\n    set r0, 1\n    frobnicate r1\n    ret\n"])
        do {
            _ = try DevnetConfig.load(path: path)
            Issue.record("expected an assembly error")
        } catch let error as ConfigError {
            #expect(error.file.hasSuffix("broken.tasm"))
            #expect(error.line == 3)
            #expect(error.column > 0)
            #expect(error.key == "threads[0].contract")
            #expect(error.message.contains("frobnicate"), "\(error.message)")
        }
    }

    @Test func aMissingFileAndABadConstantAreNamed() throws {
        let missing = try directory(config: "threads:\n  - name: x\n    contract: nowhere.tasm\n", files: [:])
        do {
            _ = try DevnetConfig.load(path: missing)
            Issue.record("expected an error")
        } catch let error as ConfigError {
            #expect(error.line == 3 && error.key == "threads[0].contract")
            #expect(error.message.contains("nowhere.tasm"))
        }
        let bad = try directory(
            config: "threads:\n  - name: r\n    contract: r.tasm\n    constants: {OTHER: tokn}\n",
            files: ["r.tasm": Self.reader])
        do {
            _ = try DevnetConfig.load(path: bad)
            Issue.record("expected an error")
        } catch let error as ConfigError {
            #expect(error.key == "threads[0].constants.OTHER")
            #expect(error.message.contains("'tokn'") && error.message.contains("threads: r"), "\(error.message)")
        }
    }
}
