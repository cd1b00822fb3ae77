//! `GET /metrics` in the Prometheus text format (0.0.4), encoded by `prometheus-client`.
//!
//! Each binary builds one [`Metrics`] at start: its own series under `falcon_<module>_`, the standard
//! `process_*` series (as Go's client library exports them, so dashboards written for Go daemons work), and a
//! build-info gauge. Most series are read at scrape time from the counters the binary already keeps for its
//! Go-compatible `/counter/*` routes (a [`Scrape`] closure registered with [`Metrics::collect`]), so the hot
//! paths count once; what has no such counter (latency histograms) is registered as a live metric in
//! [`Metrics::registry`].
//!
//! Naming follows Prometheus' conventions: base units in the name (`_seconds`, `_bytes`), counters get
//! `_total` from the encoder, labels for what varies (`output`, `node`, `method`).

pub use prometheus_client;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Labels of one sample: `(name, value)` pairs.
pub type Labels = Vec<(&'static str, String)>;

/// One process's metrics.
#[derive(Debug)]
pub struct Metrics {
    root: Registry,
    module: String,
}

impl Metrics {
    /// The metrics of `module` (`agent`, `transfer`, `hbs`, `updater`): `process_*` and
    /// `falcon_<module>_build_info{version}` from the start.
    pub fn new(module: &str, version: &str) -> Metrics {
        let mut root = Registry::default();
        root.register_collector(Box::new(crate::metrics_process::ProcessCollector::new()));
        let mut m = Metrics { root, module: module.to_string() };
        let version = version.to_string();
        m.collect(move |s| {
            s.gauges(
                "build_info",
                "Version of the running binary (always 1).",
                &[(vec![("version", version.clone())], 1.0)],
            )
        });
        m.collect(collect_http);
        m
    }

    /// Where live metrics are registered (names get the `falcon_<module>_` prefix).
    pub fn registry(&mut self) -> &mut Registry {
        self.root.sub_registry_with_prefix(format!("falcon_{}", self.module))
    }

    /// Registers `f`, called on every scrape to report values read then (under the module's prefix).
    pub fn collect<F>(&mut self, f: F)
    where
        F: Fn(&mut Scrape<'_>) -> fmt::Result + Send + Sync + 'static,
    {
        self.registry().register_collector(Box::new(FnCollector(Box::new(f))));
    }

    /// A histogram of seconds, registered under `name` with one series per label set.
    pub fn seconds_histogram(&mut self, name: &str, help: &str) -> SecondsHistogram {
        let family = seconds_family();
        // The registry adds the closing period itself.
        self.registry().register(name, help.trim_end_matches('.'), family.clone());
        family
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 << 10);
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.root) {
            tracing::error!(error = %e, "metrics not encoded");
        }
        out
    }
}

/// Latency buckets from 1 ms to about 33 s (doubling): a delivery to a node on the same LAN takes a few
/// milliseconds, a call that times out takes seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 16))
}

/// A family of latency histograms keyed by label values.
pub type SecondsHistogram = prometheus_client::metrics::family::Family<Labels, Histogram, fn() -> Histogram>;

/// Builds an empty family (so callers can hold one before registering it).
pub fn seconds_family() -> SecondsHistogram {
    SecondsHistogram::new_with_constructor(latency_histogram)
}

/// What a [`Metrics::collect`] closure writes to: one call per metric, with all its samples.
pub struct Scrape<'a> {
    enc: DescriptorEncoder<'a>,
}

impl Scrape<'_> {
    /// A counter without labels (`_total` is added to `name`).
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> fmt::Result {
        let m = self.enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        ConstCounter::new(value).encode(m)
    }

    /// A counter with one sample per label set.
    pub fn counters(&mut self, name: &str, help: &str, samples: &[(Labels, u64)]) -> fmt::Result {
        self.family(name, help, MetricType::Counter, samples, |v, m| ConstCounter::new(v).encode(m))
    }

    /// A counter with fractional values (seconds spent), one sample per label set.
    pub fn counters_f64(&mut self, name: &str, help: &str, samples: &[(Labels, f64)]) -> fmt::Result {
        self.family(name, help, MetricType::Counter, samples, |v, m| ConstCounter::new(v).encode(m))
    }

    /// A gauge without labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) -> fmt::Result {
        let m = self.enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        ConstGauge::new(value).encode(m)
    }

    /// A gauge with one sample per label set.
    pub fn gauges(&mut self, name: &str, help: &str, samples: &[(Labels, f64)]) -> fmt::Result {
        self.family(name, help, MetricType::Gauge, samples, |v, m| ConstGauge::new(v).encode(m))
    }

    /// One descriptor and a sample per label set; nothing at all when there are no samples (a TYPE line
    /// without samples reads as a metric that vanished).
    fn family<V: Copy>(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricType,
        samples: &[(Labels, V)],
        encode: impl Fn(V, MetricEncoder<'_>) -> fmt::Result,
    ) -> fmt::Result {
        if samples.is_empty() {
            return Ok(());
        }
        let mut m = self.enc.encode_descriptor(name, help, None, kind)?;
        for (labels, v) in samples {
            encode(*v, m.encode_family(labels)?)?;
        }
        Ok(())
    }
}

