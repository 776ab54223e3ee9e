import TransferKeyAWS

/// The seeded generator of tests: a failing random case is replayed from its seed. The same SplitMix64 that makes
/// backoff jitter reproducible, not a second copy of it.
public typealias SeededGenerator = SplitMix64
