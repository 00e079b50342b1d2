import DevnetProtocol
import DevnetStorage
import Foundation
import Logging
import Synchronization
import Testing

@testable import DaemonKit

@Suite("Daemon runtime parts")
struct DaemonKitTests {
    struct Add: Codable, Sendable {
        var a: Int
        var b: Int
    }

    struct Failure: Error {}

    private var router: Router {
        var router = Router()
        router.on("add", Add.self) { $0.a + $0.b }
        router.on("refuse", Empty.self) { _ -> Empty in throw WireError(.notFound, "no such thing") }
        router.on("crash", Empty.self) { _ -> Empty in throw Failure() }
        return router
    }

    private func reply(_ type: String, _ payload: String) async throws -> (Envelope, Data, WireError?) {
        let (frames, error) = await router.respond(
            to: Envelope(type: type, id: 1), payload: Data(payload.utf8), endpoint: "api")
        let (envelope, body) = try WireCodec.decodeMessage(frames)
        return (envelope, body, error)
    }

    @Test func theEventsEndpointBoundsWhatSubscribersCanMakeItHold() {
        let options = DaemonMain.eventOptions
        #expect(options.maxSubscriptions == DaemonMain.maxEventSubscriptions)
        // A topic of 64 bytes in a ZMTP 3.1 SUBSCRIBE command (10 bytes of name) still fits.
        #expect(options.maxMessageSize == 74)
        // Deeper, libzmq takes a burst of subscriptions far past the limit before it is counted.
        #expect(options.receiveHighWaterMark == 1)
    }

