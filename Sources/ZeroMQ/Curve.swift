import CZeroMQ
public import Foundation

/// A CurveZMQ key: 32 bytes, written as 40 characters of Z85 (ZeroMQ's base-85) in files and
/// configuration.
///
/// The same type holds public and secret keys; which one it is depends on where it is used.
public struct CurveKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's 32 bytes.
    public let bytes: Data

    /// A key from its 32 bytes.
    ///
    /// - Throws: ``CurveKeyError`` when there are not exactly 32 bytes.
    public init(bytes: Data) throws(CurveKeyError) {
        guard bytes.count == 32 else {
            throw CurveKeyError("a CURVE key is 32 bytes; this one has \(bytes.count)")
        }
        self.bytes = Data(bytes)
    }

    /// A key from its 40-character Z85 text, or from 64 hexadecimal digits.
    ///
    /// - Throws: ``CurveKeyError`` saying what is wrong with the text.
    public init(text: String) throws(CurveKeyError) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = Self.hexBytes(text) {
            self.bytes = bytes
            return
        }
        guard text.utf8.count == 40 else {
            throw CurveKeyError(
                "a CURVE key is 40 characters of Z85 (or 64 hex digits); '\(Self.abbreviate(text))' has \(text.count)")
        }
        var decoded = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&decoded, text) != nil else {
            throw CurveKeyError("'\(Self.abbreviate(text))' is not Z85 text (ZeroMQ's base-85)")
        }
        bytes = Data(decoded)
    }

    /// The key as 40 characters of Z85, as libzmq's `*_KEY` options and pyzmq take it.
    public var z85: String {
        var text = [CChar](repeating: 0, count: 41)
        _ = bytes.withUnsafeBytes { raw in
            zmq_z85_encode(&text, raw.bindMemory(to: UInt8.self).baseAddress, 32)
        }
        return String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The key as 64 lowercase hexadecimal digits.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The Z85 text: a public key is meant to be shown. Never print a secret key by accident:
    /// ``CurveKeyPair`` leaves its secret out of its own description.
    public var description: String { z85 }

    private static func hexBytes(_ text: String) -> Data? {
        var bytes = Data(capacity: 32)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    private static func abbreviate(_ text: String) -> String {
        text.count > 12 ? "\(text.prefix(6))…\(text.suffix(4))" : text
    }
}

/// A key that could not be read, and why.
public struct CurveKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// A CURVE secret key and the public key that goes with it.
public struct CurveKeyPair: Sendable, Equatable, CustomStringConvertible {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    /// The pair of a secret key: its public key is derived with libzmq's `zmq_curve_public`
    /// (X25519 of the secret with the base point). Any 32 bytes are a valid secret key.
    ///
    /// - Throws: ``CurveUnavailableError`` when libzmq was built without CURVE.
    public init(secretKey: CurveKey) throws(CurveUnavailableError) {
        try Curve.requireAvailable()
        var publicText = [CChar](repeating: 0, count: 41)
        let rc = zmq_curve_public(&publicText, secretKey.z85)
        guard rc == 0,
            let publicKey = try? CurveKey(
                text: String(decoding: publicText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        else {
            throw CurveUnavailableError(detail: "zmq_curve_public failed: \(ZMQError.last("zmq_curve_public").reason)")
        }
        self.secretKey = secretKey
        self.publicKey = publicKey
    }

    /// A new random pair from libzmq's `zmq_curve_keypair`.
    public static func generate() throws(CurveUnavailableError) -> CurveKeyPair {
        try Curve.requireAvailable()
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0,
            let secret = try? CurveKey(
                text: String(decoding: secretText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        else {
            throw CurveUnavailableError(
                detail: "zmq_curve_keypair failed: \(ZMQError.last("zmq_curve_keypair").reason)")
        }
        return try CurveKeyPair(secretKey: secret)
    }

    /// The public key only: a secret key never ends up in a log line through string interpolation.
    public var description: String { "CurveKeyPair(public: \(publicKey.z85))" }
}

/// libzmq was built without CURVE (it needs libsodium or its own TweetNaCl).
public struct CurveUnavailableError: Error, Sendable, CustomStringConvertible {
    /// What failed, when something more specific than `zmq_has("curve")` did.
    public var detail: String?

    public var description: String {
        let what = detail.map { " (\($0))" } ?? ""
        return
            "CURVE security is not available in the linked libzmq \(ZMQContext.libraryVersion)\(what): zmq_has(\"curve\") is false. Install a libzmq built with libsodium (Debian and Ubuntu's libzmq5 is), or run the devnet with `security: none` on loopback only."
    }
}

/// What a CURVE client needs: its own key pair and the public key of the server it talks to.
public struct CurveClientKeys: Sendable, Equatable {
    public var client: CurveKeyPair
    /// The server's public key; the handshake fails unless the server holds its secret.
    public var serverKey: CurveKey

    public init(client: CurveKeyPair, serverKey: CurveKey) {
        self.client = client
        self.serverKey = serverKey
    }
}

/// Which clients a CURVE server socket lets in: those whose public key is listed.
///
/// The socket loop's ZAP handler (ZeroMQ RFC 27, `inproc://zeromq.zap.01`) answers every
/// handshake against this list; any other key is refused, and the refusal is counted and
/// reported with the peer's address.
public struct CurveAccess: Sendable, Equatable {
    /// Names the endpoint in refusal messages, e.g. `sequencer admin endpoint`.
    public var label: String
    /// The client public keys let in, each with a name for the logs (e.g. `orchestrator`).
    public var allowed: [CurveKey: String]

    public init(label: String, allowed: [CurveKey: String]) {
        self.label = label
        self.allowed = allowed
    }
}

/// The CURVE side a socket takes, if any (``SocketOptions/curve``).
public enum CurveSecurity: Sendable, Equatable {
    /// Encrypts every connection with the server's key and lets in only the listed clients.
    case server(CurveKeyPair, CurveAccess)
    /// Encrypts with the client's key, and talks only to the server holding `serverKey`'s secret.
    case client(CurveClientKeys)
}

/// CURVE helpers.
public enum Curve {
    /// Whether the linked libzmq supports CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }

    /// Throws a clear error unless CURVE is available.
    public static func requireAvailable() throws(CurveUnavailableError) {
        guard isAvailable else { throw CurveUnavailableError() }
    }
}
