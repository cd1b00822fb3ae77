//! `/api/v1/write`: Prometheus remote write in (ours), so that Prometheus, vmagent or categraf can feed the
//! falcon pipeline (judge alarms, graph, every output). No Open-Falcon or Nightingale component bridges in this
//! direction.
//!
//! A series becomes items: `__name__` is the metric; the first present label of `remoteWriteIn.endpointLabels`
//! (default `hostname`, `ident`, `instance`) is the endpoint; the other labels are the tags (a `,` or `=` in a
//! value, which falcon tags cannot hold, becomes `_`); `remoteWriteIn.step` is the step; GAUGE; seconds from the
//! millisecond timestamps. NaN and the infinities travel as Go's `"NaN"`/`"+Inf"`/`"-Inf"` strings, which the
//! receivers accept; Prometheus's staleness markers (a NaN with one bit pattern) are not data and are skipped.
//! The items then get `/api/push`'s validation, counters and sharding. A body that does not decode gets 400
//! with the reason; a decoded one 204.

use super::{budget_refusal, http_error};
use crate::app::{App, Source};
use crate::config::RemoteWriteInConfig;
use crate::point::CounterType;
use crate::sender::remote_write::pb;
use crate::wire::{CounterTypeField, Endpoint, Incoming};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use falcon_proto::model::GoValue;
use falcon_runtime::body::{read_json_body, JsonBodyError};

/// Prometheus's staleness marker.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// What one request holds.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The items, in series order.
    pub items: Vec<Option<Incoming>>,
    /// Staleness markers skipped.
    pub stale: usize,
}

/// Decompresses and decodes a body, bounded by `max` bytes once decompressed.
pub fn decode_body(body: &[u8], max: usize) -> Result<pb::WriteRequest, String> {
    let len = snap::raw::decompress_len(body).map_err(|e| format!("snappy: {e}"))?;
    if len > max {
        return Err(format!("decompressed body of {len} bytes is over {max}"));
    }
    let raw = snap::raw::Decoder::new().decompress_vec(body).map_err(|e| format!("snappy: {e}"))?;
    prost::Message::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))
}

fn tag_value(v: &str) -> String {
    v.replace([',', '='], "_")
}

/// The items of a request.
pub fn items(req: &pb::WriteRequest, cfg: &RemoteWriteInConfig) -> Decoded {
    let mut out = Decoded::default();
    for ts in &req.timeseries {
        let get = |name: &str| ts.labels.iter().find(|l| l.name == name).map(|l| l.value.as_str());
        let metric = get("__name__").unwrap_or("").to_string();
        let endpoint_label = cfg.endpoint_labels.iter().find(|l| get(l).is_some_and(|v| !v.is_empty()));
        let endpoint = endpoint_label.and_then(|l| get(l)).unwrap_or("");
        let mut tags: Vec<String> = ts
            .labels
            .iter()
            .filter(|l| l.name != "__name__" && Some(&l.name) != endpoint_label && !l.value.is_empty())
            .map(|l| format!("{}={}", l.name, tag_value(&l.value)))
            .collect();
        tags.sort();
        let tags = tags.join(",");
        let endpoint = Endpoint::intern(endpoint);
        for s in &ts.samples {
            if s.value.to_bits() == STALE_NAN {
                out.stale += 1;
                continue;
            }
            let value = if s.value.is_finite() {
                GoValue::Number(s.value)
            } else if s.value.is_nan() {
                GoValue::String("NaN".into())
            } else if s.value > 0.0 {
                GoValue::String("+Inf".into())
            } else {
                GoValue::String("-Inf".into())
            };
            out.items.push(Some(Incoming {
                endpoint: endpoint.clone(),
                metric: metric.clone(),
                value,
                step: cfg.step,
                counter_type: CounterTypeField(Some(CounterType::Gauge)),
                tags: tags.clone(),
                timestamp: s.timestamp.div_euclid(1000),
            }));
        }
    }
    out
}

