//! `disk.io.*` raw counters from /proc/diskstats, read at collection time.
//!
//! v0.3 requires exactly 14 fields per line, so kernels since 4.18 (18 fields) and 5.5 (20 fields) get no
//! disk metrics at all; the first 14 fields mean the same on every kernel, so any count from 14 up is read.

use super::{counter, read, CollectError, Env, Sample};

/// One device line: the 11 classic statistics after major, minor and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStat {
    /// Device name (`vda`, `nvme0n1`).
    pub device: String,
    /// reads, reads merged, sectors read, ms reading, writes, writes merged, sectors written, ms writing,
    /// I/Os in progress, ms doing I/O, weighted ms.
    pub fields: [u64; 11],
}

/// Field positions in [`DiskStat::fields`].
pub mod field {
    /// Reads completed.
    pub const READ_REQUESTS: usize = 0;
    /// Reads merged.
    pub const READ_MERGED: usize = 1;
    /// Sectors read.
    pub const READ_SECTORS: usize = 2;
    /// ms spent reading.
    pub const MSEC_READ: usize = 3;
    /// Writes completed.
    pub const WRITE_REQUESTS: usize = 4;
    /// Writes merged.
    pub const WRITE_MERGED: usize = 5;
    /// Sectors written.
    pub const WRITE_SECTORS: usize = 6;
    /// ms spent writing.
    pub const MSEC_WRITE: usize = 7;
    /// I/Os currently in progress.
    pub const IOS_IN_PROGRESS: usize = 8;
    /// ms spent doing I/O.
    pub const MSEC_TOTAL: usize = 9;
    /// Weighted ms doing I/O.
    pub const MSEC_WEIGHTED_TOTAL: usize = 10;
}

/// Parses /proc/diskstats: lines with at least 14 fields, skipping devices that never completed a read
/// (Go's rule) and lines that do not parse.
pub fn parse_diskstats(text: &str) -> Vec<DiskStat> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 || f[3] == "0" {
            continue;
        }
        let mut fields = [0u64; 11];
        let mut ok = true;
        for (slot, v) in fields.iter_mut().zip(&f[3..14]) {
            match v.parse() {
                Ok(n) => *slot = n,
                Err(_) => ok = false,
            }
        }
        if ok {
            out.push(DiskStat { device: f[2].to_string(), fields });
        }
    }
    out
}

/// Whether a device is a whole disk worth reporting: `sd`, `vd`, `xvd`, `hd` and `fio` followed by letters
/// only, `nvme<N>n<M>` (not its partitions), `mmcblk<N>`. v0.3 requires `sd`/`vd` names of exactly three
/// characters (so it misses `sdaa`) and takes every `nvme*` name, partitions included.
pub fn should_handle(device: &str) -> bool {
    let letters_after = |p: &str| {
        device.strip_prefix(p).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase()))
    };
    if ["xvd", "sd", "vd", "hd", "fio"].iter().any(|p| letters_after(p)) {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = device.strip_prefix("nvme") {
        return rest.split_once('n').is_some_and(|(c, n)| digits(c) && digits(n));
    }
    device.strip_prefix("mmcblk").is_some_and(digits)
}

const NAMES: [&str; 11] = [
    "disk.io.read_requests",
    "disk.io.read_merged",
    "disk.io.read_sectors",
    "disk.io.msec_read",
    "disk.io.write_requests",
    "disk.io.write_merged",
    "disk.io.write_sectors",
    "disk.io.msec_write",
    "disk.io.ios_in_progress",
    "disk.io.msec_total",
    "disk.io.msec_weighted_total",
];

/// The 11 counters of one device (`ios_in_progress` is typed COUNTER, as in Go).
pub fn samples(d: &DiskStat) -> Vec<Sample> {
    let tags = format!("device={}", d.device);
    NAMES.iter().zip(d.fields.iter()).map(|(n, v)| counter(*n, *v, tags.clone())).collect()
}

/// `disk.io.*` counters.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let text = read(&env.proc_file("diskstats"))?;
    Ok(parse_diskstats(&text).iter().filter(|d| should_handle(&d.device)).flat_map(samples).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3_14: &str = "   8       0 sda 1000 10 20000 300 500 5 8000 200 0 400 500\n   8       1 sda1 900 9 18000 280 400 4 7000 150 0 350 420\n 259       0 nvme0n1 77 0 616 5 0 0 0 0 0 6 5\n 259       1 nvme0n1p1 7 0 16 5 0 0 0 0 0 6 5\n   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn old_fourteen_field_kernels() {
        let d = parse_diskstats(V3_14);
        assert_eq!(d.len(), 4, "loop0 never read: skipped");
        let handled: Vec<_> = d.iter().filter(|x| should_handle(&x.device)).map(|x| x.device.as_str()).collect();
        assert_eq!(handled, ["sda", "nvme0n1"]);
        assert_eq!(d[0].fields[field::WRITE_SECTORS], 8000);
    }

    #[test]
    fn modern_twenty_field_kernel_captured_here() {
        let d = parse_diskstats(include_str!("../../fixtures/modern/diskstats"));
        let vda = d.iter().find(|x| x.device == "vda").expect("vda");
        assert_eq!(vda.fields[field::READ_REQUESTS], 671085);
        assert_eq!(vda.fields[field::MSEC_WEIGHTED_TOTAL], 1274960);
        assert!(should_handle("vda"));
        let s = samples(vda);
        assert_eq!(s.len(), 11);
        assert_eq!(s[0].metric, "disk.io.read_requests");
        assert_eq!(s[0].tags, "device=vda");
    }

    #[test]
    fn eighteen_fields_and_device_names() {
        let d = parse_diskstats(" 252 0 vdb 5 0 40 1 2 0 16 1 0 2 2 0 0 0 0\n");
        assert_eq!(d.len(), 1);
        for ok in ["sda", "sdaa", "vdc", "xvda", "hda", "fioa", "nvme0n1", "nvme12n3", "mmcblk0"] {
            assert!(should_handle(ok), "{ok}");
        }
        for no in ["sda1", "loop0", "zram0", "dm-0", "nvme0n1p2", "nvme0", "sr0", "mmcblk0p1", "vd", "ram1"] {
            assert!(!should_handle(no), "{no}");
        }
        assert!(parse_diskstats("8 0 sda 1 2 3\n").is_empty());
        assert!(parse_diskstats("8 0 sda 1 x 3 4 5 6 7 8 9 10 11\n").is_empty());
    }
}
