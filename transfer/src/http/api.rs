//! `/api/push`: an array of MetricValue (JSON as in Go, or gzip or MessagePack: [`super::body`]), validated and
//! queued like `Transfer.Update`.

use super::body::{json_of, plain_json, BodyError};
use super::{data, http_error, MAX_BODY};
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
    // Plain JSON is checked as it arrives and refused at its first bad byte, as Go's decoder does.
    let body = match read_json_body(req.into_body(), MAX_BODY, plain_json(&headers)).await {
        Ok(b) => b,
        Err(JsonBodyError::TooLarge(_)) => return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(_) => return http_error(StatusCode::BAD_REQUEST, "decode error"),
    };
    let body = match json_of(&headers, &body) {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
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
