import DevnetClient
import DevnetProtocol
import Foundation
import Testing
import ZeroMQ

@testable import Orchestrator

@Suite("Security and hosts")
struct SecurityTests {
    private func parse(_ text: String) throws -> DevnetConfig {
        try DevnetConfig.parse(text, file: "devnet.yaml")
    }

    private func failure(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    @Test func aLoopbackDevnetIsOpenByDefault() throws {
        let topology = try parse("threads: [{name: token}]\n").topology()
        #expect(topology.security == nil)
        #expect(topology.processes.allSatisfy { $0.bind == nil })
        #expect(!topology.isSecured)
    }

    @Test func bindingBeyondLoopbackSecuresTheDevnet() throws {
        let topology = try parse("host: 10.1.0.1\nbind: 0.0.0.0\nbase_port: 30000\nthreads: [{name: token}]\n")
            .topology()
        #expect(topology.security == .curve)
        let sequencer = try #require(topology.process(named: "sequencer"))
        #expect(sequencer.endpoints.api == "tcp://10.1.0.1:30000")
        #expect(sequencer.bindEndpoints.api == "tcp://0.0.0.0:30000")
        #expect(sequencer.bindEndpoints.events == "tcp://0.0.0.0:30002")
    }

    @Test func everyProcessCanHaveItsOwnHostAndBindAddress() throws {
        let config = try parse(
            """
            base_port: 30000
            sequencer: {host: 10.2.0.1}
            manager: {host: 10.2.0.1, bind: 0.0.0.0}
            threads:
              - {name: token, host: node-a.example, bind: 10.3.0.2}
              - {name: counter}
            """)
        let topology = config.topology()
        #expect(topology.security == .curve)
        #expect(topology.process(named: "sequencer")?.endpoints.api == "tcp://10.2.0.1:30000")
        #expect(topology.process(named: "sequencer")?.bind == nil)
        #expect(topology.process(named: "manager")?.bindEndpoints.admin == "tcp://0.0.0.0:30004")
        #expect(topology.process(named: "node-token")?.endpoints.api == "tcp://node-a.example:30006")
        #expect(topology.process(named: "node-token")?.bindEndpoints.api == "tcp://10.3.0.2:30006")
        #expect(topology.process(named: "node-counter")?.endpoints.api == "tcp://127.0.0.1:30009")
    }

    @Test func securityCanBeForcedOnOrOffOnLoopback() throws {
        #expect(try parse("security: curve\n").topology().security == .curve)
        #expect(try parse("security: none\n").topology().security == nil)
        #expect(try parse("security: auto\nhost: 127.0.0.2\n").topology().security == nil)
    }

    @Test func anOpenDevnetBeyondLoopbackIsRefused() throws {
        let error = try #require(failure("bind: 0.0.0.0\nsecurity: none\n"))
        #expect(error.key == "security")
        #expect(error.message.contains("0.0.0.0"))
        #expect(try #require(failure("security: tls\n")).key == "security")
        #expect(try #require(failure("bind: my-host\n")).key == "bind")
        #expect(try #require(failure("threads: [{name: token, bind: '*'}]\n")).key == "threads[0].bind")
    }

    @Test func processesOnOtherHostsAreToldApart() throws {
        // Binding a socket to the address says whether it is this machine's; nothing is sent.
        #expect(ProcessControl.isLocal(host: "127.0.0.1"))
        #expect(ProcessControl.isLocal(host: "0.0.0.0"))
        #expect(!ProcessControl.isLocal(host: "192.0.2.7"))  // TEST-NET-1, never assigned here
        let topology = try parse("threads: [{name: token, host: 192.0.2.7}, {name: counter}]\n").topology()
        #expect(topology.processes.filter(Orchestrator.isRemote).map(\.name) == ["node-token"])
        #expect(topology.security == .curve)
    }

    @Test func credentialsRoundTripThroughTheDataDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try DevnetCredentials.load(from: directory) == nil)
        let created = try DevnetCredentials.loadOrCreate(in: directory)
        #expect(created.admin != nil)
        #expect(try DevnetCredentials.loadOrCreate(in: directory) == created)
        let folder = DevnetCredentials.directory(in: directory)
        for file in [DevnetCredentials.memberFile, DevnetCredentials.orchestratorFile] {
            let attributes = try FileManager.default.attributesOfItem(
                atPath: folder.appendingPathComponent(file).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
        // What daemons and joining nodes read holds no orchestrator secret.
        let member = try DevnetCredentials.load(memberFile: folder.appendingPathComponent(DevnetCredentials.memberFile))
        #expect(member.adminSecretKey == nil)
        #expect(member == created.memberView)
        #expect(member.memberAccess(label: "x").allowed.keys.contains(created.member.publicKey))
        #expect(!member.adminAccess(label: "x").allowed.keys.contains(created.member.publicKey))
        #expect(member.adminAccess(label: "x").allowed.keys.contains(created.adminPublicKey))
        #expect(created.orchestratorClient.client.publicKey == created.adminPublicKey)
    }

    @Test func damagedCredentialsAreNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let created = try DevnetCredentials.loadOrCreate(in: directory)
        var file = created.memberFile
        file.memberPublicKey = try CurveKeyPair.generate().publicKey.z85
        let url = DevnetCredentials.directory(in: directory).appendingPathComponent(DevnetCredentials.memberFile)
        try JSONEncoder().encode(file).write(to: url)
        #expect {
            _ = try DevnetCredentials.load(from: directory)
        } throws: { error in
            (error as? CredentialsError)?.message.contains("member_public_key does not belong") == true
        }
        file = created.memberFile
        file.serverSecretKey = "not a key"
        try JSONEncoder().encode(file).write(to: url)
        #expect {
            _ = try DevnetCredentials.load(from: directory)
        } throws: { error in
            (error as? CredentialsError)?.message.contains("server_secret_key") == true
        }
    }
}
