//! The files of the fuzz tree: seeds in `corpus/<target>/`, saved findings in `regressions/<target>/`.

use crate::hash::fnv1a;
use std::path::{Path, PathBuf};

/// The `fuzz/` directory (the crate's own, so the binary and the tests find the tree from anywhere).
pub fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Seeds of `target`.
pub fn corpus_dir(target: &str) -> PathBuf {
    fuzz_dir().join("corpus").join(target)
}

/// Saved findings of `target`.
pub fn regressions_dir(target: &str) -> PathBuf {
    fuzz_dir().join("regressions").join(target)
}

/// Every regular, non-hidden file of `dir` with its bytes, by file name (so runs are reproducible); a missing
/// directory is empty.
pub fn load_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(list) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = list
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.') && n != "README.md"))
        .collect();
    paths.sort();
    paths.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b))).collect()
}

/// Where a finding's input goes: named by its hash, so the same input is saved once.
pub fn finding_path(target: &str, input: &[u8]) -> PathBuf {
    regressions_dir(target).join(format!("{:016x}", fnv1a(input)))
}

/// Saves a finding's input under `regressions/<target>/`.
pub fn save_finding(target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    let path = finding_path(target, input);
    std::fs::create_dir_all(regressions_dir(target))?;
    std::fs::write(&path, input)?;
    Ok(path)
}
