import Synchronization

/// Network faults a process applies to its own connections, set through the fault hooks.
///
/// A process's outgoing connections are ``RequestClient``s, one per peer endpoint. For each
/// peer, one rule can hold what happens to the requests it sends (`out`) and one to the replies
/// that come back (`back`): both dropped (a partition), a fraction dropped, or each held for a
/// delay (with jitter). A dropped message is never sent (or never delivered), so the request
/// times out exactly as on a broken network. Nothing here needs privileges: the faults live in
/// the transport of the processes involved.
public final class NetworkFaults: Sendable {
    /// The process-wide table every ``RequestClient`` consults.
    public static let shared = NetworkFaults()

    /// The rules for one peer endpoint and direction.
    public struct Rule: Codable, Sendable, Equatable {
        /// Drop every message (a partition).
        public var partitioned: Bool
        /// Hold each message this long before it goes on.
        public var delayMs: Int
        /// Plus a uniformly random 0…`jitterMs` more.
        public var jitterMs: Int
        /// Drop this fraction of messages, at random.
        public var drop: Double

        public init(partitioned: Bool = false, delayMs: Int = 0, jitterMs: Int = 0, drop: Double = 0) {
            self.partitioned = partitioned
            self.delayMs = delayMs
            self.jitterMs = jitterMs
            self.drop = drop
        }

        /// This rule with `other`'s settings added: a partition stays, delays and drops take the
        /// larger value.
        func merged(with other: Rule) -> Rule {
            Rule(
                partitioned: partitioned || other.partitioned, delayMs: max(delayMs, other.delayMs),
                jitterMs: max(jitterMs, other.jitterMs), drop: max(drop, other.drop))
        }

        var isEmpty: Bool { self == Rule() }
    }

    /// Which messages of a connection a rule applies to.
    public enum Direction: String, Codable, Sendable, CaseIterable {
        /// The requests this process sends to the peer.
        case out
        /// The replies the peer sends back to this process.
        case back
    }

    /// What happens to one message.
    public enum Action: Equatable, Sendable {
        case pass
        case drop
        case delay(Duration)
    }

    private struct Key: Hashable {
        var endpoint: String
        var direction: Direction
    }

    private let rules = Mutex<[Key: Rule]>([:])

    public init() {}

    /// Adds `rule` to what applies to `direction` messages of the connection to `endpoint`.
    public func add(_ rule: Rule, endpoint: String, direction: Direction) {
        rules.withLock { rules in
            let key = Key(endpoint: endpoint, direction: direction)
            rules[key] = (rules[key] ?? Rule()).merged(with: rule)
        }
    }

    /// Removes every rule for `endpoint`, or every rule when it is nil. Returns how many there were.
    @discardableResult
    public func heal(endpoint: String? = nil) -> Int {
        rules.withLock { rules in
            let healed = rules.keys.filter { endpoint == nil || $0.endpoint == endpoint }
            for key in healed { rules[key] = nil }
            return healed.count
        }
    }

    /// The rules in force, by peer endpoint and direction.
    public var active: [(endpoint: String, direction: Direction, rule: Rule)] {
        rules.withLock { rules in
            rules.map { ($0.key.endpoint, $0.key.direction, $0.value) }.sorted {
                ($0.endpoint, $0.direction.rawValue) < ($1.endpoint, $1.direction.rawValue)
            }
        }
    }

    /// What to do with the next `direction` message of the connection to `endpoint`.
    public func action(endpoint: String, direction: Direction) -> Action {
        guard let rule = rules.withLock({ $0[Key(endpoint: endpoint, direction: direction)] }) else { return .pass }
        return Self.action(for: rule, random: Double.random(in: 0..<1), jitter: Int.random(in: 0...rule.jitterMs))
    }

    /// The action for one message under `rule`, given a uniform draw in 0..<1 and a jitter draw.
    static func action(for rule: Rule, random: Double, jitter: Int) -> Action {
        if rule.partitioned || random < rule.drop { return .drop }
        let delay = rule.delayMs + jitter
        return delay > 0 ? .delay(.milliseconds(delay)) : .pass
    }
}
