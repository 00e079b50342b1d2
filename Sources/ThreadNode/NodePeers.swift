import DaemonKit
import DevnetAPI
import DevnetClient
import DevnetProtocol
import Foundation
import Logging
import ZKCore
import ZeroMQ

/// A connection to the sequencer or the manager that asks again while the peer does not answer
/// (it may be restarting): the connection is dropped and made anew for each retry, so a peer
/// that came back is reached at once.
actor NodePeer {
    private let endpoint: String
    private let loop: SocketLoop
    private let logger: Logger
    private var client: RequestClient?

    init(endpoint: String, loop: SocketLoop, logger: Logger) {
        self.endpoint = endpoint
        self.loop = loop
        self.logger = logger
    }

    /// - Parameter once: ask once and throw `TIMEOUT` instead of asking again.
    func call<Reply: Decodable & Sendable>(
        _ type: String, _ payload: some Encodable & Sendable, as reply: Reply.Type, timeout: Duration = .seconds(5),
        once: Bool = false
    ) async throws -> Reply {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            let peer: RequestClient
            if let client {
                peer = client
            } else {
                peer = try await RequestClient.connect(to: endpoint, on: loop)
                client = peer
            }
            do {
                return try await peer.call(type, payload, as: Reply.self, timeout: timeout)
            } catch let error as WireError where error.code == .timeout || error.code == .shuttingDown {
                attempt += 1
                if once {
                    if client === peer {
                        peer.close()
                        client = nil
                    }
                    throw error
                }
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("no answer to \(type) from \(endpoint) (attempt \(attempt)); asking again")
                }
                if client === peer {
                    peer.close()
                    client = nil
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// What a thread node asks of the sequencer: its prover's L2 submissions and their receipts.
actor ProverAccount {
    private let sequencer: NodePeer
    private let prover: DevAccount
    private let logger: Logger
    private var nonce: UInt64?

    init(sequencer: NodePeer, prover: DevAccount, logger: Logger) {
        self.sequencer = sequencer
        self.prover = prover
        self.logger = logger
    }

    /// Signs an L2 transaction with the prover account and submits it; returns its hash once the
    /// sequencer admitted it. Throws the sequencer's refusal (say `INSUFFICIENT_BALANCE`).
    func admit(_ payload: L2Payload) async throws -> String {
        while true {
            if nonce == nil {
                nonce = try await sequencer.call(
                    SequencerMessage.account, AccountRequest(account: prover.name), as: AccountInfo.self
                ).nextNonce
            }
            let current = nonce ?? 0
            let tx = L2Transaction.make(signer: prover, nonce: current, payload: payload, payingExactly: .standard)
            do {
                // Admission answers at once; a reply this late means the message was lost (a
                // network fault, a restarting sequencer), and the node tries again sooner.
                _ = try await sequencer.call(
                    SequencerMessage.submit, SubmitRequest(tx: tx, wait: false), as: SubmitReply.self,
                    timeout: .seconds(10))
                nonce = current + 1
                return tx.txHash
            } catch let error as WireError where error.code.rawValue == "WRONG_NONCE" {
                logger.warning("prover nonce out of step (\(error.message)); asking the sequencer")
                nonce = nil
            } catch {
                // The sequencer may have taken it before failing to answer; ask for the nonce again.
                nonce = nil
                throw error
            }
        }
    }

    /// Waits for an admitted L2 transaction's receipt. Each wait is short, so a sequencer that
    /// restarted is asked again within a few seconds.
    func receipt(of txHash: String) async throws -> Receipt {
        while true {
            let reply = try await sequencer.call(
                SequencerMessage.receipt, ReceiptRequest(txHash: txHash, waitMs: 1_000), as: ReceiptReply.self,
                timeout: .seconds(3))
            if let receipt = reply.receipt { return receipt }
            if reply.status == "unknown" {
                logger.warning("the sequencer does not know \(txHash.prefix(12)) yet; asking again")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Signs, submits and waits for the receipt.
    func submit(_ payload: L2Payload) async throws -> Receipt {
        try await receipt(of: admit(payload))
    }
}
