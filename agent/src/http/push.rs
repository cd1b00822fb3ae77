//! `/v1/push`: a JSON array of MetricValue, forwarded through the buffered sender with default tags and
//! endpoint, step and timestamp as given. Unlike Go, items transfer would reject are not forwarded and the
//! reply says which and why (400); the valid ones of the same request are still sent.

use super::{http_error, text, State};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use falcon_proto::model::{GoValue, MetricValue};

/// Why transfer would reject an item (its checks, in its order), or None.
pub fn invalid_reason(m: &MetricValue) -> Option<&'static str> {
    if m.metric.is_empty() {
        return Some("empty metric");
    }
    if m.metric == "kernel.hostname" {
        return Some("kernel.hostname is not accepted");
    }
    if m.endpoint.is_empty() {
        return Some("empty endpoint");
    }
    if !matches!(m.counter_type.as_str(), "GAUGE" | "COUNTER" | "DERIVE") {
        return Some("counterType must be GAUGE, COUNTER or DERIVE");
    }
    if m.step <= 0 {
        return Some("step must be positive");
    }
    if m.metric.len() + m.tags.len() > 510 {
        return Some("metric and tags longer than 510 bytes");
    }
    match &m.value {
        GoValue::Number(_) | GoValue::Uint(_) => None,
        GoValue::String(s) if !s.is_empty() && m.value.as_f64().is_some_and(f64::is_finite) => None,
        _ => Some("value is not a number"),
    }
}

/// The handler.
pub async fn push(axum::extract::State(agent): State, req: Request<Body>) -> Response {
    use falcon_runtime::body::{read_json_body, JsonBodyError};
    let max = agent.config().buffers.max_message();
    // Charged to the agent's buffer budget until the items are queued.
    let mut lease = agent.budget.lease();
    // Checked as it arrives: a body that is not JSON is refused at its first bad byte, as Go's decoder does.
    let body = match read_json_body(req.into_body(), max, true, &mut lease).await {
        Ok(b) => b,
        Err(JsonBodyError::TooLarge(_)) => {
            return http_error(StatusCode::PAYLOAD_TOO_LARGE, &format!("body larger than {max} bytes"))
        }
        Err(e @ (JsonBodyError::Budget(_) | JsonBodyError::Stalled(_))) => {
            e.count(&lease, "http /v1/push");
            let mut r = http_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
            r.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            return r;
        }
        Err(_) => return http_error(StatusCode::BAD_REQUEST, "connot decode body"),
    };
    if body.is_empty() {
        return http_error(StatusCode::BAD_REQUEST, "body is blank");
    }
    let items: Vec<Option<MetricValue>> = match falcon_proto::gojson::from_first_value(&body) {
        Ok(v) => v,
        Err(_) => return http_error(StatusCode::BAD_REQUEST, "connot decode body"),
    };
    let total = items.len();
    let mut valid = Vec::with_capacity(total);
    let mut reasons = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            None => reasons.push(format!("item {i}: null")),
            Some(m) => match invalid_reason(&m) {
                Some(r) => reasons.push(format!("item {i}: {r}")),
                None => valid.push(m),
            },
        }
    }
    let sent = valid.len();
    agent.forward(valid);
    if reasons.is_empty() {
        return text("success");
    }
    let shown: Vec<&str> = reasons.iter().take(10).map(String::as_str).collect();
    http_error(
        StatusCode::BAD_REQUEST,
        &format!("{} of {total} items invalid, {sent} accepted: {}", reasons.len(), shown.join("; ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        let ok = MetricValue {
            endpoint: "h".into(),
            metric: "m".into(),
            value: GoValue::Number(1.0),
            step: 60,
            counter_type: "GAUGE".into(),
            tags: String::new(),
            timestamp: 0,
        };
        assert_eq!(invalid_reason(&ok), None);
        let with = |f: &dyn Fn(&mut MetricValue)| {
            let mut m = ok.clone();
            f(&mut m);
            invalid_reason(&m)
        };
        assert!(with(&|m| m.endpoint.clear()).is_some());
        assert!(with(&|m| m.counter_type = "FOO".into()).is_some());
        assert!(with(&|m| m.step = 0).is_some());
        assert!(with(&|m| m.value = GoValue::String("x".into())).is_some());
        assert!(with(&|m| m.value = GoValue::String("NaN".into())).is_some());
        assert_eq!(with(&|m| m.value = GoValue::String("1.5".into())), None);
        assert!(with(&|m| m.value = GoValue::Null).is_some());
        assert!(with(&|m| m.tags = "a".repeat(600)).is_some());
    }
}
