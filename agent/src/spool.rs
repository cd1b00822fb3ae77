//! The on-disk spool: undelivered batches as lines of a file (each line one JSON array, exactly the
//! `Transfer.Update` argument), so that an agent restart loses nothing that was waiting for a transfer.
//!
//! The file mirrors the sender's queue: batches are appended when a delivery round fails, and the file is
//! rewritten from the queue once enough of its lines were delivered (or emptied when the queue is). A crash
//! between a delivery and the rewrite sends those batches again after the restart: at least once, never lost.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The spool file of a directory.
pub struct Spool {
    path: PathBuf,
    max_bytes: u64,
    bytes: u64,
}

/// What a load found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Each batch's JSON text and item count, oldest first.
    pub batches: Vec<(Vec<u8>, usize)>,
    /// Lines that were not a JSON array (a torn write at a crash): skipped.
    pub corrupt: usize,
}

impl Spool {
    /// Opens (creating the directory) the spool in `dir`.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("pending.jsonl");
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(Spool { path, max_bytes, bytes })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bound on the file.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes in the file.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether `extra` more bytes fit under the bound.
    pub fn fits(&self, extra: u64) -> bool {
        self.bytes + extra <= self.max_bytes
    }

    /// Reads every batch in the file.
    pub fn load(&self) -> std::io::Result<Loaded> {
        let mut out = Loaded::default();
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for line in BufReader::new(f).split(b'\n') {
            let line = line?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&line) {
                Ok(items) if !items.is_empty() => out.batches.push((line, items.len())),
                Ok(_) => {}
                Err(_) => out.corrupt += 1,
            }
        }
        Ok(out)
    }

    /// Appends batches and syncs the file.
    pub fn append<'a>(&mut self, batches: impl IntoIterator<Item = &'a [u8]>) -> std::io::Result<()> {
        let mut f = OpenOptions::new().create(true).append(true).open(&self.path)?;
        let mut buf = Vec::new();
        for b in batches {
            buf.extend_from_slice(b);
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_data()?;
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Replaces the file with exactly `batches` (atomically: a temporary file renamed over it).
    pub fn rewrite<'a>(&mut self, batches: impl IntoIterator<Item = &'a [u8]>) -> std::io::Result<()> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut buf = Vec::new();
        for b in batches {
            buf.extend_from_slice(b);
            buf.push(b'\n');
        }
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_data()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.bytes = buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_load_rewrite_and_torn_lines() {
        let dir = std::env::temp_dir().join(format!("falcon-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = Spool::open(&dir, 1 << 20).unwrap();
        assert!(s.load().unwrap().batches.is_empty());
        s.append([&b"[1,2]"[..], &b"[{\"a\":1}]"[..]]).unwrap();
        let mut f = OpenOptions::new().append(true).open(s.path()).unwrap();
        f.write_all(b"[{\"torn\":").unwrap();
        drop(f);
        let l = s.load().unwrap();
        assert_eq!(l.batches.iter().map(|b| b.1).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(l.corrupt, 1);
        s.rewrite([&b"[3]"[..]]).unwrap();
        assert_eq!(s.bytes(), 4);
        assert_eq!(Spool::open(&dir, 10).unwrap().load().unwrap().batches.len(), 1);
        s.rewrite(std::iter::empty()).unwrap();
        assert!(s.load().unwrap().batches.is_empty());
        assert!(s.fits(10) && !Spool::open(&dir, 0).unwrap().fits(1));
        std::fs::remove_dir_all(&dir).ok();
    }
}
