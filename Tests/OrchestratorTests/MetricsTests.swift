import Foundation
import Logging
import Testing

@testable import DaemonKit
@testable import Orchestrator

@Suite("Prometheus metrics: the endpoint, the config key, the docs")
struct MetricsTests {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func onlyGetMetricsIsServed() {
        func route(_ text: String) -> MetricsEndpoint.Route { MetricsEndpoint.route(Array(text.utf8)) }
        #expect(route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == .metrics)
        #expect(route("GET /metrics?x=1 HTTP/1.0\r\n\r\n") == .metrics)
        #expect(route("GET / HTTP/1.1\r\n\r\n") == .notFound("/"))
        #expect(route("POST /metrics HTTP/1.1\r\n\r\n") == .badRequest)
        #expect(route("GET /metrics SPDY\r\n\r\n") == .badRequest)
        #expect(route("\u{0}\u{ff}garbage\r\n\r\n") == .badRequest)
        #expect(MetricsEndpoint.endsHead(Array("GET / HTTP/1.1\r\n\r\n".utf8)))
        #expect(!MetricsEndpoint.endsHead(Array("GET / HTTP/1.1\r\n".utf8)))
    }

    @Test func aLiveEndpointAnswersScrapesAndSurvivesGarbage() async throws {
        let endpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, logger: Logger(label: "test")) {
            Array("zkdevnet_test_total 7\n".utf8)
        }
        defer { endpoint.stop() }
        /// A TCP connection to the endpoint, or a failed test.
        func connection() throws -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(endpoint.port).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(connected == 0)
            return fd
        }
        func exchange(_ request: [UInt8]) throws -> String {
            let fd = try connection()
            defer { close(fd) }
            // A stuck endpoint fails the test instead of hanging it.
            var patience = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var reply: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                reply += buffer[0..<count]
            }
            return String(decoding: reply, as: UTF8.self)
        }
        let scrape = try exchange(Array("GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n".utf8))
        #expect(scrape.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(scrape.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(scrape.hasSuffix("\r\n\r\nzkdevnet_test_total 7\n"))
        #expect(try exchange(Array("GET /nope HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 404"))
        #expect(try exchange([0, 1, 2, 255] + Array("\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(try exchange(Array(repeating: UInt8(ascii: "a"), count: 9000)).hasPrefix("HTTP/1.1 431"))
        // Still serving after all that.
        #expect(try exchange(Array("GET /metrics HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"))

        // A client that trickles its request and never finishes it is dropped (its connection
        // closed, not left waiting), and the next scrape is answered.
        let slow = try connection()
        var closedByServer = false
        for byte in Array("GET /metrics HTTP/1.1\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 40) {
            var one = byte
            guard send(slow, &one, 1, Int32(MSG_NOSIGNAL)) == 1 else {
                closedByServer = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        close(slow)
        // Dropped while it was still sending, not once it fell silent.
        #expect(closedByServer)
        #expect(try exchange(Array("GET /metrics HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"))
    }

    @Test func metricsPortGivesEveryProcessAURLInTopologyOrder() throws {
        let config = try DevnetConfig.parse(
            "base_port: 30000\nmetrics_port: 31000\nthreads:\n  - name: token\n  - name: counter\n", file: "t.yaml"
        ).merging(.init())
        let urls = config.topology().processes.map { "\($0.name) \($0.endpoints.metrics ?? "-")" }
        #expect(
            urls == [
                "sequencer http://127.0.0.1:31000/metrics", "manager http://127.0.0.1:31001/metrics",
                "node-token http://127.0.0.1:31002/metrics", "node-counter http://127.0.0.1:31003/metrics",
            ])
        #expect(config.topology().processes[0].endpoints.metricsAddress?.port == 31000)
        let off = try DevnetConfig.parse("threads:\n  - name: token\n", file: "t.yaml")
        #expect(off.topology().processes.allSatisfy { $0.endpoints.metrics == nil })
        let overridden = try off.merging(.init(metricsPort: 40000))
        #expect(overridden.topology().processes[1].endpoints.metrics == "http://127.0.0.1:40001/metrics")
    }

    @Test func badMetricsPortsAreNamed() throws {
        do {
            _ = try DevnetConfig.parse("metrics_port: lots\n", file: "t.yaml")
            Issue.record("a non-number was taken")
        } catch let error as ConfigError {
            #expect(error.key == "metrics_port" && error.line == 1)
        }
        let overlapping = try DevnetConfig.parse("base_port: 30000\nmetrics_port: 30003\n", file: "t.yaml")
        #expect {
            try overlapping.merging(.init(), file: "t.yaml")
        } throws: { error in
            let error = error as? ConfigError
            return error?.key == "metrics_port" && error?.message.contains("overlap") == true
        }
        let three = try DevnetConfig.parse(
            "threads:\n  - name: token\n  - name: counter\n  - name: achievements\n", file: "t.yaml")
        #expect(throws: ConfigError.self) { try three.merging(.init(metricsPort: 65533)) }
        #expect(throws: Never.self) { try three.merging(.init(metricsPort: 65531)) }
    }

    /// Every metric the daemons record is documented, and the shipped dashboard uses only those.
    @Test func theDocsAndTheDashboardNameEveryMetric() throws {
        let names = DevnetMetrics.all
        #expect(names.count == 21 && Set(names).count == names.count)
        let docs = try String(contentsOf: Self.repository.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        for name in names { #expect(docs.contains("`\(name)`"), "docs/metrics.md does not describe \(name)") }
        let dashboard = try String(
            contentsOf: Self.repository.appendingPathComponent("docs/grafana/zkthreads-devnet.json"), encoding: .utf8)
        _ = try JSONSerialization.jsonObject(with: Data(dashboard.utf8))
        let used = Set(
            dashboard.matches(of: /zkdevnet_[a-z0-9_]+/).map { match in
                String(match.output).replacing(/_(bucket|count|sum)$/, with: "")
            })
        #expect(!used.isEmpty)
        for name in used { #expect(names.contains(name), "the dashboard uses \(name), which no daemon records") }
    }
}
