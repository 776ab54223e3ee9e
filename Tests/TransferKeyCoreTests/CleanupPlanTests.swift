import Foundation
import Testing
import TransferKeyCore

/// `CleanupPlan.next`: the verdict and where the key lives (and is pending) in, the worker's action out.
@Suite("Cleanup plan")
struct CleanupPlanTests {
    static let approved = SafetyVerdict.approved(aliases: ["alias/CadoResponse-KMS-Alias-1"])
    static let refused = SafetyVerdict.refused(.foreignAlias, reason: "alias/prod")
    static let young = SafetyVerdict.deferred(.youngAlias, reason: "young", retryAfter: 30)
    static let shared = SafetyVerdict.deferred(.sharedKey, reason: "shared", retryAfter: nil)
    static let two = ["us-east-1", "eu-west-1"]

    func next(
        _ verdict: SafetyVerdict, pending: [String] = [], dryRun: Bool = false, disableFirst: Bool = false,
        watchSettled: Bool = false
    ) -> CleanupAction {
        CleanupPlan.next(
            verdict: verdict, regions: Self.two, pendingRegions: pending, dryRun: dryRun, disableFirst: disableFirst,
            watchSettled: watchSettled, recheckInterval: 300)
    }

    @Test("a refusal touches nothing, unless the key is pending somewhere: then that deletion is cancelled first")
    func refusals() {
        #expect(next(Self.refused) == .refuse(.foreignAlias, reason: "alias/prod"))
        #expect(
            next(Self.refused, pending: ["eu-west-1"])
                == .cancelDeletionAndRefuse(.foreignAlias, reason: "alias/prod", regions: ["eu-west-1"]))
        #expect(next(Self.refused, dryRun: true) == .refuse(.foreignAlias, reason: "alias/prod"))
    }

    @Test("a deferral waits its rule's time (the recheck interval if none, at least a second)")
    func deferrals() {
        #expect(next(Self.young) == .postpone(.youngAlias, reason: "young", after: 30))
        #expect(next(Self.shared) == .postpone(.sharedKey, reason: "shared", after: 300))
        let instant = SafetyVerdict.deferred(.keyStateTransitional, reason: "x", retryAfter: 0)
        #expect(next(instant) == .postpone(.keyStateTransitional, reason: "x", after: 1))
        #expect(
            next(Self.young, pending: ["us-east-1"]) == .postpone(.youngAlias, reason: "young", after: 30),
            "only a shared key's pending deletion is cancelled at once")
        #expect(
            next(Self.shared, pending: ["us-east-1"])
                == .cancelDeletionAndRefuse(.sharedKey, reason: "shared", regions: ["us-east-1"]))
    }

    @Test("an approved key is scheduled where it is not pending yet; pending everywhere is recorded as such")
    func approvals() {
        #expect(next(Self.approved) == .schedule(regions: Self.two))
        #expect(next(Self.approved, pending: ["us-east-1"]) == .schedule(regions: ["eu-west-1"]))
        #expect(next(Self.approved, pending: Self.two) == .recordAlreadyPending)
        let already = SafetyVerdict.alreadyPendingDeletion(deletionDate: nil, aliases: [])
        #expect(next(already, pending: Self.two) == .recordAlreadyPending)
    }

    @Test("a dry run notes what it would schedule; disable_first settles its watch before anything is scheduled")
    func dryRunAndDisableFirst() {
        #expect(next(Self.approved, dryRun: true) == .noteWouldSchedule(regions: Self.two))
        #expect(next(Self.approved, disableFirst: true) == .disableFirst)
        #expect(next(Self.approved, dryRun: true, disableFirst: true) == .disableFirst)
        #expect(next(Self.approved, disableFirst: true, watchSettled: true) == .schedule(regions: Self.two))
        #expect(next(Self.approved, pending: Self.two, disableFirst: true) == .recordAlreadyPending)
        #expect(next(Self.refused, disableFirst: true) == .refuse(.foreignAlias, reason: "alias/prod"))
    }
}
