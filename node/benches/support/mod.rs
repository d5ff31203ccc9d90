//! What the node's benchmarks share: CPU time of the process and of a thread, and waiting
//! until RocksDB's background work is done.

use std::time::{Duration, Instant};

/// CPU seconds this process has used, every thread included, even those that ended (Linux
/// `/proc/self/stat`, in clock ticks of 10 ms).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Waits until this process is idle (RocksDB's background flushes and compactions done:
/// under 5% of a core over a quarter second), at most 20 s.
pub fn settle() {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(before) = process_cpu_seconds() else {
            return;
        };
        std::thread::sleep(Duration::from_millis(250));
        if process_cpu_seconds().is_none_or(|after| after - before < 0.0125) {
            return;
        }
    }
}

/// CPU seconds the calling thread has used (Linux `/proc/thread-self/schedstat`, in ns).
pub fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(stat.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}
