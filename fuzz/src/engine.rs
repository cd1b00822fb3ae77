//! The fuzz loop: seeds first, then mutations of corpus entries; an input that shows a feature not seen before
//! joins the corpus; the first finding ends the target's run.

use crate::corpus;
use crate::exec::{execute, Limits, Problem};
use crate::mutate::Mutator;
use crate::rng::Rng;
use crate::targets::Target;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Most entries kept in memory; past it a new entry replaces a random non-seed one.
const MAX_CORPUS: usize = 4096;

/// Values counted per feature tag (see [`crate::feedback`]); more are not new.
const MAX_VALUES_PER_TAG: usize = 64;

/// How one run is bounded.
#[derive(Debug, Clone)]
pub struct Config {
    /// Drives every random choice: the same seed gives the same run.
    pub seed: u64,
    /// Stop after this many executions.
    pub max_execs: u64,
    /// Stop after this long.
    pub max_time: Duration,
    /// What counts as a finding.
    pub limits: Limits,
}

/// Hooks for the supervisor: progress reports and, when replaying a crash, each input before it runs.
pub trait Observer {
    /// Called before execution number `exec` (0-based) with its input.
    fn before(&mut self, _exec: u64, _input: &[u8]) {}
    /// Called every few hundred milliseconds with the executions done.
    fn progress(&mut self, _execs: u64) {}
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// A problem and the input that caused it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The target.
    pub target: &'static str,
    /// The input.
    pub input: Vec<u8>,
    /// What happened.
    pub problem: Problem,
    /// Which execution (0-based).
    pub exec: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// The seed.
    pub seed: u64,
    /// Executions.
    pub execs: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Seed files run first (corpus and saved regressions).
    pub seeds: usize,
    /// Corpus entries at the end.
    pub corpus: usize,
    /// Distinct features seen.
    pub features: usize,
    /// The slowest execution.
    pub slowest: Duration,
    /// The largest peak of live bytes in one execution.
    pub peak_bytes: u64,
    /// The input that had it (to see what costs memory).
    pub peak_input: Vec<u8>,
    /// Findings (at most one: the run stops at the first).
    pub findings: Vec<Finding>,
}

impl Report {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The seeds of a target: its corpus, then its saved regressions (a fixed bug's input is a good seed, and one
/// that still fails is found at once).
pub fn seeds(target: &Target) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        corpus::load_dir(&corpus::corpus_dir(target.name)).into_iter().map(|(_, b)| b).collect();
    out.extend(corpus::load_dir(&corpus::regressions_dir(target.name)).into_iter().map(|(_, b)| b));
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// Fuzzes `target` within `cfg`'s bounds.
pub fn fuzz(target: &Target, cfg: &Config, observer: &mut dyn Observer) -> Report {
    let start = Instant::now();
    let seeds = seeds(target);
    let mut mutator = Mutator::new(Rng::new(cfg.seed), target.dict, target.max_len);
    let mut report = Report {
        target: target.name,
        seed: cfg.seed,
        execs: 0,
        elapsed: Duration::ZERO,
        seeds: seeds.len(),
        corpus: 0,
        features: 0,
        slowest: Duration::ZERO,
        peak_bytes: 0,
        peak_input: Vec::new(),
        findings: Vec::new(),
    };
    let mut seen: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut last_progress = Instant::now();
    // Targets build their fixed state (runtimes, servers, databases) on first use: run one seed unmeasured so
    // that cost is not charged to an input.
    if let Some(first) = seeds.first() {
        let _ = execute(target.run, first, &cfg.limits);
    }
    let mut queue = seeds.into_iter();
    while report.execs < cfg.max_execs && start.elapsed() < cfg.max_time {
        let (input, is_seed) = match queue.next() {
            Some(s) => (s, true),
            None => {
                let Some(parent) = mutator.rng.pick(&corpus) else { break };
                let mut child = parent.clone();
                mutator.mutate(&mut child, &corpus);
                (child, false)
            }
        };
        observer.before(report.execs, &input);
        let e = execute(target.run, &input, &cfg.limits);
        report.execs += 1;
        report.slowest = report.slowest.max(e.elapsed);
        if e.alloc.peak > report.peak_bytes {
            report.peak_bytes = e.alloc.peak;
            report.peak_input.clone_from(&input);
        }
        if let Some(problem) = e.problem {
            report.findings.push(Finding { target: target.name, input, problem, exec: report.execs - 1 });
            break;
        }
        let mut new = false;
        for (tag, value) in e.features {
            let values = seen.entry(tag).or_default();
            new |= values.len() < MAX_VALUES_PER_TAG && values.insert(value);
        }
        if is_seed {
            // Seeds stay whatever they showed: they are the realistic shapes everything else grows from.
            corpus.push(input);
        } else if new {
            if corpus.len() < MAX_CORPUS {
                corpus.push(input);
            } else if corpus.len() > report.seeds {
                let i = report.seeds + mutator.rng.below(corpus.len() - report.seeds);
                corpus[i] = input;
            }
        }
        if last_progress.elapsed() >= Duration::from_millis(250) {
            observer.progress(report.execs);
            last_progress = Instant::now();
        }
    }
    report.elapsed = start.elapsed();
    report.corpus = corpus.len();
    report.features = seen.values().map(HashSet::len).sum();
    report
}

/// The stack the long-run command fuzzes on: 2 MiB, the size of tokio's worker threads and of `std::thread`
/// spawns, the smallest the code under test runs on (and what test threads get, so CI sees the same).
pub const STACK: usize = 2 << 20;

/// [`fuzz`] on a thread with a [`STACK`]-sized stack.
pub fn fuzz_on_stack(target: &Target, cfg: &Config, observer: &mut (dyn Observer + Send)) -> Report {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new().name(format!("fuzz-{}", target.name)).stack_size(STACK);
        match worker.spawn_scoped(s, move || fuzz(target, cfg, observer)) {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            Err(e) => panic!("cannot start a fuzzing thread: {e}"),
        }
    })
}

/// Runs one saved input once (regression replay).
pub fn replay(target: &Target, input: &[u8], limits: &Limits) -> Option<Problem> {
    execute(target.run, input, limits).problem
}
