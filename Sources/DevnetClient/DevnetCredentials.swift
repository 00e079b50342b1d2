public import Foundation
public import ZeroMQ

#if canImport(Glibc)
    import Glibc
#endif

/// The CurveZMQ keys of a secured devnet.
///
/// Three key pairs, generated at random (libzmq's `zmq_curve_keypair`) by the first `devnet up`
/// of a secured devnet and kept in its data directory:
///
/// | pair | who holds the secret | used for |
/// | --- | --- | --- |
/// | `server` | every daemon | the server side of every endpoint (api, admin, events) of every process |
/// | `member` | every daemon, joining nodes, clients | connecting to api and events endpoints, and daemons to each other |
/// | `admin` | the orchestrator only | connecting to anything, admin endpoints included: only this key gets past them |
///
/// Random rather than derived from the seed, because the seed is public (it names the accounts,
/// and the shipped configs say 42): keys derived from it would let anyone in.
///
/// Files, in `<data-dir>/credentials/`, both mode 0600, JSON with keys in Z85 (40 characters):
///
/// - `devnet.json`: what a member holds (``member``): `server_public_key`, `server_secret_key`,
///   `member_public_key`, `member_secret_key`, `admin_public_key`. Every daemon reads it; a node
///   joining from another host needs exactly this (`devnet credentials --json` prints it).
/// - `orchestrator.json`: `admin_public_key`, `admin_secret_key`.
public struct DevnetCredentials: Sendable, Equatable {
    /// The pair every endpoint of the devnet serves with.
    public var server: CurveKeyPair
    /// The pair daemons, joining nodes and clients connect with.
    public var member: CurveKeyPair
    /// The orchestrator's public key: the only one admin endpoints let in.
    public var adminPublicKey: CurveKey
    /// The orchestrator's secret key: held by the orchestrator only, nil elsewhere.
    public var adminSecretKey: CurveKey?

    public init(server: CurveKeyPair, member: CurveKeyPair, adminPublicKey: CurveKey, adminSecretKey: CurveKey? = nil) {
        self.server = server
        self.member = member
        self.adminPublicKey = adminPublicKey
        self.adminSecretKey = adminSecretKey
    }

    /// Three new random key pairs.
    ///
    /// - Throws: ``CurveUnavailableError`` when libzmq has no CURVE.
    public static func generate() throws -> DevnetCredentials {
        let admin = try CurveKeyPair.generate()
        return DevnetCredentials(
            server: try .generate(), member: try .generate(), adminPublicKey: admin.publicKey,
            adminSecretKey: admin.secretKey)
    }

    /// The orchestrator's pair, when these credentials hold its secret.
    public var admin: CurveKeyPair? {
        adminSecretKey.flatMap { try? CurveKeyPair(secretKey: $0) }
    }

    /// These credentials without the orchestrator's secret: what a member holds.
    public var memberView: DevnetCredentials {
        DevnetCredentials(server: server, member: member, adminPublicKey: adminPublicKey)
    }

    /// What a client connecting as a member uses.
    public var memberClient: CurveClientKeys { CurveClientKeys(client: member, serverKey: server.publicKey) }

    /// What the orchestrator connects with: the admin pair, or the member's when these
    /// credentials do not hold the admin secret.
    public var orchestratorClient: CurveClientKeys {
        CurveClientKeys(client: admin ?? member, serverKey: server.publicKey)
    }

    /// Who a daemon's api and events endpoints let in: members and the orchestrator.
    public func memberAccess(label: String) -> CurveAccess {
        CurveAccess(label: label, allowed: [member.publicKey: "member", adminPublicKey: "orchestrator"])
    }

    /// Who a daemon's admin endpoint lets in: the orchestrator only.
    public func adminAccess(label: String) -> CurveAccess {
        CurveAccess(label: label, allowed: [adminPublicKey: "orchestrator"])
    }

    // MARK: Files

    /// The folder of a data directory that holds the credentials.
    public static func directory(in dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent("credentials", isDirectory: true)
    }

    /// The member's file, `devnet.json`.
    public static let memberFile = "devnet.json"
    /// The orchestrator's file, `orchestrator.json`.
    public static let orchestratorFile = "orchestrator.json"

    /// The JSON of the member's file (and of `devnet credentials --json`).
    public struct MemberFile: Codable, Sendable, Equatable {
        public var serverPublicKey: String
        public var serverSecretKey: String
        public var memberPublicKey: String
        public var memberSecretKey: String
        public var adminPublicKey: String

        enum CodingKeys: String, CodingKey {
            case serverPublicKey = "server_public_key"
            case serverSecretKey = "server_secret_key"
            case memberPublicKey = "member_public_key"
            case memberSecretKey = "member_secret_key"
            case adminPublicKey = "admin_public_key"
        }
    }

    struct OrchestratorFile: Codable {
        var adminPublicKey: String
        var adminSecretKey: String

