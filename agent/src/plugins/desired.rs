//! From the list HBS hands out (`Agent.MinePlugins`) to the set of plugins that should run: entries are
//! directories (every `<cycle>_<name>` file in them, not recursive) or single files with optional arguments.

use super::Plugin;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The cycle from a file name (`60_ntp.py` -> 60). None without `_`, with a non-numeric prefix, or with a
/// cycle of 0 or less (which crash the Go agent).
pub fn cycle_of(file_name: &str) -> Option<i64> {
    let (prefix, _) = file_name.split_once('_')?;
    let c: i64 = prefix.parse().ok()?;
    if c <= 0 {
        tracing::warn!(file = file_name, "plugin with a cycle of {c} s skipped");
        return None;
    }
    Some(c)
}

/// `path(args)` -> (path, args) with Go's greedy `(.*)\((.*)\)`: the path runs up to the last `(`.
pub fn split_entry(entry: &str) -> (&str, &str) {
    if let Some(body) = entry.strip_suffix(')') {
        if let Some(i) = body.rfind('(') {
            return (&body[..i], &body[i + 1..]);
        }
    }
    (entry, "")
}

fn mtime(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The desired plugins, keyed as Go keys them (`dir/60_x.sh` for directory members, `path(args)` for files).
pub fn desired(plugin_dir: &Path, entries: &[String]) -> BTreeMap<String, Plugin> {
    let mut out = BTreeMap::new();
    let mut taken = BTreeSet::new();
    let mut dirs = Vec::new();
    for entry in entries {
        let (path, args) = split_entry(entry);
        let abs = plugin_dir.join(path);
        let Ok(meta) = std::fs::metadata(&abs) else {
            tracing::debug!(entry = %entry, "plugin path does not exist");
            continue;
        };
        if !meta.is_file() {
            dirs.push(path.to_string());
            continue;
        }
        taken.insert(path.to_string());
        let name = Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(cycle) = cycle_of(name) {
            out.insert(
                format!("{path}({args})"),
                Plugin { file_path: path.to_string(), mtime: mtime(&meta), cycle, args: args.to_string() },
            );
        }
    }
    for dir in dirs {
        let trimmed = dir.trim_matches('/');
        let Ok(list) = std::fs::read_dir(plugin_dir.join(trimmed)) else {
            tracing::warn!(dir = %dir, "cannot list plugin directory");
            continue;
        };
        for f in list.flatten() {
            let Ok(meta) = f.metadata() else { continue };
            if meta.is_dir() {
                continue;
            }
            let Some(name) = f.file_name().to_str().map(str::to_string) else { continue };
            let Some(cycle) = cycle_of(&name) else { continue };
            let key = if trimmed.is_empty() { name.clone() } else { format!("{trimmed}/{name}") };
            if taken.contains(&key) {
                continue;
            }
            out.insert(key.clone(), Plugin { file_path: key, mtime: mtime(&meta), cycle, args: String::new() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_and_cycles() {
        assert_eq!(split_entry("sys/args/20_args.sh(hello,world)"), ("sys/args/20_args.sh", "hello,world"));
        assert_eq!(split_entry("sys/demo"), ("sys/demo", ""));
        assert_eq!(split_entry("a(b)(c)"), ("a(b)", "c"));
        assert_eq!(cycle_of("60_ntp.py"), Some(60));
        assert_eq!(cycle_of("0_x.sh"), None);
        assert_eq!(cycle_of("-5_x.sh"), None);
        assert_eq!(cycle_of("abc_x.sh"), None);
        assert_eq!(cycle_of("60ntp"), None);
    }

    #[test]
    fn the_captured_layout() {
        let root = std::env::temp_dir().join(format!("falcon-desired-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("sys/demo/sub")).unwrap();
        std::fs::create_dir_all(root.join("sys/args")).unwrap();
        for f in ["sys/demo/10_demo.sh", "sys/demo/0_bad.sh", "sys/demo/readme", "sys/args/20_args.sh"] {
            std::fs::write(root.join(f), "#!/bin/sh\n").unwrap();
        }
        let d = desired(&root, &["sys/args/20_args.sh(hello,world)".into(), "sys/demo".into(), "sys/missing".into()]);
        let keys: Vec<_> = d.keys().cloned().collect();
        assert_eq!(keys, ["sys/args/20_args.sh(hello,world)", "sys/demo/10_demo.sh"]);
        let a = &d["sys/args/20_args.sh(hello,world)"];
        assert_eq!((a.file_path.as_str(), a.cycle, a.args.as_str()), ("sys/args/20_args.sh", 20, "hello,world"));
        assert!(a.mtime > 0);
        // A file bound on its own is not also run as a member of its directory.
        let d = desired(&root, &["sys/demo/10_demo.sh".into(), "sys/demo/".into()]);
        assert_eq!(d.keys().cloned().collect::<Vec<_>>(), ["sys/demo/10_demo.sh()"]);
        std::fs::remove_dir_all(&root).ok();
    }
}
