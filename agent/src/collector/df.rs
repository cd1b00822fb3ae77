//! `df.*` and `df.statistics.*`: mounts from /proc/mounts with Go's filtering, sizes from statvfs.

use super::{gauge, read, CollectError, Env, Sample};
use std::path::Path;

/// A mount worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// fs_spec (`/dev/vda`).
    pub spec: String,
    /// Mount point.
    pub file: String,
    /// File system type.
    pub vfstype: String,
    /// Mounted read-only (`ro` among the options).
    pub read_only: bool,
}

const SKIP_SPECS: [&str; 5] = ["none", "nodev", "proc", "hugetlbfs", "mqueue"];
const SKIP_TYPES: [&str; 10] =
    ["cgroup", "debugfs", "devpts", "devtmpfs", "rpc_pipefs", "rootfs", "overlay", "tmpfs", "iso9660", "squashfs"];
const SKIP_MOUNT_PREFIXES: [&str; 5] = ["/sys", "/net", "/misc", "/proc", "/lib"];

/// Undoes /proc/mounts' octal escapes (`\040` for a space).
pub fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses /proc/mounts with Go's rules (v0.3's plus HEAD's additions): pseudo and in-memory file systems are
/// skipped, and a `/dev` device mounted more than once keeps only its shortest mount point.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        let (spec, file, vfstype) = (unescape(f[0]), unescape(f[1]), f[2].to_string());
        let read_only = f.get(3).is_some_and(|o| o.split(',').any(|o| o == "ro"));
        if SKIP_SPECS.contains(&spec.as_str())
            || SKIP_TYPES.contains(&vfstype.as_str())
            || vfstype.starts_with("fuse")
            || SKIP_MOUNT_PREFIXES.iter().any(|p| file.starts_with(p))
        {
            continue;
        }
        if spec.starts_with("/dev") {
            if let Some(seen) = out.iter_mut().find(|m| m.spec == spec) {
                if file.len() < seen.file.len() {
                    seen.file = file;
                    seen.vfstype = vfstype;
                    seen.read_only = read_only;
                }
                continue;
            }
        }
        out.push(Mount { spec, file, vfstype, read_only });
    }
    out
}

/// The statvfs figures of one mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatFs {
    /// Fragment size.
    pub frsize: u64,
    /// Blocks.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Blocks available to unprivileged users.
    pub bavail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
}

/// A mount's usage, Go's `DeviceUsage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// The mount.
    pub mount: Mount,
    /// Bytes in all.
    pub blocks_all: u64,
    /// Bytes used.
    pub blocks_used: u64,
    /// Bytes available (Bavail, like `df`).
    pub blocks_free: u64,
    /// used x 100 / (used + available).
    pub blocks_used_percent: f64,
    /// Inodes in all (0 when the file system has none to count).
    pub inodes_all: u64,
    /// Inodes used.
    pub inodes_used: u64,
    /// Inodes free.
    pub inodes_free: u64,
    /// used x 100 / all.
    pub inodes_used_percent: f64,
}

/// Go's usage formulas.
pub fn usage(mount: Mount, s: StatFs) -> Usage {
    let all = s.frsize.saturating_mul(s.blocks);
    let used = s.frsize.saturating_mul(s.blocks.saturating_sub(s.bfree));
    let free = s.frsize.saturating_mul(s.bavail);
    // Saturating like the products above: a file system may report absurd figures (a FUSE or network one).
    let seen = used.saturating_add(free);
    let used_pct = if seen == 0 { 0.0 } else { used as f64 * 100.0 / seen as f64 };
    let (ia, ifree) = if s.ffree == u64::MAX { (0, 0) } else { (s.files, s.ffree) };
    let iused = ia.saturating_sub(ifree);
    let ipct = if ia == 0 { 0.0 } else { iused as f64 * 100.0 / ia as f64 };
    Usage {
        mount,
        blocks_all: all,
        blocks_used: used,
        blocks_free: free,
        blocks_used_percent: used_pct,
        inodes_all: ia,
        inodes_used: iused,
        inodes_free: ifree,
        inodes_used_percent: ipct,
    }
}

/// The per-mount samples and the statistics, Go's `DeviceMetrics`.
pub fn samples(usages: &[Usage]) -> Vec<Sample> {
    let mut out = Vec::new();
    let (mut total, mut used) = (0u64, 0u64);
    for u in usages {
        total = total.saturating_add(u.blocks_all);
        used = used.saturating_add(u.blocks_used);
        let tags = format!("mount={},fstype={}", u.mount.file, u.mount.vfstype);
        out.push(gauge("df.bytes.total", u.blocks_all, tags.clone()));
        out.push(gauge("df.bytes.used", u.blocks_used, tags.clone()));
        out.push(gauge("df.bytes.free", u.blocks_free, tags.clone()));
        out.push(gauge("df.bytes.used.percent", u.blocks_used_percent, tags.clone()));
        out.push(gauge("df.bytes.free.percent", 100.0 - u.blocks_used_percent, tags.clone()));
        if u.inodes_all > 0 {
            out.push(gauge("df.inodes.total", u.inodes_all, tags.clone()));
            out.push(gauge("df.inodes.used", u.inodes_used, tags.clone()));
            out.push(gauge("df.inodes.free", u.inodes_free, tags.clone()));
            out.push(gauge("df.inodes.used.percent", u.inodes_used_percent, tags.clone()));
            out.push(gauge("df.inodes.free.percent", 100.0 - u.inodes_used_percent, tags));
        }
    }
    if total > 0 {
        out.push(gauge("df.statistics.total", total, ""));
        out.push(gauge("df.statistics.used", used, ""));
        out.push(gauge("df.statistics.used.percent", used as f64 * 100.0 / total as f64, ""));
    }
    out
}

