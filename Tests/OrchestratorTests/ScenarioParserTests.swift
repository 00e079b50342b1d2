import DevnetProtocol
import Foundation
import Testing

@testable import Orchestrator

@Suite("scenario files")
struct ScenarioParserTests {
    private func parse(_ text: String) throws -> Scenario {
        try Scenario.parse(text, file: "s.yaml", base: .builtIn)
    }

    private func failure(_ text: String) throws -> ConfigError {
        do {
            _ = try parse(text)
        } catch let error as ConfigError {
            return error
        }
        Issue.record("expected a ConfigError for:\n\(text)")
        throw CancellationError()
    }

    @Test func everyShippedScenarioIsValid() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Scenarios").standardizedFileURL
        let files = try ScenarioRunner.files([directory.path])
        #expect(files.count >= 7)
        for file in files {
            let scenario = try Scenario.load(path: file, base: .builtIn)
            #expect(!scenario.steps.isEmpty, "\(file)")
            #expect(scenario.config.faultHooks)
        }
    }

    @Test func topologyOverridesApplyOnTopOfTheBase() throws {
        let scenario = try parse(
            """
            seed: 9
            topology:
              sequencer: {block_mode: on_demand}
              threads:
                - {name: dice, contract: counter, max_sub_block: 16}
            steps:
              - mine: 2
              - sleep: 250ms
            """)
        #expect(scenario.config.seed == 9)
        #expect(scenario.config.blockMode == .onDemand)
        #expect(scenario.config.threads.map(\.name) == ["dice"])
        #expect(scenario.config.threads.first?.maxSubBlock == 16)
        #expect(scenario.name == "s")
        guard case .mine(2) = scenario.steps[0].action, case let .sleep(length) = scenario.steps[1].action else {
            Issue.record("unexpected steps \(scenario.steps)")
            return
        }
        #expect(length == .milliseconds(250))
        #expect(scenario.steps[1].line == 8)
    }

    @Test func anUnknownThreadIsNamedWithItsLine() throws {
        let error = try failure(
            """
            steps:
              - send: {thread: tokn, entrypoint: mint, args: [alice, 1], from: alice}
            """)
        #expect(error.line == 2)
        #expect(error.key == "steps[0].send.thread")
        #expect(error.message.contains("unknown thread 'tokn'"))
        #expect(error.message.contains("Did you mean 'token'?"))
    }

    @Test func anUnknownAccountIsNamed() throws {
        let error = try failure(
            """
            steps:
              - mark: start
              - transfer: {from: alice, to: bobby, amount: 5}
            """)
        #expect(error.line == 3)
        #expect(error.key == "steps[1].transfer.to")
        #expect(error.message.contains("unknown account 'bobby'"))
    }

    @Test func anUnknownEntrypointOrBadArgumentsAreNamed() throws {
        let unknown = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: burn, args: [1], from: alice}
            """)
        #expect(unknown.line == 2)
        #expect(unknown.key == "steps[0].send.entrypoint")
        #expect(unknown.message.contains("burn"))
        let count = try failure(
            """
            steps:
              - send: {thread: counter, entrypoint: increment, from: alice}
            """)
        #expect(count.message.contains("takes 1 argument"))
        let view = try failure(
            """
            steps:
              - expect:
                  call: {thread: token, entrypoint: mint, args: [alice, 1]}
                  equals: 1
            """)
        #expect(view.message.contains("not a view"))
    }

    @Test func anUnknownNodeOrProcessIsNamed() throws {
        let node = try failure(
            """
            steps:
              - pause: node-tokens
            """)
        #expect(node.line == 2)
        #expect(node.message.contains("unknown node 'node-tokens'"))
        let process = try failure(
            """
            steps:
              - kill: managr
            """)
        #expect(process.message.contains("Did you mean 'manager'?"))
    }

    @Test func attachedNodesAndThreadsCanBeUsedByLaterStepsOnly() throws {
        let before = try failure(
            """
            steps:
              - send: {thread: dice, entrypoint: increment, args: [1], from: alice}
              - attach: {thread: dice, contract: counter}
            """)
        #expect(before.message.contains("unknown thread 'dice'"))
        let scenario = try parse(
            """
            steps:
              - attach: {thread: dice, contract: counter}
              - attach: {thread: token}
              - send: {thread: dice, entrypoint: increment, args: [1], from: prover-dice-2}
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, node: node-token-2}
              - pause: node-token-2
            """)
        guard case let .attach(_, node) = scenario.steps[1].action else {
            Issue.record("expected an attach step")
            return
        }
        #expect(node == "node-token-2")
        let wrongNode = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, node: node-counter}
            """)
        #expect(wrongNode.message.contains("node-counter runs thread counter, not token"))
    }

    @Test func namesAndMarksMustComeFromEarlierSteps() throws {
        let name = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, as: m}
              - wait: {settled: [m, n]}
            """)
        #expect(name.key == "steps[1].wait.settled[1]")
        #expect(name.message.contains("no earlier step is named 'n'"))
        let mark = try failure(
            """
            steps:
              - expect: {balance: bob, since: start, change: 0}
            """)
        #expect(mark.message.contains("no mark 'start'"))
        let twice = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, as: m}
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, as: m}
            """)
        #expect(twice.message.contains("already taken"))
    }

    @Test func aStepDoesOneThingAndExpectationsCheckOneThing() throws {
        let two = try failure(
            """
            steps:
              - mine: 1
                sleep: 1s
            """)
        #expect(two.message.contains("does one thing"))
        let stray = try failure(
            """
            steps:
              - expect: {balance: bob, equals: 1, reason: X}
            """)
        #expect(stray.key == "steps[0].expect.reason")
        let fault = try failure(
            """
            steps:
              - tamper: {node: node-token, fault: bad_prof}
            """)
        #expect(fault.message.contains("Did you mean 'bad_proof'?"))
        let duration = try failure(
            """
            steps:
              - sleep: soon
            """)
        #expect(duration.message.contains("not a duration"))
    }

    @Test func aBadBaseKeyInTheTopologyIsNamedWithItsPath() throws {
        let error = try failure(
            """
            topology:
              threads:
                - {name: token, proof_system: snark}
            steps:
              - mine: 1
            """)
        #expect(error.key == "topology.threads[0].proof_system")
        #expect(error.line == 3)
    }

    @Test func junitEscapesAndCountsSkippedSteps() throws {
        var result = ScenarioResult(file: "a.yaml", name: "a <b>", totalSteps: 3)
        result.steps = [
            StepResult(index: 1, line: 2, summary: "mark x", passed: true, durationMs: 1, failure: nil),
            StepResult(index: 2, line: 3, summary: "expect \"y\"", passed: false, durationMs: 2, failure: "saw 1 & 2"),
            StepResult(index: 3, line: 4, summary: "mine", passed: false, durationMs: 0, failure: nil, skipped: true),
        ]
        result.failure = "step 2: saw 1 & 2"
        let xml = ScenarioReport.junit([result])
        #expect(xml.contains("name=\"a &lt;b&gt;\""))
        #expect(xml.contains("failures=\"1\""))
        #expect(xml.contains("skipped=\"1\""))
        #expect(xml.contains("<failure message=\"saw 1 &amp; 2\">"))
        #expect(xml.contains("expect &quot;y&quot;"))
        #expect(xml.contains("tests=\"3\""))
        #expect(xml.contains("<skipped message="))
    }
}

