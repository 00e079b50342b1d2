import CZeroMQ
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The ZAP handler of one libzmq context: decides which CURVE clients each server socket lets in.
///
/// libzmq asks it, over `inproc://zeromq.zap.01` (ZeroMQ RFC 27), about every handshake on a
/// socket that has a ZAP domain. Each CURVE server socket of a ``SocketLoop`` gets a domain of
/// its own, registered here with its ``CurveAccess``; a client key not on that list, or a domain
/// that is not registered, gets status 400 and the connection is closed before any message
/// passes. Every refusal is counted and reported with the peer's address.
///
/// It runs on a thread of its own from the first registration until the context terminates: the
/// answer has to come while the handshake waits, whatever the socket loops are doing, and libzmq
/// allows one handler per context. Terminating the context ends its blocking receive (`ETERM`),
/// and it closes its socket and returns.
final class ZAPHandler: Sendable {
    struct Domain: Sendable {
        var access: CurveAccess
        var report: @Sendable (String) -> Void
        var refusals: UInt64 = 0
        /// One report per peer host and key per 10 s: a refused client retries every few ms.
        var repeats = RepeatFilter()
    }

    private struct State {
        var domains: [String: Domain] = [:]
        var refusals: UInt64 = 0
        var nextDomain = 1
    }

    private let state = Mutex(State())

    /// Binds the handler's socket in `context` and starts its thread.
    ///
    /// - Throws: ``ZMQError`` when the ZAP endpoint cannot be bound (another handler holds it).
    init(context: UnsafeMutableRawPointer) throws(ZMQError) {
        guard let socket = zmq_socket(context, ZMQ_ROUTER) else { throw .last("create the ZAP handler's socket") }
        var linger: Int32 = 0
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(socket, "inproc://zeromq.zap.01") == 0 else {
            let error = ZMQError.last("bind the ZAP handler", endpoint: "inproc://zeromq.zap.01")
            zmq_close(socket)
            throw error
        }
        // The socket moves to the handler's thread; starting a thread is a full memory barrier.
        let handle = UInt(bitPattern: socket)
        let thread = Thread { [self] in
            serve(UnsafeMutableRawPointer(bitPattern: handle)!)
        }
        thread.name = "zmq-zap"
        thread.stackSize = 1 << 19
        thread.start()
    }

    /// Registers a server socket's access list; returns the ZAP domain to set on the socket.
    func register(_ access: CurveAccess, report: @escaping @Sendable (String) -> Void) -> String {
        state.withLock { state in
            defer { state.nextDomain += 1 }
            let name = "zkthreads-\(state.nextDomain)"
            state.domains[name] = Domain(access: access, report: report)
            return name
        }
    }

    /// Forgets a domain: later handshakes on it are refused.
    func unregister(_ domain: String) {
        state.withLock { _ = $0.domains.removeValue(forKey: domain) }
    }

    /// Handshakes refused in this context since it was created.
    var refusals: UInt64 { state.withLock { $0.refusals } }

    /// Handshakes refused on one domain.
    func refusals(domain: String) -> UInt64 { state.withLock { $0.domains[domain]?.refusals ?? 0 } }

    /// The verdict on one request: status code, status text, user id, and what to report.
    func decide(domain: String, address: String, mechanism: String, credentials: [Data]) -> (
        status: String, text: String, user: String, report: (@Sendable (String) -> Void, String)?
    ) {
        state.withLock { state in
            guard var entry = state.domains[domain] else {
                // Sockets without CURVE and without a domain are not ours to judge.
                if domain.isEmpty && mechanism == "NULL" { return ("200", "OK", "", nil) }
                state.refusals += 1
                return ("400", "unknown ZAP domain", "", nil)
            }
            if mechanism == "CURVE", let key = credentials.first.flatMap({ try? CurveKey(bytes: $0) }),
                let name = entry.access.allowed[key]
            {
                return ("200", "OK", name, nil)
            }
            entry.refusals += 1
            state.refusals += 1
            let key = credentials.first.flatMap { try? CurveKey(bytes: $0) }?.z85 ?? "(unreadable)"
            let repeated = entry.repeats.admit("\(address)|\(mechanism)|\(key)")
            state.domains[domain] = entry
            guard let repeated else { return ("400", "not an accepted key", "", nil) }
            let who =
                mechanism == "CURVE" ? "client key \(key) is not one it accepts" : "it spoke \(mechanism), not CURVE"
            let again = repeated > 0 ? "; \(repeated) more attempts like it since the last report" : ""
            let message =
                "refused a connection to the \(entry.access.label) from \(address.isEmpty ? "an unknown address" : address): \(who) (\(entry.refusals) refused there so far\(again))"
            return ("400", "not an accepted key", "", (entry.report, message))
        }
    }

    /// Answers ZAP requests until the context terminates.
    private func serve(_ socket: UnsafeMutableRawPointer) {
        defer { zmq_close(socket) }
        while true {
            guard let frames = receive(socket) else { return }
            // A ROUTER sees [peer, empty delimiter, version, request id, domain, address,
            // identity, mechanism, credentials…]; anything else is not a ZAP request.
            guard frames.count >= 8, frames[1].isEmpty, frames[2] == Data("1.0".utf8) else { continue }
            let domain = String(decoding: frames[4], as: UTF8.self)
            let address = String(decoding: frames[5], as: UTF8.self)
            let mechanism = String(decoding: frames[7], as: UTF8.self)
            let verdict = decide(
                domain: domain, address: address, mechanism: mechanism, credentials: Array(frames.dropFirst(8)))
            let reply = [
                frames[0], Data(), Data("1.0".utf8), frames[3], Data(verdict.status.utf8), Data(verdict.text.utf8),
                Data(verdict.user.utf8), Data(),
            ]
            if !send(socket, reply) { return }
            if let (report, message) = verdict.report { report(message) }
        }
    }

    /// One multipart message, blocking; nil once the context terminates.
    private func receive(_ socket: UnsafeMutableRawPointer) -> [Data]? {
        var frames: [Data] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            if zmq_msg_recv(&message, socket, 0) < 0 {
                if zmq_errno() == EINTR && frames.isEmpty { continue }
                return zmq_errno() == ETERM ? nil : (frames.isEmpty ? [] : frames)
            }
            let size = zmq_msg_size(&message)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&message), count: size))
        } while zmq_msg_more(&message) != 0
        return frames
    }

    /// Sends a reply; false once the context terminates.
    private func send(_ socket: UnsafeMutableRawPointer, _ frames: [Data]) -> Bool {
        for (index, frame) in frames.enumerated() {
            let flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            let rc = frame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
            if rc < 0 { return zmq_errno() != ETERM }
        }
        return true
    }
}
