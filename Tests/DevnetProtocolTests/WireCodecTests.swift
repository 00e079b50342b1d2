import Foundation
import Testing

@testable import DevnetProtocol

@Suite("Wire codec")
struct WireCodecTests {
    struct Transfer: Codable, Equatable {
        var toAccount: String
        var amount: UInt64
    }

    @Test func requestRoundTrips() throws {
        let frames = try WireCodec.request(type: "transfer", id: 7, payload: Transfer(toAccount: "alice", amount: 5))
        #expect(frames.count == 2)
        // Keys are snake_case on the wire, so other languages read them naturally.
        #expect(String(decoding: frames[1], as: UTF8.self) == #"{"amount":5,"to_account":"alice"}"#)
        let (envelope, payload) = try WireCodec.decodeMessage(frames)
        #expect(envelope == Envelope(type: "transfer", id: 7))
        #expect(
            try WireCodec.decode(Transfer.self, from: payload, messageType: "transfer")
                == Transfer(toAccount: "alice", amount: 5))
    }

    @Test func replyEchoesIdAndType() throws {
        let frames = try WireCodec.reply(to: Envelope(type: "health", id: 42), payload: Empty())
        let (envelope, _) = try WireCodec.decodeMessage(frames)
        #expect(envelope.id == 42)
        #expect(envelope.type == "health")
        #expect(envelope.status == .ok)
    }

    @Test func errorReplyCarriesCodeAndMessage() throws {
        let frames = WireCodec.errorReply(to: Envelope(type: "x", id: 3), WireError(.notFound, "no thread 'abc'"))
        let (envelope, payload) = try WireCodec.decodeMessage(frames)
        #expect(envelope.status == .error)
        #expect(envelope.id == 3)
        let error = try WireCodec.makeDecoder().decode(WireError.self, from: payload)
        #expect(error == WireError(.notFound, "no thread 'abc'"))
    }

    @Test(arguments: [
        ([Data("garbage".utf8)], WireErrorCode.badEnvelope),
        ([Data("{not json".utf8), Data("{}".utf8)], .badEnvelope),
        ([Data(#"{"v":1}"#.utf8), Data("{}".utf8)], .badEnvelope),
        ([Data(#"{"v":1,"type":""}"#.utf8), Data("{}".utf8)], .badEnvelope),
        ([Data(#"{"v":2,"type":"health","id":1}"#.utf8), Data("{}".utf8)], .unsupportedVersion),
        ([Data(repeating: 0x7b, count: 5000), Data()], .badEnvelope),
        ([Data(#"{"v":1,"type":"health"}"#.utf8), Data(), Data()], .badEnvelope),
    ])
    func malformedMessagesAreRefused(frames: [Data], code: WireErrorCode) {
        #expect {
            _ = try WireCodec.decodeMessage(frames)
        } throws: { error in
            (error as? WireError)?.code == code
        }
    }

    static let requestEnvelopes: [(String, WireErrorCode?)] = [
        (#"{"v":1,"type":"health","id":7}"#, nil),
        (#" { "v" : 1 , "type" : "he\u0061lth" , "id" : 0 } "#, nil),
        (#"{"v":1,"type":"health","id":18446744073709551615}"#, nil),
        (#"{"v":1,"type":"health"}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":null}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":"7"}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":-1}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1.5}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1.0}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1e3}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":18446744073709551616}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":true}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":{"v":1}}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":[1]}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1,"payload":{}}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1,"extra":2}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1,"status":"ok"}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1,"id":2}"#, .badEnvelope),
        (#"{"v":1,"type":"health","id":1} {}"#, .badEnvelope),
        (#"{"v":"1","type":"health","id":1}"#, .badEnvelope),
        (#"{"v":1.0,"type":"health","id":1}"#, .badEnvelope),
        (#"{"v":true,"type":"health","id":1}"#, .badEnvelope),
        (#"{"v":1,"type":7,"id":1}"#, .badEnvelope),
        (#"{"v":1,"type":null,"id":1}"#, .badEnvelope),
        (#"{"v":1,"type":"Health","id":1}"#, .badEnvelope),
        (#"{"v":1,"type":"health\n","id":1}"#, .badEnvelope),
        (#"[{"v":1,"type":"health","id":1}]"#, .badEnvelope),
        (#"{"v":3,"type":"health","id":1}"#, .unsupportedVersion),
    ]

    @Test(arguments: requestEnvelopes)
    func requestEnvelopesAreReadStrictly(envelope: String, code: WireErrorCode?) {
        let frames = [Data(envelope.utf8), Data("{}".utf8)]
        if let code {
            #expect {
                _ = try WireCodec.decodeRequest(frames)
            } throws: { error in
                (error as? WireError)?.code == code
            }
        } else {
            #expect(throws: Never.self) { _ = try WireCodec.decodeRequest(frames) }
        }
    }

    @Test func anIdThatIsNotAnUnsignedIntegerIsNotEchoed() {
        #expect(WireCodec.peekEnvelope([Data(#"{"v":1,"type":"health","id":"7"}"#.utf8)])?.id == nil)
        #expect(WireCodec.peekEnvelope([Data(#"{"v":1,"type":"health","id":-7}"#.utf8)])?.id == nil)
        #expect(WireCodec.peekEnvelope([Data(#"{"v":1,"type":"health","id":7,"x":1}"#.utf8)])?.id == 7)
    }

    @Test(arguments: ["[]", "5", #""x""#, "null", "true", " [ {} ]", "{} {}"])
    func aPayloadThatIsNotOneObjectIsRefused(payload: String) {
        #expect {
            _ = try WireCodec.decodeRequestBody(Empty.self, from: Data(payload.utf8), messageType: "health")
        } throws: { error in
            guard let error = error as? WireError else { return false }
            return error.code == .badPayload && error.message.contains("'health'")
        }
    }

    @Test(arguments: ["", "{}", " {\"unknown\": [1]}\n"])
    func emptyFramesAndObjectsAreAcceptedPayloads(payload: String) throws {
        #expect(try WireCodec.decodeRequestBody(Empty.self, from: Data(payload.utf8), messageType: "health") == Empty())
    }

    struct Wait: ValidatedPayload, Equatable {
        var waitMs: Int
        func validate() throws {
            guard waitMs >= 0 else { throw WireError(.badPayload, "'wait_ms' is \(waitMs); it must be 0 or more") }
        }
    }

    @Test func validatedPayloadsAreCheckedAfterDecoding() throws {
        #expect(
            try WireCodec.decodeRequestBody(Wait.self, from: Data(#"{"wait_ms":5}"#.utf8), messageType: "w")
                == Wait(waitMs: 5))
        #expect(throws: WireError(.badPayload, "'wait_ms' is -1; it must be 0 or more")) {
            _ = try WireCodec.decodeRequestBody(Wait.self, from: Data(#"{"wait_ms":-1}"#.utf8), messageType: "w")
        }
    }

    @Test func eventEnvelopesNeedASeqAndNoId() {
        #expect(throws: WireError.self) {
            _ = try WireCodec.decodeEvent([
                Data("block".utf8), Data(#"{"v":1,"type":"block","seq":1,"id":1}"#.utf8), Data(),
            ])
        }
        #expect(throws: WireError.self) {
            _ = try WireCodec.decodeEvent([Data("block".utf8), Data(#"{"v":1,"type":"block","seq":-1}"#.utf8), Data()])
        }
    }

    @Test func payloadErrorsNameTheField() {
        #expect {
            _ = try WireCodec.decode(
                Transfer.self, from: Data(#"{"to_account":"a","amount":"five"}"#.utf8), messageType: "transfer")
        } throws: { error in
            guard let error = error as? WireError else { return false }
            return error.code == .badPayload && error.message.contains("'amount'") && error.message.contains("transfer")
        }
        #expect {
            _ = try WireCodec.decode(Transfer.self, from: Data(#"{"amount":1}"#.utf8), messageType: "transfer")
        } throws: { error in
            (error as? WireError)?.message.contains("missing field 'to_account'") == true
        }
    }

    @Test func emptyPayloadReadsAsEmptyObject() throws {
        #expect(try WireCodec.decode(Empty.self, from: Data(), messageType: "health") == Empty())
    }

    @Test func peekRecoversIdOfAnUnsupportedVersion() {
        let frames = [Data(#"{"v":9,"type":"health","id":77}"#.utf8), Data("{}".utf8)]
        #expect(WireCodec.peekEnvelope(frames)?.id == 77)
        #expect(WireCodec.peekEnvelope([Data("junk".utf8)]) == nil)
    }

    @Test func eventsRoundTrip() throws {
        let frames = try WireCodec.event(topic: "block", seq: 12, payload: Data(#"{"height":3}"#.utf8))
        let event = try WireCodec.decodeEvent(frames)
        #expect(event.topic == "block")
        #expect(event.envelope.seq == 12)
        #expect(event.payload == Data(#"{"height":3}"#.utf8))
        #expect(throws: WireError.self) {
            _ = try WireCodec.decodeEvent([Data("block".utf8), Data(#"{"v":1,"type":"block"}"#.utf8), Data()])
        }
    }

    @Test func topologyRoundTripsThroughAFile() throws {
        let topology = Topology(
            seed: 9,
            processes: [
                ProcessSpec(
                    name: "sequencer", role: .sequencer, endpoints: Endpoints(api: "a", admin: "b", events: "c"),
                    blockMode: .interval(milliseconds: 250)),
                ProcessSpec(
                    name: "node-t", role: .threadNode, endpoints: Endpoints(api: "d", admin: "e", events: "f"),
                    thread: ThreadSpec(name: "t", contract: "token", proofSystem: "reexec")),
            ])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("topology-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try topology.write(to: url)
        #expect(try Topology.load(from: url) == topology)
        #expect(topology.process(named: "node-t")?.thread?.contract == "token")
        #expect(topology.first(.sequencer)?.blockMode == .interval(milliseconds: 250))
        #expect(topology.process(named: "nope") == nil)
    }
}
