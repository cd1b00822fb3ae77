//! `cpu.*` percentages over the sampler's last ~1 s window, and `cpu.switches` (`/proc/stat`).

use super::{counter, gauge, parse_err, CollectError, Env, Sample};

/// The aggregate `cpu` line of /proc/stat and the `ctxt` value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcStat {
    /// user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice (missing ones are 0).
    pub fields: [u64; 10],
    /// Sum of every numeric field after the label (v0.3's Total: guest and guest_nice included).
    pub total: u64,
    /// Context switches since boot.
    pub ctxt: Option<u64>,
}

/// Parses /proc/stat.
pub fn parse_stat(text: &str) -> Result<ProcStat, CollectError> {
    let mut out = ProcStat::default();
    let mut seen_cpu = false;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        match it.next() {
            Some("cpu") => {
                for (i, f) in it.enumerate() {
                    let v: u64 = f.parse().map_err(|_| parse_err("/proc/stat cpu", format!("field {f:?}")))?;
                    if i < out.fields.len() {
                        out.fields[i] = v;
                    }
                    out.total = out.total.saturating_add(v);
                }
                seen_cpu = true;
            }
            Some("ctxt") => out.ctxt = it.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    if !seen_cpu {
        return Err(parse_err("/proc/stat", "no cpu line"));
    }
    Ok(out)
}

/// Percentages of the window between two samples, Go's formula: 100 x delta(field) / delta(total), 0 when the
/// total did not move.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUsage {
    /// idle %.
    pub idle: f64,
    /// user %.
    pub user: f64,
    /// nice %.
    pub nice: f64,
    /// system %.
    pub system: f64,
    /// iowait %.
    pub iowait: f64,
    /// irq %.
    pub irq: f64,
    /// softirq %.
    pub softirq: f64,
    /// steal %.
    pub steal: f64,
    /// guest %.
    pub guest: f64,
}

impl CpuUsage {
    /// Usage between `prev` and `cur`.
    pub fn between(prev: &ProcStat, cur: &ProcStat) -> CpuUsage {
        let dt = cur.total.saturating_sub(prev.total);
        let pct = |i: usize| {
            if dt == 0 {
                0.0
            } else {
                cur.fields[i].saturating_sub(prev.fields[i]) as f64 * 100.0 / dt as f64
            }
        };
        CpuUsage {
            user: pct(0),
            nice: pct(1),
            system: pct(2),
            idle: pct(3),
            iowait: pct(4),
            irq: pct(5),
            softirq: pct(6),
            steal: pct(7),
            guest: pct(8),
        }
    }

    /// 100 - idle.
    pub fn busy(&self) -> f64 {
        100.0 - self.idle
    }

    /// The samples, in Go's order.
    pub fn samples(&self) -> Vec<Sample> {
        vec![
            gauge("cpu.idle", self.idle, ""),
            gauge("cpu.busy", self.busy(), ""),
            gauge("cpu.user", self.user, ""),
            gauge("cpu.nice", self.nice, ""),
            gauge("cpu.system", self.system, ""),
            gauge("cpu.iowait", self.iowait, ""),
            gauge("cpu.irq", self.irq, ""),
            gauge("cpu.softirq", self.softirq, ""),
            gauge("cpu.steal", self.steal, ""),
            gauge("cpu.guest", self.guest, ""),
        ]
    }
}

/// `cpu.*` from the sampler (nothing until two samples exist, as in Go) and `cpu.switches`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let (prev, cur) = env.sampler.cpu_pair().ok_or(CollectError::NotReady("one /proc/stat sample so far"))?;
    let mut out = CpuUsage::between(&prev, &cur).samples();
    if let Some(c) = cur.ctxt {
        out.push(counter("cpu.switches", c, ""));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_captured_file() {
        let s = parse_stat(include_str!("../../fixtures/modern/stat")).unwrap();
        assert_eq!(s.fields[0], 443380);
        assert_eq!(s.total, 443380 + 49361 + 557951 + 2480 + 7507 + 10097);
        assert!(s.ctxt.unwrap() > 0);
    }

    #[test]
    fn percentages_follow_go_including_guest_in_the_total() {
        let a = parse_stat("cpu 100 0 50 800 10 0 0 0 40 0\nctxt 5\n").unwrap();
        let b = parse_stat("cpu 150 0 60 880 10 0 0 0 50 0\nctxt 9\n").unwrap();
        let u = CpuUsage::between(&a, &b);
        // delta total = 50 + 10 + 80 + 10 (guest counted) = 150
        assert!((u.user - 100.0 * 50.0 / 150.0).abs() < 1e-9);
        assert!((u.idle - 100.0 * 80.0 / 150.0).abs() < 1e-9);
        assert!((u.guest - 100.0 * 10.0 / 150.0).abs() < 1e-9);
        assert!((u.busy() - (100.0 - u.idle)).abs() < 1e-12);
        assert_eq!(CpuUsage::between(&a, &a), CpuUsage::default());
        let names: Vec<_> = u.samples().into_iter().map(|s| s.metric).collect();
        assert_eq!(names[0], "cpu.idle");
        assert_eq!(names.len(), 10);
    }

    #[test]
    fn old_kernels_with_fewer_fields_and_garbage() {
        let s = parse_stat("cpu 1 2 3 4\n").unwrap();
        assert_eq!(s.total, 10);
        assert_eq!(s.ctxt, None);
        assert!(parse_stat("intr 1\n").is_err());
        assert!(parse_stat("cpu 1 x\n").is_err());
    }
}
