import DevnetAPI
import DevnetProtocol
import Foundation
import Testing
import ZKCore

@testable import Orchestrator

/// `os_version` in devnet.yaml, scenarios and `devnet attach`, and the static checks of OS
/// version 2 when a contract is loaded or checked.
@Suite("OS versions in the configuration")
struct OSVersionConfigTests {
    /// `jz` to a label past the last instruction (line 3): it assembles, and fails version 2's checks.
    static let badJump = """
        .entry main() -> felt
            set r0, 1
            jz r0, done
            ret r0
        done:
        """

    /// A directory holding `files`; returns its path.
    private func directory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("os-version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    private func failure(_ text: String, file: String = "devnet.yaml") throws -> ConfigError {
        do {
            _ = try DevnetConfig.parse(text, file: file)
        } catch let error as ConfigError {
            return error
        }
        Issue.record("expected a ConfigError for:\n\(text)")
        throw CancellationError()
    }

    @Test func osVersionIsReadAndPinnedInTheTopology() throws {
        let config = try DevnetConfig.parse(
            """
            threads:
              - name: token
                os_version: 2
              - name: counter
              - name: karts
                os_version: 1
            """, file: "devnet.yaml")
        #expect(config.threads.map(\.osVersion) == [2, nil, 1])
        #expect(config.threads.map(\.pinnedOSVersion) == [2, 1, 1])
        let specs = config.topology().processes.compactMap(\.thread)
        #expect(specs.map(\.pinnedOSVersion) == [2, 1, 1])
        // A topology written before the key existed reads as the proof system's default.
        let old = Data(#"{"name": "t", "contract": "counter", "proof_system": "reexec"}"#.utf8)
        #expect(try WireCodec.makeDecoder().decode(ThreadSpec.self, from: old).pinnedOSVersion == 1)
    }

    @Test func anUnsupportedVersionNamesTheKey() throws {
        let error = try failure("threads:\n  - name: token\n    os_version: 3\n")
        #expect(error.key == "threads[0].os_version")
        #expect(error.line == 3 && error.column == 17)
        #expect(error.message == "OS version 3 is not supported (supported: 1, 2)")
    }

    @Test func starkProvesVersion2Only() throws {
        #expect(
            DevnetConfig.osVersionProblem(1, proofSystem: "stark")
                == "proof system 'stark' proves OS version 2 only; set os_version to 2 or leave it out")
        #expect(DevnetConfig.osVersionProblem(2, proofSystem: "stark") == nil)
        #expect(DevnetConfig.osVersionProblem(1, proofSystem: "reexec") == nil)
        #expect(ThreadSpec(name: "t", contract: "counter", proofSystem: "stark").pinnedOSVersion == 2)
        // Once the daemons run stark, the configuration says so at the key.
        if DevnetConfig.knownProofSystems.contains("stark") {
            let error = try failure("threads:\n  - name: token\n    proof_system: stark\n    os_version: 1\n")
            #expect(error.key == "threads[0].os_version" && error.line == 4)
            #expect(error.description.hasPrefix("devnet.yaml:4:17: threads[0].os_version: proof system 'stark'"))
            let config = try DevnetConfig.parse(
                "threads:\n  - name: token\n    proof_system: stark\n", file: "devnet.yaml")
            #expect(config.threads.first?.pinnedOSVersion == 2)
        }
    }

    @Test func aVersion2ContractThatFailsTheStaticChecksIsRefusedAtItsLine() throws {
        let dir = try directory(["bad.tasm": Self.badJump])
        let config = dir.appendingPathComponent("devnet.yaml").path
        let yaml = "threads:\n  - name: bad\n    contract: bad.tasm\n    os_version: 2\n"
        do {
            _ = try DevnetConfig.parse(yaml, file: config)
            Issue.record("expected the static checks to refuse the contract")
        } catch let error as ConfigError {
            #expect(error.file.hasSuffix("bad.tasm"))
            #expect(error.line == 3)
            #expect(error.key == "threads[0].contract")
            #expect(
                error.message
                    == "the program fails the static checks of OS version 2: instruction 1 (line 3): jz target 3 is outside the program (3 instructions)"
            )
        }
        // Version 1 has no static checks.
        let v1 = try DevnetConfig.parse("threads:\n  - name: bad\n    contract: bad.tasm\n", file: config)
        #expect(v1.threads.first?.pinnedOSVersion == 1)
        // Every shipped contract passes them.
        let shipped = try DevnetConfig.parse(
            """
            threads:
              - {name: token, os_version: 2}
              - {name: achievements, os_version: 2}
              - {name: karts, os_version: 2}
              - {name: counter, os_version: 2}
            """, file: config)
        #expect(shipped.threads.count == 4)
    }

    @Test func contractCheckReportsTheVersionsThatRefuseAProgram() throws {
        let dir = try directory(["bad.tasm": Self.badJump])
        let path = dir.appendingPathComponent("bad.tasm").path
        let report = try ContractReport.of(path: path, constants: [])
        #expect(report.hashes.keys.sorted() == ["1"])
        #expect(
            report.refused
                == ["2": "instruction 1 (line 3): jz target 3 is outside the program (3 instructions)"])
        #expect(
            report.text.contains(
                "OS 2 refuses it: instruction 1 (line 3): jz target 3 is outside the program (3 instructions)"))
        do {
            _ = try ContractReport.of(path: path, constants: [], osVersion: 2)
            Issue.record("expected --os-version 2 to refuse the contract")
        } catch let error as OrchestratorError {
            #expect(error.exitCode == 2)
            #expect(error.message.contains("bad.tasm:3:1: the program fails the static checks of OS version 2"))
        }
        let market = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/market/market.tasm").standardizedFileURL.path
        let good = try ContractReport.of(path: market, constants: [], osVersion: 2)
        #expect(good.hashes.keys.sorted() == ["1", "2"] && good.refused.isEmpty)
    }

    @Test func attachPinsTheVersionOfANewThread() throws {
        let topology = try DevnetConfig.parse("threads:\n  - name: token\n    os_version: 2\n", file: "devnet.yaml")
            .topology()
        let dice = try Orchestrator.plannedNode(
            .init(thread: "dice", contract: "counter", osVersion: 2), topology: topology)
        #expect(dice.pinnedOSVersion == 2)
        #expect(try Orchestrator.plannedNode(.init(thread: "token"), topology: topology).pinnedOSVersion == 2)
        do {
            _ = try Orchestrator.plannedNode(.init(thread: "token", osVersion: 1), topology: topology)
            Issue.record("expected a refusal")
        } catch let error as OrchestratorError {
            #expect(error.message == "error: thread 'token' is pinned to OS version 2, not 1")
        }
        do {
            _ = try Orchestrator.plannedNode(
                .init(thread: "dice", contract: "counter", osVersion: 5), topology: topology)
            Issue.record("expected a refusal")
        } catch let error as OrchestratorError {
            #expect(error.message.hasPrefix("error: --os-version: OS version 5 is not supported"))
        }
        let dir = try directory(["bad.tasm": Self.badJump])
        do {
            _ = try Orchestrator.plannedNode(
                .init(thread: "dice", contract: dir.appendingPathComponent("bad.tasm").path, osVersion: 2),
                topology: topology)
            Issue.record("expected the static checks to refuse the contract")
        } catch let error as OrchestratorError {
            #expect(error.message.contains("instruction 1 (line 3): jz target 3"), "\(error.message)")
        }
    }
}
