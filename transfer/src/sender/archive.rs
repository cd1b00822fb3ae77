//! The local archive (ours): every accepted item as one JSON line in `<dir>/archive.jsonl`, rotated to
//! `archive.jsonl.1` ... `.<maxFiles>` when it reaches `maxBytes`, the oldest deleted, so the disk use is bounded
//! by (maxFiles + 1) x maxBytes. It lets a stack without graph and judge show its data flowing.
//!
//! Every line is valid JSON. A value JSON cannot carry as a number (the receivers accept Go's `"NaN"`,
//! `"+Inf"` and `"-Inf"` strings, as Go's transfer does) is written as that string.

use super::lane::{Deliver, SendError};
use crate::point::Point;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Serialize)]
struct Line<'a> {
    endpoint: &'a str,
    metric: &'a str,
    tags: &'a str,
    #[serde(serialize_with = "ser_value")]
    value: f64,
    timestamp: i64,
    step: i64,
    #[serde(rename = "counterType")]
    counter_type: &'static str,
}

/// A finite value as Go writes a float64; NaN and the infinities as Go's `FormatFloat` text, in a string.
fn ser_value<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        falcon_proto::gojson::ser_f64(v, s)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("+Inf")
    } else {
        s.serialize_str("-Inf")
    }
}

/// Appends one item's line to `out`; a line that cannot be encoded leaves nothing behind (a half-written
/// record would swallow the next one).
pub fn write_line(out: &mut Vec<u8>, p: &Point) {
    let start = out.len();
    let line = Line {
        endpoint: &p.endpoint,
        metric: &p.metric,
        tags: &p.tags,
        value: p.value,
        timestamp: p.timestamp,
        step: p.step,
        counter_type: p.counter_type.as_str(),
    };
    match falcon_proto::gojson::to_writer(&mut *out, &line) {
        Ok(()) => out.push(b'\n'),
        Err(e) => {
            out.truncate(start);
            tracing::warn!(metric = %p.metric, error = %e, "archive line not encodable: skipped");
        }
    }
}

/// The current file and its size.
pub struct Rotating {
    dir: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: Option<File>,
    size: u64,
}

impl Rotating {
    /// Files in `dir`.
    pub fn new(dir: &Path, max_bytes: u64, max_files: usize) -> Self {
        Rotating { dir: dir.to_path_buf(), max_bytes, max_files, file: None, size: 0 }
    }

    fn path(&self, n: usize) -> PathBuf {
        if n == 0 {
            self.dir.join("archive.jsonl")
        } else {
            self.dir.join(format!("archive.jsonl.{n}"))
        }
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let _ = std::fs::remove_file(self.path(self.max_files));
        for n in (0..self.max_files).rev() {
            let from = self.path(n);
            if from.exists() {
                std::fs::rename(&from, self.path(n + 1))?;
            }
        }
        self.size = 0;
        Ok(())
    }

    /// Appends `bytes` (whole lines), rotating first when they would overflow the current file.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let f = OpenOptions::new().create(true).append(true).open(self.path(0))?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_bytes {
            self.rotate()?;
            return self.write(bytes);
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(bytes)?;
        }
        self.size += bytes.len() as u64;
        Ok(())
    }
}

/// Writes batches to the archive.
pub struct ArchiveDeliver {
    /// The files.
    pub files: Mutex<Rotating>,
}

impl Deliver for ArchiveDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        let mut buf = Vec::with_capacity(batch.len() * 160);
        for p in batch {
            write_line(&mut buf, p);
        }
        let mut files = self.files.lock().map_err(|_| SendError::Transport("archive lock poisoned".into()))?;
        files.write(&buf).map_err(|e| SendError::Transport(format!("archive {}: {e}", files.dir.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::CounterType;

    #[test]
    fn lines_and_rotation_bound_the_disk() {
        let dir = std::env::temp_dir().join(format!("falcon-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = Point {
            endpoint: Arc::from("vm"),
            metric: "cpu.idle".into(),
            tags: "a=b".into(),
            value: 1.5,
            timestamp: 1795261617,
            step: 60,
            counter_type: CounterType::Gauge,
        };
        let mut line = Vec::new();
        write_line(&mut line, &p);
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "{\"endpoint\":\"vm\",\"metric\":\"cpu.idle\",\"tags\":\"a=b\",\"value\":1.5,\"timestamp\":1795261617,\"step\":60,\"counterType\":\"GAUGE\"}\n"
        );
        let mut r = Rotating::new(&dir, line.len() as u64 * 3, 2);
        for _ in 0..20 {
            r.write(&line).unwrap();
        }
        let names: Vec<String> = {
            let mut v: Vec<String> =
                std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            v.sort();
            v
        };
        assert_eq!(names, ["archive.jsonl", "archive.jsonl.1", "archive.jsonl.2"]);
        for n in &names {
            assert!(std::fs::metadata(dir.join(n)).unwrap().len() <= line.len() as u64 * 3);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_value_and_odd_tags_give_one_valid_json_line_each() {
        let base = Point {
            endpoint: Arc::from("vm"),
            metric: "m".into(),
            tags: String::new(),
            value: 0.0,
            timestamp: 1,
            step: 60,
            counter_type: CounterType::Gauge,
        };
        let cases = [
            (f64::NAN, serde_json::json!("NaN")),
            (f64::INFINITY, serde_json::json!("+Inf")),
            (f64::NEG_INFINITY, serde_json::json!("-Inf")),
            (1e300, serde_json::json!(1e300)),
            (-5.0, serde_json::json!(-5)),
            (f64::MIN_POSITIVE, serde_json::json!(f64::MIN_POSITIVE)),
        ];
        let mut out = Vec::new();
        for (v, _) in &cases {
            write_line(&mut out, &Point { value: *v, tags: "a=\"q\",b=<x>".into(), ..base.clone() });
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), cases.len());
        for (l, (_, want)) in lines.iter().zip(&cases) {
            assert_eq!(&l["value"], want);
            assert_eq!(l["tags"], "a=\"q\",b=<x>");
        }
    }
}
