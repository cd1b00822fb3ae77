//! `/api/v1/write` as the handler reads it: snappy then protobuf (`remote_write_in::decode_body`), the series
//! turned into items (`items`, with the default endpoint labels and with odd ones), Go's validation, every
//! output form. An even first byte hands the rest over as the body; an odd one compresses it first, so the
//! protobuf decoder sees mutated messages rather than snappy errors.

use super::transfer_push::NOW;
use crate::feedback::{note, note_err, note_n};
use crate::support::points;
use falcon_transfer::config::RemoteWriteInConfig;
use falcon_transfer::http::remote_write_in::{decode_body, items};
use falcon_transfer::http::MAX_BODY;
use falcon_transfer::validate::validate;

pub fn run(data: &[u8]) {
    let Some((&mode, raw)) = data.split_first() else { return };
    let body = if mode % 2 == 0 {
        raw.to_vec()
    } else {
        match snap::raw::Encoder::new().compress_vec(raw) {
            Ok(b) => b,
            Err(_) => return,
        }
    };
    let req = match decode_body(&body, MAX_BODY) {
        Ok(r) => r,
        Err(e) => {
            note_err("decode", &e);
            return;
        }
    };
    note_n("series", req.timeseries.len());
    let odd = RemoteWriteInConfig { endpoint_labels: vec![String::new(), "__name__".into(), "job".into()], step: 1 };
    for cfg in [RemoteWriteInConfig::default(), odd] {
        let d = items(&req, &cfg);
        note_n("stale", d.stale);
        let v = validate(d.items, NOW);
        note_n("accepted", v.points.len());
        if v.invalid > 0 {
            note("invalid");
        }
        points::exercise(v.points);
    }
}
