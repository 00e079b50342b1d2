public import ThreadVM

/// Thread identity: ids are derived from names.
public enum ThreadId {
    /// The id of the thread called `name`: the first 8 bytes (big-endian) of
    /// `SHA-256(str("zkthreads/thread-id/v1") ‖ str(name))`, reduced mod p, where `str` is a u32
    /// big-endian byte length followed by the UTF-8 bytes.
    public static func derive(name: String) -> Felt {
        var writer = CanonicalWriter(domain: "zkthreads/thread-id/v1")
        writer.string(name)
        return Digest.quadWords(Digest.sha256(writer.bytes))[0]
    }
}

/// Per-user replay protection inside a thread.
///
/// The next expected nonce of every user lives in the thread's own state at
/// `split(SHA-256(str("zkthreads/thread-nonce/v1") ‖ be64 address words))`. The domain differs
/// from the VM's `hash` instruction (`zkthreads/key/v1`), so no contract can read or write a nonce.
public enum ThreadNonce {
    public static func key(of address: Address) -> StorageKey {
        var writer = CanonicalWriter(domain: "zkthreads/thread-nonce/v1")
        writer.quad(address.words)
        let words = Digest.quadWords(Digest.sha256(writer.bytes))
        return StorageKey(words[0], words[1], words[2], words[3])
    }
}

/// A user's signed call of a thread contract.
///
/// The signature is Ed25519 over ``signingBytes``: the domain `zkthreads/thread-tx/v1`, the
/// thread id, the sender's public key, the nonce, the entrypoint and the calldata. The caller the
/// VM sees is the address of ``senderPublicKey``.
public struct ThreadTransaction: Hashable, Sendable, Codable {
    public var threadId: Felt
    /// The signer's 32-byte Ed25519 public key.
    public var senderPublicKey: HexBytes
    /// Must equal the sender's next nonce in this thread's state.
    public var nonce: UInt64
    public var entrypoint: String
    public var calldata: [Felt]
    /// 64-byte Ed25519 signature over ``signingBytes``.
    public var signature: HexBytes

    public init(
        threadId: Felt, senderPublicKey: HexBytes, nonce: UInt64, entrypoint: String, calldata: [Felt],
        signature: HexBytes = HexBytes([])
    ) {
        self.threadId = threadId
        self.senderPublicKey = senderPublicKey
        self.nonce = nonce
        self.entrypoint = entrypoint
        self.calldata = calldata
        self.signature = signature
    }

    /// Encodes `arguments` against `program`'s ABI (throwing ThreadVM's ``CalldataError`` naming
    /// the entrypoint and parameter) and signs the transaction as `signer`.
    public static func make(
        thread threadId: Felt, contract program: Program, entrypoint: String, arguments: [String],
        signer: DevAccount, nonce: UInt64
    ) throws(CalldataError) -> ThreadTransaction {
        let calldata = try program.abi.encodeCalldata(entrypoint: entrypoint, arguments: arguments)
        var tx = ThreadTransaction(
            threadId: threadId, senderPublicKey: signer.publicKey, nonce: nonce, entrypoint: entrypoint,
            calldata: calldata)
        tx.sign(with: signer)
        return tx
    }

    /// The address the VM sees as `caller`.
    public var caller: Address { Address(publicKeyBytes: senderPublicKey.bytes) }

    /// The VM's view of this transaction.
    public var vmTransaction: Transaction {
        Transaction(caller: caller, entrypoint: entrypoint, calldata: calldata)
    }

    /// The canonical bytes the signature covers.
    public var signingBytes: [UInt8] {
        var writer = CanonicalWriter(domain: "zkthreads/thread-tx/v1")
        writer.felt(threadId)
        writer.data(senderPublicKey.bytes)
        writer.u64(nonce)
        writer.string(entrypoint)
        writer.count(calldata.count)
        for word in calldata { writer.felt(word) }
        return writer.bytes
    }

    /// SHA-256 of ``signingBytes`` ‖ signature, 32 bytes.
    public var hashBytes: [UInt8] { Digest.sha256(signingBytes + signature.bytes) }

    /// SHA-256 hex of ``signingBytes`` ‖ signature.
    public var txHash: String { Hex.encode(hashBytes) }

    /// Signs as `signer`, also setting the sender to the signer's public key.
    public mutating func sign(with signer: DevAccount) {
        senderPublicKey = signer.publicKey
        signature = signer.sign(signingBytes)
    }

    public func verifySignature() -> Bool {
        Ed25519.verify(signature: signature.bytes, message: signingBytes, publicKey: senderPublicKey.bytes)
    }

    /// The node-side admission check: the transaction is for `thread`, correctly signed, carries
    /// the sender's next nonce, and its calldata fits the entrypoint. Nil when it may be included.
    ///
    /// - Parameter names: an optional address → account name lookup for the message.
    public func validate(
        thread: ThreadInfo, program: Program, expectedNonce: UInt64, checkSignature: Bool = true,
        names: (Address) -> String? = { _ in nil }
    ) -> ThreadTxRefusal? {
        let problem: (ThreadTxRefusal.Code, String)
        if threadId != thread.id {
            problem = (.wrongThread, "transaction is signed for thread \(threadId), not \(thread.name) (\(thread.id))")
        } else if checkSignature, !verifySignature() {
            problem = (.badSignature, "bad signature")
        } else if nonce != expectedNonce {
            problem = (.wrongNonce, "wrong nonce: expected \(expectedNonce), given \(nonce)")
        } else {
            do {
                try program.abi.validateCalldata(entrypoint: entrypoint, calldata: calldata)
                return nil
            } catch {
                problem = (.badCalldata, error.message)
            }
        }
        // Names are looked up only for a refusal: a lookup may be costly (prover keys are derived).
        let caller = caller
        let account = AccountLabel(address: caller, name: names(caller)).text
        return ThreadTxRefusal(
            code: problem.0, thread: thread.name, account: account, entrypoint: entrypoint,
            message: "\(thread.name).\(entrypoint) from \(account): \(problem.1)")
    }
}

/// A thread's name and id.
public struct ThreadInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var id: Felt

    public init(name: String, id: Felt) {
        self.name = name
        self.id = id
    }

    /// The thread called `name`, with its derived id.
    public init(name: String) { self.init(name: name, id: ThreadId.derive(name: name)) }

    public var description: String { "\(name) (\(id))" }
}

/// Why a thread node refuses a thread transaction before inclusion.
public struct ThreadTxRefusal: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        case wrongThread = "WRONG_THREAD"
        case badSignature = "BAD_SIGNATURE"
        case wrongNonce = "WRONG_NONCE"
        case badCalldata = "BAD_CALLDATA"
    }

    public var code: Code
    public var thread: String
    public var account: String
    public var entrypoint: String
    public var message: String

    public var description: String { "\(code.rawValue): \(message)" }
}

/// `name (0x…)` or just the address.
struct AccountLabel {
    var address: Address
    var name: String?
    var text: String { name.map { "\($0) (\(address.hex))" } ?? address.hex }
}
