public import DaemonKit
public import DevnetProtocol

/// The zkThreadManager contract host.
public struct ManagerRole: DaemonRole {
    public static let role = ProcessRole.manager
    private let context: DaemonContext

    public init(context: DaemonContext) throws {
        self.context = context
    }
}
