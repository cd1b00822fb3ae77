//! `proc.num`: processes matching each rule HBS hands out (`name=<exact>`, `cmdline=<substring>`).

use super::{gauge, CollectError, Env, Sample};
use crate::checks::ProcRule;
use std::path::Path;

/// One process: its `Name:` and its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// `Name:` from status.
    pub name: String,
    /// cmdline with the NUL separators removed (what Go matches against).
    pub cmdline_joined: String,
    /// cmdline with the NUL separators as spaces.
    pub cmdline_spaced: String,
}

/// A process from its name (`comm`, the same text as status's `Name:`) and cmdline; None for kernel threads
/// (empty cmdline), which Go skips.
pub fn parse_proc(name: &str, cmdline: &[u8]) -> Option<Proc> {
    let trimmed: &[u8] = cmdline.strip_suffix(&[0]).unwrap_or(cmdline);
    if trimmed.is_empty() {
        return None;
    }
    let joined: Vec<u8> = trimmed.iter().copied().filter(|b| *b != 0).collect();
    let spaced: Vec<u8> = trimmed.iter().map(|b| if *b == 0 { b' ' } else { *b }).collect();
    Some(Proc {
        name: name.trim().to_string(),
        cmdline_joined: String::from_utf8_lossy(&joined).into_owned(),
        cmdline_spaced: String::from_utf8_lossy(&spaced).into_owned(),
    })
}

/// Go's match: the name equal to the rule's (if any) and the cmdline containing the rule's (if any). The
/// cmdline is tried as Go joins it (no separator) and with spaces, so `cmdline=java -jar x.jar` can match.
pub fn matches(rule: &ProcRule, p: &Proc) -> bool {
    if let Some(n) = &rule.name {
        if &p.name != n {
            return false;
        }
    }
    match &rule.cmdline {
        Some(c) => p.cmdline_joined.contains(c.as_str()) || p.cmdline_spaced.contains(c.as_str()),
        None => true,
    }
}

/// Every user-space process under `proc`.
pub fn all_procs(proc: &Path) -> Result<Vec<Proc>, CollectError> {
    let dir = std::fs::read_dir(proc).map_err(|source| CollectError::Read { path: proc.to_path_buf(), source })?;
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let base = entry.path();
        // A process may exit between the listing and the reads: skip it. `comm` holds the `Name:` of status
        // (which Go reads) at a tenth of the bytes.
        let (Ok(comm), Ok(cmdline)) = (std::fs::read_to_string(base.join("comm")), std::fs::read(base.join("cmdline")))
        else {
            continue;
        };
        if let Some(p) = parse_proc(&comm, &cmdline) {
            out.push(p);
        }
    }
    Ok(out)
}

/// One `proc.num` per rule, tagged with the rule's raw tag string.
pub fn samples(rules: &[(String, ProcRule)], procs: &[Proc]) -> Vec<Sample> {
    rules
        .iter()
        .map(|(tags, rule)| gauge("proc.num", procs.iter().filter(|p| matches(rule, p)).count(), tags.clone()))
        .collect()
}

/// `proc.num`, only when HBS handed out rules.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let checks = env.checks();
    if checks.procs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(samples(&checks.procs, &all_procs(&env.proc)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: Option<&str>, cmd: Option<&str>) -> ProcRule {
        ProcRule { name: name.map(Into::into), cmdline: cmd.map(Into::into) }
    }

    #[test]
    fn go_matching_rules() {
        let p = parse_proc("java\n", b"java\0-jar\0x.jar\0").unwrap();
        assert_eq!(p.cmdline_joined, "java-jarx.jar");
        assert!(matches(&rule(Some("java"), None), &p));
        assert!(!matches(&rule(Some("jav"), None), &p));
        assert!(matches(&rule(None, Some("-jarx")), &p));
        assert!(matches(&rule(None, Some("java -jar x.jar")), &p));
        assert!(matches(&rule(Some("java"), Some("x.jar")), &p));
        assert!(!matches(&rule(Some("nginx"), Some("x.jar")), &p));
        assert!(parse_proc("kthreadd\n", b"").is_none());
        let s = samples(&[("name=java".into(), rule(Some("java"), None))], &[p.clone(), p]);
        assert_eq!((s[0].value.as_f64(), s[0].tags.as_str()), (2.0, "name=java"));
    }

    #[test]
    fn scans_this_machine() {
        let me = all_procs(Path::new("/proc")).unwrap();
        assert!(!me.is_empty());
    }
}
