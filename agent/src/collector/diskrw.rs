//! `sys.disk.rw` (tag `mount=`): 0 while a mount df reports can be written and read back, 1 when it cannot.
//!
//! Two signals, as operators write this plugin today:
//! - the kernel remounted it read-only (an ext4 `errors=remount-ro` after an I/O error): the options turned
//!   `ro` since the agent first saw the mount. A mount already read-only then was made so on purpose and is
//!   not reported;
//! - a probe fails: create a hidden per-agent directory on the mount, write a small file, fsync it, read it
//!   back, delete both. Each probe runs on its own thread and counts as failed when it does not finish in
//!   [`PROBE_TIMEOUT`] (a dead disk or NFS server hangs the syscall); while it hangs no second probe starts
//!   on that mount, so threads never pile up.
//!
//! A probe refused for permission, space or quota says nothing about the disk: no sample then (df's own
//! metrics cover a full disk). A mount is probed at most every [`PROBE_EVERY`] (the fsync is the dearest
//! step of a cycle, and at a 1 s interval it would sync every second); the cycles between report its last
//! verdict, while the options are checked every cycle. `collector.diskRwCheck: false` turns the probe off;
//! the remount check stays.

use super::df::{list_mounts, Mount};
use super::{gauge, CollectError, Env, Sample};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most often one mount is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(60);

/// What to do with a mount this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Read-only on purpose: not reported.
    Skip,
    /// Turned read-only since the agent started: 1.
    RemountedReadOnly,
    /// Writable per its options: probe it (or report 0 without the probe).
    Probe,
}

/// A probe's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Written, synced, read back and removed.
    Ok,
    /// The disk failed it.
    Failed(String),
    /// Refused for a reason that is not the disk's (permission, space, quota): not reported.
    Unknown(String),
}

/// Per-mount memory across cycles.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Mount point -> whether it was read-only when first seen (and has not been writable since).
    ro_on_purpose: HashMap<String, bool>,
    /// Mount point -> a probe thread still running.
    busy: HashMap<String, Arc<AtomicBool>>,
    /// Mount point -> when it was last probed and its verdict (None: refused, not reported).
    last: HashMap<String, (Instant, Option<bool>)>,
}

impl Tracker {
    /// The decision for a mount with its current options.
    pub fn decide(&mut self, mount: &str, read_only: bool) -> Decision {
        let on_purpose = self.ro_on_purpose.entry(mount.to_string()).or_insert(read_only);
        match (read_only, *on_purpose) {
            (true, true) => Decision::Skip,
            (true, false) => Decision::RemountedReadOnly,
            (false, _) => {
                *on_purpose = false;
                Decision::Probe
            }
        }
    }

    fn busy_flag(&mut self, mount: &str) -> Arc<AtomicBool> {
        self.busy.entry(mount.to_string()).or_default().clone()
    }

    /// The last verdict (failed?) if the mount was probed less than `every` before `now`.
    fn recent(&self, mount: &str, now: Instant, every: Duration) -> Option<Option<bool>> {
        let (at, failed) = self.last.get(mount)?;
        (now.saturating_duration_since(*at) < every).then_some(*failed)
    }
}

/// Whether an I/O error is the disk's fault (read-only file system, I/O error, anything unexpected) or a
/// refusal that says nothing about it.
pub fn classify(e: &std::io::Error, step: &str) -> Probe {
    use nix::errno::Errno;
    let text = format!("{step}: {e}");
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EACCES | Errno::EPERM | Errno::ENOSPC | Errno::EDQUOT) => Probe::Unknown(text),
        _ => Probe::Failed(text),
    }
}

