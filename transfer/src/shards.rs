//! One single-threaded runtime per worker thread ("shards"), instead of one work-stealing runtime.
//!
//! With a work-stealing runtime, every task woken on a busy thread also wakes an idle one to come and steal
//! it, and at moderate load that costs more than the work itself (measured: about a quarter of the transfer's
//! CPU per item at 20,000 items/s; docs/benchmarks.md). Here each connection lives on one shard for its whole
//! life, so a request only wakes the thread that owns it; shards meet only at the send queues, which wake
//! their consumer once per batch. Load spreads over shards by connection, and a transfer serves many.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The worker runtimes.
pub struct Shards {
    handles: Vec<Handle>,
    next: AtomicUsize,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Shards {
    /// Starts `n` (at least 1) worker threads, each running its own runtime until [`stop`](Self::stop).
    pub fn start(n: usize) -> std::io::Result<Self> {
        let mut handles = Vec::new();
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(rt.handle().clone());
            let (tx, rx) = oneshot::channel::<()>();
            stops.push(tx);
            threads.push(std::thread::Builder::new().name(format!("shard-{i}")).spawn(move || {
                rt.block_on(async {
                    let _ = rx.await;
                });
            })?);
        }
        Ok(Shards { handles, next: AtomicUsize::new(0), stops, threads })
    }

    /// How many shards.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether there are none (never: `start` makes at least one).
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The next shard, round robin.
    pub fn pick(&self) -> &Handle {
        &self.handles[self.next.fetch_add(1, Relaxed) % self.handles.len()]
    }

    /// Shard `i` (modulo the count).
    pub fn get(&self, i: usize) -> &Handle {
        &self.handles[i % self.handles.len()]
    }

    /// Runs `fut` on the next shard and waits for it from the caller's runtime.
    pub async fn run_on_next<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let _ = self.pick().spawn(fut).await;
    }

    /// Moves an accepted connection to the next shard and serves it there with `serve`, waiting until it ends
    /// (so the accept loop's connection slot is held for the connection's whole life).
    pub async fn serve_on_next<F, Fut>(&self, stream: tokio::net::TcpStream, serve: F)
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // A socket is registered with one runtime's reactor: leave this one, join the shard's.
        let Ok(std) = stream.into_std() else { return };
        self.run_on_next(async move {
            if let Ok(s) = tokio::net::TcpStream::from_std(std) {
                serve(s).await;
            }
        })
        .await;
    }

    /// Stops every shard's runtime (their tasks are dropped) and joins the threads.
    pub fn stop(self) {
        for s in self.stops {
            let _ = s.send(());
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn spreads_work_round_robin_and_stops() {
        let shards = Arc::new(Shards::start(2).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let names = rt.block_on(async {
            let mut names = Vec::new();
            for _ in 0..4 {
                let (tx, rx) = oneshot::channel();
                shards
                    .run_on_next(async move {
                        let _ = tx.send(std::thread::current().name().unwrap_or("").to_string());
                    })
                    .await;
                names.push(rx.await.unwrap());
            }
            names
        });
        assert_eq!(names, vec!["shard-0", "shard-1", "shard-0", "shard-1"]);
        Arc::try_unwrap(shards).ok().unwrap().stop();
    }
}
