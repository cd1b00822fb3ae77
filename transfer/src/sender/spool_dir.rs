//! Where each lane's spool lives: `<spool.dir>/<output>[-<name>]`, with an even share of the output's bound.
//!
//! A remote-write lane is named by its endpoint's public address (no password, token or query: directory
//! names are visible to anyone who can list the spool's parent, and `/spool` shows them), with `[n]` from the
//! second endpoint of the same public address on. Versions before this named it by the whole URL; such a
//! directory is renamed to the new name when only it exists, so an upgrade keeps what was spooled.

use super::lane::Output;
use crate::config::SpoolConfig;
use crate::spool::{Spool, SpoolError};
use falcon_runtime::redact::public_addr;
use std::collections::HashMap;
use std::path::Path;

/// The longest subdirectory name in bytes, under every file system's 255.
const NAME_MAX: usize = 200;

/// The subdirectory of a lane's spool: the output, then the lane's name with every character but ASCII letters,
/// digits and `._-` as `_`, cut to [`NAME_MAX`] bytes.
fn subdir(output: Output, name: &str) -> String {
    let mut sub = sanitized(output, name);
    sub.truncate(NAME_MAX); // ASCII only by now: any byte is a character boundary
    sub
}

/// `<output>[-<name>]` with the name's unusual characters as `_`, uncut (how earlier versions named spools).
fn sanitized(output: Output, name: &str) -> String {
    let mut sub = output.name().to_string();
    if !name.is_empty() {
        sub.push('-');
        sub.extend(name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }));
    }
    sub
}

/// The names remote-write lanes are shown and spooled by: each endpoint's public address, `[n]` appended
/// from its second occurrence on so that no two lanes share a spool, a metric series or a page row.
#[derive(Debug, Default)]
pub struct ShownNames {
    seen: HashMap<String, usize>,
}

impl ShownNames {
    /// The name of the next endpoint with this URL.
    pub fn next(&mut self, url: &str) -> String {
        let base = public_addr(url);
        let n = self.seen.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}[{n}]")
        }
    }
}

/// Opens the spool of one lane, if the output has one. `legacy` is the name an earlier version gave this lane:
/// its directory becomes this one's when this one does not exist yet.
pub fn open(
    cfg: &SpoolConfig,
    output: Output,
    name: &str,
    legacy: Option<&str>,
    lanes: usize,
) -> Result<Option<Spool>, SpoolError> {
    let Some((dir, max_bytes)) = cfg.enabled() else { return Ok(None) };
    let path = Path::new(dir).join(subdir(output, name));
    if let Some(old) = legacy.map(|l| Path::new(dir).join(sanitized(output, l))) {
        if old != path && old.is_dir() && !path.exists() {
            match std::fs::rename(&old, &path) {
                Ok(()) => {
                    tracing::info!(output = output.name(), dir = %path.display(), "spool directory renamed from the name an earlier version used (the whole URL)")
                }
                // The old directory stays for an operator to look at; the lane starts an empty spool.
                Err(e) => {
                    tracing::warn!(output = output.name(), dir = %path.display(), error = %e, "could not rename the spool directory an earlier version used; its items stay there")
                }
            }
        }
    }
    let share = max_bytes / lanes.max(1) as u64;
    Spool::open(&path, share).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_and_bounded() {
        assert_eq!(subdir(Output::Tsdb, ""), "tsdb");
        assert_eq!(subdir(Output::Graph, "graph-00@10.0.0.1:6070"), "graph-graph-00_10.0.0.1_6070");
        let long = subdir(Output::RemoteWrite, &format!("http://h/{}", "x".repeat(400)));
        assert_eq!(long.len(), NAME_MAX);
    }

    #[test]
    fn shown_names_drop_secrets_and_stay_distinct() {
        let mut n = ShownNames::default();
        assert_eq!(n.next("https://u:pw@vm:8428/api/v1/write?token=t"), "https://vm:8428/api/v1/write");
        assert_eq!(n.next("https://vm:8428/api/v1/write"), "https://vm:8428/api/v1/write[2]");
        assert_eq!(n.next("http://other/w"), "http://other/w");
        assert_eq!(n.next("https://x:y@vm:8428/api/v1/write"), "https://vm:8428/api/v1/write[3]");
        assert_eq!(
            public_addr("https://vm:8428/api/v1/write[2]"),
            "https://vm:8428/api/v1/write[2]",
            "stable when shown again"
        );
    }

    #[test]
    fn an_earlier_whole_url_directory_is_taken_over_with_its_items() {
        let dir = std::env::temp_dir().join(format!("falcon-spool-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = SpoolConfig { dir: dir.display().to_string(), max_bytes: 1 << 20 };
        let url = "https://u:pw@vm:8428/api/v1/write?token=t";
        let old = dir.join(subdir(Output::RemoteWrite, url));
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("marker"), b"x").unwrap();
        let name = ShownNames::default().next(url);
        let spool = open(&cfg, Output::RemoteWrite, &name, Some(url), 1).unwrap().unwrap();
        assert_eq!(spool.dir(), dir.join("remoteWrite-https___vm_8428_api_v1_write"));
        assert!(spool.dir().join("marker").exists(), "the old directory's content moved");
        assert!(!old.exists());
        let listed: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(listed.iter().all(|n| !n.contains("pw") && !n.contains("token")), "{listed:?}");
        drop(spool);
        // Off without a directory.
        assert!(open(&SpoolConfig::default(), Output::RemoteWrite, &name, None, 1).unwrap().is_none());
        std::fs::remove_dir_all(&dir).ok();
    }
}
