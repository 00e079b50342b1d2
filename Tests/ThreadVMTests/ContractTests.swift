import Foundation
import Testing

@testable import ThreadVM

/// A small harness: one program over a mutable state, applying successful outputs.
struct Chain {
    let interpreter: Interpreter
    var state = MemoryState()
    var threads = MemoryThreads()

    init(_ name: String, constants: [String: Felt] = [:]) throws {
        interpreter = Interpreter(program: try Contracts.named(name, constants: constants))
    }

    var abi: ABI { interpreter.program.abi }

    @discardableResult
    mutating func send(_ entry: String, _ arguments: [String], from caller: Address = alice) throws -> ExecutionResult {
        let tx = try Transaction(caller: caller, entrypoint: entry, arguments: arguments, abi: abi)
        let result = interpreter.execute(tx, state: state, threads: threads)
        if result.succeeded { state.apply(result.outputs) }
        return result
    }

    func view(_ entry: String, _ arguments: [String]) throws -> [Felt] {
        let tx = try Transaction(caller: alice, entrypoint: entry, arguments: arguments, abi: abi)
        let result = interpreter.execute(tx, state: state, threads: threads)
        #expect(result.outputs.isEmpty)
        return try #require(result.returnData, "\(String(describing: result.failure))")
    }
}

