//! A lane's on-disk overflow: items its memory queue cannot hold wait here, oldest first, until the peer
//! takes them again, within a byte bound.
//!
//! The directory holds segment files `<seq>.spool` (20 digits, so names sort as numbers) of [`record`]s,
//! appended to the newest and read from the oldest; a segment is deleted once read. `read-offsets` keeps how
//! far the oldest segments were read, so a restart neither loses nor repeats what was already replayed.
//! Opening a spool scans every segment, stops at the first damaged record of each, and cuts a torn tail
//! off the newest, so a crash costs at most the record being written.
//!
//! Every call takes one lock: the lane holds it across "spool empty? then the memory queue" so that items
//! keep their order (once anything is on disk, newer items go to disk too).

pub mod record;

use crate::point::Point;
use record::Decoded;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

/// A segment is closed and a new one started past this many bytes.
pub const SEGMENT_BYTES: u64 = 4 << 20;

/// Bytes read from disk at a time.
const READ_CHUNK: usize = 256 << 10;

/// The first sequence number: room below it for segments written in front at shutdown ([`Spool::prepend`]).
const FIRST_SEQ: u64 = 1 << 40;

const OFFSETS: &str = "read-offsets";

/// Why a spool could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The directory or a file in it.
    #[error("spool {path}: {source}")]
    Io {
        /// Where.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err(path: &Path, source: std::io::Error) -> SpoolError {
    SpoolError::Io { path: path.display().to_string(), source }
}

#[derive(Debug)]
struct Segment {
    seq: u64,
    /// Bytes in the file.
    len: u64,
    /// Where the next unread record starts.
    pos: u64,
    /// Records after `pos`.
    records: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Oldest first; the writer appends to the last.
    segments: VecDeque<Segment>,
    /// The last segment, open for appending.
    writer: Option<File>,
    /// The first segment, open for reading.
    reader: Option<(u64, File)>,
    /// Bytes read from the first segment; those from `pending_at` on start at `pos` and are not yet decoded.
    pending: Vec<u8>,
    /// How much of `pending` was decoded (dropped from the buffer only when it is refilled, so that each
    /// record costs no move of the rest).
    pending_at: usize,
    /// Reused encode buffer.
    scratch: Vec<u8>,
}

/// What a spool holds and has done, for `/spool` and the tests.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SpoolStats {
    /// Items on disk.
    pub items: usize,
    /// Bytes of segment files.
    pub bytes: u64,
    /// Items written since start.
    pub spilled: u64,
    /// Items read back since start.
    pub replayed: u64,
    /// Items refused past the byte bound, or lost to damage on disk, since start.
    pub dropped: u64,
}

/// One lane's overflow directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    inner: Mutex<Inner>,
    items: AtomicUsize,
    bytes: AtomicU64,
    spilled: AtomicU64,
    replayed: AtomicU64,
    dropped: AtomicU64,
}

/// The lock of a spool, held by the lane while it decides where items go.
pub struct Guard<'a> {
    spool: &'a Spool,
    inner: MutexGuard<'a, Inner>,
}

fn seg_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.spool"))
}

/// Counts the whole records of `bytes` from `from`; returns (records, end of the last whole record, why it
/// stopped early if it did).
fn scan(bytes: &[u8], from: usize) -> (usize, usize, Option<&'static str>) {
    let (mut n, mut at) = (0, from);
    while at < bytes.len() {
        match record::decode(&bytes[at..]) {
            Decoded::Point(_, len) => {
                n += 1;
                at += len;
            }
            Decoded::Incomplete => return (n, at, Some("torn record at the end")),
            Decoded::Corrupt(why) => return (n, at, Some(why)),
        }
    }
    (n, at, None)
}

