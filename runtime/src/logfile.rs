//! A log file the process writes itself, rotated by size and reopened on request (SIGHUP), so that
//! `var/log/<module>.log` under `./control` does not grow without bound and an outside `logrotate` can move it.
//!
//! The file replaces the process's stderr (file descriptor 2), so everything written there (the log lines, the
//! `listening`/`ready` lines scripts read, a panic message) lands in the current file, including after a rotation.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// The file stderr goes to, with its rotation rule.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// Bytes in the current file (as far as this process knows: what it found at open plus what it wrote).
    written: AtomicU64,
    /// One rotation at a time; writers that find it taken go on writing to the file being rotated.
    rotating: Mutex<()>,
    rotations: AtomicU64,
    /// The descriptor the file is put on: stderr's 2, but for the tests, which must not move their own stderr.
    fd: RawFd,
}

impl LogFile {
    /// Opens (creating) `path` for appending and points stderr at it. `max_bytes` 0 means never rotate.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<LogFile> {
        Self::open_on(path, max_bytes, keep, 2)
    }

    /// [`LogFile::open`] onto descriptor `fd` instead of stderr.
    fn open_on(path: &Path, max_bytes: u64, keep: u32, fd: RawFd) -> io::Result<LogFile> {
        let f = LogFile {
            path: path.to_path_buf(),
            max_bytes,
            keep,
            written: AtomicU64::new(0),
            rotating: Mutex::new(()),
            rotations: AtomicU64::new(0),
            fd,
        };
        f.reopen()?;
        Ok(f)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times the file was rotated.
    pub fn rotations(&self) -> u64 {
        self.rotations.load(Relaxed)
    }

    /// Opens the path again and points stderr at it: after an outside tool moved the file, writing goes on in a
    /// new one.
    pub fn reopen(&self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        put_on(&file, self.fd)?;
        self.written.store(size, Relaxed);
        Ok(())
    }

    /// Counts `n` bytes written; past the limit, rotates (`<path>` -> `<path>.1` -> ... -> `<path>.<keep>`, the
    /// oldest dropped) and reopens. A failed rotation is reported on the old file and retried after another
    /// `max_bytes`, so a read-only directory costs one line per limit, not one per write.
    pub fn wrote(&self, n: usize) {
        if self.max_bytes == 0 {
            return;
        }
        let total = self.written.fetch_add(n as u64, Relaxed) + n as u64;
        if total < self.max_bytes {
            return;
        }
        let Ok(_turn) = self.rotating.try_lock() else { return };
        if self.written.load(Relaxed) < self.max_bytes {
            return; // another writer rotated while this one waited for the lock
        }
        if let Err(e) = self.rotate() {
            self.written.store(0, Relaxed);
            eprintln!("log file {}: rotation failed, writing on: {e}", self.path.display());
        }
    }

    fn rotate(&self) -> io::Result<()> {
        if self.keep == 0 {
            std::fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            for i in (1..self.keep).rev() {
                std::fs::rename(numbered(&self.path, i), numbered(&self.path, i + 1)).or_else(ignore_missing)?;
            }
            std::fs::rename(&self.path, numbered(&self.path, 1)).or_else(ignore_missing)?;
        }
        self.reopen()?;
        self.rotations.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// `<path>.<i>`.
pub fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// Makes descriptor `fd` (stderr's 2) refer to `file`.
fn put_on(file: &File, fd: RawFd) -> io::Result<()> {
    // SAFETY: both descriptors are valid for the call (`file` is open and owned by the caller, `fd` is stderr or
    // the test's own); dup2 replaces `fd` atomically, so a concurrent write to it goes to the old or the new file.
    let r = unsafe { nix::libc::dup2(file.as_raw_fd(), fd) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    // On a descriptor of the test's own (a copy of /dev/null to start with), never the process's stderr,
    // which other tests and their children share.
    #[test]
    fn rotates_by_size_keeps_n_and_reopens() {
        let dir = std::env::temp_dir().join(format!("falcon-logfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub/x.log");
        let null = File::open("/dev/null").expect("null");
        // SAFETY: `null` is open; the copy is owned by `out` from here on.
        let mut out = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(nix::libc::dup(null.as_raw_fd())) };
        let f = LogFile::open_on(&path, 100, 2, out.as_raw_fd()).expect("open");
        for round in 0..4 {
            for _ in 0..2 {
                out.write_all(format!("{round}").repeat(60).as_bytes()).expect("write");
                f.wrote(60);
            }
        }
        assert_eq!(f.rotations(), 4);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        assert_eq!(read(numbered(&path, 1)), "3".repeat(120));
        assert_eq!(read(numbered(&path, 2)), "2".repeat(120));
        assert!(!numbered(&path, 3).exists(), "only two kept");
        assert_eq!(read(path.clone()), "");
        // Moved away by someone else, then reopened: writing goes on in a new file.
        std::fs::rename(&path, dir.join("moved")).expect("move");
        f.reopen().expect("reopen");
        out.write_all(b"after").expect("write");
        f.wrote(5);
        assert_eq!(read(path.clone()), "after");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
