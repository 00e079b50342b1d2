internal import Crypto
public import STARK
public import ThreadVM

/// A devnet account: an Ed25519 key pair derived from the devnet seed and a label.
public struct DevAccount: Sendable, CustomStringConvertible {
    /// `alice`, `sequencer`, `prover-token-1`, …
    public let name: String
    /// The 32-byte Ed25519 private key seed (the key's raw representation).
    public let privateKeyBytes: [UInt8]
    /// The 32-byte Ed25519 public key.
    public let publicKey: HexBytes
    /// The address the VM and the ledger use: `Address(publicKeyBytes:)`.
    public let address: Address
    private let key: Curve25519.Signing.PrivateKey

    /// The account whose private key is `privateKeyBytes` (32 bytes).
    public init(name: String, privateKeyBytes: [UInt8]) throws(AccountError) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKeyBytes) else {
            throw AccountError(
                code: .badKey, name: name,
                message: "the private key of '\(name)' must be 32 bytes, got \(privateKeyBytes.count)")
        }
        self.name = name
        self.privateKeyBytes = privateKeyBytes
        self.key = key
        let publicBytes = Array(key.publicKey.rawRepresentation)
        self.publicKey = HexBytes(publicBytes)
        self.address = Address(publicKeyBytes: publicBytes)
    }

    /// An Ed25519 signature (64 bytes) over `message`.
    public func sign(_ message: [UInt8]) -> HexBytes {
        // Signing with a valid key only fails on allocation failure inside BoringSSL.
        HexBytes(Array(try! key.signature(for: message)))
    }

    public var description: String { "\(name) (\(address))" }
}

/// The seeded accounts of a devnet.
///
/// Keys: `SHA-256("zkthreads/devnet-account/v1" ‖ u32 len ‖ label ‖ be64 seed)` is the Ed25519
/// private key seed. Same seed → same keys → same addresses.
public struct DevAccounts: Sendable {
    /// The user account names, in order.
    public static let userNames = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ]
    /// The fee account's name.
    public static let sequencerName = "sequencer"
    /// Prover accounts each thread has, `prover-<thread>-1` … `-4`, each funded with
    /// ``genesisBalance`` (at genesis, or when the thread is attached).
    public static let proversPerThread = 4
    /// Genesis balance of every user and prover account, in fee units.
    public static let genesisBalance: UInt64 = 1_000_000_000_000

    public let seed: UInt64
    /// The ten user accounts, `alice` … `judy`.
    public let users: [DevAccount]
    /// The fee account (genesis balance 0); every fee is paid to it.
    public let sequencer: DevAccount

    /// Derives every fixed account of `seed`.
    public static func derive(seed: UInt64) -> DevAccounts {
        DevAccounts(seed: seed)
    }

    private init(seed: UInt64) {
        self.seed = seed
        users = DevAccounts.userNames.map { DevAccounts.make(name: $0, seed: seed) }
        sequencer = DevAccounts.make(name: DevAccounts.sequencerName, seed: seed)
    }

    /// The prover account of a thread node, named `prover-<thread>-<index>`.
    public func prover(thread: String, index: Int) -> DevAccount {
        DevAccounts.make(name: "prover-\(thread)-\(index)", seed: seed)
    }

    /// The account called `name`: a user, `sequencer`, or `prover-<thread>-<index>`.
    public func account(named name: String) throws(AccountError) -> DevAccount {
        if let user = users.first(where: { $0.name == name }) { return user }
        if name == sequencer.name { return sequencer }
        if name.hasPrefix("prover-"), let dash = name.lastIndex(of: "-") {
            let thread = name[name.index(name.startIndex, offsetBy: 7)..<dash]
            if !thread.isEmpty, let index = Int(name[name.index(after: dash)...]), index >= 0 {
                return prover(thread: String(thread), index: index)
            }
        }
        throw AccountError(
            code: .unknownAccount, name: name,
            message: "unknown account '\(name)'; known accounts: "
                + (DevAccounts.userNames + [DevAccounts.sequencerName, "prover-<thread>-<index>"]).joined(
                    separator: ", "))
    }

    /// The name of the account at `address` among the users, the sequencer and the provers
    /// `prover-<thread>-1…proversPerThread` of `threads`.
    public func name(of address: Address, threads: [String] = [], proversPerThread: Int = 4) -> String? {
        account(at: address, threads: threads, proversPerThread: proversPerThread)?.name
    }

    /// The account at `address` among the users, the sequencer and the provers
    /// `prover-<thread>-1…proversPerThread` of `threads`.
    public func account(at address: Address, threads: [String] = [], proversPerThread: Int = 4) -> DevAccount? {
        if let user = users.first(where: { $0.address == address }) { return user }
        if sequencer.address == address { return sequencer }
        for thread in threads {
            for index in 0...max(0, proversPerThread) {
                let prover = prover(thread: thread, index: index)
                if prover.address == address { return prover }
            }
        }
        return nil
    }

    /// Genesis balances: every user and the provers `1…proversPerThread` of each of `threads`
    /// get ``genesisBalance``; the sequencer 0.
    public func genesisBalances(threads: [String] = [], proversPerThread: Int = 1) -> [Address: UInt64] {
        var balances: [Address: UInt64] = [sequencer.address: 0]
        for user in users { balances[user.address] = DevAccounts.genesisBalance }
        for thread in threads {
            for index in 1...max(1, proversPerThread) {
                balances[prover(thread: thread, index: index).address] = DevAccounts.genesisBalance
            }
        }
        return balances
    }

    /// The EcGFp5 Schnorr key of the account called `name`: the key OS version 2 thread
    /// transactions are signed with (L2 transactions keep Ed25519). Its 32-byte seed is
    /// `SHA-256(str("zkthreads/devnet-account-ecgfp5/v1") ‖ str(name) ‖ be64 seed)`, read by
    /// ``EcGFp5/SecretKey/init(seed:)``. Derived on demand: it costs a scalar multiplication.
    public func schnorrKey(of name: String) -> EcGFp5.SecretKey {
        var writer = CanonicalWriter(domain: "zkthreads/devnet-account-ecgfp5/v1")
        writer.string(name)
        writer.u64(seed)
        return EcGFp5.SecretKey(seed: Digest.sha256(writer.bytes))
    }

    private static func make(name: String, seed: UInt64) -> DevAccount {
        var writer = CanonicalWriter(domain: "zkthreads/devnet-account/v1")
        writer.string(name)
        writer.u64(seed)
        // 32 bytes always make a valid Ed25519 private key.
        return try! DevAccount(name: name, privateKeyBytes: Digest.sha256(writer.bytes))
    }
}

/// An account name that does not exist, or a malformed key.
public struct AccountError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case unknownAccount = "UNKNOWN_ACCOUNT"
        case badKey = "BAD_KEY"
    }

    public var code: Code
    public var name: String
    public var message: String
    public var description: String { message }
}

/// Ed25519 verification of a raw signature by a raw public key; false for malformed bytes.
enum Ed25519 {
    static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
