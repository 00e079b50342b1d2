import DevnetProtocol
import Foundation
import Testing

@testable import Orchestrator

@Suite("scenario steps snapshot and revert")
struct ScenarioSnapshotStepTests {
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

    @Test func snapshotAndRevertStepsAreRead() throws {
        let scenario = try parse(
            """
            steps:
              - send: {thread: token, entrypoint: mint, args: [alice, 5], from: alice, as: mint}
              - wait: {settled: [mint]}
              - snapshot: minted
              - send: {thread: token, entrypoint: transfer, args: [bob, 2], from: alice, as: pay}
              - revert: minted
              - expect: {receipt: mint, status: accepted}
              - revert: minted
            """)
        guard case .snapshot("minted") = scenario.steps[2].action, case .revert("minted") = scenario.steps[4].action,
            case .revert("minted") = scenario.steps[6].action
        else {
            Issue.record("unexpected steps \(scenario.steps.map(\.summary))")
            return
        }
        #expect(scenario.steps[2].summary == "snapshot minted")
        #expect(scenario.steps[4].summary == "revert to minted")
        #expect(scenario.steps[4].line == 6)
    }

    @Test func aRevertBeforeAnySnapshotOfThatNameIsNamedWithFileLineAndKey() throws {
        let none = try failure(
            """
            steps:
              - mine: 1
              - revert: start
            """)
        #expect(none.file == "s.yaml")
        #expect(none.line == 3)
        #expect(none.key == "steps[1].revert")
        #expect(none.message.contains("no snapshot 'start' before this step; take one with a `snapshot: start` step"))
        #expect(none.description.contains("s.yaml:3:"))
        let later = try failure(
            """
            steps:
              - snapshot: a
              - revert: b
              - snapshot: b
            """)
        #expect(later.key == "steps[1].revert")
        #expect(later.message.contains("no snapshot 'b' before this step (snapshots: a)"))
    }

    @Test func aSnapshotNameIsTakenOnceAndIsAPlainName() throws {
        let twice = try failure(
            """
            steps:
              - snapshot: a
              - snapshot: a
            """)
        #expect(twice.line == 3)
        #expect(twice.message.contains("snapshot 'a' is taken twice"))
        let bad = try failure(
            """
            steps:
              - snapshot: ../a
            """)
        #expect(bad.key == "steps[0].snapshot")
        #expect(bad.message.contains("cannot name a snapshot"))
    }

    @Test func namesGivenAfterTheSnapshotAreGoneAfterTheRevert() throws {
        let error = try failure(
            """
            steps:
              - snapshot: before
              - send: {thread: token, entrypoint: mint, args: [alice, 5], from: alice, as: late}
              - revert: before
              - wait: {settled: [late]}
            """)
        #expect(error.line == 5)
        #expect(error.key == "steps[3].wait.settled[0]")
        #expect(error.message.contains("no earlier step is named 'late'"))
        // ... and can be given again.
        _ = try parse(
            """
            steps:
              - snapshot: before
              - send: {thread: token, entrypoint: mint, args: [alice, 5], from: alice, as: late}
              - revert: before
              - send: {thread: token, entrypoint: mint, args: [alice, 6], from: alice, as: late}
              - wait: {settled: [late]}
            """)
    }

    @Test func aRevertPastAnAttachIsRefused() throws {
        let error = try failure(
            """
            steps:
              - snapshot: before
              - attach: {thread: dice, contract: counter}
              - revert: before
            """)
        #expect(error.key == "steps[2].revert")
        #expect(error.message.contains("taken before node-dice was attached"))
        // A snapshot taken after the attach is fine.
        _ = try parse(
            """
            steps:
              - attach: {thread: dice, contract: counter}
              - snapshot: after
              - send: {thread: dice, entrypoint: increment, args: [1], from: alice}
              - revert: after
            """)
    }

    @Test func aRevertPastAnUpgradeChecksLaterStepsAgainstTheOldProgram() throws {
        let error = try failure(
            """
            steps:
              - snapshot: v1
              - upgrade: {thread: counter, contract: Scenarios/contracts/counter-v2.tasm}
              - revert: v1
              - send: {thread: counter, entrypoint: decrement, args: [1], from: alice}
            """.replacingOccurrences(of: "Scenarios/", with: Self.repository + "/Scenarios/"))
        #expect(error.key == "steps[3].send.entrypoint")
        #expect(error.message.contains("decrement"))
    }

    @Test func aPausedNodeMustBeResumedBeforeARevertButNotBeforeASnapshot() throws {
        let error = try failure(
            """
            steps:
              - pause: node-token
              - snapshot: s
              - revert: s
            """)
        #expect(error.key == "steps[2].revert")
        #expect(error.line == 4)
        #expect(error.message.contains("node-token is paused (line 2)"))
        #expect(error.message.contains("resume: node-token"))
        _ = try parse(
            """
            steps:
              - pause: node-token
              - snapshot: s
              - resume: node-token
              - pause: node-counter
              - restart: node-counter
              - revert: s
              - pause: node-token
            """)
    }

    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path
}
