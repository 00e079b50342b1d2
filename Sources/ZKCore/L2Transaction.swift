public import ThreadVM

/// A thread registration: everything the manager's record of a new thread starts from.
public struct ThreadRegistration: Hashable, Sendable, Codable {
    /// The thread's name, e.g. `token`.
    public var name: String
    /// ``ThreadId/derive(name:)`` of ``name``.
    public var threadId: Felt
    /// The contract's name, e.g. `token` (informational; the program hash is what is pinned).
    public var contract: String
    public var programHash: ProgramHash
    public var osVersion: UInt32
    /// e.g. `reexec`.
    public var proofSystem: String
    /// The thread's initial key/value state.
    public var genesisState: [KeyValue]
    /// The program itself, in its canonical encoding (``Program/canonicalEncoding``, hex in JSON),
    /// published on L2 so that any node or verifier can fetch it from the manager. Optional: a
    /// registration without it must name a program the manager already has.
    public var program: HexBytes?

    public init(
        name: String, threadId: Felt? = nil, contract: String, programHash: ProgramHash,
        osVersion: UInt32 = OSVersion.current, proofSystem: String = ReexecProofSystem.name,
        genesisState: [KeyValue] = [], program: HexBytes? = nil
    ) {
        self.program = program
        self.name = name
        self.threadId = threadId ?? ThreadId.derive(name: name)
        self.contract = contract
        self.programHash = programHash
        self.osVersion = osVersion
        self.proofSystem = proofSystem
        self.genesisState = genesisState
    }
}

/// A new program for a registered thread, signed by the account that registered it. It takes
/// effect at a sub-block boundary: sub-blocks after it run the new program on the same state.
public struct ThreadUpgrade: Hashable, Sendable, Codable {
    public var threadId: Felt
    public var programHash: ProgramHash
    /// The new program's canonical encoding (hex in JSON), published as at registration; absent
    /// when the manager already has a program with that hash.
    public var program: HexBytes?
    /// A new OS version for the thread, when it changes; it must be supported and compatible.
    public var osVersion: UInt32?

    public init(threadId: Felt, programHash: ProgramHash, program: HexBytes? = nil, osVersion: UInt32? = nil) {
        self.threadId = threadId
        self.programHash = programHash
        self.program = program
        self.osVersion = osVersion == 0 ? nil : osVersion
    }

    private enum CodingKeys: String, CodingKey { case threadId, programHash, program, osVersion }

    /// `os_version` 0 reads as absent: both sign as "unchanged".
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            threadId: try c.decode(Felt.self, forKey: .threadId),
            programHash: try c.decode(ProgramHash.self, forKey: .programHash),
            program: try c.decodeIfPresent(HexBytes.self, forKey: .program),
            osVersion: try c.decodeIfPresent(UInt32.self, forKey: .osVersion))
    }
}

/// The thread OS versions this devnet knows. A thread's version is pinned when it registers and
/// decides the VM rules its sub-blocks run under (``rules(_:)``); see docs/protocol.md, "OS versions".
public enum OSVersion {
    /// The version a thread registers with unless it asks for another: ThreadVM v1, SHA-256
    /// keys, thread nonces, this state-root construction.
    public static let current: UInt32 = 1
    /// The provable OS: Poseidon2 keys, static checks at registration, 1,024 steps per
    /// transaction, `xload` of an unregistered thread reads 0. The `stark` proof system proves it.
    public static let provable: UInt32 = 2
    public static let supported: Set<UInt32> = [1, 2]

    /// The VM rules of `version`, or nil when it is not supported.
    public static func rules(_ version: UInt32) -> VMRules? {
        supported.contains(version) ? VMRules.forVersion(version) : nil
    }

    /// The version a thread with proof system `proofSystem` must run, when the proof system
    /// demands one: `stark` proves only the provable OS.
    public static func required(byProofSystem proofSystem: String) -> UInt32? {
        proofSystem == StarkProofSystem.name ? provable : nil
    }

    /// The version a thread registers with when its configuration does not name one.
    public static func defaultVersion(proofSystem: String) -> UInt32 {
        required(byProofSystem: proofSystem) ?? current
    }

    /// Whether a thread may move from `old` to `new` in an upgrade. Versions 1 and 2 derive
    /// storage keys with different hashes, so a thread's state would not be found under the
    /// other: only the same version is compatible.
    public static func compatible(_ old: UInt32, _ new: UInt32) -> Bool { old == new }
}

/// What an L2 transaction does.
///
/// JSON: `{"type": "transfer", "to": "0x…", "amount": 5}`,
/// `{"type": "register_thread", "registration": {…}}`, `{"type": "thread_update", "bundle": [...]}`.
public enum L2Payload: Hashable, Sendable, Codable {
    /// Moves fee tokens.
    case transfer(to: Address, amount: UInt64)
    /// Registers a thread with the manager.
    case registerThread(ThreadRegistration)
    /// One or more sub-blocks, applied atomically (all or none).
    case threadUpdate(bundle: [SubBlockSubmission])
    /// A new program for a thread, by the account that registered it.
    case upgradeThread(ThreadUpgrade)

