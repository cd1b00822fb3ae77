//! The long-run command. Each target runs in a child process (a worker) that fuzzes in process and reports
//! progress on its stdout; the parent prints the table. A panic, a slow execution or an oversized allocation
//! is caught by the worker itself, which saves the input under `regressions/<target>/`. What a worker cannot
//! catch (a stack overflow or allocation failure aborts it, a true hang never returns) the parent sees as a
//! crash or a stall: it then replays the same run (same seed, so the same inputs in the same order) with
//! every input written to `regressions/<target>/.pending` before it executes, from the last progress report
//! on, and keeps the file the replay dies on.

use crate::corpus;
use crate::engine::{fuzz_on_stack, Config, Observer};
use crate::exec::Limits;
use crate::report;
use crate::targets::Target;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A worker's exit status when it found (and saved) something.
pub const FOUND: i32 = 3;

/// A worker that reports nothing for this long is stalled (one execution is slower than any bound).
const STALL: Duration = Duration::from_secs(30);

/// How a run is bounded, for every target.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds per target.
    pub seconds: u64,
    /// The seed.
    pub seed: u64,
    /// Executions per target at most.
    pub max_execs: u64,
}

impl Options {
    fn config(&self) -> Config {
        Config {
            seed: self.seed,
            max_execs: self.max_execs,
            max_time: Duration::from_secs(self.seconds),
            limits: Limits::default(),
        }
    }
}

fn pending_path(target: &str) -> PathBuf {
    corpus::regressions_dir(target).join(".pending")
}

/// Reports progress to the parent and, when replaying, leaves each input on disk before it runs.
struct WorkerObserver {
    trace_from: Option<u64>,
    pending: PathBuf,
}

impl Observer for WorkerObserver {
    fn before(&mut self, exec: u64, input: &[u8]) {
        if self.trace_from.is_some_and(|from| exec >= from) {
            if let Err(e) = std::fs::write(&self.pending, input) {
                eprintln!("cannot write {}: {e}", self.pending.display());
            }
        }
    }

    fn progress(&mut self, execs: u64) {
        println!("@progress {execs}");
        let _ = std::io::stdout().flush();
    }
}

/// The worker: fuzzes one target in this process and speaks the protocol (`@progress`, `@row`, `@finding`).
/// Returns the exit status.
pub fn worker(target: &Target, opts: &Options, trace_from: Option<u64>) -> i32 {
    let pending = pending_path(target.name);
    if trace_from.is_some() {
        let _ = std::fs::create_dir_all(corpus::regressions_dir(target.name));
    }
    let mut obs = WorkerObserver { trace_from, pending };
    let cfg = opts.config();
    let r = fuzz_on_stack(target, &cfg, &mut obs);
    println!("@row {}", report::row(&r));
    save_peak(&r);
    let status = match r.findings.first() {
        None => 0,
        Some(f) => {
            println!("{}", report::finding(f, &cfg.limits));
            match corpus::save_finding(target.name, &f.input) {
                Ok(p) => println!("@finding {}", p.display()),
                Err(e) => println!("cannot save the finding: {e}"),
            }
            FOUND
        }
    };
    let _ = std::io::stdout().flush();
    status
}

/// Peaks above this are worth a look: the input is left in the temporary directory and its path printed.
const PEAK_NOTE: u64 = 8 << 20;

/// Leaves the input of a large memory peak where `--input` can run it again.
fn save_peak(r: &crate::engine::Report) {
    if r.peak_bytes < PEAK_NOTE {
        return;
    }
    let path = std::env::temp_dir().join(format!("falcon-fuzz-peak-{}", r.target));
    if std::fs::write(&path, &r.peak_input).is_ok() {
        println!("{}: the {} MiB peak came from {}", r.target, r.peak_bytes >> 20, path.display());
    }
}

/// Runs `file` through `target` once on the fuzzing stack and prints the outcome; 1 if it is a finding.
pub fn run_input(target: &'static Target, file: &str) -> u8 {
    let input = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            println!("{file}: {e}");
            return 2;
        }
    };
    let limits = Limits::default();
    let exec = std::thread::Builder::new()
        .stack_size(crate::engine::STACK)
        .spawn(move || (crate::exec::execute(target.run, &input, &limits), input));
    let Ok(Ok((e, input))) = exec.map(|h| h.join()) else {
        println!("the execution thread could not run");
        return 2;
    };
    println!("{} on {} bytes: {:?}, peak {} bytes", target.name, input.len(), e.elapsed, e.alloc.peak);
    match e.problem {
        None => 0,
        Some(problem) => {
            let f = crate::engine::Finding { target: target.name, input, problem, exec: 0 };
            println!("{}", report::finding(&f, &limits));
            1
        }
    }
}