@Suite struct ContractTests {
    @Test func namedLookupErrorsListTheKnownContracts() throws {
        #expect(Contracts.names == ["achievements", "counter", "karts", "token"])
        do {
            _ = try Contracts.named("tokn")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownContract)
            #expect(
                error.message
                    == "unknown contract 'tokn' (did you mean 'token'?); known contracts: achievements, counter, karts, token"
            )
        }
        #expect(try Contracts.source(named: "counter").contains(".entry increment(by: u64)"))
    }

    @Test func entrypointsAreDocumentedAsDeclared() throws {
        func signatures(_ name: String) throws -> [String] {
            try Contracts.named(name).abi.entrypoints.map(\.signature)
        }
        #expect(
            try signatures("token") == [
                "mint(to: address, amount: u64)", "transfer(to: address, amount: u64)",
                "balance_of(account: address) view -> u64", "total_supply() view -> u64",
            ])
        #expect(
            try signatures("achievements") == [
                "complete_level(level: u64)", "has_completed(account: address, level: u64) view -> bool",
            ])
        #expect(
            try signatures("karts") == [
                "unlock_kart(kart: u64, level: u64)", "has_kart(account: address, kart: u64) view -> bool",
            ])
        #expect(try signatures("counter") == ["increment(by: u64)", "get() view -> u64"])
    }

    @Test func tokenMintAndTransfer() throws {
        var token = try Chain("token")
        #expect(try token.send("mint", [alice.hex, "100"]).succeeded)
        #expect(try token.view("balance_of", [alice.hex]) == [100])
        #expect(try token.view("total_supply", []) == [100])
        let transfer = try token.send("transfer", [bob.hex, "30"], from: alice)
        #expect(transfer.succeeded)
        #expect(try token.view("balance_of", [alice.hex]) == [70])
        #expect(try token.view("balance_of", [bob.hex]) == [30])
        #expect(try token.view("total_supply", []) == [100])
        // The statement pieces name exactly the two balance keys.
        let aliceKey = StorageKey.map(slot: 1, alice.words)
        let bobKey = StorageKey.map(slot: 1, bob.words)
        #expect(
            transfer.inputs
                == [KeyValue(key: aliceKey, value: 100), KeyValue(key: bobKey, value: 0)].sorted { $0.key < $1.key })
        #expect(
            transfer.outputs
                == [KeyValue(key: aliceKey, value: 70), KeyValue(key: bobKey, value: 30)].sorted { $0.key < $1.key })
    }

    @Test func tokenTransferFailsOnInsufficientBalance() throws {
        var token = try Chain("token")
        try token.send("mint", [alice.hex, "10"])
        let result = try token.send("transfer", [bob.hex, "11"], from: alice)
        guard case .assertionFailed(let location, let message) = result.failure else {
            Issue.record("expected an assertion failure, got \(result.outcome)")
            return
        }
        #expect(message == "insufficient balance")
        #expect(location.entrypoint == "transfer")
        #expect(location.line != nil)
        #expect(result.outputs.isEmpty)
        #expect(try token.view("balance_of", [alice.hex]) == [10])
        #expect(try token.view("balance_of", [bob.hex]) == [0])
        // Exactly the balance is fine.
        #expect(try token.send("transfer", [bob.hex, "10"], from: alice).succeeded)
        #expect(try token.view("balance_of", [bob.hex]) == [10])
    }

    @Test func tokenSelfTransferKeepsTheBalance() throws {
        var token = try Chain("token")
        try token.send("mint", [alice.hex, "10"])
        #expect(try token.send("transfer", [alice.hex, "4"], from: alice).succeeded)
        #expect(try token.view("balance_of", [alice.hex]) == [10])
    }

    @Test func tokenMintRejectsOverflowPastP() throws {
        var token = try Chain("token")
        try token.send("mint", [alice.hex, String(Felt.modulus - 1)])
        let result = try token.send("mint", [alice.hex, "1"])
        #expect(result.failure.map { "\($0)" }?.hasSuffix("balance overflow") == true)
    }

    @Test func achievementsRecordLevelsPerCaller() throws {
        var achievements = try Chain("achievements")
        #expect(try achievements.view("has_completed", [alice.hex, "3"]) == [0])
        #expect(try achievements.send("complete_level", ["3"], from: alice).succeeded)
        #expect(try achievements.view("has_completed", [alice.hex, "3"]) == [1])
        #expect(try achievements.view("has_completed", [alice.hex, "4"]) == [0])
        #expect(try achievements.view("has_completed", [bob.hex, "3"]) == [0])
        #expect(achievements.abi.formatReturn(entrypoint: "has_completed", words: [1]) == "true")
    }

    @Test func kartsUnlockOnlyAfterTheAchievementInTheOtherThread() throws {
        let achievementsThread: Felt = 2
        var achievements = try Chain("achievements")
        var karts = try Chain("karts")
        karts.threads = MemoryThreads([achievementsThread: achievements.state])

        let early = try karts.send("unlock_kart", ["7", "3"], from: alice)
        guard case .assertionFailed(_, let message) = early.failure else {
            Issue.record("expected an assertion failure, got \(early.outcome)")
            return
        }
        #expect(message == "level not completed")
        let achievementKey = StorageKey.derive([1] + alice.words + [3])
        #expect(early.crossReads == [CrossRead(thread: achievementsThread, key: achievementKey, value: 0)])
        #expect(try karts.view("has_kart", [alice.hex, "7"]) == [0])

        try achievements.send("complete_level", ["3"], from: alice)
        karts.threads = MemoryThreads([achievementsThread: achievements.state])
        let unlocked = try karts.send("unlock_kart", ["7", "3"], from: alice)
        #expect(unlocked.succeeded)
        #expect(unlocked.crossReads == [CrossRead(thread: achievementsThread, key: achievementKey, value: 1)])
        #expect(try karts.view("has_kart", [alice.hex, "7"]) == [1])
        // Bob completed nothing: no kart for him.
        #expect(try karts.send("unlock_kart", ["7", "3"], from: bob).failure?.code == "ASSERTION_FAILED")
        #expect(try karts.view("has_kart", [bob.hex, "7"]) == [0])
    }

    @Test func kartsReadTheConfiguredAchievementsThread() throws {
        var achievements = try Chain("achievements")
        try achievements.send("complete_level", ["1"], from: alice)
        var karts = try Chain("karts", constants: ["ACHIEVEMENTS_THREAD": 9])
        karts.threads = MemoryThreads([2: achievements.state])
        #expect(try karts.send("unlock_kart", ["1", "1"]).failure?.code == "UNKNOWN_THREAD")
        karts.threads = MemoryThreads([9: achievements.state])
        #expect(try karts.send("unlock_kart", ["1", "1"]).succeeded)
    }

    @Test func counterIncrements() throws {
        var counter = try Chain("counter")
        #expect(try counter.view("get", []) == [0])
        try counter.send("increment", ["5"])
        try counter.send("increment", ["7"], from: bob)
        #expect(try counter.view("get", []) == [12])
        #expect(try counter.send("increment", [String(Felt.modulus - 1)]).failure?.code == "ASSERTION_FAILED")
        #expect(try counter.view("get", []) == [12])
    }

    @Test func transactionsRoundTripThroughJSON() throws {
        let tx = try Transaction(
            caller: alice, entrypoint: "transfer", arguments: [bob.hex, "5"], abi: try Contracts.named("token").abi)
        let data = try JSONEncoder().encode(tx)
        #expect(try JSONDecoder().decode(Transaction.self, from: data) == tx)
        #expect(String(decoding: data, as: UTF8.self).contains(alice.hex))
    }

    @Test func contractsStayWellUnderTheStepBound() throws {
        var token = try Chain("token")
        let result = try token.send("mint", [alice.hex, "1"])
        #expect(result.steps == 19)
        #expect(result.steps < ExecutionLimits.default.maxSteps)
    }
}

@Suite struct FailureReportTests {
    @Test func failuresNameTheEntrypointPcAndSourceLine() throws {
        let source = try Contracts.source(named: "token")
        let line =
            try #require(
                source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
                    $0.contains("assert") && $0.contains("\"insufficient balance\"")
                }) + 1
        var token = try Chain("token")
        let result = try token.send("transfer", [bob.hex, "1"])
        let failure = try #require(result.failure)
        let location = try #require(failure.location)
        #expect(location.line == line)
        #expect(token.interpreter.program.instructions[location.pc].opcode == .assert)
        #expect(
            failure.description
                == "assertion failed at transfer, pc \(location.pc) (line \(line)): insufficient balance")
    }
}
