//! The read-only host routes: `/system/date`, `/proc/*` and `/page/*` (spec §4.5).

use super::{auto, data, msg, Peer, State};
use crate::collector::cpu::CpuUsage;
use crate::collector::{df, iostat, kernel, load, mem, read, CollectError};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The routes.
pub fn routes() -> Router<Arc<crate::app::Agent>> {
    Router::new()
        .route(
            "/system/date",
            any(|| async { data(&falcon_runtime::timefmt::format_local(falcon_runtime::timefmt::now_unix())) }),
        )
        .route("/page/system/uptime", any(page_uptime))
        .route("/proc/system/uptime", any(proc_uptime))
        .route("/page/system/loadavg", any(page_loadavg))
        .route("/proc/system/loadavg", any(proc_loadavg))
        .route("/proc/cpu/num", any(|| async { data(&num_cpu()) }))
        .route("/proc/cpu/mhz", any(cpu_mhz))
        .route("/page/cpu/usage", any(page_cpu))
        .route("/proc/cpu/usage", any(proc_cpu))
        .route("/page/memory", any(page_memory))
        .route("/proc/memory", any(proc_memory))
        .route("/page/df", any(page_df))
        .route("/page/diskio", any(page_diskio))
        .route("/proc/net/dev", any(proc_net_dev))
        .route("/proc/kernel/hostname", any(hostname))
        .route("/proc/kernel/maxproc", any(maxproc))
        .route("/proc/kernel/maxfiles", any(maxfiles))
        .route("/proc/kernel/version", any(kernel_version))
}

fn num_cpu() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// (days, hours, minutes) from /proc/uptime text.
pub fn parse_uptime(text: &str) -> Result<(i64, i64, i64), CollectError> {
    let secs: f64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| crate::collector::parse_err("/proc/uptime", text.trim()))?;
    let mins = secs as i64 / 60;
    Ok((mins / 60 / 24, mins / 60 % 24, mins % 60))
}

/// Go's `core.ReadableSize`.
pub fn readable_size(raw: f64) -> String {
    let mut d = 1.0;
    for unit in ["B", "K", "M", "G", "T", "P"] {
        if raw < d * 1024.0 {
            return format!("{:.1}{unit}", raw / d);
        }
        d *= 1024.0;
    }
    "TooLarge".into()
}

async fn uptime(agent: &crate::app::Agent) -> Result<(i64, i64, i64), CollectError> {
    parse_uptime(&read(&agent.env().proc_file("uptime"))?)
}

async fn page_uptime(axum::extract::State(agent): State) -> Response {
    auto(uptime(&agent).await.map(|(d, h, m)| format!("{d} days {h} hours {m} minutes")))
}

async fn proc_uptime(axum::extract::State(agent): State) -> Response {
    match uptime(&agent).await {
        Ok((days, hours, mins)) => data(&BTreeMap::from([("days", days), ("hours", hours), ("mins", mins)])),
        Err(e) => msg(&e.to_string()),
    }
}

async fn page_loadavg(axum::extract::State(agent): State) -> Response {
    match load::read_loadavg(&agent.env()) {
        Ok(l) => {
            let n = num_cpu() as f64;
            let row = |v: f64| (v, (v * 100.0 / n) as i64);
            data(&[row(l.Avg1min), row(l.Avg5min), row(l.Avg15min)])
        }
        Err(e) => msg(&e.to_string()),
    }
}

async fn proc_loadavg(axum::extract::State(agent): State) -> Response {
    auto(load::read_loadavg(&agent.env()))
}

/// The first `MHz` value of /proc/cpuinfo.
pub fn parse_mhz(text: &str) -> Option<String> {
    text.lines().find(|l| l.contains("MHz")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string())
}

async fn cpu_mhz(axum::extract::State(agent): State) -> Response {
    auto(
        read(&agent.env().proc_file("cpuinfo"))
            .and_then(|t| parse_mhz(&t).ok_or_else(|| crate::collector::parse_err("/proc/cpuinfo", "no MHz line"))),
    )
}

fn cpu_usage(agent: &crate::app::Agent) -> Option<CpuUsage> {
    agent.sampler.cpu_pair().map(|(a, b)| CpuUsage::between(&a, &b))
}

async fn page_cpu(axum::extract::State(agent): State) -> Response {
    let Some(u) = cpu_usage(&agent) else { return msg("not prepared") };
    let row: Vec<String> = [u.idle, u.busy(), u.user, u.nice, u.system, u.iowait, u.irq, u.softirq, u.steal, u.guest]
        .iter()
        .map(|v| format!("{v:.1}%"))
        .collect();
    data(&[row])
}

async fn proc_cpu(axum::extract::State(agent): State) -> Response {
    let Some(u) = cpu_usage(&agent) else { return msg("not prepared") };
    data(&BTreeMap::from([
        ("busy", u.busy()),
        ("guest", u.guest),
        ("idle", u.idle),
        ("iowait", u.iowait),
        ("irq", u.irq),
        ("nice", u.nice),
        ("softirq", u.softirq),
        ("steal", u.steal),
        ("system", u.system),
        ("user", u.user),
    ]))
}

