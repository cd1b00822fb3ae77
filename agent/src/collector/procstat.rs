//! `process.*`: the resources of the processes a `proc.num` rule matches, summed per rule and tagged like its
//! `proc.num` item (falcon-plus#498: asked for since 2015, never built into the Go agent).
//!
//! Per matching process: `/proc/<pid>/stat` (CPU ticks, start time), `status` (threads, RSS, swap), `io`
//! (bytes read and written, readable for the agent's own user or as root) and the entries of `fd`. Only
//! matching processes are read, once per cycle however many rules match them. `process.cpu.percent` needs the
//! previous cycle's ticks of the same process (pid and start time), kept in [`History`].

use super::{counter, gauge, Sample};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Clock ticks per second of /proc's CPU times: USER_HZ, 100 on every Linux architecture the agent runs on.
pub const CLK_TCK: f64 = 100.0;

/// What one process uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User-mode CPU, clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU, clock ticks.
    pub stime: u64,
    /// Resident memory, bytes.
    pub rss: u64,
    /// Swapped-out memory, bytes.
    pub swap: u64,
    /// Threads.
    pub threads: u64,
    /// Open descriptors (None: not readable).
    pub fds: Option<u64>,
    /// Bytes read from storage (None: `io` not readable).
    pub read_bytes: Option<u64>,
    /// Bytes written to storage.
    pub write_bytes: Option<u64>,
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// utime, ticks.
    pub utime: u64,
    /// stime, ticks.
    pub stime: u64,
    /// Start time after boot, ticks: with the pid, it names one process across cycles.
    pub starttime: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses, so fields are
/// counted after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15, starttime 22.
    let n = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat { utime: n(14)?, stime: n(15)?, starttime: n(22)? })
}

/// `(threads, rss bytes, swap bytes)` from `/proc/<pid>/status`; a missing line counts as 0 (kernel threads
/// have no Vm lines).
pub fn parse_status(text: &str) -> (u64, u64, u64) {
    let (mut threads, mut rss, mut swap) = (0, 0, 0);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let num = || value.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match key {
            "Threads" => threads = num(),
            "VmRSS" => rss = num().saturating_mul(1024),
            "VmSwap" => swap = num().saturating_mul(1024),
            _ => {}
        }
    }
    (threads, rss, swap)
}

/// `(read_bytes, write_bytes)` from `/proc/<pid>/io`.
pub fn parse_io(text: &str) -> Option<(u64, u64)> {
    let field =
        |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<u64>().ok());
    Some((field("read_bytes")?, field("write_bytes")?))
}

/// Reads one process; None when it exited meanwhile (stat unreadable).
pub fn read_usage(proc: &Path, pid: u32) -> Option<(Stat, Usage)> {
    let dir = proc.join(pid.to_string());
    let stat = parse_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let (threads, rss, swap) =
        std::fs::read_to_string(dir.join("status")).map(|t| parse_status(&t)).unwrap_or_default();
    let io = std::fs::read_to_string(dir.join("io")).ok().and_then(|t| parse_io(&t));
    let fds = std::fs::read_dir(dir.join("fd")).ok().map(|d| d.count() as u64);
    let usage = Usage {
        utime: stat.utime,
        stime: stat.stime,
        rss,
        swap,
        threads,
        fds,
        read_bytes: io.map(|i| i.0),
        write_bytes: io.map(|i| i.1),
    };
    Some((stat, usage))
}

/// Sums usages; an optional field is present when any process had it.
pub fn sum<'a>(usages: impl IntoIterator<Item = &'a Usage>) -> Usage {
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
    usages.into_iter().fold(Usage::default(), |acc, u| Usage {
        utime: acc.utime.saturating_add(u.utime),
        stime: acc.stime.saturating_add(u.stime),
        rss: acc.rss.saturating_add(u.rss),
        swap: acc.swap.saturating_add(u.swap),
        threads: acc.threads.saturating_add(u.threads),
        fds: add(acc.fds, u.fds),
        read_bytes: add(acc.read_bytes, u.read_bytes),
        write_bytes: add(acc.write_bytes, u.write_bytes),
    })
}

/// The samples of one rule: `usage` summed over its processes, `percent` of one core when known.
pub fn samples(tags: &str, usage: &Usage, percent: Option<f64>) -> Vec<Sample> {
    let mut out = vec![
        counter("process.cpu.all", usage.utime.saturating_add(usage.stime), tags),
        counter("process.cpu.user", usage.utime, tags),
        counter("process.cpu.sys", usage.stime, tags),
        gauge("process.mem", usage.rss, tags),
        gauge("process.swap", usage.swap, tags),
        gauge("process.threads", usage.threads, tags),
    ];
    if let Some(p) = percent {
        out.push(gauge("process.cpu.percent", p, tags));
    }
    if let Some(f) = usage.fds {
        out.push(gauge("process.fd", f, tags));
    }
    if let (Some(r), Some(w)) = (usage.read_bytes, usage.write_bytes) {
        out.push(counter("process.io.read_bytes", r, tags));
        out.push(counter("process.io.write_bytes", w, tags));
    }
    out
}

/// The CPU ticks each process had at the previous cycle.
#[derive(Debug, Default)]
pub struct History {
    at: Option<Instant>,
    ticks: HashMap<(u32, u64), u64>,
}

