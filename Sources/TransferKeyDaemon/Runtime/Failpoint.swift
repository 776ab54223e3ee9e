import Foundation

/// Crash-test hooks: with `TRANSFERKEYD_FAILPOINT=<name>` in the environment, the daemon kills
/// itself with SIGKILL right after the named step — how the tests prove that a kill at any step
/// boundary loses nothing. Unset it does nothing, and a release build ignores the variable altogether
/// (the hook exists only in debug builds, which the tests use).
enum Failpoint {
    /// Right after `ScheduleKeyDeletion` answered, before anything was recorded.
    static let afterScheduleKeyDeletion = "after_schedule_key_deletion"
    /// Mid-replica: the multi-Region primary is scheduled (and that call recorded), a replica not yet;
    /// fires before each replica's `ScheduleKeyDeletion`.
    static let midReplica = "mid_replica"
    /// Right after `key_scheduled` was stored.
    static let afterKeyScheduled = "after_key_scheduled"
    /// Right after `DeleteAlias` answered, before it was recorded.
    static let afterDeleteAlias = "after_delete_alias"
    /// Right after `cleaned` was stored.
    static let afterAliasesRemoved = "after_aliases_removed"

    /// Right after the intent row was recorded, before `CreateKey` (`transferkeyd create`).
    static let afterIntent = "after_intent"
    /// Right after `CreateKey` answered, before the key id was recorded (`transferkeyd create`).
    static let afterCreateKey = "after_create_key"
    /// Right after `CreateAlias` answered, before it was recorded (`transferkeyd create`).
    static let afterCreateAlias = "after_create_alias"

    /// Mid-orphan-adoption: the scan saw an unrecorded prefixed key, nothing is recorded yet.
    static let afterOrphanFound = "after_orphan_found"
    /// Mid-orphan-adoption: the orphan was recorded (with why it was adopted), nothing acted on it yet.
    static let afterOrphanAdopted = "after_orphan_adopted"

    #if DEBUG
        private static let armed = ProcessInfo.processInfo.environment["TRANSFERKEYD_FAILPOINT"]
    #else
        private static let armed: String? = nil
    #endif

    /// Dies at once if `name` is the armed failpoint.
    static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
