import Testing
import ThreadVM

@testable import ZKCore

@Suite struct ThreadTransactionTests {
    typealias F = Fixture

    @Test func makeChecksCalldataBeforeSigning() {
        let arity = #expect(throws: CalldataError.self) {
            try ThreadTransaction.make(
                thread: F.token.id, contract: F.tokenProgram, entrypoint: "transfer", arguments: ["1"], signer: F.alice,
                nonce: 0)
        }
        #expect(arity?.code == .wrongArity)
        #expect(arity?.entrypoint == "transfer")
        let bad = #expect(throws: CalldataError.self) {
            try ThreadTransaction.make(
                thread: F.token.id, contract: F.tokenProgram, entrypoint: "transfer",
                arguments: [F.bob.address.hex, "12x"], signer: F.alice, nonce: 0)
        }
        #expect(bad?.parameter == "amount")
        let unknown = #expect(throws: CalldataError.self) {
            try ThreadTransaction.make(
                thread: F.token.id, contract: F.tokenProgram, entrypoint: "send", arguments: [], signer: F.alice,
                nonce: 0)
        }
        #expect(unknown?.code == .unknownEntrypoint)
        let ok = F.tx(F.token, F.tokenProgram, "transfer", [F.bob.address.hex, "12"], by: F.alice, nonce: 0)
        #expect(ok.verifySignature())
        #expect(ok.caller == F.alice.address)
        #expect(ok.calldata.count == 5)
    }

    @Test func validateRefusalsNameThreadAccountAndEntrypoint() {
        let tx = F.tx(F.token, F.tokenProgram, "transfer", [F.bob.address.hex, "12"], by: F.alice, nonce: 3)
        let names: (Address) -> String? = { F.accounts.name(of: $0) }
        #expect(tx.validate(thread: F.token, program: F.tokenProgram, expectedNonce: 3) == nil)

        let nonce = tx.validate(thread: F.token, program: F.tokenProgram, expectedNonce: 4, names: names)
        #expect(nonce?.code == .wrongNonce)
        #expect(nonce?.message.contains("token.transfer from alice") == true)
        #expect(nonce?.message.contains("expected 4, given 3") == true)

        var forged = tx
        forged.nonce = 4
        let sig = forged.validate(thread: F.token, program: F.tokenProgram, expectedNonce: 4, names: names)
        #expect(sig?.code == .badSignature)
        #expect(sig?.account.contains("alice") == true)

        let thread = tx.validate(thread: F.counter, program: F.counterProgram, expectedNonce: 3)
        #expect(thread?.code == .wrongThread)

        var short = ThreadTransaction(
            threadId: F.token.id, senderPublicKey: F.alice.publicKey, nonce: 3, entrypoint: "transfer", calldata: [1])
        short.sign(with: F.alice)
        let calldata = short.validate(thread: F.token, program: F.tokenProgram, expectedNonce: 3)
        #expect(calldata?.code == .badCalldata)
        #expect(calldata?.entrypoint == "transfer")
    }

    @Test func signatureCoversEveryField() {
        let tx = F.tx(F.token, F.tokenProgram, "mint", [F.bob.address.hex, "12"], by: F.alice, nonce: 3)
        var variants: [ThreadTransaction] = []
        var v = tx; v.threadId = F.counter.id; variants.append(v)
        v = tx; v.nonce = 4; variants.append(v)
        v = tx; v.entrypoint = "transfer"; variants.append(v)
        v = tx; v.calldata[4] = 13; variants.append(v)
        v = tx; v.senderPublicKey = F.bob.publicKey; variants.append(v)
        v = tx; v.signature = HexBytes(Array(repeating: 0, count: 64)); variants.append(v)
        for variant in variants {
            #expect(!variant.verifySignature())
            #expect(variant.txHash != tx.txHash)
        }
        #expect(Set(variants.map(\.txHash)).count == variants.count)
    }

    @Test func threadIdsAndNonceKeysAreDeterministicAndDistinct() {
        #expect(ThreadId.derive(name: "token") == ThreadId.derive(name: "token"))
        #expect(ThreadId.derive(name: "token") != ThreadId.derive(name: "karts"))
        let key = ThreadNonce.key(of: F.alice.address)
        #expect(key == ThreadNonce.key(of: F.alice.address))
        #expect(key != ThreadNonce.key(of: F.bob.address))
        // Not reachable by a contract's `hash` instruction over the same words.
        #expect(key != StorageKey.derive(F.alice.address.words))
    }
}

@Suite struct ProgramCatalogTests {
    @Test func shippedCatalogPinsKartsToTheAchievementsThread() throws {
        let catalog = try ProgramCatalog.shipped()
        #expect(catalog.programs.count == 4)
        #expect(catalog.program(named: "karts")?.hash == Fixture.kartsProgram.hash)
        #expect(catalog(Fixture.tokenProgram.hash) == Fixture.tokenProgram)
        let other = try ProgramCatalog.shipped(achievementsThread: 2)
        #expect(other.program(named: "karts")?.hash != Fixture.kartsProgram.hash)
        #expect(other.program(named: "token")?.hash == Fixture.tokenProgram.hash)
        #expect(catalog.program(named: "nope") == nil)
    }
}