/// One cycle's view for `process.cpu.percent`.
pub struct Round<'h> {
    history: &'h mut History,
    elapsed: Option<f64>,
    now: Instant,
    next: HashMap<(u32, u64), u64>,
}

impl History {
    /// Starts a cycle at `now`.
    pub fn round(&mut self, now: Instant) -> Round<'_> {
        let elapsed = self.at.map(|a| now.saturating_duration_since(a).as_secs_f64()).filter(|e| *e > 0.0);
        Round { history: self, elapsed, now, next: HashMap::new() }
    }
}

impl Round<'_> {
    /// Records one process's ticks and returns those spent since the previous cycle (None on a first sight:
    /// its earlier ticks may belong to any time since it started).
    pub fn observe(&mut self, pid: u32, stat: &Stat) -> Option<u64> {
        let key = (pid, stat.starttime);
        let total = stat.utime.saturating_add(stat.stime);
        self.next.insert(key, total);
        self.history.ticks.get(&key).map(|prev| total.saturating_sub(*prev))
    }

    /// Percent of one core for `ticks` spent since the previous cycle; None on the first cycle.
    pub fn percent(&self, ticks: u64) -> Option<f64> {
        self.elapsed.map(|e| ticks as f64 / CLK_TCK / e * 100.0)
    }

    /// Ends the cycle: only the processes seen now are remembered.
    pub fn finish(self) {
        self.history.ticks = self.next;
        self.history.at = Some(self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const STAT: &str = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 2262 0 0 0 150 37 3 4 20 0 5 0 98765 \
                        12345678 1234 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
    const STATUS: &str = "Name:\tmy (odd) proc\nState:\tS (sleeping)\nVmRSS:\t    2048 kB\nVmSwap:\t      16 kB\n\
                          Threads:\t5\n";
    const IO: &str = "rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\n\
                      cancelled_write_bytes: 0\n";

    #[test]
    fn parses_the_three_files() {
        assert_eq!(parse_stat(STAT), Some(Stat { utime: 150, stime: 37, starttime: 98765 }));
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_status(STATUS), (5, 2048 * 1024, 16 * 1024));
        assert_eq!(parse_status("Name:\tkthreadd\nThreads:\t1\n"), (1, 0, 0));
        assert_eq!(parse_io(IO), Some((4096, 8192)));
        assert_eq!(parse_io("rchar: 1\n"), None);
    }

    #[test]
    fn sums_and_samples() {
        let a = Usage {
            utime: 10,
            stime: 5,
            rss: 100,
            swap: 0,
            threads: 2,
            fds: Some(4),
            read_bytes: None,
            write_bytes: None,
        };
        let b = Usage {
            utime: 1,
            stime: 1,
            rss: 50,
            swap: 8,
            threads: 1,
            fds: None,
            read_bytes: Some(7),
            write_bytes: Some(9),
        };
        let s = sum([&a, &b]);
        assert_eq!((s.utime, s.stime, s.rss, s.swap, s.threads), (11, 6, 150, 8, 3));
        assert_eq!((s.fds, s.read_bytes, s.write_bytes), (Some(4), Some(7), Some(9)));
        let out = samples("name=x", &s, Some(12.5));
        let get = |m: &str| out.iter().find(|x| x.metric == m).map(|x| (x.value.as_f64(), x.kind, x.tags.as_str()));
        use crate::collector::Kind::*;
        assert_eq!(get("process.cpu.all"), Some((17.0, Counter, "name=x")));
        assert_eq!(get("process.mem"), Some((150.0, Gauge, "name=x")));
        assert_eq!(get("process.cpu.percent"), Some((12.5, Gauge, "name=x")));
        assert_eq!(get("process.io.write_bytes"), Some((9.0, Counter, "name=x")));
        let none = samples("name=y", &sum([]), None);
        assert!(none.iter().all(|x| x.value == 0.0));
        assert!(!none.iter().any(|x| x.metric == "process.fd" || x.metric == "process.cpu.percent"));
    }

    #[test]
    fn cpu_percent_needs_the_same_process_twice() {
        let mut h = History::default();
        let t0 = Instant::now();
        let mut r = h.round(t0);
        assert_eq!(r.observe(7, &Stat { utime: 100, stime: 0, starttime: 1 }), None);
        assert_eq!(r.percent(0), None, "no previous cycle");
        r.finish();
        let mut r = h.round(t0 + Duration::from_secs(2));
        assert_eq!(r.observe(7, &Stat { utime: 150, stime: 10, starttime: 1 }), Some(60));
        assert_eq!(r.observe(7, &Stat { utime: 5, stime: 0, starttime: 2 }), None, "pid reused by a new process");
        assert_eq!(r.percent(60), Some(30.0), "60 ticks in 2 s = 0.3 s per s");
        r.finish();
    }

    #[test]
    fn reads_this_process() {
        let (stat, u) = read_usage(Path::new("/proc"), std::process::id()).unwrap();
        assert!(stat.starttime > 0);
        assert!(u.rss > 0 && u.threads >= 1);
        assert!(u.fds.is_some_and(|f| f >= 3));
        assert!(u.read_bytes.is_some());
        assert!(read_usage(Path::new("/proc"), u32::MAX).is_none());
    }
}
