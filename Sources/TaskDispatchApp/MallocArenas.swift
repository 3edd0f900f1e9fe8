import CMalloc
import Glibc

/// glibc gives every thread that allocates while another does an arena of its own, up to 8 per
/// core, and keeps what each arena ever held. With 16 handler threads and thousands of parked
/// long polls arriving at once, that fragmentation tripled the server's resident memory (10,000
/// parked: 709 MB with the default, 251 MB with one arena per core). One arena per core (at
/// least 2) keeps allocation parallel where the cores are; `MALLOC_ARENA_MAX` still wins.
enum MallocArenas {
    static func limitToCores() {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        let cores = Int32(max(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // Best effort: an allocator that ignores it (not glibc) just keeps its own policy.
        _ = CMalloc_setArenaLimit(cores)
    }
}
