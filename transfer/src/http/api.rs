//! `/api/push`: an array of MetricValue (JSON as in Go, or gzip or MessagePack: [`super::body`]), validated and
//! queued like `Transfer.Update`.

use super::body::{json_of, plain_json, BodyError};
use super::{budget_refusal, data, http_error};
use crate::app::{App, Source};
use crate::wire::Incoming;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::Response;
use falcon_proto::gojson;
use falcon_runtime::body::{read_json_body, JsonBodyError};

pub(super) async fn push(app: &App, req: Request) -> Response {
    // Go rejects only a declared length of zero; a chunked body (no length) gets through.
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
    if declared == Some("0") {
        return http_error(StatusCode::BAD_REQUEST, "blank body");
    }
    let headers = req.headers().clone();
    let max = app.cfg.buffers.max_message();
    // Every byte read or decoded is charged to the budget until the items are queued.
    let mut lease = app.budget.lease();
    // Plain JSON is checked as it arrives and refused at its first bad byte, as Go's decoder does.
    let body = match read_json_body(req.into_body(), max, plain_json(&headers), &mut lease).await {
        Ok(b) => b,
        Err(JsonBodyError::TooLarge(_)) => return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(e @ (JsonBodyError::Budget(_) | JsonBodyError::Stalled(_))) => {
            e.count(&lease, "http /api/push");
            return budget_refusal(&e.to_string());
        }
        Err(_) => return http_error(StatusCode::BAD_REQUEST, "decode error"),
    };
    let body = match json_of(&headers, &body, max, &mut lease).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(BodyError::Budget(e)) => {
            app.budget.count_close("http /api/push", &e);
            return budget_refusal(&e.to_string());
        }
        Err(BodyError::UnsupportedEncoding(e)) => {
            return http_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("content encoding {e} is not gzip"))
        }
        Err(BodyError::Malformed(why)) => return http_error(StatusCode::BAD_REQUEST, &format!("decode error: {why}")),
    };
    // Go's json.Decoder reads the first value and ignores what follows.
    let items: Vec<Option<Incoming>> = match gojson::from_first_value(&body) {
        Ok(v) => v,
        Err(_) => return http_error(StatusCode::BAD_REQUEST, "decode error"),
    };
    data(&app.receive(items, Source::Http))
}
