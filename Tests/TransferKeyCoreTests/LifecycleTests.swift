import Foundation
import Testing

@testable import TransferKeyCore

/// One sample of every event, so the table below covers every state × event pair.
private let now = Date(timeIntervalSince1970: 1_795_000_000)
private let later = now.addingTimeInterval(60)
private let earlier = now.addingTimeInterval(-60)

private let samples: [(name: String, event: TransferEvent)] = [
    ("keyCreated", .keyCreated),
    ("importEnded", .importEnded(.succeeded)),
    ("keyRefused", .keyRefused(reason: "foreign alias")),
    ("keyScheduled", .keyScheduled(deletionDate: later)),
    ("aliasesRemoved", .aliasesRemoved),
    ("keyGone", .keyGone),
    ("keyStillPending", .keyStillPending(recheckAt: later)),
    ("stepFailed+retry", .stepFailed(error: "ThrottlingException", retryAt: later)),
    ("stepFailed+final", .stepFailed(error: "AccessDeniedException", retryAt: nil)),
    ("retryRequested", .retryRequested),
    ("deletionCancelled", .deletionCancelled),
    ("deferred", .deferred(reason: "young alias", retryAt: later)),
    ("provenanceAccepted", .provenanceAccepted(by: "alice", reason: "reviewed")),
]

/// The whole life cycle as data: (state, event) → expected transition; every pair not listed is illegal.
private let legal: [TransferState: [String: Transition]] = [
    .creating: [
        "keyCreated": Transition(.active, .awaitImport),
        "stepFailed+retry": Transition(.creating, .retry(at: later)),
        "stepFailed+final": Transition(.stuck, .alertOperator(reason: "AccessDeniedException")),
    ],
    .active: [
        "importEnded": Transition(.cleanupDue, .verifyAndScheduleDeletion),
        "deferred": Transition(.active, .retry(at: later)),
        "keyScheduled": Transition(.keyScheduled, .removeAliases),
        "keyGone": Transition(.deleted, .none),
    ],
    .cleanupDue: [
        "keyRefused": Transition(.refused, .alertOperator(reason: "foreign alias")),
        "deferred": Transition(.cleanupDue, .retry(at: later)),
        "keyScheduled": Transition(.keyScheduled, .removeAliases),
        "keyGone": Transition(.deleted, .none),
        "stepFailed+retry": Transition(.cleanupDue, .retry(at: later)),
        "stepFailed+final": Transition(.stuck, .alertOperator(reason: "AccessDeniedException")),
    ],
    .keyScheduled: [
        "keyRefused": Transition(.refused, .alertOperator(reason: "foreign alias")),
        "keyScheduled": Transition(.keyScheduled, .removeAliases),
        "aliasesRemoved": Transition(.cleaned, .confirmDeletion(at: nil)),
        "keyGone": Transition(.deleted, .none),
        "stepFailed+retry": Transition(.keyScheduled, .retry(at: later)),
        "stepFailed+final": Transition(.stuck, .alertOperator(reason: "AccessDeniedException")),
        "deletionCancelled": Transition(.cancelled, .none),
    ],
    .cleaned: [
        "keyGone": Transition(.deleted, .none),
        "keyStillPending": Transition(.cleaned, .confirmDeletion(at: later)),
        "stepFailed+retry": Transition(.cleaned, .retry(at: later)),
        "stepFailed+final": Transition(.stuck, .alertOperator(reason: "AccessDeniedException")),
        "deletionCancelled": Transition(.cancelled, .none),
    ],
    .deleted: [:],
    .stuck: [
        "keyGone": Transition(.deleted, .none),
        "retryRequested": Transition(.cleanupDue, .verifyAndScheduleDeletion),
        "deletionCancelled": Transition(.cancelled, .none),
    ],
    .refused: [
        "keyGone": Transition(.deleted, .none),
        "retryRequested": Transition(.cleanupDue, .verifyAndScheduleDeletion),
        "provenanceAccepted": Transition(.cleanupDue, .verifyAndScheduleDeletion),
    ],
    .cancelled: [:],
]

struct Pair: CustomTestStringConvertible, Sendable {
    var state: TransferState
    var name: String
    var event: TransferEvent
    var testDescription: String { "\(state.rawValue) + \(name)" }
}

private let allPairs: [Pair] = TransferState.allCases.flatMap { state in
    samples.map { Pair(state: state, name: $0.name, event: $0.event) }
}