/// Fuzzes every target in this process, without a supervisor (an abort ends everything).
pub fn in_process(targets: &[&'static Target], opts: &Options) -> i32 {
    println!("{}", report::header());
    let mut found = false;
    for t in targets {
        let cfg = opts.config();
        let r = fuzz_on_stack(t, &cfg, &mut crate::engine::Quiet);
        println!("{}", report::row(&r));
        save_peak(&r);
        for f in &r.findings {
            found = true;
            println!("{}", report::finding(f, &cfg.limits));
            match corpus::save_finding(t.name, &f.input) {
                Ok(p) => println!("saved to {}", p.display()),
                Err(e) => println!("cannot save the finding: {e}"),
            }
        }
    }
    i32::from(found)
}

/// What became of one worker.
struct Child {
    row: Option<String>,
    finding: Option<String>,
    last_progress: u64,
    ending: Ending,
    stderr_tail: String,
}

enum Ending {
    Exited(ExitStatus),
    Stalled,
}

fn spawn_worker(target: &Target, opts: &Options, trace_from: Option<u64>) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg("--worker")
        .arg(target.name)
        .args(["--seconds", &opts.seconds.to_string()])
        .args(["--seed", &opts.seed.to_string()])
        .args(["--execs", &opts.max_execs.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(from) = trace_from {
        cmd.args(["--trace-from", &from.to_string()]);
    }
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel::<String>();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let tail = Arc::new(Mutex::new(Vec::<u8>::new()));
    let err_thread = child.stderr.take().map(|mut err| {
        let tail = tail.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut t) = tail.lock() {
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(16 << 10);
                    t.drain(..excess);
                }
            }
        })
    });
    let mut c =
        Child { row: None, finding: None, last_progress: 0, ending: Ending::Stalled, stderr_tail: String::new() };
    loop {
        match rx.recv_timeout(STALL) {
            Ok(line) => {
                if let Some(n) = line.strip_prefix("@progress ") {
                    c.last_progress = n.trim().parse().unwrap_or(c.last_progress);
                } else if let Some(r) = line.strip_prefix("@row ") {
                    c.row = Some(r.to_string());
                } else if let Some(p) = line.strip_prefix("@finding ") {
                    c.finding = Some(p.to_string());
                } else {
                    println!("{line}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                c.ending = Ending::Exited(child.wait()?);
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                c.ending = Ending::Stalled;
                break;
            }
        }
    }
    if let Some(t) = err_thread {
        let _ = t.join();
    }
    c.stderr_tail = tail.lock().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
    Ok(c)
}

fn describe(ending: &Ending) -> String {
    use std::os::unix::process::ExitStatusExt;
    match ending {
        Ending::Stalled => format!("no progress for {STALL:?} (killed)"),
        Ending::Exited(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => "ended oddly".into(),
        },
    }
}

fn crashed(c: &Child) -> bool {
    match &c.ending {
        Ending::Stalled => true,
        Ending::Exited(s) => !(s.success() || s.code() == Some(FOUND)),
    }
}

/// Runs every target in its own worker; returns the exit status (0: nothing found).
pub fn supervise(targets: &[&'static Target], opts: &Options) -> i32 {
    println!("{}", report::header());
    let mut found = false;
    for t in targets {
        let c = match spawn_worker(t, opts, None) {
            Ok(c) => c,
            Err(e) => {
                println!("{}: cannot start a worker: {e}", t.name);
                return 2;
            }
        };
        if let Some(r) = &c.row {
            println!("{r}");
        }
        if c.finding.is_some() {
            found = true;
        }
        if !crashed(&c) {
            continue;
        }
        found = true;
        println!(
            "{:<22} worker crashed after about {} executions: {}; replaying from there to find the input\n{}",
            t.name,
            c.last_progress,
            describe(&c.ending),
            last_lines(&c.stderr_tail, 20)
        );
        replay_crash(t, opts, c.last_progress);
    }
    i32::from(found)
}

/// Replays a crashed run with tracing on and saves the input it dies on.
fn replay_crash(t: &Target, opts: &Options, from: u64) {
    let pending = pending_path(t.name);
    let _ = std::fs::remove_file(&pending);
    // The same seed gives the same inputs; give the replay room to get as far as the first run did.
    let longer = Options { seconds: opts.seconds * 2 + 30, ..opts.clone() };
    let c = match spawn_worker(t, &longer, Some(from)) {
        Ok(c) => c,
        Err(e) => {
            println!("{}: cannot start the replay: {e}", t.name);
            return;
        }
    };
    let input = std::fs::read(&pending).ok();
    let _ = std::fs::remove_file(&pending);
    match (crashed(&c), input) {
        (true, Some(input)) => {
            let saved = corpus::save_finding(t.name, &input).map(|p| p.display().to_string());
            println!(
                "FINDING in target {}: crash ({}) on a {}-byte input, saved to {}\ninput (hex):\n{}{}",
                t.name,
                describe(&c.ending),
                input.len(),
                saved.unwrap_or_else(|e| format!("(not saved: {e})")),
                crate::hash::hex_dump(&input),
                last_lines(&c.stderr_tail, 40)
            );
        }
        _ => println!("{}: the crash did not happen again on replay ({})", t.name, describe(&c.ending)),
    }
}

/// The last `n` lines of a worker's stderr that are not backtrace frames (the messages that say why).
fn last_lines(text: &str, n: usize) -> String {
    let frame =
        |l: &&str| l.starts_with(' ') || l.trim_start().split(':').next().is_some_and(|p| p.parse::<u32>().is_ok());
    let lines: Vec<&str> = text.lines().filter(|l| !frame(l)).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
