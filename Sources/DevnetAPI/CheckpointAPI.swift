/// The checkpoint request on the admin endpoint of the sequencer and the manager.
public enum CheckpointMessage {
    /// `{}` → ``CheckpointReply``: saves the daemon's in-memory state and the command-log position
    /// it covers into its database, in one transaction, so that its next start (after a revert to a
    /// snapshot taken now, say) replays only the log after that position. `devnet snapshot` asks it
    /// of every daemon that has one before it freezes them.
    public static let checkpoint = "checkpoint"
}

public struct CheckpointReply: Codable, Sendable, Equatable {
    /// The last command-log position the saved state covers.
    public var position: Int64
    /// The size of the saved state.
    public var bytes: Int
    /// How long encoding and saving it took.
    public var milliseconds: Int
    /// False when a checkpoint of a later position was saved meanwhile (this one was not needed).
    public var saved: Bool

    public init(position: Int64, bytes: Int, milliseconds: Int, saved: Bool) {
        self.position = position
        self.bytes = bytes
        self.milliseconds = milliseconds
        self.saved = saved
    }
}
