//! How runs and findings are shown, in the long-run command and in the smoke tests alike.

use crate::engine::{Finding, Report};
use crate::exec::Limits;
use crate::hash::hex_dump;

/// The header of the per-target table.
pub fn header() -> String {
    format!(
        "{:<22} {:>10} {:>8} {:>10} {:>7} {:>8} {:>10} {:>9} {:>9}",
        "target", "execs", "secs", "execs/s", "corpus", "features", "slowest", "peak MiB", "findings"
    )
}

/// One row of the table.
pub fn row(r: &Report) -> String {
    format!(
        "{:<22} {:>10} {:>8.1} {:>10.0} {:>7} {:>8} {:>8.1}ms {:>9.1} {:>9}",
        r.target,
        r.execs,
        r.elapsed.as_secs_f64(),
        r.rate(),
        r.corpus,
        r.features,
        r.slowest.as_secs_f64() * 1000.0,
        r.peak_bytes as f64 / f64::from(1 << 20),
        r.findings.len()
    )
}

/// A finding in full: what, where, and the input as hex (and as text when it is mostly printable).
pub fn finding(f: &Finding, limits: &Limits) -> String {
    let mut out = format!(
        "FINDING in target {}: {} at execution {} ({} input bytes)\n{}\ninput (hex):\n{}",
        f.target,
        f.problem.kind(),
        f.exec,
        f.input.len(),
        f.problem.describe(limits),
        hex_dump(&f.input)
    );
    let printable = f.input.iter().filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()).count();
    if printable * 10 >= f.input.len() * 9 {
        out.push_str(&format!("input (text): {:?}\n", String::from_utf8_lossy(&f.input)));
    }
    out
}