impl Spool {
    /// Opens (creating) `dir`, keeping what a previous run left there; at most `max_bytes` of segments.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        Self::open_with_segments(dir, max_bytes, SEGMENT_BYTES)
    }

    /// [`open`](Self::open) with segments of `segment_bytes` (small ones for tests).
    pub fn open_with_segments(dir: &Path, max_bytes: u64, segment_bytes: u64) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let mut seqs: Vec<u64> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".spool")?.parse().ok())
            .collect();
        seqs.sort_unstable();
        let offsets: Vec<(u64, u64)> = std::fs::read_to_string(dir.join(OFFSETS))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (a, b) = l.split_once(' ')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        let mut inner = Inner::default();
        let last = seqs.last().copied();
        for seq in seqs {
            let path = seg_path(dir, seq);
            let mut bytes = Vec::new();
            File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| io_err(&path, e))?;
            let start = offsets.iter().find(|(s, _)| *s == seq).map(|(_, p)| *p as usize).unwrap_or(0);
            // An offset must fall on a record boundary; otherwise read the segment again from the start.
            let start = if start <= bytes.len() && scan(&bytes[..start], 0).1 == start { start } else { 0 };
            let (records, end, stopped) = scan(&bytes, start);
            if let Some(why) = stopped {
                tracing::warn!(path = %path.display(), records, bytes_left = bytes.len() - end, why, "spool segment damaged; keeping the records before the damage");
                if Some(seq) == last {
                    // Appends go after the last whole record.
                    let f = OpenOptions::new().write(true).open(&path).map_err(|e| io_err(&path, e))?;
                    f.set_len(end as u64).map_err(|e| io_err(&path, e))?;
                }
            }
            if records == 0 {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            inner.segments.push_back(Segment { seq, len: end as u64, pos: start as u64, records });
        }
        let spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: segment_bytes.max(1),
            items: AtomicUsize::new(inner.segments.iter().map(|s| s.records).sum()),
            bytes: AtomicU64::new(inner.segments.iter().map(|s| s.len).sum()),
            inner: Mutex::new(inner),
            spilled: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        };
        let n = spool.len();
        if n > 0 {
            tracing::info!(dir = %dir.display(), items = n, "spool holds items from a previous run; replaying them first");
        }
        Ok(spool)
    }

    /// Items on disk.
    pub fn len(&self) -> usize {
        self.items.load(Relaxed)
    }

    /// Whether nothing is on disk.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters and sizes.
    pub fn stats(&self) -> SpoolStats {
        SpoolStats {
            items: self.len(),
            bytes: self.bytes.load(Relaxed),
            spilled: self.spilled.load(Relaxed),
            replayed: self.replayed.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
        }
    }

    /// Takes the lock.
    pub fn lock(&self) -> Guard<'_> {
        Guard { spool: self, inner: self.inner.lock().unwrap_or_else(|e| e.into_inner()) }
    }
}

