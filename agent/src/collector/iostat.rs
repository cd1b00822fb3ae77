//! iostat-style `disk.io.*` gauges over the sampler's last ~1 s window.

use super::diskstats::{field, should_handle, DiskStat};
use super::sampler::DiskSnapshot;
use super::{gauge, CollectError, Env, Sample};
use serde::Serialize;

/// One device's window, as `/page/diskio` and the gauges use it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IoWindow {
    /// Device.
    pub device: String,
    /// Per-field deltas (0 without a previous snapshot).
    pub delta: [u64; 11],
    /// Window length in ms (0 without a previous snapshot).
    pub elapsed_ms: u64,
}

impl IoWindow {
    fn requests(&self) -> u64 {
        self.delta[field::READ_REQUESTS] + self.delta[field::WRITE_REQUESTS]
    }

    /// avgrq-sz: sectors per request.
    pub fn avgrq_sz(&self) -> f64 {
        per(self.delta[field::READ_SECTORS] + self.delta[field::WRITE_SECTORS], self.requests())
    }

    /// await: ms per request.
    pub fn await_ms(&self) -> f64 {
        per(self.delta[field::MSEC_READ] + self.delta[field::MSEC_WRITE], self.requests())
    }

    /// svctm: busy ms per request.
    pub fn svctm(&self) -> f64 {
        per(self.delta[field::MSEC_TOTAL], self.requests())
    }

    /// avgqu-sz.
    pub fn avgqu_sz(&self) -> f64 {
        self.delta[field::MSEC_WEIGHTED_TOTAL] as f64 / 1000.0
    }

    /// %util over the window, capped at 100; 0 for an empty window (Go divides by zero there and sends NaN,
    /// which loses its whole batch).
    pub fn util(&self) -> f64 {
        if self.elapsed_ms == 0 {
            return 0.0;
        }
        (self.delta[field::MSEC_TOTAL] as f64 * 100.0 / self.elapsed_ms as f64).min(100.0)
    }

    /// The eight gauges.
    pub fn samples(&self) -> Vec<Sample> {
        let tags = format!("device={}", self.device);
        vec![
            gauge("disk.io.read_bytes", self.delta[field::READ_SECTORS] as f64 * 512.0, tags.clone()),
            gauge("disk.io.write_bytes", self.delta[field::WRITE_SECTORS] as f64 * 512.0, tags.clone()),
            gauge("disk.io.avgrq_sz", self.avgrq_sz(), tags.clone()),
            gauge("disk.io.avgqu-sz", self.avgqu_sz(), tags.clone()),
            gauge("disk.io.await", self.await_ms(), tags.clone()),
            gauge("disk.io.svctm", self.svctm(), tags.clone()),
            gauge("disk.io.util", self.util(), tags),
        ]
    }
}

fn per(a: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        a as f64 / n as f64
    }
}

/// The windows of every handled device in `cur`, against `prev` when the device is there too.
pub fn windows(prev: Option<&DiskSnapshot>, cur: &DiskSnapshot) -> Vec<IoWindow> {
    let elapsed_ms = prev.map(|p| cur.at.saturating_duration_since(p.at).as_millis() as u64).unwrap_or(0);
    cur.disks
        .iter()
        .filter(|d| should_handle(&d.device))
        .map(|d| {
            let before: Option<&DiskStat> = prev.and_then(|p| p.disks.iter().find(|x| x.device == d.device));
            let mut delta = [0u64; 11];
            if let Some(b) = before {
                for (i, slot) in delta.iter_mut().enumerate() {
                    *slot = d.fields[i].saturating_sub(b.fields[i]);
                }
            }
            IoWindow { device: d.device.clone(), delta, elapsed_ms: if before.is_some() { elapsed_ms } else { 0 } }
        })
        .collect()
}

/// The gauges of every handled device.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let (prev, cur) = env.sampler.disk_pair().ok_or(CollectError::NotReady("no /proc/diskstats sample yet"))?;
    Ok(windows(prev.as_ref(), &cur).iter().flat_map(IoWindow::samples).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn snap(at: Instant, f: [u64; 11]) -> DiskSnapshot {
        DiskSnapshot { at, disks: vec![DiskStat { device: "vda".into(), fields: f }] }
    }

    #[test]
    fn window_formulas() {
        let t0 = Instant::now();
        let a = snap(t0, [10, 0, 100, 20, 10, 0, 300, 40, 0, 500, 900]);
        let b = snap(t0 + Duration::from_millis(1000), [20, 1, 300, 40, 30, 2, 700, 100, 1, 1500, 2900]);
        let w = &windows(Some(&a), &b)[0];
        assert_eq!(w.elapsed_ms, 1000);
        assert_eq!(w.avgrq_sz(), 600.0 / 30.0);
        assert_eq!(w.await_ms(), 80.0 / 30.0);
        assert_eq!(w.svctm(), 1000.0 / 30.0);
        assert_eq!(w.avgqu_sz(), 2.0);
        assert_eq!(w.util(), 100.0);
        let s = w.samples();
        assert_eq!(s.len(), 7);
        assert_eq!(s[0].value, 200.0 * 512.0);
    }

    #[test]
    fn first_snapshot_gives_zeros_not_nan() {
        let a = snap(Instant::now(), [10, 0, 100, 20, 10, 0, 300, 40, 0, 500, 900]);
        let w = &windows(None, &a)[0];
        assert!(w.samples().iter().all(|s| s.value == 0.0));
    }
}