    @Test func handlerResultIsTheReply() async throws {
        let (envelope, body, error) = try await reply("add", #"{"a":2,"b":3}"#)
        #expect(envelope.status == .ok)
        #expect(String(decoding: body, as: UTF8.self) == "5")
        #expect(error == nil)
    }

    @Test func unknownTypeListsWhatIsAnswered() async throws {
        let (envelope, _, error) = try await reply("sub", "{}")
        #expect(envelope.status == .error)
        #expect(error?.code == .unknownType)
        #expect(error?.message.contains("add, crash, refuse") == true)
    }

    @Test func badPayloadIsAnErrorReply() async throws {
        let (_, _, error) = try await reply("add", #"{"a":"two"}"#)
        #expect(error?.code == .badPayload)
    }

    @Test(arguments: ["[]", "5", #""x""#, "null"])
    func aPayloadThatIsNotAnObjectIsRefusedEvenWithoutFields(payload: String) async throws {
        let (envelope, _, error) = try await reply("refuse", payload)
        #expect(envelope.status == .error)
        #expect(error?.code == .badPayload)
    }

    struct Positive: ValidatedPayload, Sendable {
        var n: Int
        func validate() throws {
            guard n > 0 else { throw WireError(.badPayload, "'n' is \(n); it must be positive") }
        }
    }

    @Test func aValidatedPayloadIsCheckedBeforeItsHandlerRuns() async throws {
        let ran = Mutex(0)
        var router = Router()
        router.on("count", Positive.self) { body in
            ran.withLock { $0 += 1 }
            return body.n
        }
        let (_, refused) = await router.respond(
            to: Envelope(type: "count", id: 1), payload: Data(#"{"n":0}"#.utf8), endpoint: "api")
        #expect(refused == WireError(.badPayload, "'n' is 0; it must be positive"))
        #expect(ran.withLock { $0 } == 0)
        let (_, accepted) = await router.respond(
            to: Envelope(type: "count", id: 2), payload: Data(#"{"n":3}"#.utf8), endpoint: "api")
        #expect(accepted == nil)
        #expect(ran.withLock { $0 } == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func requestSlotsBoundWhatRunsAtOnceAndOpenOnClose() async {
        let slots = RequestSlots(2)
        #expect(await slots.acquire())
        #expect(await slots.acquire())
        let third = Task { await slots.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        slots.release()
        #expect(await third.value)
        let waiting = Task { await slots.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        slots.close()
        // Closing answers the waiter and every later caller with false: take no more requests.
        #expect(await waiting.value == false)
        #expect(await slots.acquire() == false)
    }

    /// Keeps the messages logged through it.
    struct CapturingLogHandler: LogHandler {
        let captured: Lines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { captured.lines.withLock { $0.append("\(event.message)") } }
    }

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func peerWarningsAreThrottledAndTheRestCounted() async throws {
        let captured = Lines()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(captured: captured) }
        let throttle = WarningThrottle(logger: logger, burst: 3, window: .milliseconds(200))
        for n in 1...10 { throttle.warning("bad message \(n)") }
        #expect(captured.lines.withLock { $0 } == ["bad message 1", "bad message 2", "bad message 3"])
        try await Task.sleep(for: .milliseconds(300))
        throttle.warning("bad message 11")
        let later = captured.lines.withLock { Array($0.dropFirst(3)) }
        #expect(later.count == 2)
        #expect(later.first?.hasPrefix("7 more warnings") == true)
        #expect(later.last == "bad message 11")
    }

    @Test func thrownErrorsBecomeReplies() async throws {
        let (_, _, refused) = try await reply("refuse", "{}")
        #expect(refused == WireError(.notFound, "no such thing"))
        let (_, _, crashed) = try await reply("crash", "{}")
        #expect(crashed?.code == .internalError)
    }

    // The operation never ends, so returning at all shows the deadline held; the time limit
    // turns a hang into a failure instead of a stuck run.
    @Test(.timeLimit(.minutes(1)))
    func firstValueKeepsItsDeadlineEvenIfTheOperationNeverEnds() async {
        let never = await firstValue(within: .milliseconds(50)) {
            await withCheckedContinuation { (_: CheckedContinuation<Int, Never>) in }
        }
        #expect(never == nil)
        let quick = await firstValue(within: .seconds(30)) { 42 }
        #expect(quick == 42)
    }

    @Test func persistedEventLogResumesNumbering() throws {
        let database = try ProcessDatabase(inMemoryWith: [])
        do {
            let log = try EventLog(database: database)
            #expect(try log.append(topic: "block", payload: Data("{}".utf8)) == 1)
            #expect(try log.append(topic: "receipt", payload: Data(#"{"ok":true}"#.utf8)) == 2)
        }
        let reopened = try EventLog(database: database)
        #expect(try reopened.append(topic: "block", payload: Data("{}".utf8)) == 3)
        #expect(reopened.events(from: 2, limit: 10).events.map(\.topic) == ["receipt", "block"])
    }

    @Test func eventsPublishedTogetherGetConsecutiveNumbersAndAreKeptTogether() throws {
        let database = try ProcessDatabase(inMemoryWith: [])
        do {
            let log = try EventLog(database: database)
            #expect(try log.append(topic: "block", payload: Data("{}".utf8)) == 1)
            let seqs = try log.append([
                ("receipt", Data(#"{"n":1}"#.utf8)), ("receipt", Data(#"{"n":2}"#.utf8)), ("block", Data("{}".utf8)),
            ])
            #expect(seqs == [2, 3, 4])
            #expect(log.events(from: 2, limit: 10).events.map(\.topic) == ["receipt", "receipt", "block"])
        }
        // All of them reached the database: a restart serves them and numbers on from 5.
        let reopened = try EventLog(database: database)
        #expect(reopened.events(from: 1, limit: 10).events.map(\.seq) == [1, 2, 3, 4])
        #expect(reopened.events(from: 3, limit: 1).events.map(\.payload) == [#"{"n":2}"#])
        #expect(try reopened.append(topic: "block", payload: Data("{}".utf8)) == 5)
    }

    @Test func eventLogNumbersWithoutGapsAndServesGapFetches() throws {
        let log = EventLog(capacity: 4)
        for n in 1...6 {
            #expect(try log.append(topic: "block", payload: Data("{\"n\":\(n)}".utf8)) == UInt64(n))
        }
        let reply = log.events(from: 1, limit: 100)
        // Only the last four are kept; the reply says where the window starts.
        #expect(reply.firstAvailableSeq == 3)
        #expect(reply.lastSeq == 6)
        #expect(reply.events.map(\.seq) == [3, 4, 5, 6])
        #expect(log.events(from: 5, limit: 1).events.map(\.payload) == [#"{"n":5}"#])
        #expect(log.events(from: 7, limit: 10).events.isEmpty)
    }

    @Test func databaseCountsBootsAndRunsMigrationsOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let migrations: [Migration] = [("v1-notes", { db in try db.execute(sql: "CREATE TABLE notes(text TEXT)") })]
        do {
            let database = try ProcessDatabase(path: path, migrations: migrations)
            #expect(try database.recordBoot() == 1)
            try database.write { db in try db.execute(sql: "INSERT INTO notes VALUES ('kept')") }
        }
        let reopened = try ProcessDatabase(path: path, migrations: migrations)
        #expect(try reopened.recordBoot() == 2)
        #expect(try reopened.appliedMigrations() == ["v1-process-meta", "v1-events", "v1-notes"])
        #expect(try reopened.read { db in try String.fetchAll(db, sql: "SELECT text FROM notes") } == ["kept"])
        let journal = try reopened.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }
}
