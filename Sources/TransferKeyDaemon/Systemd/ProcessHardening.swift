import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps secrets (AWS credentials in memory) out of core dumps and away from same-user debuggers:
/// `RLIMIT_CORE` 0 and, on Linux, `prctl(PR_SET_DUMPABLE, 0)`. Called first thing by `transferkeyd run`
/// (the unit also sets `LimitCORE=0`).
public enum ProcessHardening {
    /// Applies both; returns what failed, if anything (the daemon logs it and runs on).
    @discardableResult
    public static func disableCoreDumps() -> [String] {
        var failures: [String] = []
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
        #else
            let resource = RLIMIT_CORE
        #endif
        if setrlimit(resource, &limit) != 0 { failures.append("setrlimit(RLIMIT_CORE): errno \(errno)") }
        #if os(Linux)
            if prctl(option: 4 /* PR_SET_DUMPABLE */, 0) != 0 {
                failures.append("prctl(PR_SET_DUMPABLE): errno \(errno)")
            }
        #endif
        return failures
    }

    /// Whether the process may dump core / be ptraced by its user (`PR_GET_DUMPABLE`); `nil` off Linux.
    public static var isDumpable: Bool? {
        #if os(Linux)
            return prctl(option: 3 /* PR_GET_DUMPABLE */, 0) != 0
        #else
            return nil
        #endif
    }

    #if os(Linux)
        /// `prctl` is variadic in C, which Swift cannot call; its address is looked up and called with the
        /// integer arguments the system call takes (the Linux calling conventions pass them alike).
        private static func prctl(option: Int32, _ argument: UInt) -> Int32 {
            typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return -1 }
            return unsafeBitCast(symbol, to: Prctl.self)(option, argument, 0, 0, 0)
        }
    #endif
}