type ScrapeFn = Box<dyn Fn(&mut Scrape<'_>) -> fmt::Result + Send + Sync>;

struct FnCollector(ScrapeFn);

impl fmt::Debug for FnCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnCollector")
    }
}

impl Collector for FnCollector {
    fn encode(&self, enc: DescriptorEncoder) -> fmt::Result {
        (self.0)(&mut Scrape { enc })
    }
}

/// The HTTP listeners' connections ([`crate::http_serve`]), as every binary reports them.
fn collect_http(s: &mut Scrape<'_>) -> fmt::Result {
    use std::sync::atomic::Ordering::Relaxed;
    let c = crate::http_serve::stats();
    s.gauge("http_connections_open", "HTTP connections open now.", c.open.load(Relaxed) as f64)?;
    s.counter("http_connections_accepted", "HTTP connections accepted and served.", c.accepted.load(Relaxed))?;
    s.counter(
        "http_connections_rejected",
        "HTTP connections closed at once because the listener had its most (1024) open.",
        c.rejected.load(Relaxed),
    )?;
    s.counter(
        "http_connections_idle_closed",
        "HTTP connections closed after 300 to 600 s without a byte read or written.",
        c.idle_closed.load(Relaxed),
    )
}

/// The process's buffer budget (`falcon-base`'s), as every binary reports it.
pub fn collect_budget(m: &mut Metrics, budget: std::sync::Arc<crate::budget::Budget>) {
    m.collect(move |s| {
        let c = budget.stats();
        s.gauge("buffer_budget_bytes", "Bytes the process may buffer from clients at once.", c.limit as f64)?;
        s.gauge("buffered_bytes", "Bytes buffered from clients now.", c.used as f64)?;
        s.gauge("buffered_peak_bytes", "Most bytes buffered from clients at once since start.", c.peak as f64)?;
        s.counter("buffer_waits", "Reads that waited for the buffer budget.", c.waits)?;
        s.counters(
            "buffer_closes",
            "Connections closed by the buffer budget: it stayed spent (budget) or a message stalled (stall).",
            &[(vec![("reason", "budget".into())], c.closes), (vec![("reason", "stall".into())], c.stalls)],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prefixed_series_process_series_and_histograms() {
        let mut m = Metrics::new("test", "1.2.3");
        m.collect(|s| {
            s.counter("items", "Items.", 7)?;
            s.counters(
                "sent_items",
                "Sent.",
                &[(vec![("output", "graph".into())], 3), (vec![("output", "judge".into())], 4)],
            )?;
            s.gauges("queue_items", "Queued.", &[])?;
            s.gauge("cache_age_seconds", "Age.", 1.5)
        });
        let h = m.seconds_histogram("send_duration_seconds", "Send time.");
        h.get_or_create(&vec![("output", "graph".to_string())]).observe(0.003);
        let text = m.render();
        for want in [
            "# TYPE falcon_test_items_total counter\nfalcon_test_items_total 7\n",
            "falcon_test_sent_items_total{output=\"graph\"} 3\n",
            "falcon_test_sent_items_total{output=\"judge\"} 4\n",
            "falcon_test_cache_age_seconds 1.5\n",
            "falcon_test_build_info{version=\"1.2.3\"} 1",
            "# HELP falcon_test_send_duration_seconds Send time.\n",
            "falcon_test_send_duration_seconds_bucket{output=\"graph\",le=\"0.004\"} 1\n",
            "falcon_test_send_duration_seconds_count{output=\"graph\"} 1\n",
            "# TYPE process_resident_memory_bytes gauge\n",
            "process_cpu_seconds_total ",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // An empty family writes nothing, not a TYPE line without samples.
        assert!(!text.contains("queue_items"), "{text}");
    }
}
