//! `proc.num`: processes matching each rule HBS hands out (`name=<exact>`, `cmdline=<substring>`), and with
//! `collector.processMetrics` (on by default) the `process.*` resources of the same processes
//! ([`super::procstat`]), from the same scan of /proc.

use super::procstat::{self, Usage};
use super::{gauge, CollectError, Env, Sample};
use crate::checks::ProcRule;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// One process: its pid, `Name:` and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Process id.
    pub pid: u32,
    /// `Name:` from status.
    pub name: String,
    /// cmdline with the NUL separators removed (what Go matches against).
    pub cmdline_joined: String,
    /// cmdline with the NUL separators as spaces.
    pub cmdline_spaced: String,
}

/// A process from its name (`comm`, the same text as status's `Name:`) and cmdline; None for kernel threads
/// (empty cmdline), which Go skips.
pub fn parse_proc(pid: u32, name: &str, cmdline: &[u8]) -> Option<Proc> {
    let trimmed: &[u8] = cmdline.strip_suffix(&[0]).unwrap_or(cmdline);
    if trimmed.is_empty() {
        return None;
    }
    let joined: Vec<u8> = trimmed.iter().copied().filter(|b| *b != 0).collect();
    let spaced: Vec<u8> = trimmed.iter().map(|b| if *b == 0 { b' ' } else { *b }).collect();
    Some(Proc {
        pid,
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
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let base = entry.path();
        // A process may exit between the listing and the reads: skip it. `comm` holds the `Name:` of status
        // (which Go reads) at a tenth of the bytes.
        let (Ok(comm), Ok(cmdline)) = (std::fs::read_to_string(base.join("comm")), std::fs::read(base.join("cmdline")))
        else {
            continue;
        };
        if let Some(p) = parse_proc(pid, &comm, &cmdline) {
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

/// `process.*` for every rule: each matching process read once, summed per rule. `process.cpu.percent` counts
/// the ticks of processes seen in the previous cycle too.
pub fn resource_samples(
    rules: &[(String, ProcRule)],
    procs: &[Proc],
    history: &mut procstat::History,
    read: &dyn Fn(u32) -> Option<(procstat::Stat, Usage)>,
) -> Vec<Sample> {
    let matched: Vec<Vec<u32>> =
        rules.iter().map(|(_, rule)| procs.iter().filter(|p| matches(rule, p)).map(|p| p.pid).collect()).collect();
    let mut round = history.round(Instant::now());
    let mut read_once: HashMap<u32, Option<(Usage, Option<u64>)>> = HashMap::new();
    for pid in matched.iter().flatten() {
        read_once.entry(*pid).or_insert_with(|| read(*pid).map(|(stat, usage)| (usage, round.observe(*pid, &stat))));
    }
    let mut out = Vec::new();
    for ((tags, _), pids) in rules.iter().zip(&matched) {
        let found: Vec<&(Usage, Option<u64>)> = pids.iter().filter_map(|p| read_once.get(p)?.as_ref()).collect();
        let usage = procstat::sum(found.iter().map(|(u, _)| u));
        let ticks: u64 = found.iter().filter_map(|(_, t)| *t).sum();
        out.extend(procstat::samples(tags, &usage, round.percent(ticks)));
    }
    round.finish();
    out
}

/// `proc.num` (and `process.*`), only when HBS handed out rules.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let checks = env.checks();
    if checks.procs.is_empty() {
        return Ok(Vec::new());
    }
    let procs = all_procs(&env.proc)?;
    let mut out = samples(&checks.procs, &procs);
    if env.process_metrics {
        let mut history = match env.proc_history.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        out.extend(resource_samples(&checks.procs, &procs, &mut history, &|pid| procstat::read_usage(&env.proc, pid)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: Option<&str>, cmd: Option<&str>) -> ProcRule {
        ProcRule { name: name.map(Into::into), cmdline: cmd.map(Into::into) }
    }

    #[test]
    fn go_matching_rules() {
        let p = parse_proc(1, "java\n", b"java\0-jar\0x.jar\0").unwrap();
        assert_eq!(p.cmdline_joined, "java-jarx.jar");
        assert!(matches(&rule(Some("java"), None), &p));
        assert!(!matches(&rule(Some("jav"), None), &p));
        assert!(matches(&rule(None, Some("-jarx")), &p));
        assert!(matches(&rule(None, Some("java -jar x.jar")), &p));
        assert!(matches(&rule(Some("java"), Some("x.jar")), &p));
        assert!(!matches(&rule(Some("nginx"), Some("x.jar")), &p));
        assert!(parse_proc(2, "kthreadd\n", b"").is_none());
        let s = samples(&[("name=java".into(), rule(Some("java"), None))], &[p.clone(), p]);
        assert_eq!((s[0].value.as_f64(), s[0].tags.as_str()), (2.0, "name=java"));
    }

    #[test]
    fn resources_are_read_once_per_process_and_summed_per_rule() {
        use procstat::{History, Stat};
        let procs = vec![
            parse_proc(10, "nginx", b"nginx: master\0").unwrap(),
            parse_proc(11, "nginx", b"nginx: worker\0").unwrap(),
            parse_proc(12, "java", b"java\0-jar\0x.jar\0").unwrap(),
        ];
        let rules = vec![
            ("name=nginx".to_string(), rule(Some("nginx"), None)),
            ("cmdline=worker".to_string(), rule(None, Some("worker"))),
            ("name=none".to_string(), rule(Some("none"), None)),
        ];
        let reads = std::cell::RefCell::new(Vec::new());
        let tick = std::cell::Cell::new(0u64);
        let read = |pid: u32| {
            reads.borrow_mut().push(pid);
            let u = Usage { utime: 100 + tick.get(), stime: 0, rss: 1000, threads: 2, ..Usage::default() };
            Some((Stat { utime: u.utime, stime: 0, starttime: pid as u64 }, u))
        };
        let mut h = History::default();
        let first = resource_samples(&rules, &procs, &mut h, &read);
        assert_eq!(*reads.borrow(), [10, 11], "pid 11 matches two rules but is read once");
        let v =
            |s: &[Sample], m: &str, t: &str| s.iter().find(|x| x.metric == m && x.tags == t).map(|x| x.value.as_f64());
        assert_eq!(v(&first, "process.mem", "name=nginx"), Some(2000.0));
        assert_eq!(v(&first, "process.mem", "cmdline=worker"), Some(1000.0));
        assert_eq!(v(&first, "process.threads", "name=none"), Some(0.0));
        assert_eq!(v(&first, "process.cpu.percent", "name=nginx"), None, "first cycle");
        tick.set(50);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = resource_samples(&rules, &procs, &mut h, &read);
        assert!(v(&second, "process.cpu.percent", "name=nginx").is_some_and(|p| p > 0.0));
        assert_eq!(v(&second, "process.cpu.all", "name=nginx"), Some(300.0));
    }

    #[test]
    fn scans_this_machine() {
        let me = all_procs(Path::new("/proc")).unwrap();
        assert!(!me.is_empty());
    }
}
