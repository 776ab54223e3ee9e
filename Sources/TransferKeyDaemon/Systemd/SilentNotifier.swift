/// A notifier that says nothing (no service manager, or tests).
public struct SilentNotifier: ServiceNotifier {
    public init() {}
    public func ready() {}
    public func status(_ text: String) {}
    public func watchdog() {}
    public func stopping() {}
    public var watchdogInterval: Duration? { nil }
}