        enum CodingKeys: String, CodingKey {
            case adminPublicKey = "admin_public_key"
            case adminSecretKey = "admin_secret_key"
        }
    }

    /// The member's file contents.
    public var memberFile: MemberFile {
        MemberFile(
            serverPublicKey: server.publicKey.z85, serverSecretKey: server.secretKey.z85,
            memberPublicKey: member.publicKey.z85, memberSecretKey: member.secretKey.z85,
            adminPublicKey: adminPublicKey.z85)
    }

    /// Credentials from a member's file contents; every secret is checked against its public key.
    public init(memberFile file: MemberFile, source: String = "the credentials") throws(CredentialsError) {
        func key(_ text: String, _ field: String) throws(CredentialsError) -> CurveKey {
            do {
                return try CurveKey(text: text)
            } catch {
                throw CredentialsError("\(source): \(field): \(error.message)")
            }
        }
        func pair(_ secret: String, _ publicKey: String, _ name: String) throws(CredentialsError) -> CurveKeyPair {
            let derived: CurveKeyPair
            do {
                derived = try CurveKeyPair(secretKey: key(secret, "\(name)_secret_key"))
            } catch let error as CredentialsError {
                throw error
            } catch {
                throw CredentialsError("\(source): \(error)")
            }
            guard derived.publicKey == (try key(publicKey, "\(name)_public_key")) else {
                throw CredentialsError(
                    "\(source): \(name)_public_key does not belong to \(name)_secret_key; the file is damaged or mixes two devnets' keys"
                )
            }
            return derived
        }
        self.init(
            server: try pair(file.serverSecretKey, file.serverPublicKey, "server"),
            member: try pair(file.memberSecretKey, file.memberPublicKey, "member"),
            adminPublicKey: try key(file.adminPublicKey, "admin_public_key"))
    }

    /// Writes both files into `<dataDirectory>/credentials/`, readable by the owner only.
    public func write(to dataDirectory: URL) throws {
        let folder = Self.directory(in: dataDirectory)
        try FileManager.default.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Also when it existed: nobody else may look inside while the files are written.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.writePrivately(encoder.encode(memberFile), to: folder.appendingPathComponent(Self.memberFile))
        if let adminSecretKey {
            try Self.writePrivately(
                encoder.encode(
                    OrchestratorFile(adminPublicKey: adminPublicKey.z85, adminSecretKey: adminSecretKey.z85)),
                to: folder.appendingPathComponent(Self.orchestratorFile))
        }
    }

    /// Reads `<dataDirectory>/credentials/`: the member's file, and the orchestrator's when it
    /// is there. Nil when there is no member's file.
    ///
    /// - Throws: ``CredentialsError`` naming the file and the field at fault.
    public static func load(from dataDirectory: URL) throws(CredentialsError) -> DevnetCredentials? {
        let folder = directory(in: dataDirectory)
        let memberURL = folder.appendingPathComponent(memberFile)
        guard FileManager.default.fileExists(atPath: memberURL.path) else { return nil }
        var credentials = try load(memberFile: memberURL)
        let adminURL = folder.appendingPathComponent(orchestratorFile)
        if FileManager.default.fileExists(atPath: adminURL.path) {
            let file: OrchestratorFile
            do {
                file = try JSONDecoder().decode(OrchestratorFile.self, from: Data(contentsOf: adminURL))
            } catch {
                throw CredentialsError("cannot read \(adminURL.path): \(error)")
            }
            guard let secret = try? CurveKey(text: file.adminSecretKey),
                let pair = try? CurveKeyPair(secretKey: secret), pair.publicKey == credentials.adminPublicKey
            else {
                throw CredentialsError(
                    "\(adminURL.path): admin_secret_key does not belong to the admin_public_key of \(memberURL.path); the credentials folder mixes two devnets' keys"
                )
            }
            credentials.adminSecretKey = secret
        }
        return credentials
    }

    /// Reads a member's file (`devnet.json`, or what `devnet credentials --json` printed).
    public static func load(memberFile url: URL) throws(CredentialsError) -> DevnetCredentials {
        let file: MemberFile
        do {
            file = try JSONDecoder().decode(MemberFile.self, from: Data(contentsOf: url))
        } catch {
            throw CredentialsError("cannot read the credentials file \(url.path): \(error)")
        }
        return try DevnetCredentials(memberFile: file, source: url.path)
    }

    /// The credentials of `dataDirectory`, generated and written there if it has none.
    public static func loadOrCreate(in dataDirectory: URL) throws -> DevnetCredentials {
        if let existing = try load(from: dataDirectory) { return existing }
        let fresh = try generate()
        try fresh.write(to: dataDirectory)
        return fresh
    }

    private static func writePrivately(_ data: Data, to url: URL) throws {
        try data.write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}

/// Credentials that cannot be read or do not fit together.
public struct CredentialsError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
