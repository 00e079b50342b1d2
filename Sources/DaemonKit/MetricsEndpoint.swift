import Foundation
public import Logging
import Metrics
public import Prometheus
import Synchronization

/// The daemon's Prometheus `/metrics` endpoint: plain HTTP/1.1 on a thread of its own.
///
/// The metrics are recorded with swift-metrics anywhere in the process and kept by
/// swift-prometheus's registry, which writes the text format; this type only answers HTTP.
/// `GET /metrics` gets the registry's text, any other path `404`, anything that is not a
/// request line `400`. One connection at a time, closed after its reply; a client that does not
/// finish its request head within 2 s is dropped, and one that sends more than 8 KiB of it gets
/// `431`. Scrapes never touch the daemon's sockets or actors.
public final class MetricsEndpoint: Sendable {
    /// The registry every daemon's swift-metrics calls land in once ``bootstrap()`` ran.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped = Mutex(false)

    /// Makes swift-metrics record into ``registry``, with histogram buckets sized for a devnet:
    /// durations from 50 µs to 60 s. Once per process; later calls do nothing.
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60),
        ]
        // Sizes in bytes (proofs) and counts (sub-block sizes).
        factory.defaultValueHistogramBuckets = [
            1, 4, 16, 64, 256, 1024, 4096, 16_384, 65_536, 131_072, 262_144, 1_048_576,
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The largest request head read; more gets `431` and the connection closed.
    static let maxRequestBytes = 8 * 1024

    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    private let logger: Logger
    /// The text served for `/metrics`; the registry's by default.
    private let render: @Sendable () -> [UInt8]
    public let port: Int

    /// Binds `host:port` (port 0 picks a free one, see ``port``) and starts serving.
    public init(
        host: String, port: Int, logger: Logger,
        render: @escaping @Sendable () -> [UInt8] = { MetricsEndpoint.registry.emitToBuffer() }
    ) throws {
        self.logger = logger
        self.render = render
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MetricsEndpointError(message: "cannot create a socket: \(Self.errno())") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw MetricsEndpointError(message: "'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = Self.errno()
            close(fd)
            throw MetricsEndpointError(message: "cannot listen on \(host):\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        listener = fd
        let thread = Thread { [self] in serve() }
        thread.name = "metrics-http"
        thread.start()
    }

    /// Stops accepting; the serving thread ends within a quarter second.
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
    }

    private func serve() {
        defer { close(listener) }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            var item = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 250) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            answer(connection)
            close(connection)
        }
    }

    private func answer(_ connection: Int32) {
        var timeout = timeval(tv_sec: 0, tv_usec: 250_000)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        timeout.tv_sec = 2
        timeout.tv_usec = 0
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // The whole request head within 2 s, however slowly it trickles in.
        let deadline = ContinuousClock.now + .seconds(2)
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !Self.endsHead(head) {
            guard ContinuousClock.now < deadline else { return }
            guard head.count <= Self.maxRequestBytes else {
                send(
                    connection,
                    Self.response(
                        status: "431 Request Header Fields Too Large", body: Array("request head over 8 KiB\n".utf8)))
                return
            }
            let count = recv(connection, &buffer, buffer.count, 0)
            if count < 0, Glibc.errno == EAGAIN || Glibc.errno == EWOULDBLOCK { continue }
            guard count > 0 else { return }
            head += buffer[0..<count]
        }
        let response: [UInt8]
        switch Self.route(head) {
        case .metrics:
            response = Self.response(
                status: "200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: render())
        case .notFound(let path):
            response = Self.response(
                status: "404 Not Found", body: Array("no \(path) here; metrics are at /metrics\n".utf8))
        case .badRequest:
            response = Self.response(status: "400 Bad Request", body: Array("expected GET /metrics\n".utf8))
        }
        send(connection, response)
    }

    private func send(_ connection: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    enum Route: Equatable {
        case metrics
        case notFound(String)
        case badRequest
    }

    /// What a request head asks for: its request line must be `GET <path> HTTP/1.x`.
    static func route(_ head: [UInt8]) -> Route {
        guard let end = head.firstIndex(of: UInt8(ascii: "\r")),
            let line = String(bytes: head[..<end], encoding: .utf8)
        else { return .badRequest }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[0] == "GET" else {
            return .badRequest
        }
        let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        return path == "/metrics" ? .metrics : .notFound(String(path.prefix(100)))
    }

    static func endsHead(_ head: [UInt8]) -> Bool {
        head.firstRange(of: [13, 10, 13, 10]) != nil
    }

    static func response(status: String, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) -> [UInt8] {
        Array(
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                .utf8) + body
    }

    private static func errno() -> String { String(cString: strerror(Glibc.errno)) }
}

public struct MetricsEndpointError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
