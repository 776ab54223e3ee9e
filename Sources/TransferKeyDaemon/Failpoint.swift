import Foundation

/// Crash-test hooks: with `TRANSFERKEYD_FAILPOINT=<name>` in the environment, the daemon kills
/// itself with SIGKILL right after the named step — how the tests prove that a kill at any step
/// boundary loses nothing. Unset (always, in production) it does nothing.
enum Failpoint {
    /// Right after `ScheduleKeyDeletion` answered, before anything was recorded.
    static let afterScheduleKeyDeletion = "after_schedule_key_deletion"
    /// Right after `key_scheduled` was stored.
    static let afterKeyScheduled = "after_key_scheduled"
    /// Right after `DeleteAlias` answered, before it was recorded.
    static let afterDeleteAlias = "after_delete_alias"
    /// Right after `cleaned` was stored.
    static let afterAliasesRemoved = "after_aliases_removed"

    /// Right after `CreateKey` answered, before the key id was recorded (`transferkeyd create`).
    static let afterCreateKey = "after_create_key"
    /// Right after `CreateAlias` answered, before it was recorded (`transferkeyd create`).
    static let afterCreateAlias = "after_create_alias"

    private static let armed = ProcessInfo.processInfo.environment["TRANSFERKEYD_FAILPOINT"]

    /// Dies at once if `name` is the armed failpoint.
    static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
