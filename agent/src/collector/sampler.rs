//! The 1 s sampler (Go's `InitDataHistory`): the last two snapshots of /proc/stat and /proc/diskstats, so that
//! cpu percentages and iostat gauges cover the second before each collection.

use super::cpu::{parse_stat, ProcStat};
use super::diskstats::{parse_diskstats, DiskStat};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// One /proc/diskstats snapshot and when it was taken.
#[derive(Debug, Clone)]
pub struct DiskSnapshot {
    /// When it was read.
    pub at: Instant,
    /// Every device line.
    pub disks: Vec<DiskStat>,
}

#[derive(Default)]
struct History {
    cpu: [Option<ProcStat>; 2],
    disk: [Option<DiskSnapshot>; 2],
}

/// The two-slot histories.
pub struct Sampler {
    proc: PathBuf,
    history: Mutex<History>,
}

impl Sampler {
    /// A sampler reading under `proc`.
    pub fn new(proc: PathBuf) -> Self {
        Sampler { proc, history: Mutex::new(History::default()) }
    }

    /// Reads both files once and shifts the histories; a file that cannot be read leaves its history as is.
    pub fn sample(&self) {
        let cpu = std::fs::read_to_string(self.proc.join("stat")).ok().and_then(|t| parse_stat(&t).ok());
        let disk = std::fs::read_to_string(self.proc.join("diskstats"))
            .ok()
            .map(|t| DiskSnapshot { at: Instant::now(), disks: parse_diskstats(&t) });
        self.push(cpu, disk);
    }

    /// Records one snapshot of each (None keeps the history unchanged).
    pub fn push(&self, cpu: Option<ProcStat>, disk: Option<DiskSnapshot>) {
        let mut h = match self.history.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        if let Some(c) = cpu {
            h.cpu[1] = h.cpu[0].take();
            h.cpu[0] = Some(c);
        }
        if let Some(d) = disk {
            h.disk[1] = h.disk[0].take();
            h.disk[0] = Some(d);
        }
    }

    /// (previous, current) /proc/stat, once two exist.
    pub fn cpu_pair(&self) -> Option<(ProcStat, ProcStat)> {
        let h = self.history.lock().ok()?;
        Some((h.cpu[1].clone()?, h.cpu[0].clone()?))
    }

    /// (previous, current) diskstats; previous is None until the second sample.
    pub fn disk_pair(&self) -> Option<(Option<DiskSnapshot>, DiskSnapshot)> {
        let h = self.history.lock().ok()?;
        Some((h.disk[1].clone(), h.disk[0].clone()?))
    }
}
