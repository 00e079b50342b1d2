import DevnetProtocol
import DevnetStorage
import Foundation
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
