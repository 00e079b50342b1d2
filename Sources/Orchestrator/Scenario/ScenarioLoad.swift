import Foundation
import ZKCore

/// SplitMix64 (Steele, Lea and Flood, 2014): the generator behind every random choice a scenario
/// makes, so that the same seed gives the same transactions on every run and every machine.
///
/// `next()` adds 0x9E3779B97F4A7C15 to the state and mixes it with two multiply–xorshift rounds.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The generator for one part of a scenario: its seed mixed with `stream` (a load step's
    /// index), so that two load steps draw different values from one seed.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (`bound` > 0), without modulo bias.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let value = next()
            if value < limit { return value % bound }
        }
    }
}

extension Scenario {
    /// A `load` step: many thread transactions from several senders, at a rate, each followed
    /// until it is final.
    public struct Load: Sendable {
        /// The phase's name (`as`), used by `invariants` and in the report.
        public var name: String
        public var thread: String
        public var node: String
        public var entrypoint: String
        public var arguments: [Generator]
        /// The accounts that send; each transaction's sender is drawn from them.
        public var senders: [String]
        /// How many transactions; with `duration`, `rate` × `duration`.
        public var count: Int
        /// Transactions per second over all senders; nil for as fast as the window allows.
        public var rate: Double?
        /// Each sender waits for its transaction to be final before it sends the next.
        public var waitEach: Bool
        /// Which load step of the scenario this is: mixed into the seed.
        public var stream: UInt64
        /// Faults at random moments while the load runs.
        public var nemesis: Nemesis?

        /// The ``thread`` of a load of L2 fee-token transfers (`transfer: {to, amount}`): its
        /// ``arguments`` are the recipient and the amount, and it goes to the sequencer.
        public static let l2 = "L2"

        /// Whether it sends L2 transfers rather than thread transactions.
        public var isTransfers: Bool { thread == Self.l2 }
    }

    /// Faults a load step injects at moments drawn from the seed while it runs.
    public struct Nemesis: Sendable, Equatable {
        public enum Fault: String, Sendable, CaseIterable {
            /// SIGKILL the target, restart it `every / 2` later.
            case killRestart = "kill_restart"
            /// Pause a node's submissions, resume them `every / 2` later.
            case pauseResume = "pause_resume"
            /// Cut a node off from the sequencer, heal it `every / 2` later.
            case partition
            /// Delay a node's messages to the sequencer by 20–50 ms, heal them `every / 2` later.
            case delay
            /// Drop 30 % of the messages between a node and the sequencer, heal `every / 2` later.
            case drop
            /// Spoil a node's next submission (a bad proof, a stale input or a wrong OS version,
            /// drawn from the seed): the manager reverts it and the node resubmits.
            case tamper
        }
        /// The mean time between two faults; each wait is drawn from 0.5 to 1.5 times it.
        public var every: Duration
        public var faults: [Fault]
        /// How often each fault is drawn relative to the others, one per fault (all 1 when the
        /// scenario gives a list).
        public var weights: [Int]
        public var targets: [String]

        public init(every: Duration, faults: [Fault], weights: [Int]? = nil, targets: [String]) {
            self.every = every
            self.faults = faults
            self.weights = weights ?? faults.map { _ in 1 }
            self.targets = targets
        }
    }

    /// One planned nemesis fault.
    public struct Strike: Sendable, Equatable {
        /// How long to wait before it, after the previous one ended.
        public var wait: Duration
        public var fault: Nemesis.Fault
        public var target: String
        /// A further draw for faults that come in kinds (`tamper`'s spoiling).
        public var variant: UInt64
    }

    /// One fault a nemesis injected, with when (seconds since its load started).
    public struct NemesisEvent: Sendable, Equatable, CustomStringConvertible {
        public var at: Double
        public var fault: Nemesis.Fault
        public var target: String
        /// How long it lasted, in seconds.
        public var lasted: Double
        /// Why it could not be applied, if it could not.
        public var problem: String?

        public var description: String {
            String(format: "%.2fs %@ %@ for %.2fs", at, fault.rawValue, target, lasted)
                + (problem.map { " (not applied: \($0))" } ?? "")
        }
    }

    /// One argument of a load's transactions: a fixed value or one drawn per transaction.
    public enum Generator: Sendable, Equatable, CustomStringConvertible {
        case fixed(String)
        case choice([String])
        /// An integer in `lo...hi`.
        case range(Int64, Int64)
        /// One of the devnet's users (alice … judy), by name.
        case anyAccount

        /// Every value it can give, or a few of them for a range: what the parser checks against the ABI.
        var samples: [String] {
            switch self {
            case let .fixed(value): [value]
            case let .choice(values): values
            case let .range(lo, hi): ["\(lo)", "\(hi)"]
            case .anyAccount: [DevAccounts.userNames[0]]
            }
        }

        mutating func draw(_ random: inout SplitMix64) -> String {
            switch self {
            case let .fixed(value):
                return value
            case let .choice(values):
                return values[Int(random.below(UInt64(values.count)))]
            case let .range(lo, hi):
                let width = UInt64(bitPattern: hi &- lo) &+ 1
                let offset = width == 0 ? random.next() : random.below(width)
                return "\(lo &+ Int64(bitPattern: offset))"
            case .anyAccount:
                return DevAccounts.userNames[Int(random.below(UInt64(DevAccounts.userNames.count)))]
            }
        }

        public var description: String {
            switch self {
            case let .fixed(value): value
            case let .choice(values): "{choice: [\(values.joined(separator: ", "))]}"
            case let .range(lo, hi): "{range: [\(lo), \(hi)]}"
            case .anyAccount: "{account: any}"
            }
        }
    }

    /// One transaction of a load, before it is signed: who sends it and its arguments (account
    /// names not yet resolved to addresses).
    public struct PlannedTransaction: Sendable, Equatable {
        public var sender: String
        public var arguments: [String]
    }
}

extension Scenario.Load {
    /// The load's transactions in the order they are released, drawn from `seed`: the same seed
    /// gives the same list. For each transaction the sender is drawn first, then each argument.
    public func plan(seed: UInt64) -> [Scenario.PlannedTransaction] {
        var random = SplitMix64(seed: seed, stream: stream)
        var generators = arguments
        return (0..<count).map { _ in
            let sender = senders.count == 1 ? senders[0] : senders[Int(random.below(UInt64(senders.count)))]
            let values = generators.indices.map { generators[$0].draw(&random) }
            return Scenario.PlannedTransaction(sender: sender, arguments: values)
        }
    }
}

extension Scenario.Nemesis {
    /// The faults in the order it injects them: (wait before it, fault, target), drawn from
    /// `seed` and the load's stream, so that a run's seed replays its faults.
    public func schedule(seed: UInt64, stream: UInt64, count: Int) -> [Scenario.Strike] {
        var random = SplitMix64(seed: seed, stream: stream | (1 << 40))
        let mean = Double(every.components.seconds) * 1000 + Double(every.components.attoseconds) / 1e15
        let total = UInt64(weights.reduce(0, +))
        return (0..<count).map { _ in
            let factor = 0.5 + Double(random.below(1001)) / 1000
            var draw = random.below(total)
            var index = 0
            while draw >= UInt64(weights[index]) {
                draw -= UInt64(weights[index])
                index += 1
            }
            let target = targets[Int(random.below(UInt64(targets.count)))]
            return Scenario.Strike(
                wait: .milliseconds(Int64(mean * factor)), fault: faults[index], target: target, variant: random.next())
        }
    }
}
