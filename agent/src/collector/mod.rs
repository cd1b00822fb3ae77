//! Builtin collectors: one file per collector, each a pure `parse_*` function over the text of a /proc or /sys
//! file (tested on captured fixtures) and a thin reader that finds the file under the configured roots.
//!
//! [`registry`] lists them with the group they report in; [`crate::cycle`] runs the groups every interval,
//! times each collector, and counts a failure or an overrun without stopping the others.

pub mod agent;
pub mod cpu;
pub mod df;
pub mod diskhealth;
pub mod diskrw;
pub mod diskstats;
pub mod du;
pub mod ifstat;
pub mod iostat;
pub mod kernel;
pub mod load;
pub mod lsiraid;
pub mod mem;
pub mod netstat;
pub mod ntp;
pub mod ports;
pub mod procs;
pub mod procstat;
pub mod sampler;
pub mod smart;
pub mod snmp;
pub mod sockdiag;
pub mod sockstat;
pub mod table;
pub mod tool;
pub mod url;

use crate::checks::Checks;
use sampler::Sampler;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Go's counter types as the agent sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value as is.
    Gauge,
    /// A raw cumulative value; rates are computed downstream.
    Counter,
}

impl Kind {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "GAUGE",
            Kind::Counter => "COUNTER",
        }
    }
}

/// A collected value: a float, or an unsigned integer that goes out exactly. Go's agent sends its uint64
/// counters (bytes, sectors, jiffies) as JSON integers; through an f64 they would lose their low digits above
/// 2^53.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A measured or computed float.
    Float(f64),
    /// A kernel counter or size.
    Uint(u64),
}

impl Num {
    /// The value as a float (rounded above 2^53).
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Float(v) => v,
            Num::Uint(v) => v as f64,
        }
    }

    /// False for NaN and infinities, which JSON cannot carry.
    pub fn is_finite(self) -> bool {
        self.as_f64().is_finite()
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Self {
        Num::Float(v)
    }
}

impl From<u64> for Num {
    fn from(v: u64) -> Self {
        Num::Uint(v)
    }
}

impl From<i64> for Num {
    /// Negative values (a signed kernel field) go out as floats, exact for any value a kernel prints.
    fn from(v: i64) -> Self {
        u64::try_from(v).map_or(Num::Float(v as f64), Num::Uint)
    }
}

impl From<usize> for Num {
    fn from(v: usize) -> Self {
        Num::Uint(v as u64)
    }
}

impl PartialEq<f64> for Num {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == *other
    }
}

impl PartialOrd<f64> for Num {
    fn partial_cmp(&self, other: &f64) -> Option<std::cmp::Ordering> {
        self.as_f64().partial_cmp(other)
    }
}

/// One collected value, before endpoint, step and timestamp are added.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub metric: String,
    /// `k=v,k=v` or empty.
    pub tags: String,
    /// The value.
    pub value: Num,
    /// Counter type.
    pub kind: Kind,
}

/// A gauge.
pub fn gauge(metric: impl Into<String>, value: impl Into<Num>, tags: impl Into<String>) -> Sample {
    Sample { metric: metric.into(), tags: tags.into(), value: value.into(), kind: Kind::Gauge }
}

/// A counter.
pub fn counter(metric: impl Into<String>, value: impl Into<Num>, tags: impl Into<String>) -> Sample {
    Sample { metric: metric.into(), tags: tags.into(), value: value.into(), kind: Kind::Counter }
}

