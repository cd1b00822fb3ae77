//! The last hour of the host's CPU, memory and network, sampled by the agent itself for its page (`/page/history`):
//! every [`page_step`](falcon_runtime::history::page_step) (10 s), CPU busy %, memory used %, and bytes per second
//! in and out over the interfaces the config watches. 360 samples of five numbers: a few kilobytes.

use crate::app::Agent;
use falcon_runtime::history::{sample_every_page_step, Rates};
use falcon_runtime::shutdown::Shutdown;
use std::sync::Arc;

/// Samples into `agent.history` until `shutdown`.
pub async fn run(agent: Arc<Agent>, shutdown: Shutdown) {
    let mut rates = Rates::default();
    sample_every_page_step(shutdown, |elapsed, now| {
        // Three small /proc reads: done here rather than on a blocking thread, which would stay alive between
        // samples (a thread's stack for a few microseconds of work every 10 s).
        let values = read(&agent);
        let mut sample = values.gauges;
        sample.extend(rates.update(elapsed, &values.counters));
        agent.history.push(now, &sample);
    })
    .await
}

struct Reading {
    gauges: Vec<(String, f64)>,
    counters: Vec<(String, u64)>,
}

/// One reading; what cannot be read is left out (a gap in its plot).
fn read(agent: &Agent) -> Reading {
    let env = agent.env();
    let mut gauges = Vec::with_capacity(3);
    if let Some((a, b)) = agent.sampler.cpu_pair() {
        // 100 - idle can come out a hair below 0 between two samples of an idle CPU.
        let busy = crate::collector::cpu::CpuUsage::between(&a, &b).busy().clamp(0.0, 100.0);
        gauges.push(("cpu.busy".to_string(), busy));
    }
    if let Ok(m) = crate::collector::mem::read_meminfo(&env) {
        if m.total > 0 {
            let free = if m.available > 0 { m.available } else { m.classic_free() };
            gauges.push(("mem.used".to_string(), 100.0 * m.total.saturating_sub(free) as f64 / m.total as f64));
        }
    }
    let mut counters = Vec::with_capacity(2);
    if let Ok(list) = crate::collector::ifstat::read_ifstats(&env) {
        let (mut rx, mut tx) = (0u64, 0u64);
        for (s, _) in &list {
            rx = rx.saturating_add(s.counters[0].max(0) as u64);
            tx = tx.saturating_add(s.counters[8].max(0) as u64);
        }
        counters.push(("net.in".to_string(), rx));
        counters.push(("net.out".to_string(), tx));
    }
    Reading { gauges, counters }
}
