/// What the VM does under one thread OS version: the step bound, the `hash` instruction, `xload`
/// of an unregistered thread and the checks a program must pass before a thread may run it.
///
/// A thread's OS version is pinned when it registers, so every node and verifier runs its
/// transactions under the same rules. Version 1 is the original VM; version 2 is the provable OS
/// (docs/protocol.md, "OS versions"):
///
/// | | version 1 | version 2 |
/// | --- | --- | --- |
/// | steps per transaction | 10,000 | 1,024 |
/// | `hash` | SHA-256 | Poseidon2 over Goldilocks, width 12 |
/// | `xload` of an unregistered thread | fails `UNKNOWN_THREAD` | reads 0 |
/// | static checks at registration | none | ``StaticChecks`` |
public struct VMRules: Sendable, Hashable {
    /// The hash behind the `hash` instruction.
    public enum KeyHash: String, Sendable, Hashable {
        /// ``StorageKey/derive(_:)``: SHA-256 with a domain prefix.
        case sha256
        /// One Poseidon2 permutation (``VMRules/hash(_:)``).
        case poseidon2
    }

    /// The OS version these rules belong to.
    public var version: UInt32
    /// Every executed instruction is one step; reaching the bound fails the transaction with
    /// `OUT_OF_STEPS`.
    public var maxSteps: Int
    public var keyHash: KeyHash
    /// Whether `xload` of a thread that is not registered reads 0 instead of failing with
    /// `UNKNOWN_THREAD`. Either way the read is recorded as ``CrossRead/unregistered(thread:key:)``,
    /// so the manager checks the claim that no such thread exists.
    public var unregisteredThreadReadsZero: Bool
    /// Whether a program must pass ``StaticChecks`` before a thread of this version runs it.
    public var staticChecks: Bool

    public init(
        version: UInt32, maxSteps: Int, keyHash: KeyHash, unregisteredThreadReadsZero: Bool, staticChecks: Bool
    ) {
        self.version = version
        self.maxSteps = maxSteps
        self.keyHash = keyHash
        self.unregisteredThreadReadsZero = unregisteredThreadReadsZero
        self.staticChecks = staticChecks
    }

    /// OS version 1: 10,000 steps, SHA-256 keys, `xload` of an unknown thread fails, no static checks.
    public static let v1 = VMRules(
        version: 1, maxSteps: 10_000, keyHash: .sha256, unregisteredThreadReadsZero: false, staticChecks: false)

    /// OS version 2, the provable OS: 1,024 steps, Poseidon2 keys, `xload` of an unregistered
    /// thread reads 0, and programs pass ``StaticChecks`` when they are registered.
    public static let v2 = VMRules(
        version: 2, maxSteps: 1_024, keyHash: .poseidon2, unregisteredThreadReadsZero: true, staticChecks: true)

    /// Every version's rules, oldest first.
    public static let all: [VMRules] = [.v1, .v2]

    /// The rules of OS version `version`, or nil when this VM does not know it.
    public static func forVersion(_ version: UInt32) -> VMRules? {
        all.first { $0.version == version }
    }

    /// The step bound as ``ExecutionLimits``.
    public var limits: ExecutionLimits {
        get { ExecutionLimits(maxSteps: maxSteps) }
        set { maxSteps = newValue.maxSteps }
    }

    /// The key the `hash` instruction derives from `words` (1 to 8 of them).
    ///
    /// Version 1: ``StorageKey/derive(_:)`` (SHA-256). Version 2: the sponge state is
    /// `[w₀ … wₙ₋₁, 0 …]` in the rate (elements 0–7), n in element 8, the domain tag
    /// ``KeyDerivation/poseidon2Domain`` in element 9 and 0 in elements 10 and 11; one
    /// ``Poseidon2`` permutation; the key is elements 0–3.
    public func hash(_ words: some Collection<Felt>) -> StorageKey {
        precondition((1...KeyDerivation.maxWords).contains(words.count), "hash takes 1 to 8 words")
        switch keyHash {
        case .sha256: return StorageKey(KeyDerivation.hash(words))
        case .poseidon2: return StorageKey(KeyDerivation.poseidon2(words))
        }
    }

    /// Checks `program` against these rules' static checks; does nothing when the version has none.
    ///
    /// - Throws: the first ``StaticCheckError``, naming the instruction and its source line.
    public func check(_ program: Program) throws(StaticCheckError) {
        guard staticChecks else { return }
        try StaticChecks.check(program)
    }

    /// Every static check `program` fails under these rules (none when the version has no checks).
    public func problems(in program: Program) -> [StaticCheckError] {
        staticChecks ? StaticChecks.problems(in: program) : []
    }
}
