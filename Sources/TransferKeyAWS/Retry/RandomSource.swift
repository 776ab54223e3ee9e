import Synchronization

/// A seeded generator behind a lock, shared by concurrent retry loops.
final class RandomSource: Sendable {
    private let generator: Mutex<SplitMix64>

    init(seed: UInt64) { generator = Mutex(SplitMix64(seed: seed)) }

    func withGenerator<T: Sendable>(_ body: (inout SplitMix64) -> T) -> T {
        generator.withLock { body(&$0) }
    }
}
