/// Tells the service manager how the daemon is doing (systemd's sd_notify in production).
public protocol ServiceNotifier: Sendable {
    /// Start-up finished: restore ran and the first scan started.
    func ready()
    /// One line of live state for `systemctl status`.
    func status(_ text: String)
    /// The work loop made progress: keep the watchdog from restarting us.
    func watchdog()
    /// Shutdown began.
    func stopping()
    /// How often `watchdog()` must be called, if a watchdog is armed.
    var watchdogInterval: Duration? { get }
}
