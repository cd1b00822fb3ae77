//! Prometheus remote write 1.0 out (ours): every accepted item to every configured endpoint (VictoriaMetrics,
//! Prometheus with its receiver on, Mimir, Nightingale...), as protobuf `WriteRequest`s compressed with snappy's
//! block format.
//!
//! Names and labels are the ones HEAD's falcon2p8s exporter gives, so that an estate moving from it keeps its
//! series: the metric with `[^a-zA-Z0-9_:]` replaced by `_`, tag keys with `[^a-zA-Z0-9_]` replaced, `F_` before
//! a leading digit in either, and the endpoint as the label `hostname` (it wins over a tag of that name;
//! `endpointLabel` picks another, e.g. `ident` for Nightingale). Timestamps become milliseconds; the samples of a
//! series go out in timestamp order. NaN and the infinities are valid samples and go out as they are.
//!
//! A 2xx reply delivers the batch; any other 4xx (bad data: it would be refused again) counts it as failed; 429,
//! 5xx, timeouts and connection errors keep it queued for the lane's retry with backoff.

use super::http_post::Poster;
use super::lane::{Deliver, SendError};
use crate::point::Point;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The remote write 1.0 protobuf messages (`prometheus/prompb/remote.proto` and `types.proto`), the fields
/// a sender fills.
pub mod pb {
    /// The request.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// Series with their samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// One series.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Labels, sorted by name, `__name__` among them.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Samples in timestamp order.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    /// A label.
    #[derive(Clone, PartialEq, Eq, prost::Message)]
    pub struct Label {
        /// Name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// A sample.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

fn sanitize(s: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out: String = s.chars().map(|c| if keep(c) { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "F_");
    }
    out
}

/// falcon2p8s's metric name: `[^a-zA-Z0-9_:]` to `_`, `F_` before a leading digit.
pub fn metric_name(metric: &str) -> String {
    sanitize(metric, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// falcon2p8s's label name: `[^a-zA-Z0-9_]` to `_`, `F_` before a leading digit.
pub fn label_name(key: &str) -> String {
    sanitize(key, |c| c.is_ascii_alphanumeric() || c == '_')
}

/// A series' labels, sorted by name: `__name__`, the tags and the endpoint label (which wins over a tag that
/// maps to the same name; of two tags that map to one name, the first in key order stays). Tags with an empty
/// key or value are left out.
pub fn labels(p: &Point, endpoint_label: &str) -> Vec<pb::Label> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    // A tag with an empty key has no label name (receivers refuse the whole request for one); an empty value is
    // how Prometheus spells "no such label".
    for (k, v) in p.tag_pairs().filter(|(k, v)| !k.is_empty() && !v.is_empty()) {
        m.entry(label_name(k)).or_insert_with(|| v.to_string());
    }
    m.insert(endpoint_label.to_string(), p.endpoint.to_string());
    m.insert("__name__".to_string(), metric_name(&p.metric));
    m.into_iter().map(|(name, value)| pb::Label { name, value }).collect()
}

/// The request for a batch: one series per label set, its samples sorted by time. Labels are built once per
/// series (items are grouped by endpoint, metric and tags first), not once per item.
pub fn request(batch: &[Arc<Point>], endpoint_label: &str) -> pb::WriteRequest {
    let mut raw: BTreeMap<(&str, &str, &str), (&Point, Vec<pb::Sample>)> = BTreeMap::new();
    for p in batch {
        let sample = pb::Sample { value: p.value, timestamp: p.timestamp.saturating_mul(1000) };
        raw.entry((&p.endpoint, &p.metric, &p.tags)).or_insert_with(|| (p, Vec::new())).1.push(sample);
    }
    // Two raw series may map to one label set (`a.b` and `a_b` both become `a_b`): merged here.
    let mut series: BTreeMap<Vec<(String, String)>, Vec<pb::Sample>> = BTreeMap::new();
    for (first, samples) in raw.into_values() {
        let key = labels(first, endpoint_label).into_iter().map(|l| (l.name, l.value)).collect();
        series.entry(key).or_default().extend(samples);
    }
    let timeseries = series
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by_key(|s| s.timestamp);
            pb::TimeSeries {
                labels: labels.into_iter().map(|(name, value)| pb::Label { name, value }).collect(),
                samples,
            }
        })
        .collect();
    pb::WriteRequest { timeseries }
}

/// The body: protobuf, snappy block-compressed.
pub fn encode(req: &pb::WriteRequest) -> Result<Vec<u8>, String> {
    let raw = prost::Message::encode_to_vec(req);
    snap::raw::Encoder::new().compress_vec(&raw).map_err(|e| format!("snappy: {e}"))
}

/// What a reply status means for the batch.
pub fn classify(status: u16, body: &str) -> Result<(), SendError> {
    match status {
        200..=299 => Ok(()),
        429 => Err(SendError::Transport(format!("429 too many requests: {body}"))),
        400..=499 => Err(SendError::Rejected(format!("{status}: {body}"))),
        _ => Err(SendError::Transport(format!("{status}: {body}"))),
    }
}

/// One endpoint.
pub struct RemoteWriteDeliver {
    poster: Poster,
    endpoint_label: String,
}

impl RemoteWriteDeliver {
    /// A sender to `url` with extra `headers` (authorization included), `max_conns` idle connections kept.
    pub fn new(
        url: &str,
        headers: &[(String, String)],
        endpoint_label: &str,
        timeout: Duration,
        max_conns: usize,
    ) -> Result<Self, String> {
        Ok(RemoteWriteDeliver {
            poster: Poster::new(url, headers, timeout, max_conns)?,
            endpoint_label: endpoint_label.to_string(),
        })
    }
}

impl Deliver for RemoteWriteDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        let body = encode(&request(batch, &self.endpoint_label)).map_err(SendError::Rejected)?;
        let headers = [
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "snappy"),
            ("x-prometheus-remote-write-version", "0.1.0"),
        ];
        let (status, text) = self.poster.post(body, &headers).await.map_err(|e| SendError::Transport(e.0))?;
        classify(status, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::CounterType;

    fn point(metric: &str, tags: &str, value: f64, ts: i64) -> Arc<Point> {
        Arc::new(Point {
            endpoint: Arc::from("web-01"),
            metric: metric.into(),
            tags: tags.into(),
            value,
            timestamp: ts,
            step: 60,
            counter_type: CounterType::Gauge,
        })
    }

    #[test]
    fn falcon2p8s_names() {
        assert_eq!(metric_name("df.bytes.free.percent"), "df_bytes_free_percent");
        assert_eq!(metric_name("disk.io.avgqu-sz"), "disk_io_avgqu_sz");
        assert_eq!(metric_name("ns:rate.5m"), "ns:rate_5m");
        assert_eq!(metric_name("5xx.count"), "F_5xx_count");
        assert_eq!(label_name("mount"), "mount");
        assert_eq!(label_name("a:b.c"), "a_b_c");
        assert_eq!(label_name("1st"), "F_1st");
        let odd = labels(&point("m", "=c,b=,k=v", 1.0, 1), "hostname");
        let names: Vec<&str> = odd.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "hostname", "k"], "no empty label names or values");
    }

    #[test]
    fn series_labels_sorted_samples_in_time_order() {
        let batch = vec![
            point("cpu.idle", "", 3.0, 1_700_000_120),
            point("cpu.idle", "", f64::NAN, 1_700_000_060),
            point("df.bytes.free", "Mount=/,fstype=ext4,hostname=spoof", 1.0, 1_700_000_000),
            point("df.bytes.free", "Mount=/data,fstype=ext4", 2.0, 1_700_000_000),
        ];
        let req = request(&batch, "hostname");
        assert_eq!(req.timeseries.len(), 3);
        let named = |m: &str| {
            req.timeseries
                .iter()
                .filter(|t| t.labels.iter().any(|l| l.name == "__name__" && l.value == m))
                .collect::<Vec<_>>()
        };
        let cpu = named("cpu_idle")[0];
        let names: Vec<(&str, &str)> = cpu.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
        assert_eq!(names, [("__name__", "cpu_idle"), ("hostname", "web-01")]);
        assert_eq!(cpu.samples.iter().map(|s| s.timestamp).collect::<Vec<_>>(), [1_700_000_060_000, 1_700_000_120_000]);
        assert!(cpu.samples[0].value.is_nan());
        let dfs = named("df_bytes_free");
        assert_eq!(dfs.len(), 2, "two mounts, two series");
        let df = dfs.iter().find(|t| t.labels[0].value == "/").unwrap();
        let names: Vec<&str> = df.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["Mount", "__name__", "fstype", "hostname"], "sorted by name, bytewise");
        assert_eq!(df.labels[3].value, "web-01", "the endpoint wins over a tag of the same name");
        let ident = request(&batch, "ident");
        assert!(ident
            .timeseries
            .iter()
            .all(|t| t.labels.contains(&pb::Label { name: "ident".into(), value: "web-01".into() })));
    }

    #[test]
    fn series_that_map_to_one_label_set_are_merged_in_time_order() {
        let req = request(&[point("a.b", "", 2.0, 20), point("a_b", "", 1.0, 10)], "hostname");
        assert_eq!(req.timeseries.len(), 1);
        assert_eq!(req.timeseries[0].samples.iter().map(|s| s.timestamp).collect::<Vec<_>>(), [10_000, 20_000]);
    }

    #[test]
    fn body_round_trips_through_snappy_and_protobuf() {
        let req = request(&[point("m", "a=b", -1e300, 1)], "hostname");
        let body = encode(&req).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let back: pb::WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn replies() {
        assert_eq!(classify(204, ""), Ok(()));
        assert!(matches!(classify(400, "out of order"), Err(SendError::Rejected(_))));
        assert!(matches!(classify(429, ""), Err(SendError::Transport(_))));
        assert!(matches!(classify(503, ""), Err(SendError::Transport(_))));
    }
}
