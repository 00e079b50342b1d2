import CZeroMQ
public import Foundation
import Synchronization

/// A libzmq context. Thread-safe; one per process is enough.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let terminated = Mutex(false)
    /// The context's ZAP handler, started by the first CURVE server socket.
    private let zap = Mutex<ZAPHandler?>(nil)

    public init() {
        guard let handle = zmq_ctx_new() else {
            fatalError("zmq_ctx_new failed: \(ZMQError.last("zmq_ctx_new"))")
        }
        self.handle = handle
    }

    deinit {
        terminate()
    }

    /// Ends the context: waits until messages still queued on closed sockets are sent or their
    /// linger time runs out. Call it after every socket is closed (``SocketLoop/shutdown()``),
    /// before the process exits, so that last replies are not lost. Later calls do nothing.
    public func terminate() {
        let first = terminated.withLock { done in
            defer { done = true }
            return !done
        }
        if first { zmq_ctx_term(handle) }
    }

    /// The context's ZAP handler, started on first use; it lives until the context terminates.
    func zapHandler() throws(ZMQError) -> ZAPHandler {
        try zap.withLock { (zap: inout ZAPHandler?) throws(ZMQError) -> ZAPHandler in
            if let zap { return zap }
            let handler = try ZAPHandler(context: handle)
            zap = handler
            return handler
        }
    }

    /// How many CURVE handshakes this context's server sockets refused: a client key not on the
    /// socket's access list, or a client that did not offer CURVE at all but reached the handler.
    public var refusedHandshakes: UInt64 {
        zap.withLock { $0?.refusals ?? 0 }
    }

    /// The linked libzmq version, e.g. "4.3.4".
    public static var libraryVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

/// The socket patterns the devnet uses.
public enum SocketType: Sendable, CustomStringConvertible {
    case router, dealer, pub, sub, pair
    /// A PUB that also hands its subscriptions to the application, one message per topic that
    /// gains its first subscriber (`0x01` + topic) or loses its last (`0x00` + topic). A
    /// ``SocketLoop`` reads them itself to enforce ``SocketOptions/maxSubscriptions``.
    case xpub

    var rawValue: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pub: ZMQ_PUB
        case .xpub: ZMQ_XPUB
        case .sub: ZMQ_SUB
        case .pair: ZMQ_PAIR
        }
    }

    public var description: String {
        switch self {
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .pub: "PUB"
        case .xpub: "XPUB"
        case .sub: "SUB"
        case .pair: "PAIR"
        }
    }
}

/// Socket options, set deliberately on every socket before it binds or connects.
public struct SocketOptions: Sendable {
    /// Milliseconds pending messages may linger after close. 0: a closing daemon never hangs.
    public var linger: Int32 = 0
    /// Outbound queue limit in messages, per peer.
    public var sendHighWaterMark: Int32 = 100_000
    /// Inbound queue limit in messages, per peer.
    public var receiveHighWaterMark: Int32 = 100_000
    /// ROUTER only: fail with `EHOSTUNREACH` instead of silently dropping a reply to a gone peer.
    public var routerMandatory: Bool = true
    /// Largest inbound message in bytes; a peer that sends more is disconnected. -1: no limit.
    public var maxMessageSize: Int64 = 16 * 1024 * 1024
    /// Milliseconds between reconnect attempts; short, because every peer is on this machine.
    public var reconnectInterval: Int32 = 10
    /// XPUB only: how many distinct subscriptions the socket takes before a ``SocketLoop`` drops
    /// every subscriber by closing the socket and binding it again; nil: no limit.
    ///
    /// libzmq keeps each subscription in a tree with a node per byte, and stores it before the
    /// application hears of it (in `ZMQ_XPUB_MANUAL` mode too), so a subscription cannot be
    /// refused: only closing the socket frees them. Each topic counts once however many
    /// subscribers take it, and for the socket's whole life (until it is bound again), so that
    /// a peer cannot lower the count with unsubscriptions of topics it never held.
    public var maxSubscriptions: Int? = nil
    /// SUB only: topic prefixes to subscribe to. An empty prefix receives everything.
    public var subscriptions: [Data] = []
    /// An explicit routing id for a DEALER, or nil for a random one.
    public var routingID: Data? = nil
    /// Milliseconds a new connection has to complete the ZMTP handshake before it is dropped.
    /// libzmq's default is 30 000; a peer that connects and says nothing holds a descriptor that long.
    public var handshakeInterval: Int32 = 30_000
    /// How many received messages a ``SocketLoop`` buffers before it stops reading the socket.
    public var inboundLimit = InboundLimit(messages: 1024, bytes: 64 * 1024 * 1024)
    /// CurveZMQ: encrypt and authenticate the socket's connections as a server (with the clients
    /// it lets in) or as a client. Nil: no security (ZeroMQ's NULL mechanism), or the client keys
    /// of the ``SocketLoop`` for a socket that only connects.
    public var curve: CurveSecurity? = nil
    /// The ZAP domain a ``SocketLoop`` registered for a CURVE server socket.
    var zapDomain: String? = nil

    public init() {}

    /// The defaults with the given subscriptions, for SUB sockets.
    public static func subscriber(_ prefixes: [String]) -> SocketOptions {
        var options = SocketOptions()
        options.subscriptions = prefixes.map { Data($0.utf8) }
        return options
    }
}

/// One libzmq socket. Not thread-safe: use it from one thread only (see ``SocketLoop``).
public final class Socket {
    let handle: UnsafeMutableRawPointer
    public let type: SocketType
    /// Kept so the context outlives the socket: terminating it waits for every socket to close.
    private let context: ZMQContext
    private var closed = false