impl Guard<'_> {
    /// Whether nothing is on disk.
    pub fn is_empty(&self) -> bool {
        self.inner.segments.is_empty()
    }

    /// Appends `items` after everything on disk; returns how many were refused (the byte bound, or a failed
    /// write), counted in the spool's `dropped`.
    pub fn append(&mut self, items: &[Arc<Point>]) -> usize {
        let mut refused = 0;
        let mut start = 0;
        while start < items.len() {
            // One write per segment: roll to a new one when the current is full.
            let seg_max = self.spool.segment_bytes;
            let need_new = self.inner.segments.back().is_none_or(|s| s.len >= seg_max);
            if need_new {
                let seq = self.inner.segments.back().map(|s| s.seq + 1).unwrap_or(FIRST_SEQ);
                if let Err(e) = self.start_segment(seq) {
                    self.log_write_error(&e);
                    refused += items.len() - start;
                    break;
                }
            }
            let room = seg_max.saturating_sub(self.inner.segments.back().map_or(0, |s| s.len));
            let (taken, written, over_bound) = self.encode_into_scratch(&items[start..], room);
            if taken > 0 {
                if let Err(e) = self.write_scratch(written) {
                    self.log_write_error(&e);
                    refused += items.len() - start;
                    break;
                }
                let seg = self.inner.segments.back_mut().expect("a segment was just ensured");
                seg.records += taken;
                self.spool.items.fetch_add(taken, Relaxed);
                self.spool.spilled.fetch_add(taken as u64, Relaxed);
            }
            start += taken;
            if over_bound {
                refused += items.len() - start;
                break;
            }
        }
        if refused > 0 {
            self.spool.dropped.fetch_add(refused as u64, Relaxed);
        }
        refused
    }

    /// Encodes items into the scratch buffer while they fit in `room` bytes of the segment and under the
    /// spool's bound; returns (items taken, bytes, whether the bound stopped it).
    fn encode_into_scratch(&mut self, items: &[Arc<Point>], room: u64) -> (usize, u64, bool) {
        let used = self.spool.bytes.load(Relaxed);
        let mut scratch = std::mem::take(&mut self.inner.scratch);
        scratch.clear();
        let mut taken = 0;
        let mut over = false;
        for p in items {
            let before = scratch.len();
            record::encode(p, &mut scratch);
            let total = scratch.len() as u64;
            if used + total > self.spool.max_bytes {
                scratch.truncate(before);
                over = true;
                break;
            }
            taken += 1;
            // A record may start in a segment with any room left; the next one goes to a new segment.
            if total >= room {
                break;
            }
        }
        let written = scratch.len() as u64;
        self.inner.scratch = scratch;
        (taken, written, over)
    }

    fn start_segment(&mut self, seq: u64) -> std::io::Result<()> {
        let path = seg_path(&self.spool.dir, seq);
        let f = OpenOptions::new().create(true).append(true).open(&path)?;
        self.inner.writer = Some(f);
        self.inner.segments.push_back(Segment { seq, len: 0, pos: 0, records: 0 });
        Ok(())
    }

    fn write_scratch(&mut self, n: u64) -> std::io::Result<()> {
        let seq = self.inner.segments.back().map(|s| s.seq).unwrap_or(FIRST_SEQ);
        if self.inner.writer.is_none() {
            let path = seg_path(&self.spool.dir, seq);
            self.inner.writer = Some(OpenOptions::new().append(true).open(path)?);
        }
        let Inner { writer, scratch, segments, .. } = &mut *self.inner;
        if let Some(w) = writer.as_mut() {
            if let Err(e) = w.write_all(scratch) {
                // Cut off whatever part of the write landed, so the file ends on a whole record.
                if let Some(seg) = segments.back() {
                    let _ = w.set_len(seg.len);
                }
                return Err(e);
            }
        }
        if let Some(seg) = segments.back_mut() {
            seg.len += n;
        }
        self.spool.bytes.fetch_add(n, Relaxed);
        Ok(())
    }

    fn log_write_error(&self, e: &std::io::Error) {
        static LOG: falcon_runtime::ratelog::RateLimited =
            falcon_runtime::ratelog::RateLimited::new(std::time::Duration::from_secs(10));
        if let Some(suppressed) = LOG.check() {
            tracing::error!(dir = %self.spool.dir.display(), error = %e, suppressed, "spool write failed; items dropped");
        }
    }

    /// Reads up to `max` of the oldest items, deleting segments as they empty.
    pub fn read(&mut self, max: usize) -> Vec<Arc<Point>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(front) = self.inner.segments.front() else { break };
            let (seq, len, pos) = (front.seq, front.len, front.pos);
            if front.records == 0 && pos >= len {
                if self.inner.segments.len() == 1 {
                    self.reset();
                    break;
                }
                self.remove_front();
                continue;
            }
            match record::decode(&self.inner.pending[self.inner.pending_at..]) {
                Decoded::Point(p, n) => {
                    self.inner.pending_at += n;
                    let front = self.inner.segments.front_mut().expect("checked above");
                    front.pos += n as u64;
                    front.records = front.records.saturating_sub(1);
                    self.spool.items.fetch_sub(1, Relaxed);
                    out.push(Arc::new(p));
                }
                Decoded::Incomplete => {
                    let from = pos + (self.inner.pending.len() - self.inner.pending_at) as u64;
                    if from >= len {
                        self.lose_front("torn record");
                        continue;
                    }
                    if let Err(e) = self.fill(seq, from, len) {
                        tracing::error!(dir = %self.spool.dir.display(), error = %e, "spool read failed; the segment's items are lost");
                        self.lose_front("unreadable");
                    }
                }
                Decoded::Corrupt(why) => self.lose_front(why),
            }
        }
        // Segments read to the end go now, not at the next read (which does not come once the spool is empty).
        while self.inner.segments.front().is_some_and(|f| f.records == 0 && f.pos >= f.len) {
            if self.inner.segments.len() == 1 {
                self.reset();
            } else {
                self.remove_front();
            }
        }
        self.spool.replayed.fetch_add(out.len() as u64, Relaxed);
        if !out.is_empty() && !self.inner.segments.is_empty() {
            self.save_offsets();
        }
        out
    }

    /// Reads the next chunk of segment `seq` at `from` into `pending`.
    fn fill(&mut self, seq: u64, from: u64, len: u64) -> std::io::Result<()> {
        if self.inner.reader.as_ref().map(|r| r.0) != Some(seq) {
            self.inner.reader = Some((seq, File::open(seg_path(&self.spool.dir, seq))?));
        }
        let want = (len - from).min(READ_CHUNK as u64) as usize;
        let Inner { reader, pending, pending_at, .. } = &mut *self.inner;
        pending.drain(..*pending_at);
        *pending_at = 0;
        let old = pending.len();
        pending.resize(old + want, 0);
        let file = &reader.as_ref().expect("opened above").1;
        let got = file.read_at(&mut pending[old..], from);
        match got {
            Ok(n) if n > 0 => {
                pending.truncate(old + n);
                Ok(())
            }
            Ok(_) => {
                pending.truncate(old);
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "segment shorter than recorded"))
            }
            Err(e) => {
                pending.truncate(old);
                Err(e)
            }
        }
    }

    /// Gives up the rest of the oldest segment (damage on disk), counting its records as dropped.
    fn lose_front(&mut self, why: &str) {
        let Some(front) = self.inner.segments.front_mut() else { return };
        let lost = front.records;
        front.records = 0;
        front.pos = front.len;
        self.spool.items.fetch_sub(lost.min(self.spool.items.load(Relaxed)), Relaxed);
        self.spool.dropped.fetch_add(lost as u64, Relaxed);
        tracing::error!(dir = %self.spool.dir.display(), seq = front.seq, lost, why, "spool segment damaged; its remaining items are dropped");
        self.inner.pending.clear();
        self.inner.pending_at = 0;
    }

    fn remove_front(&mut self) {
        if let Some(front) = self.inner.segments.pop_front() {
            if self.inner.reader.as_ref().map(|r| r.0) == Some(front.seq) {
                self.inner.reader = None;
            }
            self.inner.pending.clear();
            self.inner.pending_at = 0;
            let _ = std::fs::remove_file(seg_path(&self.spool.dir, front.seq));
            self.spool.bytes.fetch_sub(front.len.min(self.spool.bytes.load(Relaxed)), Relaxed);
        }
    }

    /// Everything was read: delete the files and start over.
    fn reset(&mut self) {
        while !self.inner.segments.is_empty() {
            self.remove_front();
        }
        self.inner.writer = None;
        let _ = std::fs::remove_file(self.spool.dir.join(OFFSETS));
    }

    fn save_offsets(&self) {
        let text: String =
            self.inner.segments.iter().filter(|s| s.pos > 0).map(|s| format!("{} {}\n", s.seq, s.pos)).collect();
        let path = self.spool.dir.join(OFFSETS);
        if let Err(e) = std::fs::write(&path, text) {
            tracing::warn!(path = %path.display(), error = %e, "cannot save spool read offsets; a restart would replay some items twice");
        }
    }

    /// Writes `items`, which are older than everything on disk, in front of it (the memory queue at shutdown,
    /// so that the next run sends them first). Returns how many were refused.
    pub fn prepend(&mut self, items: &[Arc<Point>]) -> usize {
        if items.is_empty() {
            return 0;
        }
        if self.is_empty() {
            return self.append(items);
        }
        let seq = self.inner.segments.front().map(|s| s.seq - 1).unwrap_or(FIRST_SEQ);
        let used = self.spool.bytes.load(Relaxed);
        let mut buf = Vec::new();
        let mut taken = 0;
        for p in items {
            let before = buf.len();
            record::encode(p, &mut buf);
            if used + buf.len() as u64 > self.spool.max_bytes {
                buf.truncate(before);
                break;
            }
            taken += 1;
        }
        let path = seg_path(&self.spool.dir, seq);
        let written = File::create(&path).and_then(|mut f| f.write_all(&buf));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            self.log_write_error(&e);
            taken = 0;
        } else if taken > 0 {
            self.inner.segments.push_front(Segment { seq, len: buf.len() as u64, pos: 0, records: taken });
            self.inner.pending.clear();
            self.inner.pending_at = 0;
            self.spool.items.fetch_add(taken, Relaxed);
            self.spool.bytes.fetch_add(buf.len() as u64, Relaxed);
            self.spool.spilled.fetch_add(taken as u64, Relaxed);
            self.save_offsets();
        }
        let refused = items.len() - taken;
        self.spool.dropped.fetch_add(refused as u64, Relaxed);
        refused
    }
}

impl Spool {
    /// Flushes the segment being written to stable storage (at shutdown).
    pub fn sync(&self) {
        let g = self.lock();
        if let Some(w) = g.inner.writer.as_ref() {
            let _ = w.sync_data();
        }
    }
}

#[cfg(test)]
mod tests;