async fn page_memory(axum::extract::State(agent): State) -> Response {
    match mem::read_meminfo(&agent.env()) {
        Ok(m) => {
            let free = m.classic_free();
            let mib = 1024 * 1024;
            data(&[m.total / mib, m.total.saturating_sub(free) / mib, free / mib])
        }
        Err(e) => msg(&e.to_string()),
    }
}

async fn proc_memory(axum::extract::State(agent): State) -> Response {
    match mem::read_meminfo(&agent.env()) {
        Ok(m) => {
            let free = m.classic_free();
            data(&BTreeMap::from([("free", free), ("total", m.total), ("used", m.total.saturating_sub(free))]))
        }
        Err(e) => msg(&e.to_string()),
    }
}

async fn page_df(axum::extract::State(agent): State) -> Response {
    let env = agent.env();
    let r = tokio::task::spawn_blocking(move || df::list_usage(&env, false)).await;
    match r {
        Ok(Ok(list)) => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|u| {
                    vec![
                        u.mount.spec.clone(),
                        readable_size(u.blocks_all as f64),
                        readable_size(u.blocks_used as f64),
                        readable_size(u.blocks_free as f64),
                        format!("{:.1}%", u.blocks_used_percent),
                        u.mount.file.clone(),
                        readable_size(u.inodes_all as f64),
                        readable_size(u.inodes_used as f64),
                        readable_size(u.inodes_free as f64),
                        format!("{:.1}%", u.inodes_used_percent),
                        u.mount.vfstype.clone(),
                    ]
                })
                .collect();
            data(&rows)
        }
        Ok(Err(e)) => msg(&e.to_string()),
        Err(e) => msg(&e.to_string()),
    }
}

async fn page_diskio(axum::extract::State(agent): State) -> Response {
    use crate::collector::diskstats::field::*;
    let Some((prev, cur)) = agent.sampler.disk_pair() else { return data(&()) };
    let rows: Vec<Vec<String>> = iostat::windows(prev.as_ref(), &cur)
        .iter()
        .map(|w| {
            let d = &w.delta;
            vec![
                w.device.clone(),
                d[READ_MERGED].to_string(),
                d[WRITE_MERGED].to_string(),
                d[READ_REQUESTS].to_string(),
                d[WRITE_REQUESTS].to_string(),
                format!("{:.2}", d[READ_SECTORS] as f64 / 2.0),
                format!("{:.2}", d[WRITE_SECTORS] as f64 / 2.0),
                format!("{:.2}", w.avgrq_sz()),
                format!("{:.2}", w.avgqu_sz()),
                format!("{:.2}", w.await_ms()),
                format!("{:.2}", w.svctm()),
                format!("{:.2}%", d[MSEC_TOTAL] as f64 / 10.0),
            ]
        })
        .collect();
    data(&rows)
}

/// Ours, for the status page: byte and packet counters of the reported interfaces.
async fn proc_net_dev(axum::extract::State(agent): State) -> Response {
    auto(crate::collector::ifstat::read_ifstats(&agent.env()).map(|list| {
        list.into_iter()
            .map(|(s, speed)| {
                let c = s.counters;
                BTreeMap::from([
                    ("iface", serde_json::Value::from(s.iface)),
                    ("in_bytes", c[0].into()),
                    ("out_bytes", c[8].into()),
                    ("in_packets", c[1].into()),
                    ("out_packets", c[9].into()),
                    ("speed_mbps", speed.into()),
                ])
            })
            .collect::<Vec<_>>()
    }))
}

async fn hostname(axum::extract::State(agent): State, _peer: Peer) -> Response {
    auto(agent.endpoint())
}

async fn maxproc(axum::extract::State(agent): State) -> Response {
    auto(kernel::max_proc(&agent.env()))
}

async fn maxfiles(axum::extract::State(agent): State) -> Response {
    auto(kernel::max_files(&agent.env()))
}

/// `uname -r`, read from /proc/sys/kernel/osrelease instead of running uname.
async fn kernel_version(axum::extract::State(agent): State) -> Response {
    auto(read(&agent.env().proc_file("sys/kernel/osrelease")).map(|t| t.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(readable_size(270553174016.0), "252.0G");
        assert_eq!(readable_size(436940.8), "426.7K");
        assert_eq!(readable_size(12.0), "12.0B");
        assert_eq!(readable_size(1e30), "TooLarge");
        assert_eq!(parse_uptime("1112.5 2000.1\n").unwrap(), (0, 0, 18));
        assert_eq!(parse_uptime("90061 1\n").unwrap(), (1, 1, 1));
        assert!(parse_uptime("x").is_err());
        assert_eq!(parse_mhz("processor: 0\ncpu MHz\t\t: 2445.428\n").as_deref(), Some("2445.428"));
        assert_eq!(parse_mhz("processor: 0\n"), None);
    }
}
