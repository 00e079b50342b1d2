public import DevnetAPI
import Foundation

/// A scenario file, read and checked: the devnet to start and the steps to run on it.
///
/// The format is documented in `docs/scenarios.md`.
public struct Scenario: Sendable {
    /// The file it came from.
    public var file: String
    public var name: String
    public var description: String?
    /// The devnet to start: the base configuration with the scenario's seed and topology on top.
    public var config: DevnetConfig
    /// Whether the scenario set `base_port` itself (otherwise the runner picks free ports).
    public var fixedPorts: Bool
    public var steps: [Step]

    /// This scenario with every thread, those it starts with and those it attaches, run by
    /// `proofSystem` (`devnet scenario run --proof-system`). A `stark` thread runs OS version 2.
    public func switched(to proofSystem: String) -> Scenario {
        var copy = self
        let osVersion: UInt32? = proofSystem == "stark" ? 2 : nil
        for index in copy.config.threads.indices {
            copy.config.threads[index].proofSystem = proofSystem
            if let osVersion { copy.config.threads[index].osVersion = osVersion }
        }
        for index in copy.steps.indices {
            if case .attach(var options, let node) = copy.steps[index].action {
                options.proofSystem = proofSystem
                if let osVersion { options.osVersion = osVersion }
                copy.steps[index].action = .attach(options, node: node)
            }
        }
        return copy
    }

    /// One step, with where it is in the file.
    public struct Step: Sendable {
        public var line: Int
        public var action: Action
        /// How long the step may take; nil for the runner's default.
        public var timeout: Duration?
        /// What the step does, in a few words, for progress lines and reports.
        public var summary: String
    }

    public enum Action: Sendable {
        case send(Send)
        case transfer(Transfer)
        case waitSettled([String], allowFailed: Bool)
        case waitSequence(thread: String, sequence: UInt64)
        case mine(Int)
        case sleep(Duration)
        case attach(Orchestrator.AttachOptions, node: String)
        /// A new program for `thread` (a resolved `.tasm` path or a shipped contract's name), with
        /// `NAME=VALUE` constants; `label` names its L2 receipt.
        case upgrade(thread: String, contract: String, constants: [String], label: String)
        case kill(String)
        case restart(String)
        case pause(String)
        case resume(String)
        case tamper(node: String, fault: Tamper, label: String)
        /// Makes the manager apply the next sub-block of a thread twice (`sabotage`): a test-only
        /// fault for checking that the invariants catch a broken devnet.
        case applyTwice(thread: String)
        /// Reads a number and keeps it under a name for later expectations (`capture`).
        case capture(name: String, source: CaptureSource)
        case mark(String)
        /// Saves the whole devnet under a name (`devnet snapshot NAME`).
        case snapshot(String)
        /// Puts the whole devnet back to a snapshot an earlier step saved (`devnet revert NAME`).
        case revert(String)
        /// A network fault between two processes (`partition`, `delay`, `drop`).
        case networkFault(NetworkFault)
        /// Lifts the network faults between two processes, or all of them.
        case heal(between: [String])
        case expect(Expectation, eventually: Bool)
        /// Many transactions, followed until final (`load`).
        case load(Load)
        /// Load phases that run at the same time (`parallel`).
        case parallel([Load])
        /// Invariant checks over the load phases so far (`invariants`).
        case invariants(InvariantsCheck)
    }

    /// The invariants to check, over which load phases and threads.
    public struct InvariantsCheck: Sendable {
        public var checks: Set<Invariant>
        /// Only the load phases that ran after this mark; nil for every phase so far.
        public var since: String?
        /// The threads whose sequences to check; nil for the threads the phases loaded.
        public var threads: [String]?
        /// The load phases it covers, in order.
        public var phases: [String]
    }

    /// A thread transaction, signed by `from`.
    public struct Send: Sendable {
        public var thread: String
        public var node: String
        public var from: String
        public var entrypoint: String
        public var arguments: [String]
        public var label: String?
    }

    /// A fee-token transfer on L2.
    public struct Transfer: Sendable {
        public var from: String
        public var to: String
        public var amount: UInt64
        public var maxFee: UInt64?
        public var label: String?
        /// When set, the sequencer must reject the transaction at admission with this code.
        public var rejected: String?
        /// Wait for the receipt (not with on-demand blocks, unless someone mines).
        public var wait: Bool
    }

    public enum Expectation: Sendable {
        /// The L2 receipt of a named transfer, thread transaction (the sub-block that carried it)
        /// or spoiled submission.
        case receipt(name: String, status: String?, reason: String?)
        /// Where a named thread transaction is: one of `statuses` (pending, sealed, settled, failed).
        case txStatus(name: String, statuses: [String], reason: String?)
        case balance(account: String, check: AmountCheck)
        case feesPaid(account: String, since: String?, check: NumberCheck)
        case call(thread: String, entrypoint: String, arguments: [String], caller: String?, equals: [String])
        case thread(name: String, sequence: NumberCheck?, root: String?)
        case counts(since: String?, accepted: UInt64?, reverted: UInt64?, rejected: UInt64?)
        /// How many of a node's submissions reverted (with this reason, if given).
        case reverts(node: String, reason: String?, check: NumberCheck)
    }

    /// A balance, or its change since a mark, as a sum of numbers, captured values and (for a
    /// change) `fees_paid` since the mark.
    public enum AmountCheck: Sendable {
        case equals(AmountExpression)
        case change(since: String, by: AmountExpression)
    }

    /// Where a `capture` step reads its value.
    public enum CaptureSource: Sendable {
        case balance(account: String)
        case feesPaid(account: String)
        /// A view returning one number (a `bool` reads as 0 or 1).
        case call(thread: String, entrypoint: String, arguments: [String], caller: String?)
    }

    public enum NumberCheck: Sendable, CustomStringConvertible {
        case equals(UInt64)
        case atLeast(UInt64)
        case atMost(UInt64)

        func holds(_ value: UInt64) -> Bool {
            switch self {
            case let .equals(n): value == n
            case let .atLeast(n): value >= n
            case let .atMost(n): value <= n
            }
        }

        public var description: String {
            switch self {
            case let .equals(n): "\(n)"
            case let .atLeast(n): "at least \(n)"
            case let .atMost(n): "at most \(n)"
            }
        }
    }
}
