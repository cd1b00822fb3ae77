//! `/plugin/update` and `/plugin/reset`: the git binary (as Go uses it, so https, ssh and credential helpers
//! work), each bounded in time, with Go's reply texts.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// How long one git command may take.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(120);

async fn git(dir: &Path, args: &[&str], timeout: Duration) -> Result<(), String> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => Err(format!("timed out after {} s", timeout.as_secs())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            Err(format!("{}{}", out.status, if first.is_empty() { String::new() } else { format!(": {first}") }))
        }
    }
}

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `git pull` in `dir` when it exists, else `git clone <repo> <basename>` in its parent.
pub async fn update(dir: &Path, repo: &str, timeout: Duration) -> Result<(), String> {
    let parent = parent_of(dir);
    let _ = std::fs::create_dir_all(&parent);
    if dir.exists() {
        git(dir, &["pull"], timeout).await.map_err(|e| format!("git pull in dir:{} fail. error: {e}", dir.display()))
    } else {
        let base = dir.file_name().and_then(|b| b.to_str()).unwrap_or("plugin").to_string();
        // `--`: a `plugin.git` value starting with '-' is a repository, never an option to git.
        git(&parent, &["clone", "--", repo, &base], timeout)
            .await
            .map_err(|e| format!("git clone in dir:{} fail. error: {e}", parent.display()))
    }
}

/// `git reset --hard` in `dir` when it exists.
pub async fn reset(dir: &Path, timeout: Duration) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    git(dir, &["reset", "--hard"], timeout)
        .await
        .map_err(|e| format!("git reset --hard in dir:{} fail. error: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_repository_that_looks_like_an_option_is_taken_as_a_repository() {
        let root = std::env::temp_dir().join(format!("falcon-git-opt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let marker = root.join("ran");
        let repo = format!("--upload-pack=touch {}", marker.display());
        let e = update(&root.join("plugin"), &repo, Duration::from_secs(30)).await.unwrap_err();
        // git looked for a repository of that name (and did not find one) instead of taking an option.
        assert!(e.contains("--upload-pack=touch"), "{e}");
        assert!(!marker.exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
