//! `mem.*` from /proc/meminfo (kB x 1024), with MemAvailable preferred for "free" as Go does.

use super::{gauge, parse_err, read, CollectError, Env, Sample};

/// The /proc/meminfo fields the agent uses, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// MemTotal.
    pub total: u64,
    /// MemFree.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Cached.
    pub cached: u64,
    /// MemAvailable (0 on kernels before 3.14).
    pub available: u64,
    /// SwapTotal.
    pub swap_total: u64,
    /// SwapFree.
    pub swap_free: u64,
}

/// Parses /proc/meminfo.
pub fn parse_meminfo(text: &str) -> Result<MemInfo, CollectError> {
    let mut m = MemInfo::default();
    let mut seen_total = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        let slot = match key {
            "MemTotal" => {
                seen_total = true;
                &mut m.total
            }
            "MemFree" => &mut m.free,
            "Buffers" => &mut m.buffers,
            "Cached" => &mut m.cached,
            "MemAvailable" => &mut m.available,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        let kb: u64 = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| parse_err("/proc/meminfo", format!("value of {key}")))?;
        *slot = kb.saturating_mul(1024);
    }
    if !seen_total {
        return Err(parse_err("/proc/meminfo", "no MemTotal"));
    }
    Ok(m)
}

impl MemInfo {
    /// Free + Buffers + Cached: what `/page/memory` and `/proc/memory` call free (MemAvailable ignored there).
    pub fn classic_free(&self) -> u64 {
        self.free.saturating_add(self.buffers).saturating_add(self.cached)
    }

    /// The samples (Go's `MemMetrics`).
    pub fn samples(&self) -> Vec<Sample> {
        let free = if self.available > 0 { self.available } else { self.classic_free() };
        let used = self.total.saturating_sub(free);
        let swap_used = self.swap_total.saturating_sub(self.swap_free);
        let pct = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 };
        vec![
            gauge("mem.memtotal", self.total, ""),
            gauge("mem.memused", used, ""),
            gauge("mem.memfree", free, ""),
            gauge("mem.swaptotal", self.swap_total, ""),
            gauge("mem.swapused", swap_used, ""),
            gauge("mem.swapfree", self.swap_free, ""),
            gauge("mem.memfree.percent", pct(free, self.total), ""),
            gauge("mem.memused.percent", pct(used, self.total), ""),
            gauge("mem.swapfree.percent", pct(self.swap_free, self.swap_total), ""),
            gauge("mem.swapused.percent", pct(swap_used, self.swap_total), ""),
        ]
    }
}

/// Reads /proc/meminfo.
pub fn read_meminfo(env: &Env) -> Result<MemInfo, CollectError> {
    parse_meminfo(&read(&env.proc_file("meminfo"))?)
}

/// `mem.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    Ok(read_meminfo(env)?.samples())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_wins_over_free_buffers_cached() {
        let m = parse_meminfo(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 10 kB\nCached: 90 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
        )
        .unwrap();
        assert_eq!(m.total, 1_024_000);
        let s = m.samples();
        let get = |n: &str| s.iter().find(|x| x.metric == n).unwrap().value;
        assert_eq!(get("mem.memfree"), 600.0 * 1024.0);
        assert_eq!(get("mem.memused"), 400.0 * 1024.0);
        assert_eq!(get("mem.memfree.percent"), 60.0);
        assert_eq!(get("mem.swapused.percent"), 0.0);
        assert_eq!(m.classic_free(), 200 * 1024);
        let old = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 90 kB\n").unwrap();
        assert_eq!(old.samples()[2].value, 200.0 * 1024.0);
    }

    #[test]
    fn the_captured_file_and_garbage() {
        let m = parse_meminfo(include_str!("../../fixtures/modern/meminfo")).unwrap();
        assert!(m.total > 0 && m.available > 0);
        assert!(parse_meminfo("MemFree: 1 kB\n").is_err());
        assert!(parse_meminfo("MemTotal: x kB\n").is_err());
    }
}
