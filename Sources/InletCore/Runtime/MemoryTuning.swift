#if canImport(Glibc)
import Glibc
#endif

/// How the daemon's process hands freed memory back to the kernel.
package enum MemoryTuning {
    /// Raises glibc's trim threshold to 64 MB. With the default (128 KB, adjusted as it goes), a
    /// thread's malloc arena shrinks and grows again at nearly every job: one `madvise` per job,
    /// each a TLB shootdown across the cores (`make bench`: 8,348 madvise calls for 10,000 no-op
    /// jobs before, 3 after; 5% of the daemon's time in a profile). Memory freed stays mapped up
    /// to that much per arena and is reused. Does nothing where libc is not glibc.
    package static func keepFreedMemoryMapped() {
        #if canImport(Glibc)
        // mallopt is not in Swift's Glibc module; looked up by name. RTLD_DEFAULT is NULL in glibc.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mTrimThreshold: Int32 = -1  // M_TRIM_THRESHOLD in <malloc.h>
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mTrimThreshold, 64 << 20)
        #endif
    }
}
