import DevnetProtocol
import Foundation
import Testing

@testable import DevnetClient
@testable import Orchestrator

@Suite("network faults: the rules, who applies them, the scenario steps")
struct NetworkFaultTests {
    typealias Rule = NetworkFaults.Rule

    @Test func aRuleDropsDelaysOrPasses() {
        func action(_ rule: Rule, random: Double = 0.5, jitter: Int = 0) -> NetworkFaults.Action {
            NetworkFaults.action(for: rule, random: random, jitter: jitter)
        }
        #expect(action(Rule(partitioned: true)) == .drop)
        #expect(action(Rule(drop: 0.3), random: 0.29) == .drop)
        #expect(action(Rule(drop: 0.3), random: 0.31) == .pass)
        #expect(action(Rule(delayMs: 40, jitterMs: 20), jitter: 7) == .delay(.milliseconds(47)))
        #expect(action(Rule()) == .pass)
    }

    @Test func rulesAddUpPerPeerAndDirectionAndHealLiftsThem() {
        let faults = NetworkFaults()
        #expect(faults.action(endpoint: "tcp://a", direction: .out) == .pass)
        faults.add(Rule(delayMs: 10), endpoint: "tcp://a", direction: .out)
        faults.add(Rule(partitioned: true), endpoint: "tcp://a", direction: .out)
        faults.add(Rule(drop: 1), endpoint: "tcp://b", direction: .back)
        #expect(faults.action(endpoint: "tcp://a", direction: .out) == .drop)
        #expect(faults.action(endpoint: "tcp://a", direction: .back) == .pass)
        #expect(faults.action(endpoint: "tcp://b", direction: .back) == .drop)
        #expect(faults.active.map(\.endpoint) == ["tcp://a", "tcp://b"])
        #expect(faults.active.first?.rule == Rule(partitioned: true, delayMs: 10))
        #expect(faults.heal(endpoint: "tcp://a") == 1)
        #expect(faults.action(endpoint: "tcp://a", direction: .out) == .pass)
        #expect(faults.heal() == 1)
        #expect(faults.active.isEmpty)
    }

    private var topology: Topology {
        let config = try! DevnetConfig.parse("threads:\n  - name: token\n  - name: counter\n", file: "t.yaml")
        return config.topology()
    }

    /// The rule goes to the process that sends the requests: out for its requests, back for the
    /// replies it gets.
    @Test func theFaultIsSetOnTheConnectionThatCarriesIt() throws {
        let both = try NetworkFault(.partition, between: "node-token", "sequencer").requests(in: topology)
        #expect(both.map(\.process) == ["node-token", "node-token"])
        #expect(both.map(\.request.peer) == ["sequencer", "sequencer"])
        #expect(both.map(\.request.direction) == ["out", "back"])
        #expect(both.allSatisfy { $0.request.partition == true })

        // From the manager to the sequencer: the replies to the sequencer's requests.
        let replies = try NetworkFault(.drop(0.25), between: "manager", "sequencer", oneWay: true).requests(
            in: topology)
        #expect(replies.count == 1)
        #expect(replies[0].process == "sequencer" && replies[0].request.peer == "manager")
        #expect(replies[0].request.direction == "back" && replies[0].request.drop == 0.25)

        let delay = try NetworkFault(.delay(ms: 30, jitterMs: 5), between: "node-counter", "manager", oneWay: true)
            .requests(in: topology)
        #expect(delay.map(\.request) == [NetFaultRequest(peer: "manager", direction: "out", delayMs: 30, jitterMs: 5)])
    }

    @Test func processesThatExchangeNothingOrDoNotExistAreRefused() {
        #expect {
            try NetworkFault(.partition, between: "node-token", "node-counter").requests(in: topology)
        } throws: { ($0 as? OrchestratorError)?.message.contains("exchange no messages") == true }
        #expect {
            try NetworkFault(.partition, between: "node-token", "nobody").requests(in: topology)
        } throws: { ($0 as? OrchestratorError)?.message.contains("no process 'nobody'") == true }
        #expect(throws: OrchestratorError.self) {
            try NetworkFault(.partition, between: "manager", "manager").requests(in: topology)
        }
    }

    @Test func theRequestNamesWhatIsWrongWithIt() {
        #expect(throws: WireError.self) {
            try NetFaultRequest(peer: "m", direction: "sideways", partition: true).validate()
        }
        #expect(throws: WireError.self) { try NetFaultRequest(peer: "m", direction: "out", drop: 1.5).validate() }
        #expect(throws: WireError.self) { try NetFaultRequest(peer: "m", direction: "out", delayMs: -1).validate() }
        #expect(throws: WireError.self) { try NetFaultRequest(peer: "m", direction: "out").validate() }
        #expect(throws: Never.self) { try NetFaultRequest(peer: "m", direction: "back", drop: 0.5).validate() }
    }

    private func parse(_ steps: String) throws -> Scenario {
        try Scenario.parse(
            "topology:\n  threads:\n    - name: token\n    - name: counter\nsteps:\n\(steps)", file: "s.yaml",
            base: .builtIn)
    }

    private func failure(_ steps: String) -> ConfigError? {
        do {
            _ = try parse(steps)
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    @Test func scenarioStepsParse() throws {
        let scenario = try parse(
            """
              - partition: {between: [node-token, sequencer], one_way: true}
              - delay: {between: [sequencer, manager], ms: 20, jitter_ms: 5}
              - drop: {between: [node-counter, manager], fraction: 0.4}
              - heal: {between: [node-token, sequencer]}
              - heal: all
            """)
        let actions = scenario.steps.map(\.summary)
        #expect(
            actions == [
                "partition node-token → sequencer", "delay 20 ms ± up to 5 ms sequencer ↔ manager",
                "drop 40 % node-counter ↔ manager", "heal the network between node-token and sequencer",
                "heal every network fault",
            ])
    }

    @Test func badScenarioStepsNameTheLineAndKey() {
        let unknown = failure("  - partition: {between: [node-token, nowhere]}\n")
        #expect(unknown?.key == "steps[0].partition.between[1]" && unknown?.line == 6)
        let unrelated = failure("  - partition: {between: [node-token, node-counter]}\n")
        #expect(unrelated?.message.contains("exchange no messages") == true)
        #expect(failure("  - drop: {between: [sequencer, manager], fraction: 2}\n")?.key == "steps[0].drop.fraction")
        #expect(failure("  - delay: {between: [sequencer, manager]}\n")?.message.contains("needs ms") == true)
        #expect(
            failure("  - delay: {between: [sequencer, manager], ms: 5, fraction: 1}\n")?.key
                == "steps[0].delay.fraction")
        #expect(failure("  - heal: {between: [sequencer]}\n")?.key == "steps[0].heal.between")
    }
}
