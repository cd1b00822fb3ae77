//! The standard `process_*` series (CPU seconds, resident and virtual memory, open and maximum file
//! descriptors, start time, threads), read from `/proc/self` at scrape time, under the names Go's and other
//! Prometheus client libraries use.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// Reads `/proc/self` when scraped.
#[derive(Debug)]
pub struct ProcessCollector {
    ticks: f64,
    page: f64,
    boot: Option<f64>,
}

impl ProcessCollector {
    /// Reads the clock tick, page size and boot time once.
    pub fn new() -> Self {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().unwrap_or(4096) as f64;
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| parse_btime(&s));
        ProcessCollector { ticks, page, boot }
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// What `/proc/self/stat` tells: (utime + stime ticks, start ticks after boot, virtual bytes, resident pages,
/// threads).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfStat {
    /// User plus system CPU, in clock ticks.
    pub cpu_ticks: u64,
    /// When the process started, in clock ticks after boot.
    pub start_ticks: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
    /// Threads.
    pub threads: u64,
}

/// Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so fields are counted from the
/// last `)`.
pub fn parse_stat(s: &str) -> Option<SelfStat> {
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the man page, so man field n is f[n - 3].
    let at = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(SelfStat {
        cpu_ticks: at(14)? + at(15)?,
        threads: at(20)?,
        start_ticks: at(22)?,
        vsize: at(23)?,
        rss_pages: at(24)?,
    })
}

/// The boot time (`btime`) from `/proc/stat`.
pub fn parse_btime(s: &str) -> Option<f64> {
    s.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The soft limit from `/proc/self/limits`' "Max open files" line.
pub fn parse_max_fds(s: &str) -> Option<f64> {
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let gauge = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64| -> std::fmt::Result {
            ConstGauge::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
        };
        if let Some(st) = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s)) {
            let cpu = ConstCounter::new(st.cpu_ticks as f64 / self.ticks);
            cpu.encode(enc.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                MetricType::Counter,
            )?)?;
            gauge(
                &mut enc,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                st.rss_pages as f64 * self.page,
            )?;
            gauge(&mut enc, "process_virtual_memory_bytes", "Virtual memory size in bytes.", st.vsize as f64)?;
            gauge(&mut enc, "process_threads", "Number of OS threads in the process.", st.threads as f64)?;
            if let Some(boot) = self.boot {
                let start = boot + st.start_ticks as f64 / self.ticks;
                gauge(
                    &mut enc,
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    start,
                )?;
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // One of them is the directory being read.
            let open = dir.count().saturating_sub(1);
            gauge(&mut enc, "process_open_fds", "Number of open file descriptors.", open as f64)?;
        }
        if let Some(max) = std::fs::read_to_string("/proc/self/limits").ok().and_then(|s| parse_max_fds(&s)) {
            gauge(&mut enc, "process_max_fds", "Maximum number of open file descriptors.", max)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_tricky_name() {
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 7 0 987654 123456789 \
                    2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let st = parse_stat(line).expect("parses");
        assert_eq!(st, SelfStat { cpu_ticks: 175, threads: 7, start_ticks: 987654, vsize: 123456789, rss_pages: 2048 });
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn btime_and_limits() {
        assert_eq!(parse_btime("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"), Some(1.7e9));
        assert_eq!(parse_btime("cpu 1\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024.0));
    }

    #[test]
    fn this_process_reads() {
        let st = parse_stat(&std::fs::read_to_string("/proc/self/stat").expect("stat")).expect("parses");
        assert!(st.rss_pages > 0 && st.threads >= 1);
    }
}
