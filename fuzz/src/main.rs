//! `falcon-fuzz <target|all|list> [--seconds N] [--seed S] [--execs N] [--in-process]`: fuzzes each target
//! for N seconds (default 60) in a supervised worker process, prints executions, time, rate, corpus size and
//! findings per target, saves each finding's input under `fuzz/regressions/<target>/`, and exits 1 if anything
//! was found. The seed is printed; `--seed` replays a run.

use falcon_fuzz::alloc::CountingAlloc;
use falcon_fuzz::supervisor::{self, Options};
use falcon_fuzz::targets::{self, Target};
use std::process::ExitCode;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: falcon-fuzz <target|all|list> [--seconds N] [--seed S] [--execs N] [--in-process]
       falcon-fuzz <target> --input FILE   (run one saved input once)";

struct Args {
    what: String,
    opts: Options,
    in_process: bool,
    worker: bool,
    trace_from: Option<u64>,
    input: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut what = None;
    let mut a = Args {
        what: String::new(),
        opts: Options { seconds: 60, seed: default_seed(), max_execs: u64::MAX },
        in_process: false,
        worker: false,
        trace_from: None,
        input: None,
    };
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--seconds" => a.opts.seconds = num("--seconds")?,
            "--seed" => a.opts.seed = num("--seed")?,
            "--execs" => a.opts.max_execs = num("--execs")?,
            "--trace-from" => a.trace_from = Some(num("--trace-from")?),
            "--in-process" => a.in_process = true,
            "--input" => a.input = Some(it.next().ok_or("--input needs a file")?),
            "--worker" => a.worker = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if what.is_none() => what = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    a.what = what.ok_or("which target?")?;
    Ok(a)
}

/// A different seed per run unless one is given (it is printed, so the run can be replayed).
fn default_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    t.as_secs() ^ u64::from(t.subsec_nanos()) ^ u64::from(std::process::id())
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if a.what == "list" {
        for t in targets::TARGETS {
            println!("{:<22} {}", t.name, t.covers);
        }
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<&'static Target> = if a.what == "all" {
        targets::TARGETS.iter().collect()
    } else {
        match targets::find(&a.what) {
            Some(t) => vec![t],
            None => {
                eprintln!("no target {:?}; `falcon-fuzz list` shows them", a.what);
                return ExitCode::from(2);
            }
        }
    };
    if let Some(file) = &a.input {
        return ExitCode::from(supervisor::run_input(chosen[0], file));
    }
    if a.worker {
        let status = supervisor::worker(chosen[0], &a.opts, a.trace_from);
        return ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    println!("seed {} (replay with --seed {}), {} s per target", a.opts.seed, a.opts.seed, a.opts.seconds);
    let status =
        if a.in_process { supervisor::in_process(&chosen, &a.opts) } else { supervisor::supervise(&chosen, &a.opts) };
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}
