import DevnetAPI
import DevnetProtocol
import Foundation
import ThreadVM
import ZKCore

/// The fault hooks of a thread node (tamper and replay) and the record of its L2 submissions.
struct NodeFaultHooks {
    /// Spoilings for the next submissions, in order.
    private(set) var tampers: [TamperRequest] = []
    /// The last sub-block the manager accepted from this node, as submitted (for `replay`).
    var lastAccepted: SubBlockSubmission?
    /// Every L2 submission since the node started, oldest first (the newest 10,000).
    private(set) var submissions: [SubmissionRecord] = []

    mutating func queue(_ request: TamperRequest, node: String) throws -> TamperReply {
        if request.fault == .replay, lastAccepted == nil {
            throw WireError(
                .notPossible,
                "\(node) has no accepted sub-block to replay yet (it keeps the last one it submitted since it started); let one settle first"
            )
        }
        tampers.append(request)
        return TamperReply(fault: request.fault, label: request.label, queued: tampers.count)
    }

    /// The spoiling for the next submission, if one is queued.
    mutating func next() -> TamperRequest? {
        tampers.isEmpty ? nil : tampers.removeFirst()
    }

    mutating func record(
        _ submission: SubBlockSubmission, _ receipt: Receipt, tamper: TamperRequest?
    ) {
        submissions.append(
            SubmissionRecord(
                sequence: submission.sequence, l2TxHash: receipt.txHash, status: receipt.status.rawValue,
                revertCode: receipt.revert?.code.rawValue, revertMessage: receipt.revert?.message,
                feeCharged: receipt.feeCharged, block: receipt.blockNumber,
                transactions: submission.transactions.count, tamper: tamper?.fault, label: tamper?.label
            ))
        if submissions.count > 10_000 { submissions.removeFirst(submissions.count - 10_000) }
    }

    /// `submission` spoiled as `fault` says.
    static func spoil(_ submission: SubBlockSubmission, _ fault: Tamper) -> SubBlockSubmission {
        var spoiled = submission
        switch fault {
        case .badProof:
            if spoiled.proof.isEmpty {
                spoiled.proof = Data([0xBA, 0xD0])
            } else {
                for index in stride(from: spoiled.proof.startIndex, to: spoiled.proof.endIndex, by: 7) {
                    spoiled.proof[index] ^= 0x5A
                }
            }
        case .wrongInputs:
            if let first = spoiled.inputs.first {
                spoiled.inputs[0] = KeyValue(key: first.key, value: first.value + Felt(1))
            } else {
                spoiled.inputs = [KeyValue(key: StorageKey(0, 0, 0, 1), value: Felt(1))]
            }
        case .wrongOSVersion:
            spoiled.osVersion &+= 1
        case .replay:
            break
        }
        return spoiled
    }
}
