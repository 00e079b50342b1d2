public import DaemonKit
public import DevnetProtocol

/// One zkThread node: batcher and prover for one thread.
public struct ThreadNodeRole: DaemonRole {
    public static let role = ProcessRole.threadNode
    private let context: DaemonContext

    public init(context: DaemonContext) throws {
        guard let thread = context.spec.thread else {
            throw DaemonStartError(
                code: .badConfiguration, message: "thread node '\(context.name)' has no thread in the topology")
        }
        self.context = context
        context.logger.info(
            "thread '\(thread.name)' runs contract '\(thread.contract)' with proof system '\(thread.proofSystem)'")
    }
}