/// Why a collector produced nothing this cycle.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file did not have the expected shape.
    #[error("parse {what}: {reason}")]
    Parse {
        /// Which file or field.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// Nothing to report yet (e.g. the sampler has one snapshot only).
    #[error("not prepared: {0}")]
    NotReady(&'static str),
}

/// Shorthand for a parse error.
pub fn parse_err(what: impl Into<String>, reason: impl Into<String>) -> CollectError {
    CollectError::Parse { what: what.into(), reason: reason.into() }
}

/// Reads a file as text, naming it in the error.
pub fn read(path: &Path) -> Result<String, CollectError> {
    std::fs::read_to_string(path).map_err(|source| CollectError::Read { path: path.to_path_buf(), source })
}

/// What collectors read: the roots, the collector options, the sampler and the checks HBS handed out.
pub struct Env {
    /// The root file system (`$NUX_ROOTFS` or `/`): mount points are looked up under it.
    pub rootfs: PathBuf,
    /// The /proc root.
    pub proc: PathBuf,
    /// The /sys root.
    pub sys: PathBuf,
    /// `collector.ifacePrefix`.
    pub iface_prefix: Vec<String>,
    /// `collector.mountPoint`.
    pub mount_points: Vec<String>,
    /// The 1 s history of /proc/stat and /proc/diskstats.
    pub sampler: Arc<Sampler>,
    /// Ports, processes, paths and URLs from HBS.
    pub checks: Arc<RwLock<Arc<Checks>>>,
    /// `collector.processMetrics`.
    pub process_metrics: bool,
    /// The previous cycle's CPU ticks of matched processes, for `process.cpu.percent`.
    pub proc_history: Arc<Mutex<procstat::History>>,
    /// `collector.diskRwCheck`.
    pub disk_rw_check: bool,
    /// Mount options first seen and probes in flight, for `sys.disk.rw`.
    pub rw_tracker: Arc<Mutex<diskrw::Tracker>>,
    /// SMART and RAID results (None: `collector.diskHealth` is off).
    pub disk_health: Option<Arc<diskhealth::DiskHealth>>,
}

impl Env {
    /// A file under the /proc root.
    pub fn proc_file(&self, rel: &str) -> PathBuf {
        self.proc.join(rel)
    }

    /// The checks currently in force.
    pub fn checks(&self) -> Arc<Checks> {
        match self.checks.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// Which `Transfer.Update` call a collector's samples travel in (Go's six groups, without GPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// agent, cpu, net, kernel, load, mem, disk io, iostat, netstat, proc, udp.
    Core,
    /// df (statfs can hang on a dead network mount, so it runs apart).
    Df,
    /// ports and the socket summary.
    Ports,
}

/// A synchronous collector.
pub struct Collector {
    /// Name in logs, counters and `-check`.
    pub name: &'static str,
    /// The call it reports in.
    pub group: Group,
    /// The collector.
    pub run: fn(&Env) -> Result<Vec<Sample>, CollectError>,
}

/// Every synchronous builtin collector in Go's order; `du` and `url` are asynchronous (child processes with
/// timeouts) and run from [`crate::cycle`].
pub fn registry() -> Vec<Collector> {
    use Group::*;
    vec![
        Collector { name: "agent", group: Core, run: agent::collect },
        Collector { name: "cpu", group: Core, run: cpu::collect },
        Collector { name: "net.if", group: Core, run: ifstat::collect },
        Collector { name: "kernel", group: Core, run: kernel::collect },
        Collector { name: "loadavg", group: Core, run: load::collect },
        Collector { name: "memory", group: Core, run: mem::collect },
        Collector { name: "disk.io", group: Core, run: diskstats::collect },
        Collector { name: "iostat", group: Core, run: iostat::collect },
        Collector { name: "netstat", group: Core, run: netstat::collect },
        Collector { name: "proc.num", group: Core, run: procs::collect },
        Collector { name: "udp", group: Core, run: snmp::collect },
        Collector { name: "df", group: Df, run: df::collect },
        Collector { name: "sys.disk.rw", group: Df, run: diskrw::collect },
        Collector { name: "disk.health", group: Df, run: diskhealth::collect },
        Collector { name: "net.port.listen", group: Ports, run: ports::collect },
        Collector { name: "ss", group: Ports, run: sockstat::collect },
    ]
}
