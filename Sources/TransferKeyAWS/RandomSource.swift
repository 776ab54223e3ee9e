import Foundation

/// A seeded generator behind a lock, shared by concurrent retry loops.
final class RandomSource: @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    func withGenerator<T>(_ body: (inout SplitMix64) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&generator)
    }
}
