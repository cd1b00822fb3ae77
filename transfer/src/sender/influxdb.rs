//! HEAD's `influxdb` output: InfluxDB 1.x line protocol over HTTP `/write?db=<db>&precision=<precision>`, with
//! HEAD's mapping: measurement = metric, tags = the item's tags plus `endpoint`, one float field `value`, time =
//! the item's timestamp in the configured precision. Basic authentication when a username is set.
//!
//! Line protocol has no NaN or infinity: such an item never enters the lane; [`Sender::push`] counts it as
//! failed once (HEAD's client refuses the point and logs it). A tag with an empty key or value is left out, as
//! InfluxDB refuses one. A 2xx delivers the batch; any other 4xx (InfluxDB's answer to bad data) counts it as
//! failed; 5xx, timeouts and connection errors keep it queued for the lane's retry with backoff.
//!
//! [`Sender::push`]: super::Sender::push

use super::http_post::{basic_auth, Poster};
use super::lane::{Deliver, SendError};
use crate::config::InfluxdbConfig;
use crate::point::Point;
use std::sync::Arc;
use std::time::Duration;

/// Escapes a measurement name (commas and spaces).
fn measurement(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, ',' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Escapes a tag key or value (commas, equals signs and spaces).
fn tag_part(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, ',' | '=' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A query-string value: unreserved characters as they are, the rest percent-encoded.
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The multiplier from seconds to `precision`'s unit.
pub fn precision_factor(precision: &str) -> Option<i64> {
    Some(match precision {
        "s" | "" => 1,
        "ms" => 1_000,
        "u" | "us" => 1_000_000,
        "ns" | "n" => 1_000_000_000,
        _ => return None,
    })
}

/// One point's line (without the newline), or None for a value line protocol cannot carry.
pub fn line(p: &Point, factor: i64) -> Option<String> {
    if !p.value.is_finite() {
        return None;
    }
    let mut out = String::with_capacity(64 + p.metric.len() + p.tags.len());
    measurement(&p.metric, &mut out);
    // Tags sorted by key, as InfluxDB prefers; the item's own `endpoint` tag gives way to the endpoint.
    let mut tags: Vec<(&str, &str)> =
        p.tag_pairs().filter(|(k, v)| !k.is_empty() && !v.is_empty() && *k != "endpoint").collect();
    tags.push(("endpoint", &p.endpoint));
    tags.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in tags.into_iter().filter(|(_, v)| !v.is_empty()) {
        out.push(',');
        tag_part(k, &mut out);
        out.push('=');
        tag_part(v, &mut out);
    }
    out.push_str(" value=");
    // Rust's shortest round-trip form; a whole number still reads as a float field (`1` is a float in line
    // protocol unless it ends in `i`).
    out.push_str(&format!("{}", p.value));
    out.push(' ');
    out.push_str(&p.timestamp.saturating_mul(factor).to_string());
    Some(out)
}

/// The body for a batch and how many points were left out.
pub fn body(batch: &[Arc<Point>], factor: i64) -> (String, usize) {
    let mut out = String::with_capacity(batch.len() * 96);
    let mut skipped = 0;
    for p in batch {
        match line(p, factor) {
            Some(l) => {
                out.push_str(&l);
                out.push('\n');
            }
            None => skipped += 1,
        }
    }
    (out, skipped)
}

/// What a reply status means.
pub fn classify(status: u16, text: &str) -> Result<(), SendError> {
    match status {
        200..=299 => Ok(()),
        400..=499 => Err(SendError::Rejected(format!("{status}: {text}"))),
        _ => Err(SendError::Transport(format!("{status}: {text}"))),
    }
}

/// The InfluxDB output.
pub struct InfluxDeliver {
    poster: Poster,
    factor: i64,
}

impl InfluxDeliver {
    /// From a validated config.
    pub fn new(c: &InfluxdbConfig) -> Result<Self, String> {
        let precision = if c.precision.is_empty() { "s" } else { c.precision.as_str() };
        let factor = precision_factor(precision).ok_or_else(|| format!("precision {precision:?}"))?;
        let url = format!("{}/write?db={}&precision={precision}", c.address.trim_end_matches('/'), query_value(&c.db));
        let mut headers = Vec::new();
        if !c.username.is_empty() {
            headers.push(("authorization".to_string(), basic_auth(&c.username, &c.password)));
        }
        let timeout = Duration::from_millis(c.timeout.max(1) as u64);
        Ok(InfluxDeliver { poster: Poster::new(&url, &headers, timeout, c.max_conns.max(1) as usize)?, factor })
    }
}

impl Deliver for InfluxDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        // Non-finite values were kept out of the lane; `body` leaves out any that got here all the same.
        let (text, _) = body(batch, self.factor);
        if text.is_empty() {
            return Ok(());
        }
        let headers = [("content-type", "text/plain; charset=utf-8")];
        let (status, reply) =
            self.poster.post(text.into_bytes(), &headers).await.map_err(|e| SendError::Transport(e.0))?;
        classify(status, &reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::CounterType;

    fn point(metric: &str, tags: &str, value: f64) -> Arc<Point> {
        Arc::new(Point {
            endpoint: Arc::from("web 01"),
            metric: metric.into(),
            tags: tags.into(),
            value,
            timestamp: 1_700_000_000,
            step: 60,
            counter_type: CounterType::Gauge,
        })
    }

    #[test]
    fn head_mapping_and_escaping() {
        let p = point("df.bytes.free", "=nokey,mount=/data dir,fstype=ext4,endpoint=spoof,empty=", 1.0);
        assert_eq!(
            line(&p, 1).unwrap(),
            r"df.bytes.free,endpoint=web\ 01,fstype=ext4,mount=/data\ dir value=1 1700000000"
        );
        assert_eq!(
            line(&point("a b,c", "", -2.5e-7), 1_000).unwrap(),
            r"a\ b\,c,endpoint=web\ 01 value=-0.00000025 1700000000000"
        );
        assert!(line(&point("m", "", f64::NAN), 1).is_none());
        assert!(line(&point("m", "", f64::NEG_INFINITY), 1).is_none());
        let (text, skipped) = body(&[point("m", "", 1e300), point("m", "", f64::INFINITY)], 1);
        assert_eq!(skipped, 1);
        assert_eq!(text.lines().count(), 1);
        assert_eq!(precision_factor("ms"), Some(1000));
        assert_eq!(precision_factor("x"), None);
        assert!(matches!(classify(400, "field type conflict"), Err(SendError::Rejected(_))));
        assert!(matches!(classify(500, ""), Err(SendError::Transport(_))));
    }
}