/// The probe itself, blocking: under `dir` (created and removed here).
pub fn probe(dir: &Path) -> Probe {
    use std::io::Write;
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return classify(&e, "create directory"),
    }
    let file = dir.join("probe");
    let content = format!("falcon-agent read-write probe {:?}\n", std::time::SystemTime::now());
    let written = std::fs::File::create(&file)
        .and_then(|mut f| {
            f.write_all(content.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| classify(&e, "write"));
    let verdict = match written.and_then(|()| std::fs::read(&file).map_err(|e| classify(&e, "read back"))) {
        Ok(back) if back == content.as_bytes() => Probe::Ok,
        Ok(_) => Probe::Failed("read back different bytes".into()),
        Err(p) => p,
    };
    let _ = std::fs::remove_file(&file);
    match (verdict, std::fs::remove_dir(dir)) {
        (Probe::Ok, Err(e)) => classify(&e, "remove directory"),
        (v, _) => v,
    }
}

/// Starts a probe of `dir` on its own thread; None when the previous one on this mount still hangs.
fn start_probe(dir: PathBuf, busy: Arc<AtomicBool>) -> Option<mpsc::Receiver<Probe>> {
    if busy.swap(true, Ordering::AcqRel) {
        return None;
    }
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("disk-rw-probe".into()).spawn({
        let busy = busy.clone();
        move || {
            let r = probe(&dir);
            busy.store(false, Ordering::Release);
            let _ = tx.send(r);
        }
    });
    if spawned.is_err() {
        busy.store(false, Ordering::Release);
        return None;
    }
    Some(rx)
}

/// The name of this agent's probe directory on every mount.
pub fn probe_dir_name() -> String {
    format!(".falcon-agent-rw-probe.{}", std::process::id())
}

/// How probes run: `on` is `collector.diskRwCheck`.
#[derive(Debug, Clone, Copy)]
pub struct ProbePolicy {
    /// Whether to probe at all.
    pub on: bool,
    /// One probe's bound.
    pub timeout: Duration,
    /// The most often a mount is probed.
    pub every: Duration,
}

/// The samples for `mounts`.
pub fn samples(mounts: &[Mount], tracker: &mut Tracker, rootfs: &Path, policy: ProbePolicy) -> Vec<Sample> {
    let (probe_on, timeout) = (policy.on, policy.timeout);
    let now = Instant::now();
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for m in mounts {
        let tags = format!("mount={}", m.file);
        match tracker.decide(&m.file, m.read_only) {
            Decision::Skip => {}
            Decision::RemountedReadOnly => {
                tracing::warn!(mount = %m.file, "mount turned read-only since the agent started");
                out.push(gauge("sys.disk.rw", 1.0, tags));
            }
            Decision::Probe if !probe_on => out.push(gauge("sys.disk.rw", 0.0, tags)),
            Decision::Probe => {
                if let Some(verdict) = tracker.recent(&m.file, now, policy.every) {
                    if let Some(failed) = verdict {
                        out.push(gauge("sys.disk.rw", if failed { 1.0 } else { 0.0 }, tags));
                    }
                    continue;
                }
                let dir = rootfs.join(m.file.trim_start_matches('/')).join(probe_dir_name());
                match start_probe(dir, tracker.busy_flag(&m.file)) {
                    Some(rx) => pending.push((m.file.clone(), tags, rx)),
                    None => {
                        tracing::warn!(mount = %m.file, "the previous write probe still hangs");
                        out.push(gauge("sys.disk.rw", 1.0, tags));
                    }
                }
            }
        }
    }
    let deadline = Instant::now() + timeout;
    for (mount, tags, rx) in pending {
        let verdict = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| Probe::Failed(format!("no answer in {} s", timeout.as_secs_f64())));
        let failed = match verdict {
            Probe::Ok => Some(false),
            Probe::Failed(why) => {
                tracing::warn!(%mount, %why, "write probe failed");
                Some(true)
            }
            Probe::Unknown(why) => {
                tracing::debug!(%mount, %why, "write probe refused: not reported");
                None
            }
        };
        if let Some(f) = failed {
            out.push(gauge("sys.disk.rw", if f { 1.0 } else { 0.0 }, tags));
        }
        tracker.last.insert(mount, (now, failed));
    }
    out
}

/// `sys.disk.rw`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let mounts = list_mounts(env, true)?;
    let mut tracker = match env.rw_tracker.lock() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    let policy = ProbePolicy { on: env.disk_rw_check, timeout: PROBE_TIMEOUT, every: PROBE_EVERY };
    Ok(samples(&mounts, &mut tracker, &env.rootfs, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(file: &str, ro: bool) -> Mount {
        Mount { spec: "/dev/x".into(), file: file.into(), vfstype: "ext4".into(), read_only: ro }
    }

    #[test]
    fn read_only_on_purpose_or_since_start() {
        let mut t = Tracker::default();
        assert_eq!(t.decide("/", false), Decision::Probe);
        assert_eq!(t.decide("/iso", true), Decision::Skip);
        assert_eq!(t.decide("/iso", true), Decision::Skip);
        assert_eq!(t.decide("/", true), Decision::RemountedReadOnly);
        assert_eq!(t.decide("/iso", false), Decision::Probe, "made writable");
        assert_eq!(t.decide("/iso", true), Decision::RemountedReadOnly, "and read-only again");
    }

    #[test]
    fn probes_a_writable_directory_and_fails_on_a_broken_one() {
        let base = std::env::temp_dir().join(format!("falcon-diskrw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        assert_eq!(probe(&base.join("probe-dir")), Probe::Ok);
        assert!(!base.join("probe-dir").exists(), "nothing left behind");
        std::fs::write(base.join("a-file"), b"x").unwrap();
        assert!(matches!(probe(&base.join("a-file").join("sub")), Probe::Failed(_)), "ENOTDIR is a failure");

        let mut t = Tracker::default();
        let rootfs = Path::new("/");
        let every_time = ProbePolicy { on: true, timeout: Duration::from_secs(5), every: Duration::ZERO };
        let ms = [mount(base.to_str().unwrap(), false), mount("/was-ro", true)];
        let s = samples(&ms, &mut t, rootfs, every_time);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].tags.clone(), s[0].value.as_f64()), (format!("mount={}", base.display()), 0.0));
        let gone = [mount(&format!("{}/missing", base.display()), false)];
        let s = samples(&gone, &mut t, rootfs, every_time);
        assert_eq!(s[0].value, 1.0, "a mount whose root vanished fails");
        let s = samples(&gone, &mut t, rootfs, ProbePolicy { on: false, ..every_time });
        assert_eq!(s[0].value, 0.0, "probe off: options only");

        // Probed at most every `every`: the verdict is reused, even after the directory is repaired.
        let later = [mount(&format!("{}/later", base.display()), false)];
        let hourly = ProbePolicy { every: Duration::from_secs(3600), ..every_time };
        assert_eq!(samples(&later, &mut t, rootfs, hourly)[0].value, 1.0);
        std::fs::create_dir_all(base.join("later")).unwrap();
        assert_eq!(samples(&later, &mut t, rootfs, hourly)[0].value, 1.0, "last verdict reused");
        assert_eq!(samples(&later, &mut t, rootfs, every_time)[0].value, 0.0, "probed again when due");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn refusals_are_not_failures() {
        let e = std::io::Error::from_raw_os_error(nix::libc::EACCES);
        assert!(matches!(classify(&e, "x"), Probe::Unknown(_)));
        let e = std::io::Error::from_raw_os_error(nix::libc::EROFS);
        assert!(matches!(classify(&e, "x"), Probe::Failed(_)));
        let e = std::io::Error::from_raw_os_error(nix::libc::EIO);
        assert!(matches!(classify(&e, "x"), Probe::Failed(_)));
    }
}
