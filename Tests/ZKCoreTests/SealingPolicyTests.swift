import Foundation
import Testing
import ThreadVM

@testable import ZKCore

/// The node's sealing policy: a lone transaction seals at once; under load the open sub-block
/// waits for `minSubBlock` transactions or for `sealAfter`, whichever comes first.
@Suite struct SealingPolicyTests {
    typealias F = Fixture

    func running(minSubBlock: Int, sealAfter: Duration) -> NodePipeline {
        var pipeline = NodePipeline(
            configuration: NodePipeline.Configuration(
                thread: F.counter, program: F.counterProgram, minSubBlock: minSubBlock, sealAfter: sealAfter))
        _ = pipeline.syncStarted()
        pipeline.synced(canonical: MemoryState(), sequence: 0, settled: [:])
        _ = pipeline.advanceRebase()
        return pipeline
    }

    func increment(_ nonce: UInt64) -> ThreadTransaction {
        F.tx(F.counter, F.counterProgram, "increment", ["by=1"], by: F.alice, nonce: nonce)
    }

    @Test func aLoneTransactionSealsAtOnce() {
        var pipeline = running(minSubBlock: 64, sealAfter: .seconds(10))
        let start = ContinuousClock.now
        #expect(pipeline.submit(increment(0), at: start) == .accepted(.pending, new: true))
        let sub = pipeline.nextSubmission(at: start)
        #expect(sub?.transactions.count == 1)
        #expect(pipeline.sealDeadline == nil)
    }

    @Test func underLoadTheOpenSubBlockWaitsForItsMinimum() throws {
        var pipeline = running(minSubBlock: 4, sealAfter: .milliseconds(50))
        let start = ContinuousClock.now
        _ = pipeline.submit(increment(0), at: start)
        let sealed = pipeline.nextSubmission(at: start)
        let first = try #require(sealed)
        pipeline.submitted(sequence: first.sequence, l2TxHash: "l2-first")
        _ = pipeline.submit(increment(1), at: start + .milliseconds(1))
        #expect(pipeline.nextSubmission(at: start + .milliseconds(2)) == nil)
        #expect(pipeline.sealDeadline == start + .milliseconds(51))
        for nonce in 2...4 { _ = pipeline.submit(increment(UInt64(nonce)), at: start + .milliseconds(3)) }
        let second = pipeline.nextSubmission(at: start + .milliseconds(4))
        #expect(second?.transactions.count == 4)
        #expect(second?.transactions.map(\.nonce) == [1, 2, 3, 4])
    }

    @Test func theDeadlineSealsWhatHasWaitedLongEnough() throws {
        var pipeline = running(minSubBlock: 100, sealAfter: .milliseconds(50))
        let start = ContinuousClock.now
        _ = pipeline.submit(increment(0), at: start)
        let sealed = pipeline.nextSubmission(at: start)
        let first = try #require(sealed)
        pipeline.submitted(sequence: first.sequence, l2TxHash: "l2-first")
        _ = pipeline.submit(increment(1), at: start + .milliseconds(10))
        _ = pipeline.submit(increment(2), at: start + .milliseconds(40))
        #expect(pipeline.nextSubmission(at: start + .milliseconds(59)) == nil)
        #expect(pipeline.sealDeadline == start + .milliseconds(60))
        let second = pipeline.nextSubmission(at: start + .milliseconds(60))
        #expect(second?.transactions.map(\.nonce) == [1, 2])
    }

    @Test func withoutAClockNothingWaits() throws {
        var pipeline = running(minSubBlock: 100, sealAfter: .seconds(10))
        _ = pipeline.submit(increment(0))
        let sealed = pipeline.nextSubmission()
        let first = try #require(sealed)
        pipeline.submitted(sequence: first.sequence, l2TxHash: "l2-first")
        _ = pipeline.submit(increment(1))
        #expect(pipeline.nextSubmission()?.transactions.count == 1)
    }
}