pub(super) async fn write(app: &App, req: Request) -> Response {
    let max = app.cfg.buffers.max_message();
    let mut lease = app.budget.lease();
    let body = match read_json_body(req.into_body(), max, false, &mut lease).await {
        Ok(b) => b,
        Err(JsonBodyError::TooLarge(_)) => return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(e @ (JsonBodyError::Budget(_) | JsonBodyError::Stalled(_))) => {
            e.count(&lease, "http /api/v1/write");
            return budget_refusal(&e.to_string());
        }
        Err(e) => return http_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // The snappy block says how large it inflates; that, and as much again for the decoded series (an
    // estimate), are charged before anything is made.
    if let Ok(len) = snap::raw::decompress_len(&body) {
        if len <= max {
            let want = lease.held() + 2 * len;
            if let Err(e) = lease.grow_to(want).await {
                app.budget.count_close("http /api/v1/write", &e);
                return budget_refusal(&e.to_string());
            }
        }
    }
    let decoded = match decode_body(&body, max) {
        Ok(r) => items(&r, &app.cfg.remote_write_in),
        Err(why) => return http_error(StatusCode::BAD_REQUEST, &why),
    };
    let r = app.receive(decoded.items, Source::Http);
    if r.invalid > 0 {
        tracing::debug!(invalid = r.invalid, total = r.total, "remote write items refused by validation");
    }
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> pb::TimeSeries {
        pb::TimeSeries {
            labels: labels.iter().map(|(n, v)| pb::Label { name: n.to_string(), value: v.to_string() }).collect(),
            samples: samples.iter().map(|(v, t)| pb::Sample { value: *v, timestamp: *t }).collect(),
        }
    }

    #[test]
    fn series_become_falcon_items() {
        let req = pb::WriteRequest {
            timeseries: vec![
                series(
                    &[("__name__", "node_load1"), ("instance", "10.0.0.1:9100"), ("job", "node"), ("x", "a,b=c")],
                    &[
                        (0.5, 1_700_000_000_123),
                        (f64::from_bits(STALE_NAN), 1_700_000_015_000),
                        (f64::NAN, 1_700_000_030_000),
                    ],
                ),
                series(&[("__name__", "up"), ("hostname", "web-01"), ("instance", "i")], &[(1.0, 1_700_000_000_000)]),
            ],
        };
        let d = items(&req, &RemoteWriteInConfig::default());
        assert_eq!(d.stale, 1);
        let v: Vec<&Incoming> = d.items.iter().flatten().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(
            (&*v[0].endpoint.0, v[0].metric.as_str(), v[0].tags.as_str()),
            ("10.0.0.1:9100", "node_load1", "job=node,x=a_b_c")
        );
        assert_eq!((v[0].timestamp, v[0].step, v[0].value.clone()), (1_700_000_000, 60, GoValue::Number(0.5)));
        assert_eq!(v[1].value, GoValue::String("NaN".into()));
        assert_eq!((&*v[2].endpoint.0, v[2].tags.as_str()), ("web-01", "instance=i"), "hostname first");
    }

    #[test]
    fn bodies_that_do_not_decode_say_why() {
        let ok = pb::WriteRequest { timeseries: vec![series(&[("__name__", "m")], &[(1.0, 1000)])] };
        let body = snap::raw::Encoder::new().compress_vec(&prost::Message::encode_to_vec(&ok)).unwrap();
        assert_eq!(decode_body(&body, 1 << 20).unwrap(), ok);
        assert!(decode_body(b"not snappy at all", 1 << 20).unwrap_err().contains("snappy"));
        let not_pb = snap::raw::Encoder::new().compress_vec(&[0xff; 20]).unwrap();
        assert!(decode_body(&not_pb, 1 << 20).unwrap_err().contains("protobuf"));
        assert!(decode_body(&body, 3).unwrap_err().contains("over 3"));
    }
}
