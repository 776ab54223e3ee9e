/// The version the daemon reports in its heartbeat, `status` and logs.
public enum DaemonVersion {
    /// Semantic version of this build.
    public static let current = "0.1.0"
}
