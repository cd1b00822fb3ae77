//! Unpacking a verified tarball into a version directory, refusing anything that could write outside it.
//!
//! ops-updater runs `tar zxf` in the version directory, so a tarball entry named `../../etc/cron.d/x`, an
//! absolute one, or a symlink pointing out of the directory followed by a file written through it, lands
//! wherever it says. Here every entry is checked before anything is written: a relative path without `..`;
//! a regular file, a directory, or a link whose target stays inside; at most [`Limits`] entries and bytes. The
//! tarball is unpacked into a temporary directory beside the target and renamed into place only when whole,
//! so a crash or a refusal leaves no half version behind.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Bounds on what one tarball may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries at most.
    pub entries: usize,
    /// Bytes of file content at most, in all.
    pub bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { entries: 10_000, bytes: 1 << 30 }
    }
}

/// Why a tarball was not unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Not a gzip'd tar, or cut short.
    #[error("not a readable .tar.gz: {0}")]
    Format(String),
    /// An entry would land outside the version directory, or is of a kind we do not write.
    #[error("refused entry {path:?}: {why}")]
    Refused {
        /// The entry's path as the tarball has it.
        path: String,
        /// Why.
        why: &'static str,
    },
    /// More entries or bytes than [`Limits`] allows.
    #[error("tarball too large: {0}")]
    TooLarge(String),
    /// `control` missing at the tarball's root, or not executable.
    #[error("no executable control at the tarball's root")]
    NoControl,
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// Where.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io { path: path.display().to_string(), source }
}

/// The entry's path made of normal components only, or None if it is absolute or climbs with `..`.
pub fn inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether a symlink at `entry` (inside the directory) pointing at `target` stays inside: the target is
/// relative and, resolved lexically from the link's own directory, never climbs above the root.
pub fn link_stays_inside(entry: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = entry.parent().map(|p| p.components().count() as i64).unwrap_or(0);
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Checks every entry of `tarball` without writing anything.
pub fn check(tarball: &[u8], limits: Limits) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    let mut entries = 0usize;
    let mut bytes = 0u64;
    // Links seen so far: nothing may be written below one (it could lead anywhere once followed).
    let mut links: Vec<PathBuf> = Vec::new();
    for entry in archive.entries().map_err(|e| UnpackError::Format(e.to_string()))? {
        let mut entry = entry.map_err(|e| UnpackError::Format(e.to_string()))?;
        entries += 1;
        if entries > limits.entries {
            return Err(UnpackError::TooLarge(format!("more than {} entries", limits.entries)));
        }
        let raw = entry.path().map_err(|e| UnpackError::Format(e.to_string()))?.into_owned();
        let shown = raw.display().to_string();
        let Some(path) = inside(&raw) else {
            return Err(UnpackError::Refused { path: shown, why: "absolute or climbing out with .." });
        };
        if links.iter().any(|l| path.starts_with(l) && &path != l) {
            return Err(UnpackError::Refused { path: shown, why: "below a link" });
        }
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| UnpackError::Format(e.to_string()))?
                    .ok_or(UnpackError::Refused { path: shown.clone(), why: "link without a target" })?;
                // A hard link names another entry of the archive (from the root); a symlink is relative to
                // its own directory.
                let ok = if kind == tar::EntryType::Link {
                    inside(&target).is_some()
                } else {
                    link_stays_inside(&path, &target)
                };
                if !ok {
                    return Err(UnpackError::Refused {
                        path: shown,
                        why: "link leading outside the version directory",
                    });
                }
                links.push(path.clone());
            }
            // Long names and pax headers are read by the tar crate itself and never come out as entries.
            _ => return Err(UnpackError::Refused { path: shown, why: "not a file, directory or link" }),
        }
        bytes = bytes.saturating_add(entry.header().size().unwrap_or(0));
        if bytes > limits.bytes {
            return Err(UnpackError::TooLarge(format!("more than {} bytes", limits.bytes)));
        }
        // Read the content so a truncated archive fails here, not half way through the unpack.
        std::io::copy(&mut (&mut entry).take(limits.bytes), &mut std::io::sink())
            .map_err(|e| UnpackError::Format(e.to_string()))?;
    }
    Ok(())
}

