//! The transfer's `/metrics`: what `/counter/*`, `/spool` and `/debug/connpool` show, as Prometheus series
//! read at scrape time, plus the send-latency histogram the lanes feed.

use crate::sender::lane::Output;
use crate::sender::Sender;
use crate::stats::Stats;
use falcon_runtime::budget::Budget;
use falcon_runtime::metrics::{Labels, Metrics};
use falcon_runtime::redact::public_addr;
use std::sync::Arc;

/// Every output, in the order series are listed.
const OUTPUTS: [Output; 8] = [
    Output::Judge,
    Output::Graph,
    Output::Tsdb,
    Output::Transfer,
    Output::Influxdb,
    Output::P8sRelay,
    Output::RemoteWrite,
    Output::Archive,
];

fn output(o: &str) -> Labels {
    vec![("output", o.to_string())]
}

/// A lane's labels: its output and node; lanes without a node name (tsdb, the relay, influxdb, each remote write
/// endpoint, the archive) are told apart by their address instead, so two remote write endpoints are two series.
fn lane(o: &str, node: &str, addr: &str) -> Labels {
    let node = if node.is_empty() { public_addr(addr) } else { node.to_string() };
    vec![("output", o.to_string()), ("node", node)]
}

/// Builds the registry for one transfer.
pub fn build(stats: Arc<Stats>, sender: Arc<Sender>, budget: Arc<Budget>) -> Metrics {
    let mut m = Metrics::new("transfer", env!("CARGO_PKG_VERSION"));
    m.registry().register(
        "send_duration_seconds",
        "Seconds one delivery attempt of a batch took, by output",
        stats.send_seconds.clone(),
    );
    falcon_runtime::metrics::collect_budget(&mut m, budget);
    let st = stats.clone();
    m.collect(move |s| {
        let by_protocol = [("rpc", &st.rpc_recv), ("http", &st.http_recv), ("socket", &st.socket_recv)]
            .map(|(p, c)| (vec![("protocol", p.to_string())], c.get() as u64));
        s.counters(
            "received_items",
            "Items received and accepted, by protocol (invalid ones count in invalid_items).",
            &by_protocol,
        )?;
        s.counter("invalid_items", "Items refused by validation (RPC and HTTP push).", st.invalid.get() as u64)?;
        s.counter(
            "socket_bad_lines",
            "Socket protocol lines that did not parse or were too long.",
            st.socket_bad_lines.get() as u64,
        )?;
        s.counter(
            "accept_errors",
            "Failed accepts on the RPC and socket listeners.",
            falcon_proto::netutil::accept_errors(),
        )?;
        let per = |f: fn((u64, u64, u64, u64)) -> u64| -> Vec<(Labels, u64)> {
            OUTPUTS
                .iter()
                .map(|o| {
                    let (a, b, c, d) = o.counters(&st);
                    (output(o.name()), f((a.get() as u64, b.get() as u64, c.get() as u64, d.get() as u64)))
                })
                .collect()
        };
        s.counters("sent_items", "Items delivered, by output.", &per(|c| c.0))?;
        s.counters("failed_items", "Items a peer refused, by output (not retried, as in Go).", &per(|c| c.1))?;
        s.counters(
            "dropped_items",
            "Items dropped: queue and spool full, or the peer unreachable without a spool.",
            &per(|c| c.2),
        )?;
        s.counters(
            "requeued_items",
            "Items put back in their queue after a transport failure, by output.",
            &per(|c| c.3),
        )?;
        Ok(())
    });
    m.collect(move |s| {
        let lanes = sender.lanes();
        let gauge = |f: &dyn Fn(&crate::sender::lane::Lane) -> f64| -> Vec<(Labels, f64)> {
            lanes.iter().map(|l| (lane(l.output.name(), &l.node, &l.addr), f(l))).collect()
        };
        s.gauges(
            "queue_items",
            "Items waiting in memory, per lane (output and node).",
            &gauge(&|l| l.queue.len() as f64),
        )?;
        s.gauges("inflight_items", "Items being delivered now, per lane.", &gauge(&|l| l.inflight() as f64))?;
        s.gauges(
            "queue_capacity_items",
            "Items a lane's memory queue holds before spilling or dropping.",
            &gauge(&|l| l.queue.cap() as f64),
        )?;
        s.gauges(
            "lane_backing_off",
            "1 while a lane's peer cannot be reached (from a failed attempt to the next delivery), else 0.",
            &gauge(&|l| f64::from(u8::from(l.backoff().is_some()))),
        )?;
        let spools = sender.spool_stats();
        let spool = |f: &dyn Fn(&crate::spool::SpoolStats) -> f64| -> Vec<(Labels, f64)> {
            spools.iter().map(|sp| (lane(sp.output, &sp.node, &sp.addr), f(&sp.stats))).collect()
        };
        s.gauges("spool_bytes", "Bytes of a lane's spool segments on disk.", &spool(&|x| x.bytes as f64))?;
        s.gauges("spool_items", "Items in a lane's spool on disk.", &spool(&|x| x.items as f64))?;
        let count = |f: &dyn Fn(&crate::spool::SpoolStats) -> u64| -> Vec<(Labels, u64)> {
            spools.iter().map(|sp| (lane(sp.output, &sp.node, &sp.addr), f(&sp.stats))).collect()
        };
        s.counters("spool_written_items", "Items written to a lane's spool.", &count(&|x| x.spilled))?;
        s.counters("spool_replayed_items", "Items read back from a lane's spool.", &count(&|x| x.replayed))?;
        s.counters(
            "spool_dropped_items",
            "Items a spool refused past its byte bound or lost to damage.",
            &count(&|x| x.dropped),
        )?;
        let pools = sender.pool_stats();
        let conns: Vec<(Labels, f64)> = pools
            .iter()
            .flat_map(|(o, p)| {
                let busy = p.open.saturating_sub(p.idle) as f64;
                let l = |state: &str| {
                    vec![("output", o.to_string()), ("addr", p.name.clone()), ("state", state.to_string())]
                };
                [(l("idle"), p.idle as f64), (l("busy"), busy)]
            })
            .collect();
        s.gauges("pool_connections", "Open connections of a judge, graph or p8s relay pool, idle or busy.", &conns)?;
        let created: Vec<(Labels, u64)> =
            pools.iter().map(|(o, p)| (vec![("output", o.to_string()), ("addr", p.name.clone())], p.created)).collect();
        s.counters("pool_connections_created", "Connections a judge, graph or p8s relay pool opened.", &created)
    });
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_without_a_node_name_are_labelled_by_an_address_without_secrets() {
        assert_eq!(lane("graph", "graph-00", "10.0.0.1:6070")[1].1, "graph-00");
        assert_eq!(lane("tsdb", "", "10.0.0.2:8088")[1].1, "10.0.0.2:8088");
        assert_eq!(
            lane("remoteWrite", "", "https://u:secret@vm.example:8428/api/v1/write?token=abc")[1].1,
            "https://vm.example:8428/api/v1/write"
        );
    }
}
