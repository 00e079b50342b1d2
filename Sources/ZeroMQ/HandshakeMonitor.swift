import CZeroMQ
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Watches one CURVE socket's handshakes through libzmq's socket monitor, on the loop thread.
///
/// A failed CURVE handshake is silent by design: the peer gets no reply, and libzmq retries in
/// the background. This makes it visible on both sides.
///
/// - A client (a socket that connects) reports why its handshake failed, the server's refusal
///   of its key included, and keeps the reason where ``SocketLoop/handshakeFailure(of:)`` finds it,
///   so that a request that times out can say why.
/// - A server reports handshakes that fail before its ZAP handler is asked (a client without
///   CURVE, or one that used another server key), with the peer's address. Refusals of a key are
///   reported by the ZAP handler itself.
final class HandshakeMonitor {
    /// The monitor's PAIR socket, connected to the inproc address libzmq publishes events on.
    let socket: Socket
    private let monitored: Socket
    private let isServer: Bool
    private let label: String
    /// Server: the peer address of each accepted connection, by file descriptor.
    private var peers: [Int32: String] = [:]
    /// Server: a failure waiting for its connection's `DISCONNECTED`, which names the descriptor.
    private var pendingFailure: String?
    /// Client: failures since the last report, and when that was.
    private var unreported = 0
    private var lastReport: ContinuousClock.Instant?
    /// Server: repeated failures of one peer host for one reason are reported once per 10 s.
    private var repeats = RepeatFilter()

    private static let counter = Atomic<Int>(0)

    private static let events: Int32 =
        ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
        | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH

    /// Starts monitoring `monitored`; call before it binds or connects.
    init(_ monitored: Socket, context: ZMQContext, isServer: Bool, label: String) throws(ZMQError) {
        let address = "inproc://zkthreads-monitor-\(Self.counter.add(1, ordering: .relaxed).newValue)"
        guard zmq_socket_monitor(monitored.handle, address, Self.events) == 0 else {
            throw .last("monitor a \(monitored.type) socket")
        }
        let socket = try Socket(context: context, type: .pair)
        do {
            try socket.connect(address)
        } catch {
            zmq_socket_monitor(monitored.handle, nil, 0)
            throw error
        }
        self.socket = socket
        self.monitored = monitored
        self.isServer = isServer
        self.label = label
    }

    /// Stops monitoring and closes the monitor's socket.
    func stop() {
        zmq_socket_monitor(monitored.handle, nil, 0)
        socket.close()
    }

    /// Reads the waiting events. `record` keeps (or clears) a client's last failure; `report`
    /// is where lines for the log go.
    func drain(record: (String?) -> Void, report: (String) -> Void) {
        for _ in 0..<256 {
            guard let frames = try? socket.receive(dontWait: true) else { return }
            guard frames.count == 2, frames[0].count >= 6 else { continue }
            let event = frames[0].withUnsafeBytes { Int32($0.loadUnaligned(as: UInt16.self)) }
            let value = frames[0].withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
            let endpoint = String(decoding: frames[1], as: UTF8.self)
            handle(event: event, value: value, endpoint: endpoint, record: record, report: report)
        }
    }

    private func handle(
        event: Int32, value: UInt32, endpoint: String, record: (String?) -> Void, report: (String) -> Void
    ) {
        switch event {
        case ZMQ_EVENT_ACCEPTED:
            let fd = Int32(bitPattern: value)
            peers[fd] = Self.peerAddress(fd)
        case ZMQ_EVENT_DISCONNECTED:
            let fd = Int32(bitPattern: value)
            if let failure = pendingFailure {
                let peer = peers[fd] ?? "an unknown address"
                let host = peer.split(separator: ":").first.map(String.init) ?? peer
                if let repeated = repeats.admit("\(host)|\(failure)") {
                    report(
                        "\(failure), from \(peer)"
                            + (repeated > 0 ? " (and \(repeated) more times from \(host) since the last report)" : ""))
                }
                pendingFailure = nil
            }
            peers[fd] = nil
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            if !isServer {
                record(nil)
                unreported = 0
                lastReport = nil
            }
        default:
            let reason = Self.reason(event: event, value: value, isServer: isServer)
            if isServer {
                // A refused key was reported by the ZAP handler, with the key.
                if event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH {
                    pendingFailure = "a connection to the \(label) failed the CURVE handshake: \(reason)"
                }
                return
            }
            let message = "the CURVE handshake with \(endpoint) failed: \(reason)"
            record(message)
            // libzmq retries every few milliseconds: one line now, then one per 10 s with a count.
            unreported += 1
            let now = ContinuousClock.now
            if let last = lastReport, now - last < .seconds(10) { return }
            report(unreported > 1 ? "\(message) (\(unreported) failed attempts since the last report)" : message)
            unreported = 0
            lastReport = now
        }
    }

    /// Why a handshake failed, in words.
    static func reason(event: Int32, value: UInt32, isServer: Bool) -> String {
        switch event {
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            return
                "the server refused this client's key (ZAP status \(value)): it is not one the endpoint lets in; check the credentials (`devnet credentials`), and for an admin endpoint, that this is the orchestrator's"
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            switch Int32(bitPattern: value) {
            case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                return isServer
                    ? "the client did not offer CURVE (it has no keys)"
                    : "the server does not run CURVE (an open devnet needs no keys)"
            case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                return isServer
                    ? "its handshake did not decrypt (it used another server key)"
                    : "the server's answer did not decrypt: the server key given is not this server's"
            default:
                return
                    "protocol error 0x\(String(value, radix: 16)) (the keys do not match: \(isServer ? "the client used another server key" : "the server key given is not this server's"))"
            }
        default:
            let cause = "errno \(value): \(String(cString: strerror(Int32(bitPattern: value))))"
            return isServer
                ? "the connection ended before the handshake completed (\(cause)), as it does for a client without keys or with another server key"
                : "the server closed the connection before the handshake completed (\(cause)), as it does when the server key given is not this server's, or when it runs no CURVE"
        }
    }

    /// `host:port` of the peer of a connected TCP descriptor, or nil.
    static func peerAddress(_ fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0, storage.ss_family == sa_family_t(AF_INET) else { return nil }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                var ip = address.pointee.sin_addr
                inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
                let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return "\(host):\(UInt16(bigEndian: address.pointee.sin_port))"
            }
        }
    }
}

/// Lets the first occurrence of a key through, then at most one per window, counting the rest.
struct RepeatFilter {
    private var seen: [String: (last: ContinuousClock.Instant, suppressed: Int)] = [:]
    let window: Duration

    init(window: Duration = .seconds(10)) {
        self.window = window
    }

    /// Nil when `key` was let through within the window (it is counted); otherwise how many
    /// times it was held back since it last went through.
    mutating func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        if let entry = seen[key], now - entry.last < window {
            seen[key]?.suppressed += 1
            return nil
        }
        // Bounded: a flood of distinct keys resets the table rather than growing it.
        if seen.count >= 1024 { seen.removeAll() }
        let suppressed = seen[key]?.suppressed ?? 0
        seen[key] = (now, 0)
        return suppressed
    }
}
