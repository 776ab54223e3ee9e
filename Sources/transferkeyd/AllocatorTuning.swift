#if canImport(Glibc)
    import CMallocTuning
#endif

/// How much free memory at the top of one of glibc's heaps may stay mapped before `free` hands it back.
///
/// glibc's default is 128 KiB, adjusted upwards only when a large `mmap`ed block is freed, which this daemon
/// rarely does. Each cleaned key allocates and frees a few hundred KiB on the threads that run the cleanup
/// (SQLite's statement and page buffers, HTTP buffers, JSON), so with the default every key's last `free` gave the
/// thread's heap top back with `madvise` and its next allocations faulted the pages in again, zeroed: about 110
/// page faults and 2 `madvise` calls a key against the keep-alive stub (`make profile`). At 4 MiB a thread keeps
/// what it will use again: 4 faults a key and no `madvise` in the same run, 3–9 % less CPU back to back (the notes
/// of `docs/benchmarks-cpu.md` have the figures). Memory is still returned above that, and `mallopt` is the
/// documented way to say so (no allocator of our own).
let heapTrimThreshold: Int32 = 4 << 20

/// Sets `heapTrimThreshold` before the first thread starts; a no-op where the C library is not glibc.
func tuneAllocator() {
    #if canImport(Glibc)
        _ = mallopt(M_TRIM_THRESHOLD, heapTrimThreshold)
    #endif
}
