/// Works one lane (one account × region) with up to `width` transfers in flight: started in the lane's order
/// (oldest first), never two on the same key at once (a transfer whose key is in hand waits for it), and no new
/// start once a result says stop (the database refused a write) or `admit` says so.
///
/// The per-operation pacing of the AWS client keeps each operation under AWS's quota however many are in flight:
/// more in flight hides the round trip, not the quota.
struct LanePipeline<Item: Sendable>: Sendable {
    /// What `admit` decides for the next item, given how many items that `needsBudget` are in flight.
    enum Admission: Sendable, Equatable {
        case start
        /// Not this one (it keeps its place for the next cycle); look at the next.
        case skip
        /// No more starts in this lane; those in flight finish.
        case stop
    }

    /// At most this many in flight (at least 1).
    var width: Int
    /// The key two items must not share while in flight (nil: none).
    var key: @Sendable (Item) -> String?

    /// Runs `work` over `items`; `admit` sees each item just before it would start, with the number in flight.
    /// Returns the first stop reason a `work` gave, if any.
    func run(
        _ items: [Item], admit: (Item, _ inFlight: Int) -> Admission,
        work: @escaping @Sendable (Item) async -> String?
    ) async -> String? {
        await withTaskGroup(of: (String?, String?).self) { group in
            var waiting = items[...]
            var held: [Item] = []
            var busy: [String: Int] = [:]
            var inFlight = 0
            var stopReason: String?
            var stopped = false

            func isFree(_ item: Item) -> Bool { key(item).map { busy[$0, default: 0] == 0 } ?? true }
            // The next item that may start: a held one whose key came free first (it is older), then the lane.
            func next() -> Item? {
                if let index = held.firstIndex(where: isFree) { return held.remove(at: index) }
                while let item = waiting.popFirst() {
                    if isFree(item) { return item }
                    held.append(item)
                }
                return nil
            }

            while true {
                while !stopped, inFlight < max(width, 1), let item = next() {
                    switch admit(item, inFlight) {
                    case .skip:
                        continue
                    case .stop:
                        stopped = true
                    case .start:
                        let itemKey = key(item)
                        if let itemKey { busy[itemKey, default: 0] += 1 }
                        inFlight += 1
                        group.addTask { (itemKey, await work(item)) }
                    }
                }
                guard inFlight > 0, let (itemKey, reason) = await group.next() else { break }
                inFlight -= 1
                if let itemKey { busy[itemKey, default: 0] -= 1 }
                if let reason, stopReason == nil {
                    stopReason = reason
                    stopped = true
                }
            }
            return stopReason
        }
    }
}