    public init(context: ZMQContext, type: SocketType, options: SocketOptions = SocketOptions()) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw .last("create \(type) socket")
        }
        self.handle = handle
        self.type = type
        self.context = context
        do {
            try apply(options)
        } catch {
            zmq_close(handle)
            closed = true
            throw error
        }
    }

    deinit {
        close()
    }

    private func apply(_ options: SocketOptions) throws(ZMQError) {
        try setOption(ZMQ_LINGER, options.linger, "linger")
        try setOption(ZMQ_SNDHWM, options.sendHighWaterMark, "send high-water mark")
        try setOption(ZMQ_RCVHWM, options.receiveHighWaterMark, "receive high-water mark")
        try setOption(ZMQ_MAXMSGSIZE, options.maxMessageSize, "max message size")
        try setOption(ZMQ_RECONNECT_IVL, options.reconnectInterval, "reconnect interval")
        try setOption(ZMQ_HANDSHAKE_IVL, options.handshakeInterval, "handshake interval")
        if type == .router {
            try setOption(ZMQ_ROUTER_MANDATORY, Int32(options.routerMandatory ? 1 : 0), "router mandatory")
        }
        if let id = options.routingID {
            try setBytesOption(ZMQ_ROUTING_ID, id, "routing id")
        }
        if type == .xpub {
            // One notification per topic that gains its first subscriber, none for the others.
            try setOption(ZMQ_XPUB_VERBOSER, Int32(0), "xpub verboser")
        }
        if type == .sub {
            for prefix in options.subscriptions {
                try setBytesOption(ZMQ_SUBSCRIBE, prefix, "subscribe")
            }
        }
        if let curve = options.curve { try apply(curve, domain: options.zapDomain) }
    }

    /// libzmq's draft `ZMQ_ZAP_ENFORCE_DOMAIN`: refuse a handshake when no ZAP handler answers.
    private static let zapEnforceDomain: Int32 = 93

    private func apply(_ curve: CurveSecurity, domain: String?) throws(ZMQError) {
        guard Curve.isAvailable else {
            throw ZMQError(
                code: ENOTSUP, operation: "enable CURVE on a \(type) socket",
                detail: CurveUnavailableError().description)
        }
        switch curve {
        case let .server(pair, _):
            try setOption(ZMQ_CURVE_SERVER, Int32(1), "CURVE server")
            try setBytesOption(ZMQ_CURVE_SECRETKEY, pair.secretKey.bytes, "CURVE secret key")
            guard let domain else {
                throw ZMQError(
                    code: EINVAL, operation: "enable CURVE on a \(type) socket",
                    detail: "a CURVE server socket needs a ZAP domain: open it on a SocketLoop, which registers one")
            }
            try setBytesOption(ZMQ_ZAP_DOMAIN, Data(domain.utf8), "ZAP domain")
            // Defence in depth: the handler lives as long as the context, but if it were ever
            // missing libzmq would otherwise let every client in. A libzmq built without draft
            // options refuses this one; the handler is there all the same.
            var one: Int32 = 1
            _ = zmq_setsockopt(handle, Self.zapEnforceDomain, &one, MemoryLayout<Int32>.size)
        case let .client(keys):
            try setBytesOption(ZMQ_CURVE_SERVERKEY, keys.serverKey.bytes, "CURVE server key")
            try setBytesOption(ZMQ_CURVE_PUBLICKEY, keys.client.publicKey.bytes, "CURVE public key")
            try setBytesOption(ZMQ_CURVE_SECRETKEY, keys.client.secretKey.bytes, "CURVE secret key")
        }
    }

    private func setOption(_ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
        var value = value
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw .last("set \(name)")
        }
    }

    private func setOption(_ option: Int32, _ value: Int64, _ name: String) throws(ZMQError) {
        var value = value
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) != 0 {
            throw .last("set \(name)")
        }
    }

    private func setBytesOption(_ option: Int32, _ value: Data, _ name: String) throws(ZMQError) {
        let rc = value.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw .last("set \(name)") }
    }

    /// Binds to an endpoint and returns the endpoint actually bound (wildcard ports resolved).
    @discardableResult
    public func bind(_ endpoint: String) throws(ZMQError) -> String {
        if zmq_bind(handle, endpoint) != 0 {
            throw .last("bind", endpoint: endpoint)
        }
        return lastEndpoint ?? endpoint
    }

    /// Connects to an endpoint. The connection itself happens in the background and is retried.
    public func connect(_ endpoint: String) throws(ZMQError) {
        if zmq_connect(handle, endpoint) != 0 {
            throw .last("connect", endpoint: endpoint)
        }
    }

    /// The last endpoint bound, with a wildcard port replaced by the real one.
    public var lastEndpoint: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends a multipart message. Returns false, sending nothing, when it would block.
    ///
    /// libzmq delivers multipart messages atomically: once the first frame is queued, the rest are too.
    public func send(_ frames: [Data], dontWait: Bool = true) throws(ZMQError) -> Bool {
        precondition(!frames.isEmpty, "a message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if rc < 0 {
                let error = ZMQError.last("send")
                if index == 0 && error.isWouldBlock { return false }
                throw error
            }
        }
        return true
    }

    /// Receives one multipart message, or nil when none is waiting and `dontWait` is set.
    public func receive(dontWait: Bool = true) throws(ZMQError) -> [Data]? {
        var frames: [Data] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            let rc = zmq_msg_recv(&message, handle, dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let error = ZMQError.last("receive")
                if frames.isEmpty && error.isWouldBlock { return nil }
                throw error
            }
            let size = zmq_msg_size(&message)
            if size == 0 {
                frames.append(Data())
            } else {
                frames.append(Data(bytes: zmq_msg_data(&message), count: size))
            }
        } while zmq_msg_more(&message) != 0
        return frames
    }

    /// Closes the socket. Safe to call twice.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }
}