extension ScenarioParserTests {
    @Test func aMisspeltAccountInArgumentsGetsAHint() throws {
        let error = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: transfer, args: [bobb, 3], from: alice}
            """)
        #expect(error.message.contains("'bobb' is not an account name; did you mean 'bob'?"))
    }
}

extension ScenarioParserTests {
    @Test func contradictoryOrUselessKeysAreRefused() throws {
        let rejectedName = try failure(
            """
            steps:
              - transfer: {from: alice, to: bob, amount: 1, max_fee: 1, rejected: FEE_TOO_LOW, as: t}
            """)
        #expect(rejectedName.key == "steps[0].transfer.as")
        let twoChecks = try failure(
            """
            steps:
              - expect: {fees_paid: alice, equals: 1, at_least: 1}
            """)
        #expect(twoChecks.message.contains("give one of equals, at_least, at_most"))
        let bothWaits = try failure(
            """
            steps:
              - send: {thread: token, entrypoint: mint, args: [bob, 1], from: bob, as: m}
              - wait: {settled: [m], final: [m]}
            """)
        #expect(bothWaits.message.contains("not both"))
    }

    @Test func namedArgumentsMayUseAccountNames() throws {
        let scenario = try parse(
            """
            steps:
              - send: {thread: token, entrypoint: transfer, args: [to=bob, amount=3], from: alice}
            """)
        #expect(scenario.steps.count == 1)
    }
}