/// Unpacks `tarball` into `dest` (which must not exist): checked first, written into a temporary directory
/// beside it, renamed into place once whole and holding an executable `control` at its root.
pub fn unpack(tarball: &[u8], dest: &Path, limits: Limits) -> Result<(), UnpackError> {
    check(tarball, limits)?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".unpack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let result = (|| {
        let mut archive = tar::Archive::new(GzDecoder::new(tarball));
        archive.set_overwrite(false);
        archive.unpack(&tmp).map_err(|e| UnpackError::Format(e.to_string()))?;
        let control = tmp.join("control");
        let meta = std::fs::symlink_metadata(&control).map_err(|_| UnpackError::NoControl)?;
        use std::os::unix::fs::PermissionsExt;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(UnpackError::NoControl);
        }
        std::fs::rename(&tmp, dest).map_err(io_err(dest))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A .tar.gz of (path, kind, content or link target); paths are written raw into the header, as a
    /// hostile tarball would have them.
    pub(crate) fn tarball(entries: &[(&str, char, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, kind, body) in entries {
            let mut h = tar::Header::new_gnu();
            let name = path.as_bytes();
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            match kind {
                'f' | 'x' => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(body.len() as u64);
                    h.set_mode(if *kind == 'x' { 0o755 } else { 0o644 });
                }
                'd' => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_size(0);
                }
                's' | 'h' => {
                    h.set_entry_type(if *kind == 's' { tar::EntryType::Symlink } else { tar::EntryType::Link });
                    h.set_size(0);
                    h.set_mode(0o777);
                    let t = body.as_bytes();
                    h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
                }
                'c' => {
                    h.set_entry_type(tar::EntryType::Char);
                    h.set_size(0);
                }
                _ => unreachable!(),
            }
            h.set_cksum();
            let data: &[u8] = if matches!(kind, 'f' | 'x') { body.as_bytes() } else { &[] };
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("falcon-unpack-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_good_tarball_lands_whole() {
        let d = tmp("good");
        let t = tarball(&[
            ("control", 'x', "#!/bin/sh\necho started\n"),
            ("bin/", 'd', ""),
            ("bin/falcon-agent", 'x', "binary"),
            ("./cfg.json", 'f', "{}"),
            ("bin/agent", 's', "falcon-agent"),
            ("lib/", 'd', ""),
            ("lib/up", 's', "../cfg.json"),
        ]);
        unpack(&t, &d.join("1.0.0"), Limits::default()).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("1.0.0/bin/agent")).unwrap(), "binary");
        assert_eq!(std::fs::read_to_string(d.join("1.0.0/lib/up")).unwrap(), "{}");
        // Nothing else left beside it.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn escaping_entries_are_refused_and_nothing_is_written() {
        let d = tmp("bad");
        let cases: Vec<Vec<(&str, char, &str)>> = vec![
            vec![("control", 'x', ""), ("../evil", 'f', "x")],
            vec![("control", 'x', ""), ("a/../../evil", 'f', "x")],
            vec![("control", 'x', ""), ("/tmp/evil", 'f', "x")],
            vec![("control", 'x', ""), ("out", 's', "/etc")],
            vec![("control", 'x', ""), ("a/out", 's', "../../etc")],
            vec![("control", 'x', ""), ("hard", 'h', "../x")],
            vec![("control", 'x', ""), ("dev", 'c', "")],
            vec![("control", 'x', ""), ("a", 's', "."), ("a/l", 's', "../x")],
        ];
        for (i, entries) in cases.iter().enumerate() {
            let t = tarball(entries);
            let dest = d.join(format!("v{i}"));
            let e = unpack(&t, &dest, Limits::default()).unwrap_err();
            assert!(matches!(e, UnpackError::Refused { .. }), "case {i}: {e}");
            assert!(!dest.exists());
        }
        assert!(!d.join("evil").exists() && !d.parent().unwrap().join("evil").exists());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        // No control, a truncated archive, too many bytes.
        assert!(matches!(
            unpack(&tarball(&[("x", 'f', "1")]), &d.join("n"), Limits::default()),
            Err(UnpackError::NoControl)
        ));
        let t = tarball(&[("control", 'x', "#!/bin/sh\n"), ("big", 'f', &"z".repeat(5000))]);
        assert!(matches!(unpack(&t[..t.len() / 2], &d.join("t"), Limits::default()), Err(UnpackError::Format(_))));
        let small = Limits { entries: 10, bytes: 1000 };
        assert!(matches!(unpack(&t, &d.join("l"), small), Err(UnpackError::TooLarge(_))));
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn link_targets_are_resolved_from_their_directory() {
        assert!(link_stays_inside(Path::new("a/b/l"), Path::new("../c")));
        assert!(link_stays_inside(Path::new("a/b/l"), Path::new("../../c")));
        assert!(!link_stays_inside(Path::new("a/b/l"), Path::new("../../../c")));
        assert!(!link_stays_inside(Path::new("l"), Path::new("/c")));
        assert!(link_stays_inside(Path::new("l"), Path::new("./c/../d")));
    }
}