/// statvfs of a mount point under the root file system.
pub fn statfs(rootfs: &Path, mount_point: &str) -> Result<StatFs, CollectError> {
    let path = rootfs.join(mount_point.trim_start_matches('/'));
    let s = nix::sys::statvfs::statvfs(&path)
        .map_err(|e| CollectError::Read { path: path.clone(), source: std::io::Error::from(e) })?;
    Ok(StatFs {
        frsize: s.fragment_size() as u64,
        blocks: s.blocks() as u64,
        bfree: s.blocks_free() as u64,
        bavail: s.blocks_available() as u64,
        files: s.files() as u64,
        ffree: s.files_free() as u64,
    })
}

/// The mounts df reports on (before the size check), `collector.mountPoint` applied when `filter`.
pub fn list_mounts(env: &Env, filter: bool) -> Result<Vec<Mount>, CollectError> {
    let mounts = parse_mounts(&read(&env.proc_file("mounts"))?);
    Ok(mounts
        .into_iter()
        .filter(|m| !filter || env.mount_points.is_empty() || env.mount_points.contains(&m.file))
        .collect())
}

/// Usage of every reported mount with a non-zero size; `filter` applies `collector.mountPoint`.
pub fn list_usage(env: &Env, filter: bool) -> Result<Vec<Usage>, CollectError> {
    Ok(list_mounts(env, filter)?
        .into_iter()
        .filter_map(|m| {
            let s = statfs(&env.rootfs, &m.file).ok()?;
            Some(usage(m, s))
        })
        .filter(|u| u.blocks_all > 0)
        .collect())
}

/// `df.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    Ok(samples(&list_usage(env, true)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_the_captured_mounts_to_the_root_disk() {
        let m = parse_mounts(include_str!("../../fixtures/modern/mounts"));
        assert_eq!(
            m,
            vec![Mount { spec: "/dev/vda".into(), file: "/".into(), vfstype: "ext4".into(), read_only: false }]
        );
    }

    #[test]
    fn go_filter_rules_and_shortest_mount_per_device() {
        let t = "/dev/sda1 /data ext4 rw 0 0\n/dev/sda1 /d xfs rw 0 0\nnone /x ext4 rw 0 0\nsrv:/e /mnt/nfs nfs4 rw 0 0\n/dev/sdb1 /lib/x ext4 rw 0 0\nsshfs /s fuse.sshfs rw 0 0\n/dev/loop0 /snap/a squashfs ro 0 0\n/dev/sdc1 /with\\040space ext4 rw 0 0\n";
        let m = parse_mounts(t);
        let files: Vec<_> = m.iter().map(|x| (x.file.as_str(), x.vfstype.as_str())).collect();
        assert_eq!(files, [("/d", "xfs"), ("/mnt/nfs", "nfs4"), ("/with space", "ext4")]);
    }

    #[test]
    fn usage_formulas_like_df() {
        let u = usage(
            Mount { spec: "/dev/vda".into(), file: "/".into(), vfstype: "ext4".into(), read_only: false },
            StatFs { frsize: 4096, blocks: 1000, bfree: 300, bavail: 200, files: 100, ffree: 40 },
        );
        assert_eq!(u.blocks_all, 4_096_000);
        assert_eq!(u.blocks_used, 700 * 4096);
        assert_eq!(u.blocks_free, 200 * 4096);
        assert_eq!(u.blocks_used_percent, 700.0 * 100.0 / 900.0);
        assert_eq!(u.inodes_used_percent, 60.0);
        let s = samples(&[u]);
        assert_eq!(s.len(), 13);
        assert_eq!(s[4].metric, "df.bytes.free.percent");
        assert_eq!(s[4].tags, "mount=/,fstype=ext4");
        assert_eq!(s[12].metric, "df.statistics.used.percent");
        assert_eq!(s[12].value, 70.0);
        let none = usage(
            Mount { spec: "x".into(), file: "/x".into(), vfstype: "y".into(), read_only: false },
            StatFs { frsize: 1, blocks: 1, bfree: 0, bavail: 0, files: 5, ffree: u64::MAX },
        );
        assert_eq!(samples(&[none]).iter().filter(|s| s.metric.starts_with("df.inodes")).count(), 0);
    }

    #[test]
    fn statvfs_of_the_real_root() {
        let s = statfs(Path::new("/"), "/").unwrap();
        assert!(s.blocks > 0 && s.frsize > 0);
    }

    #[test]
    fn fuzz_regression_absurd_statfs_figures_saturate() {
        // Found by the `proc` fuzz target: used + available overflowed on a file system reporting huge sizes.
        let m = Mount { spec: "srv:/e".into(), file: "/mnt".into(), vfstype: "nfs4".into(), read_only: false };
        let s = StatFs { frsize: u64::MAX, blocks: u64::MAX, bfree: 0, bavail: u64::MAX, files: 1, ffree: 0 };
        let u = usage(m, s);
        assert_eq!((u.blocks_used, u.blocks_free), (u64::MAX, u64::MAX));
        assert_eq!(u.blocks_used_percent, 100.0);
    }
}