@Suite("Lifecycle transition function")
struct LifecycleTests {
    @Test("every state × event pair is legal with the tabled outcome, or illegal", arguments: allPairs)
    func table(pair: Pair) {
        let expected = legal[pair.state]?[pair.name]
        let actual = try? Lifecycle.transition(from: pair.state, on: pair.event, now: now)
        #expect(actual == expected)
        if expected == nil {
            #expect(throws: IllegalTransition(state: pair.state, event: pair.event.kind.rawValue)) {
                try Lifecycle.transition(from: pair.state, on: pair.event, now: now)
            }
        }
    }

    @Test("the table names only events that exist")
    func tableIsConsistent() {
        let names = Set(samples.map(\.name))
        for (_, row) in legal { #expect(Set(row.keys).isSubset(of: names)) }
        #expect(Set(legal.keys) == Set(TransferState.allCases))
    }

    @Test("terminal states accept nothing")
    func terminal() {
        for state in [TransferState.deleted, .cancelled] {
            for sample in samples {
                #expect(throws: IllegalTransition.self) {
                    try Lifecycle.transition(from: state, on: sample.event, now: now)
                }
            }
        }
    }

    @Test("a retry time in the past is moved to now, so work never goes back in time")
    func retryNotInPast() throws {
        let transition = try Lifecycle.transition(
            from: .cleanupDue, on: .stepFailed(error: "x", retryAt: earlier), now: now)
        #expect(transition == Transition(.cleanupDue, .retry(at: now)))
        let recheck = try Lifecycle.transition(from: .cleaned, on: .keyStillPending(recheckAt: earlier), now: now)
        #expect(recheck == Transition(.cleaned, .confirmDeletion(at: now)))
    }

    @Test("a key is never scheduled straight from active: the import must end first")
    func noShortcut() throws {
        for sample in samples {
            guard let transition = try? Lifecycle.transition(from: .active, on: sample.event, now: now) else {
                continue
            }
            #expect(transition.followUp != .verifyAndScheduleDeletion || sample.name == "importEnded")
        }
    }

    @Test("unfinished states are exactly those the daemon still owes work")
    func unfinished() {
        #expect(
            TransferState.allCases.filter(\.isUnfinished) == [.creating, .active, .cleanupDue, .keyScheduled, .cleaned])
        #expect(
            TransferState.allCases.map(\.rawValue) == [
                "creating", "active", "cleanup_due", "key_scheduled", "cleaned", "deleted", "stuck", "refused",
                "cancelled",
            ])
    }

    @Test("each state names the daemon's work: the unfinished ones have work, the others none")
    func workForState() {
        let table: [TransferState: TransferWork] = [
            .creating: .settleCreation, .active: .expireLease, .cleanupDue: .verifyAndSchedule,
            .keyScheduled: .verifyAndRemoveAliases, .cleaned: .confirmDeletion, .deleted: .none, .stuck: .none,
            .refused: .none, .cancelled: .none,
        ]
        #expect(table.count == TransferState.allCases.count)
        for state in TransferState.allCases {
            #expect(Lifecycle.work(for: state) == table[state], "\(state)")
            #expect((Lifecycle.work(for: state) != .none) == state.isUnfinished, "\(state)")
        }
        // The transition table and the work agree: entering cleanup_due asks for the deletion it then gets.
        let ended = try? Lifecycle.transition(from: .active, on: .importEnded(.succeeded), now: now)
        #expect(ended?.followUp == .verifyAndScheduleDeletion)
        #expect(ended.map { Lifecycle.work(for: $0.state) } == .verifyAndSchedule)
    }

    @Test("the named state sets are what their names say, in terms of the life cycle")
    func stateSets() {
        let unfinished = TransferState.allCases.filter(\.isUnfinished)
        #expect(TransferState.workedByDaemon == unfinished.filter { Lifecycle.work(for: $0) != .settleCreation })
        #expect(TransferState.keyStillUsable == unfinished.filter { $0 != .cleaned })
        #expect(TransferState.keyPendingDeletion == [.keyScheduled, .cleaned])
        #expect(TransferState.beforeScheduling.allSatisfy { $0 < .keyScheduled && $0.isUnfinished && $0 != .creating })
        #expect(Set(TransferState.summarized) == Set(TransferState.workedByDaemon + [.stuck, .refused]))
    }
}
