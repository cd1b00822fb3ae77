//! One current-thread tokio runtime per fuzzing thread, reused across executions (building one costs more
//! than most executions). Everything a target spawns runs on the fuzzing thread, so the per-thread allocation
//! counts and panic capture see it.

use std::future::Future;
use tokio::runtime::{Builder, Runtime};

thread_local! {
    static RT: Option<Runtime> = Builder::new_current_thread().enable_time().build().ok();
}

/// Runs `fut` to completion on this thread's runtime. None only if no runtime could be built.
pub fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    RT.with(|rt| rt.as_ref().map(|rt| rt.block_on(fut)))
}
