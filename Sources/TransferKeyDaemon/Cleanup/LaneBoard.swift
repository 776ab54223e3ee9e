import Synchronization
import TransferKeyStore

/// The daemon's lanes across turns: which account × region lanes have work in flight, so a turn starts only idle
/// lanes and never waits for a busy one. A lane stalled on one answer (bounded by `request_timeout`) costs the
/// other lanes, the heartbeat and the periodic jobs nothing.
///
/// Lanes run as tasks of their own (`Task`, which keeps the loop's task-locals: its progress mark and the graceful
/// shutdown); `drain` waits for them when the loop stops, and cancels them if the stop is cancelled. Unstructured
/// because a task group cannot outlive the turn that adds to it without being handed through every turn.
final class LaneBoard: Sendable {
    private struct State {
        var busy: Set<AccountRegion> = []
        var tasks: [AccountRegion: Task<Void, Never>] = [:]
        /// A write the database refused in a lane since the loop last asked.
        var refusal: String?
    }

    private let state = Mutex(State())
    /// The transfers due for deletion in flight in any lane: a turn's budget leaves their calls out.
    let reserved = ReservedDeletions()

    /// Starts `work` in `lane` unless that lane is busy; false when it is.
    func start(_ lane: AccountRegion, _ work: @escaping @Sendable () async -> String?) -> Bool {
        state.withLock { state in
            guard !state.busy.contains(lane) else { return false }
            state.busy.insert(lane)
            state.tasks[lane] = Task {
                let refusal = await work()
                self.finish(lane, refusal: refusal)
            }
            return true
        }
    }

    private func finish(_ lane: AccountRegion, refusal: String?) {
        state.withLock { state in
            state.busy.remove(lane)
            state.tasks[lane] = nil
            if let refusal, state.refusal == nil { state.refusal = refusal }
        }
    }

    /// Whether `lane` has work in flight.
    func isBusy(_ lane: AccountRegion) -> Bool { state.withLock { $0.busy.contains(lane) } }

    /// The lanes in flight.
    var busyLanes: Set<AccountRegion> { state.withLock { $0.busy } }

    /// The first write a lane's database refused since the last call, if any.
    func takeRefusal() -> String? {
        state.withLock { state in
            defer { state.refusal = nil }
            return state.refusal
        }
    }

    /// Waits for every lane in flight (they take no new transfer once shutdown began); cancels them if cancelled.
    func drain() async {
        while true {
            let tasks = state.withLock { Array($0.tasks.values) }
            if tasks.isEmpty { return }
            await withTaskCancellationHandler {
                for task in tasks { await task.value }
            } onCancel: {
                for task in tasks { task.cancel() }
            }
        }
    }
}
