import DevnetProtocol
import Foundation
import Testing

@testable import Orchestrator

@Suite("devnet.yaml")
struct DevnetConfigTests {
    private func parse(_ text: String) throws -> DevnetConfig {
        try DevnetConfig.parse(text, file: "devnet.yaml")
    }

    /// Parses text that must fail and returns the error.
    private func failure(_ text: String) throws -> ConfigError {
        do {
            _ = try parse(text)
        } catch let error as ConfigError {
            return error
        }
        Issue.record("expected a ConfigError for:\n\(text)")
        throw CancellationError()
    }

    @Test func theShippedConfigIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../devnet.yaml"
        ).standardizedFileURL
        let config = try DevnetConfig.load(path: url.path)
        #expect(config.threads.map(\.contract).sorted() == DevnetConfig.knownContracts.sorted())
    }

    @Test func fullConfigIsRead() throws {
        let config = try parse(
            """
            seed: 7
            base_port: 30000
            sequencer:
              block_mode: interval
              block_interval_ms: 250
            threads:
              - name: cash
                contract: token
                proof_system: reexec
              - name: counter
            """)
        #expect(config.seed == 7)
        #expect(config.basePort == 30000)
        #expect(config.blockMode == .interval(milliseconds: 250))
        #expect(
            config.threads == [
                ThreadSpec(name: "cash", contract: "token", proofSystem: "reexec"),
                ThreadSpec(name: "counter", contract: "counter", proofSystem: "reexec"),
            ])
    }

    @Test func maxSubBlockIsOptionalAndChecked() throws {
        let config = try parse(
            """
            threads:
              - name: counter
                max_sub_block: 4096
              - name: token
            """)
        #expect(config.threads.map(\.maxSubBlock) == [4096, nil])
        #expect(config.topology().processes.compactMap(\.thread).map(\.maxSubBlock) == [4096, nil])
        let error = try failure("threads:\n  - name: counter\n    max_sub_block: 0\n")
        #expect(error.key == "threads[0].max_sub_block")
        #expect(error.line == 3)
        #expect(error.column == 20)
        #expect(error.message.contains("out of range"))
        // A topology written before the key existed still reads.
        let old = Data(#"{"name": "t", "contract": "counter", "proof_system": "reexec"}"#.utf8)
        #expect(try WireCodec.makeDecoder().decode(ThreadSpec.self, from: old).maxSubBlock == nil)
    }

    @Test func theSealingPolicyKeysReachTheTopology() throws {
        let config = try parse(
            """
            threads:
              - name: counter
                max_sub_block: 4096
                min_sub_block: 512
                seal_after_ms: 20
              - name: token
            """)
        let threads = config.topology().processes.compactMap(\.thread)
        #expect(threads.map(\.minSubBlock) == [512, nil])
        #expect(threads.map(\.sealAfterMs) == [20, nil])
        let above = try failure("threads:\n  - name: counter\n    max_sub_block: 16\n    min_sub_block: 17\n")
        #expect(above.key == "threads[0].min_sub_block")
        #expect(above.line == 4)
        #expect(above.message.contains("max_sub_block (16)"))
        let slow = try failure("threads:\n  - name: counter\n    seal_after_ms: 600000\n")
        #expect(slow.key == "threads[0].seal_after_ms")
        #expect(slow.message.contains("out of range"))
    }

    @Test func anEmptyFileGivesTheDefaults() throws {
        let config = try parse("")
        #expect(config == DevnetConfig())
    }

    @Test func unknownKeyNamesLineColumnAndSuggestion() throws {
        let error = try failure("seed: 1\nsequencer:\n  blok_mode: instant\n")
        #expect(error.line == 3)
        #expect(error.column == 3)
        #expect(error.key == "sequencer.blok_mode")
        #expect(error.description.hasPrefix("devnet.yaml:3:3: sequencer.blok_mode: unknown key"))
        #expect(error.message.contains("Did you mean 'block_mode'?"))
    }

    @Test func wrongTypeNamesTheKey() throws {
        let error = try failure("base_port: lots\n")
        #expect(error.key == "base_port")
        #expect(error.line == 1)
        #expect(error.column == 12)
        #expect(error.message.contains("whole number"))
        let list = try failure("threads: token\n")
        #expect(list.key == "threads")
        #expect(list.message.contains("list"))
    }

    @Test func unknownContractIsNamed() throws {
        let error = try failure("threads:\n  - name: x\n    contract: tokn\n")
        #expect(error.key == "threads[0].contract")
        #expect(error.line == 3)
        #expect(error.message.contains("'tokn'"))
        #expect(error.message.contains("Did you mean 'token'?"))
    }

    /// Only proof systems the daemons run are accepted, so a thread never starts with one that
    /// its node cannot prove with.
    @Test func aProofSystemTheDaemonsDoNotRunIsNamed() throws {
        let error = try failure("threads:\n  - name: counter\n    proof_system: plonk\n")
        #expect(error.key == "threads[0].proof_system")
        #expect(error.line == 3)
        #expect(error.message.contains("'plonk'") && error.message.contains("reexec"), "\(error.message)")
    }

    @Test func threadNamesAreUniqueAndPlain() throws {
        let twice = try failure("threads:\n  - name: token\n  - name: token\n")
        #expect(twice.line == 3)
        #expect(twice.message.contains("defined twice"))
        let odd = try failure("threads:\n  - name: \"a b\"\n    contract: token\n")
        #expect(odd.key == "threads[0].name")
    }

    @Test func missingContractIsNamedForUnknownThreadNames() throws {
        let error = try failure("threads:\n  - name: mine\n")
        #expect(error.key == "threads[0]")
        #expect(error.message.contains("missing key 'contract'"))
    }

    @Test func outOfRangePortIsRefused() throws {
        let error = try failure("base_port: 80\n")
        #expect(error.message.contains("out of range"))
    }

    @Test func intervalOnlyWithIntervalMode() throws {
        let error = try failure("sequencer:\n  block_mode: on_demand\n  block_interval_ms: 5\n")
        #expect(error.key == "sequencer.block_interval_ms")
    }

    @Test func syntaxErrorsHaveAPosition() throws {
        let error = try failure("seed: [1\n")
        #expect(error.line >= 1)
        #expect(error.message.contains("not valid YAML"))
    }

    @Test func missingFileIsNamed() {
        #expect {
            _ = try DevnetConfig.load(path: "/nonexistent/devnet.yaml")
        } throws: { error in
            (error as? ConfigError)?.description.hasPrefix("/nonexistent/devnet.yaml") == true
        }
    }

    @Test func topologyGivesEveryProcessThreePorts() throws {
        var config = try parse("threads:\n  - name: token\n  - name: counter\n")
        config = try config.merging(.init(seed: 5, basePort: 40000))
        let topology = config.topology()
        #expect(topology.seed == 5)
        #expect(topology.processes.map(\.name) == ["sequencer", "manager", "node-token", "node-counter"])
        #expect(topology.processes.map(\.role) == [.sequencer, .manager, .threadNode, .threadNode])
        let ports = topology.processes.flatMap { [$0.endpoints.api, $0.endpoints.admin, $0.endpoints.events] }
        #expect(Set(ports).count == 12)
        #expect(topology.processes[0].endpoints.api == "tcp://127.0.0.1:40000")
        #expect(topology.processes[3].endpoints.events == "tcp://127.0.0.1:40011")
    }

    @Test func portsMustFitTheRange() throws {
        let config = try parse("threads:\n  - name: token\n")
        #expect(throws: ConfigError.self) { try config.merging(.init(basePort: 65530)) }
        #expect(throws: ConfigError.self) { try config.merging(.init(basePort: 80)) }
        #expect(try config.merging(.init(basePort: 65535 - 12 + 1)).basePort == 65524)
    }

    @Test func hostMustBeAnIPv4Address() throws {
        #expect(try parse("host: localhost\n").host == "127.0.0.1")
        let error = try failure("host: \"*\"\n")
        #expect(error.key == "host")
    }

    @Test func tableAlignsColumns() {
        let text = Table.render(header: ["A", "LONGER"], rows: [["wide cell", "x"], ["b", "y"]])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "A          LONGER")
        #expect(lines[1] == "wide cell  x")
    }

    @Test func theLastCellOfAShortRowRunsOnAndWidensNoColumn() {
        let text = Table.render(
            header: ["A", "BB", "C"], rows: [["1", "22", "3"], ["4", "a long note that spans the rest"]])
        #expect(text.split(separator: "\n") == ["A  BB  C", "1  22  3", "4  a long note that spans the rest"])
    }
}
