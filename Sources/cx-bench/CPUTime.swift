import Foundation

/// CPU time (user + system) from `getrusage`, for benchmarks that report what their own side of a run cost.
enum CPUTime {
    /// This process's CPU time so far, in seconds.
    static func process() -> Double { seconds(RUSAGE_SELF.rawValue) }

    /// The calling thread's CPU time so far, in seconds: a thread that waits (for a lock, say) spends wall time,
    /// not CPU.
    static func thread() -> Double {
        seconds(__rusage_who_t(1))  // RUSAGE_THREAD, which Glibc's module does not export
    }

    private static func seconds(_ who: __rusage_who_t) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
