//! Running one input under watch: a panic (caught, or swallowed by a task runtime), an execution slower than
//! the bound, or more memory than the bound is a finding.

use crate::alloc::{self, Usage};
use crate::feedback;
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

/// Bounds beyond which an execution is a finding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// One execution taking longer is a hang finding (measured after it returns, on the same thread).
    pub slow: Duration,
    /// Peak bytes live during one execution above this is an allocation finding.
    pub peak_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { slow: Duration::from_secs(2), peak_bytes: 256 << 20 }
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A panic, with its message, location and backtrace.
    Panic(String),
    /// Took longer than the bound.
    Slow(Duration),
    /// Allocated more than the bound.
    Alloc(Usage),
}

impl Problem {
    /// The short name used in reports and as the first word of a finding line.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Panic(_) => "panic",
            Problem::Slow(_) => "hang",
            Problem::Alloc(_) => "unbounded-allocation",
        }
    }

    /// A one-paragraph description.
    pub fn describe(&self, limits: &Limits) -> String {
        match self {
            Problem::Panic(m) => m.clone(),
            Problem::Slow(d) => format!("one execution took {d:?} (bound {:?})", limits.slow),
            Problem::Alloc(u) => format!(
                "peak {} bytes live, largest single request {} bytes, {} bytes requested in all (bound {} bytes)",
                u.peak, u.largest, u.total, limits.peak_bytes
            ),
        }
    }
}

/// The result of one execution.
#[derive(Debug)]
pub struct Execution {
    /// Wall time.
    pub elapsed: Duration,
    /// Memory, when the counting allocator is installed.
    pub alloc: Usage,
    /// What the target reported (see [`feedback`]).
    pub features: Vec<(u64, u64)>,
    /// The problem, if any.
    pub problem: Option<Problem>,
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Keeps panics inside an execution quiet and recorded; others (test assertions) go to the previous hook.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                alloc::pause();
                let text = format!("{info}\n{}", workspace_frames(&Backtrace::force_capture().to_string()));
                LAST_PANIC.with(|p| {
                    // The first panic is the cause; later ones are usually its consequences.
                    p.borrow_mut().get_or_insert(text);
                });
            } else {
                previous(info);
            }
        }));
    });
}

/// The frames of a backtrace that are the workspace's own code (those with a relative source path), each as
/// `function at file:line`: the standard library's and the harness's frames only hide where it happened.
fn workspace_frames(bt: &str) -> String {
    let lines: Vec<&str> = bt.lines().collect();
    let mut out = String::new();
    for pair in lines.windows(2) {
        let (func, at) = (pair[0].trim(), pair[1].trim());
        let Some(path) = at.strip_prefix("at ./") else { continue };
        if path.starts_with("fuzz/src/exec.rs") || path.starts_with("fuzz/src/engine.rs") {
            continue;
        }
        let func = func.split_once(": ").map_or(func, |(_, f)| f);
        out.push_str(&format!("  {func} at {path}\n"));
    }
    if out.is_empty() {
        bt.to_string()
    } else {
        out
    }
}

/// Runs `run(data)` once on this thread.
pub fn execute(run: fn(&[u8]), data: &[u8], limits: &Limits) -> Execution {
    install_hook();
    feedback::take();
    LAST_PANIC.with(|p| p.borrow_mut().take());
    CAPTURING.with(|c| c.set(true));
    alloc::start();
    let start = Instant::now();
    let unwound = panic::catch_unwind(AssertUnwindSafe(|| run(data))).is_err();
    let elapsed = start.elapsed();
    let usage = alloc::stop();
    CAPTURING.with(|c| c.set(false));
    // A panic inside a task that a runtime caught still counts: in production it kills that connection.
    let panic_text = LAST_PANIC.with(|p| p.borrow_mut().take());
    let problem = match panic_text {
        Some(t) => Some(Problem::Panic(t)),
        None if unwound => Some(Problem::Panic("panic without a message".into())),
        None if elapsed > limits.slow => Some(Problem::Slow(elapsed)),
        None if usage.peak > limits.peak_bytes || usage.largest > limits.peak_bytes => Some(Problem::Alloc(usage)),
        None => None,
    };
    Execution { elapsed, alloc: usage, features: feedback::take(), problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fine(_: &[u8]) {}
    fn boom(d: &[u8]) {
        if d.first() == Some(&b'x') {
            panic!("boom on x");
        }
    }

    #[test]
    fn panics_are_caught_and_described() {
        let l = Limits::default();
        assert!(execute(fine, b"x", &l).problem.is_none());
        assert!(execute(boom, b"y", &l).problem.is_none());
        match execute(boom, b"x", &l).problem {
            Some(Problem::Panic(t)) => assert!(t.contains("boom on x"), "{t}"),
            other => panic!("{other:?}"),
        }
        assert!(execute(boom, b"y", &l).problem.is_none(), "the captured panic does not leak into the next run");
    }
}
