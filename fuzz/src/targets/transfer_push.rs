//! `/api/push` as the handler reads it: the body in the form its headers declare (the first input byte picks
//! them), Go's first-value decode into the transfer's `Incoming`, Go's validation, every output form.
//!
//! Modes 0-4 hand the bytes over as they are (plain, gzip, MessagePack, both, an unknown encoding); modes 5-7
//! wrap them first (gzip of the bytes, MessagePack content type with parameters, gzip of MessagePack), so the
//! decoders behind the decompressor see mutated data rather than a checksum error.

use crate::feedback::{note, note_err, note_n};
use crate::support::points;
use axum::http::{HeaderMap, HeaderValue};
use falcon_proto::gojson;
use falcon_transfer::http::body::json_of;
use falcon_transfer::validate::validate;
use falcon_transfer::wire::Incoming;
use std::io::Write;

/// The clock validation compares timestamps with (fixed, so runs replay).
pub const NOW: i64 = 1_795_261_457;

pub fn run(data: &[u8]) {
    let Some((&mode, raw)) = data.split_first() else { return };
    let mut h = HeaderMap::new();
    let gz = |v: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(v);
        e.finish().unwrap_or_default()
    };
    let body: Vec<u8> = match mode % 8 {
        0 => raw.to_vec(),
        1 => {
            h.insert("content-encoding", HeaderValue::from_static("gzip"));
            raw.to_vec()
        }
        2 => {
            h.insert("content-type", HeaderValue::from_static("application/msgpack"));
            raw.to_vec()
        }
        3 => {
            h.insert("content-encoding", HeaderValue::from_static("x-gzip"));
            h.insert("content-type", HeaderValue::from_static("application/x-msgpack"));
            raw.to_vec()
        }
        4 => {
            h.insert("content-encoding", HeaderValue::from_static("br"));
            raw.to_vec()
        }
        5 => {
            h.insert("content-encoding", HeaderValue::from_static(" GZIP "));
            gz(raw)
        }
        6 => {
            h.insert("content-type", HeaderValue::from_static("Application/vnd.msgpack; charset=binary"));
            raw.to_vec()
        }
        _ => {
            h.insert("content-encoding", HeaderValue::from_static("gzip"));
            h.insert("content-type", HeaderValue::from_static("application/msgpack"));
            gz(raw)
        }
    };
    let mut lease = falcon_runtime::budget::Budget::unlimited().lease();
    let Some(decoded) = crate::support::runtime::block_on(json_of(&h, &body, 64 << 20, &mut lease)) else { return };
    let json = match decoded {
        Ok(j) => j,
        Err(e) => {
            note_err("body", &format!("{e:?}"));
            return;
        }
    };
    match gojson::from_first_value::<Vec<Option<Incoming>>>(&json) {
        Ok(items) => {
            let v = validate(items, NOW);
            note_n("total", v.total);
            note_n("invalid", v.invalid);
            assert_eq!(v.total, v.invalid + v.points.len());
            points::exercise(v.points);
        }
        Err(e) => note_err("decode", &e),
    }
    note(if json.len() > body.len() { "grew" } else { "shrank" });
}