    public var kind: String {
        switch self {
        case .transfer: "transfer"
        case .registerThread: "register_thread"
        case .threadUpdate: "thread_update"
        case .upgradeThread: "upgrade_thread"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, to, amount, registration, bundle, upgrade
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "transfer":
            self = .transfer(
                to: try container.decode(Address.self, forKey: .to),
                amount: try container.decode(UInt64.self, forKey: .amount))
        case "register_thread":
            self = .registerThread(try container.decode(ThreadRegistration.self, forKey: .registration))
        case "thread_update":
            self = .threadUpdate(bundle: try container.decode([SubBlockSubmission].self, forKey: .bundle))
        case "upgrade_thread":
            self = .upgradeThread(try container.decode(ThreadUpgrade.self, forKey: .upgrade))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription:
                    "unknown payload type '\(type)'; known: transfer, register_thread, thread_update, upgrade_thread")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .type)
        switch self {
        case .transfer(let to, let amount):
            try container.encode(to, forKey: .to)
            try container.encode(amount, forKey: .amount)
        case .registerThread(let registration):
            try container.encode(registration, forKey: .registration)
        case .threadUpdate(let bundle):
            try container.encode(bundle, forKey: .bundle)
        case .upgradeThread(let upgrade):
            try container.encode(upgrade, forKey: .upgrade)
        }
    }

    func encode(into writer: inout CanonicalWriter) {
        switch self {
        case .transfer(let to, let amount):
            writer.u8(1)
            writer.quad(to.words)
            writer.u64(amount)
        case .registerThread(let r):
            writer.u8(2)
            writer.string(r.name)
            writer.felt(r.threadId)
            writer.string(r.contract)
            writer.raw(r.programHash.bytes)
            writer.u32(r.osVersion)
            writer.string(r.proofSystem)
            writer.keyValues(r.genesisState)
            // Only when published, so registrations without a program sign as before.
            if let program = r.program {
                writer.u8(1)
                writer.data(program.bytes)
            }
        case .threadUpdate(let bundle):
            writer.u8(3)
            writer.count(bundle.count)
            for submission in bundle { submission.encode(into: &writer) }
        case .upgradeThread(let u):
            writer.u8(4)
            writer.felt(u.threadId)
            writer.raw(u.programHash.bytes)
            writer.u32(u.osVersion ?? 0)  // 0: unchanged
            writer.u8(u.program == nil ? 0 : 1)
            if let program = u.program { writer.data(program.bytes) }
        }
    }
}

/// A signed L2 transaction.
///
/// The signature is Ed25519 over ``signingBytes``: `str("zkthreads/l2-tx/v1")`, the sender's
/// public key, nonce, max fee and the payload in the canonical binary encoding (docs/protocol.md).
/// ``txHash`` is the SHA-256 hex of ``signingBytes`` ‖ signature.
public struct L2Transaction: Hashable, Sendable, Codable {
    /// The 32-byte Ed25519 public key of the sender.
    public var senderPublicKey: HexBytes
    /// Must equal the sender's next L2 nonce.
    public var nonce: UInt64
    /// The most the sender agrees to pay; the fee charged is ``FeeSchedule/cost(of:)``.
    public var maxFee: UInt64
    public var payload: L2Payload
    /// 64-byte Ed25519 signature over ``signingBytes``.
    public var signature: HexBytes

    public init(
        senderPublicKey: HexBytes, nonce: UInt64, maxFee: UInt64, payload: L2Payload,
        signature: HexBytes = HexBytes([])
    ) {
        self.senderPublicKey = senderPublicKey
        self.nonce = nonce
        self.maxFee = maxFee
        self.payload = payload
        self.signature = signature
    }

    /// A transaction signed by `signer`.
    public static func make(signer: DevAccount, nonce: UInt64, maxFee: UInt64, payload: L2Payload) -> L2Transaction {
        var tx = L2Transaction(senderPublicKey: signer.publicKey, nonce: nonce, maxFee: maxFee, payload: payload)
        tx.sign(with: signer)
        return tx
    }

    /// Signs a transaction whose max fee is exactly what `schedule` charges for it.
    public static func make(
        signer: DevAccount, nonce: UInt64, payload: L2Payload, payingExactly schedule: FeeSchedule
    ) -> L2Transaction {
        // The cost counts the encoded size, signature included: price a signed draft.
        let draft = make(signer: signer, nonce: nonce, maxFee: 0, payload: payload)
        return make(signer: signer, nonce: nonce, maxFee: schedule.cost(of: draft), payload: payload)
    }

    /// The sender's address (as in the ledger).
    public var sender: Address { Address(publicKeyBytes: senderPublicKey.bytes) }

    /// The canonical bytes the signature covers.
    public var signingBytes: [UInt8] {
        var writer = CanonicalWriter(domain: "zkthreads/l2-tx/v1")
        writer.data(senderPublicKey.bytes)
        writer.u64(nonce)
        writer.u64(maxFee)
        payload.encode(into: &writer)
        return writer.bytes
    }

    /// SHA-256 hex of ``signingBytes`` ‖ signature.
    public var txHash: String { Digest.sha256Hex(signingBytes + signature.bytes) }

    /// Bytes of ``signingBytes`` plus the signature: the size fees are charged on.
    public var encodedSize: Int { signingBytes.count + signature.count }

    /// Signs as `signer`, also setting the sender to the signer's public key.
    public mutating func sign(with signer: DevAccount) {
        senderPublicKey = signer.publicKey
        signature = signer.sign(signingBytes)
    }

    public func verifySignature() -> Bool {
        Ed25519.verify(signature: signature.bytes, message: signingBytes, publicKey: senderPublicKey.bytes)
    }
}
