import Foundation
import Testing
import ThreadVM

@testable import ZKCore

@Suite struct AccountTests {
    @Test func sameSeedSameAddressesOtherSeedOthers() throws {
        let a = DevAccounts.derive(seed: 7)
        let b = DevAccounts.derive(seed: 7)
        let c = DevAccounts.derive(seed: 8)
        #expect(a.users.map(\.address) == b.users.map(\.address))
        #expect(a.sequencer.address == b.sequencer.address)
        #expect(a.prover(thread: "token", index: 1).address == b.prover(thread: "token", index: 1).address)
        for (x, y) in zip(a.users, c.users) { #expect(x.address != y.address) }
        #expect(a.sequencer.address != c.sequencer.address)
        #expect(Set(a.users.map(\.address)).count == 10)
        #expect(a.users.map(\.name) == DevAccounts.userNames)
        #expect(a.users[0].publicKey.count == 32)
        #expect(a.users[0].address == Address(publicKeyBytes: a.users[0].publicKey.bytes))
    }

    @Test func lookupByNameAndUnknownNameListsKnownOnes() throws {
        let accounts = Fixture.accounts
        #expect(try accounts.account(named: "bob").address == accounts.users[1].address)
        #expect(try accounts.account(named: "sequencer").address == accounts.sequencer.address)
        let prover = try accounts.account(named: "prover-token-1")
        #expect(prover.name == "prover-token-1")
        #expect(prover.address == accounts.prover(thread: "token", index: 1).address)
        #expect(prover.address != accounts.prover(thread: "token", index: 2).address)
        #expect(
            try accounts.account(named: "prover-my-thread-3").address
                == accounts.prover(thread: "my-thread", index: 3).address)
        let error = #expect(throws: AccountError.self) { try accounts.account(named: "mallory") }
        #expect(error?.code == .unknownAccount)
        #expect(error?.message.contains("mallory") == true)
        #expect(error?.message.contains("alice") == true)
        #expect(error?.message.contains("judy") == true)
        #expect(accounts.name(of: accounts.users[3].address) == "dave")
        #expect(
            accounts.name(of: accounts.prover(thread: "karts", index: 1).address, threads: ["karts"])
                == "prover-karts-1")
    }

    @Test func genesisBalances() {
        let balances = Fixture.accounts.genesisBalances(threads: ["token"], proversPerThread: 2)
        #expect(balances[Fixture.accounts.sequencer.address] == 0)
        #expect(balances[Fixture.alice.address] == DevAccounts.genesisBalance)
        #expect(balances[Fixture.accounts.prover(thread: "token", index: 2).address] == DevAccounts.genesisBalance)
        #expect(balances.count == 13)
    }
}

@Suite struct L2TransactionTests {
    @Test func signAndVerifyAndTamper() {
        let tx = L2Transaction.make(
            signer: Fixture.alice, nonce: 0, maxFee: 10_000, payload: .transfer(to: Fixture.bob.address, amount: 5))
        #expect(tx.verifySignature())
        #expect(tx.sender == Fixture.alice.address)
        #expect(tx.txHash.count == 64)
        var changed = tx
        changed.payload = .transfer(to: Fixture.bob.address, amount: 6)
        #expect(!changed.verifySignature())
        #expect(changed.txHash != tx.txHash)
        var other = tx
        other.senderPublicKey = Fixture.bob.publicKey
        #expect(!other.verifySignature())
        var garbage = tx
        garbage.signature = HexBytes([1, 2, 3])
        #expect(!garbage.verifySignature())
    }

    @Test func wireJSONRoundTripsWithSnakeCase() throws {
        let reg = Fixture.registration(Fixture.counter, Fixture.counterProgram, contract: "counter")
        let tx = L2Transaction.make(signer: Fixture.alice, nonce: 3, maxFee: 99_999, payload: .registerThread(reg))
        let json = try WireCoding.encoder().encode(tx)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"sender_public_key\""))
        #expect(text.contains("\"max_fee\""))
        #expect(text.contains("\"register_thread\""))
        #expect(text.contains("\"genesis_state\""))
        let back = try WireCoding.decoder().decode(L2Transaction.self, from: json)
        #expect(back == tx)
        #expect(back.verifySignature())
        #expect(back.txHash == tx.txHash)
    }

    @Test func threadUpdateJSONCarriesProofAsBase64() throws {
        let manager = Fixture.manager()
        let sub = Fixture.subBlock(
            manager, Fixture.counter,
            [Fixture.tx(Fixture.counter, Fixture.counterProgram, "increment", ["2"], by: Fixture.alice, nonce: 0)])
        let tx = L2Transaction.make(
            signer: Fixture.accounts.prover(thread: "counter", index: 1), nonce: 0, maxFee: 1_000_000,
            payload: .threadUpdate(bundle: [sub]))
        let json = try WireCoding.encoder().encode(tx)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"proof\":\"\(sub.proof.base64EncodedString())\""))
        #expect(text.contains("\"tx_commitment\""))
        let back = try WireCoding.decoder().decode(L2Transaction.self, from: json)
        #expect(back == tx)
    }
}

@Suite struct WireDecodingTests {
    @Test func garbageJSONIsADecodingErrorNotACrash() throws {
        let decoder = WireCoding.decoder()
        let unknownType = #"{"type":"mint","to":"0x00","amount":1}"#
        #expect(throws: DecodingError.self) { try decoder.decode(L2Payload.self, from: Data(unknownType.utf8)) }
        let badHex =
            #"{"sender_public_key":"zz","nonce":0,"max_fee":1,"payload":{"type":"transfer","to":"0x\#(String(repeating: "0", count: 64))","amount":1},"signature":"00"}"#
        #expect(throws: DecodingError.self) { try decoder.decode(L2Transaction.self, from: Data(badHex.utf8)) }
        let good = badHex.replacingOccurrences(of: "\"zz\"", with: "\"\(Fixture.alice.publicKey.hex)\"")
        let tx = try decoder.decode(L2Transaction.self, from: Data(good.utf8))
        #expect(tx.sender == Fixture.alice.address)
        #expect(!tx.verifySignature())
        var ledger = SequencerLedger(accounts: Fixture.accounts)
        #expect(ledger.admit(tx).rejection?.code == .badSignature)
    }
}
