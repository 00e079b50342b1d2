import DevnetClient
import DevnetProtocol
import Foundation
import ZeroMQ

extension Orchestrator {
    /// Which of a process's request endpoints to use.
    public enum EndpointKind: String, Sendable {
        case api
        case admin
    }

    /// Sends one request to a running process and returns the reply payload as pretty JSON.
    ///
    /// - Throws: ``OrchestratorError`` naming the process when it is unknown or not running, and
    ///   carrying the daemon's error code and message when it answers with an error.
    public func request(
        process name: String, type: String, payloadJSON: String, endpoint kind: EndpointKind = .api,
        timeout: Duration = .seconds(10)
    ) async throws -> String {
        guard let state = DevnetState.load(from: dataDirectory) else {
            throw OrchestratorError(
                "error: no devnet in \(dataDirectory.path); start one with `devnet up --data-dir \(dataDirectory.path)`"
            )
        }
        guard let endpoints = state.endpoints(of: name) else {
            let names = state.names.joined(separator: ", ")
            throw OrchestratorError("error: no process named '\(name)' in this devnet (it has: \(names))")
        }
        guard
            let payload = try? JSONSerialization.jsonObject(with: Data(payloadJSON.utf8), options: [.fragmentsAllowed]),
            payload is [String: Any]
        else {
            throw OrchestratorError.usage(
                "error: the payload must be a JSON object, like '{\"from_seq\": 1}'; got: \(payloadJSON)")
        }
        let endpoint = kind == .api ? endpoints.api : endpoints.admin
        let context = ZMQContext()
        let loop = SocketLoop(context: context, name: "devnet-request", clientKeys: try clientKeys())
        defer { context.terminate() }
        let reply: RawReply
        do {
            let client = try await RequestClient.connect(to: endpoint, on: loop)
            reply = try await client.send(type, RawJSON(text: payloadJSON), timeout: timeout)
            client.close()
            await loop.shutdown()
        } catch let error as WireError {
            await loop.shutdown()
            if error.code == .timeout {
                throw OrchestratorError(
                    "error: \(name) did not answer '\(type)' at \(endpoint) within \(timeout); is it running? (devnet status)"
                )
            }
            throw OrchestratorError("error: \(error)")
        }
        let pretty = Self.prettyJSON(reply.payload)
        if reply.envelope.status == .error {
            throw OrchestratorError("error from \(name): \(pretty)")
        }
        return pretty
    }

    static func prettyJSON(_ data: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
        else { return String(decoding: data, as: UTF8.self) }
        return String(decoding: pretty, as: UTF8.self)
    }
}

/// A payload given as JSON text, sent as is.
struct RawJSON: Encodable {
    var text: String
    func encode(to encoder: any Encoder) throws {
        // The request codec encodes payloads with JSONEncoder; re-decode into a generic value so
        // the text is embedded rather than quoted.
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        try value.encode(to: encoder)
    }
}

/// Any JSON value, for passing payloads through untouched.
enum JSONValue: Codable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .integer(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}
