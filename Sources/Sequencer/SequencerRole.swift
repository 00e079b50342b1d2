public import DaemonKit
public import DevnetProtocol

/// The L2 sequencer mock.
public struct SequencerRole: DaemonRole {
    public static let role = ProcessRole.sequencer
    private let context: DaemonContext

    public init(context: DaemonContext) throws {
        self.context = context
        context.logger.info("block mode: \(context.spec.blockMode ?? .instant)")
    }
}
