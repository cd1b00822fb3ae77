//! The `/api/push` body in the forms a client may send, turned into the JSON the Go-semantics decoder reads:
//! plain JSON (Go's only form), `Content-Encoding: gzip`, and `Content-Type: application/msgpack` (an array of
//! maps with MetricValue's keys; about a third smaller than JSON). Every form is bounded by the message bound
//! after decompression, so a gzip bomb stops at the bound, and what decoding makes is charged to the request's
//! lease on the buffer budget before it is made.

use axum::http::HeaderMap;
use falcon_runtime::budget::{BudgetError, Lease};
use std::borrow::Cow;
use std::io::Read;

/// Inflated bytes made between two charges to the lease.
const INFLATE_STEP: usize = 64 << 10;

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Over the message bound once decompressed.
    TooLarge,
    /// The buffer budget stayed spent for the whole wait.
    Budget(BudgetError),
    /// Not what its headers say.
    Malformed(String),
    /// A `Content-Encoding` other than gzip or identity.
    UnsupportedEncoding(String),
}

/// Whether the headers declare gzip.
fn gzip(h: &HeaderMap) -> Result<bool, BodyError> {
    match h.get("content-encoding").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(e) if e.is_empty() || e == "identity" => Ok(false),
        Some(e) if e == "gzip" || e == "x-gzip" => Ok(true),
        Some(e) => Err(BodyError::UnsupportedEncoding(e)),
    }
}

/// Whether the headers declare MessagePack.
fn msgpack(h: &HeaderMap) -> bool {
    let ct = h.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/msgpack" || mime == "application/x-msgpack" || mime == "application/vnd.msgpack"
}

/// Whether the body is plain JSON (no compression, not MessagePack): then it can be checked as it arrives.
pub fn plain_json(h: &HeaderMap) -> bool {
    matches!(gzip(h), Ok(false)) && !msgpack(h)
}

/// Inflates a gzip body, at most `max` bytes, each step charged to `lease` before it is kept.
pub async fn gunzip(body: &[u8], max: usize, lease: &mut Lease) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(body).take(max as u64 + 1);
    // The lease already covers the compressed body; the inflated bytes come on top.
    let base = lease.held();
    loop {
        if out.capacity() - out.len() < INFLATE_STEP {
            let cap = out.capacity().saturating_mul(2).max(out.len() + INFLATE_STEP).min(max + 1);
            lease.grow_to(base + cap).await.map_err(BodyError::Budget)?;
            out.reserve_exact(cap - out.len());
        }
        let room = (out.capacity() - out.len()).min(INFLATE_STEP);
        let start = out.len();
        out.resize(start + room, 0);
        let n = d.read(&mut out[start..]).map_err(|e| BodyError::Malformed(format!("gzip: {e}")))?;
        out.truncate(start + n);
        if n == 0 {
            break;
        }
        if out.len() > max {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(out)
}

/// MessagePack to JSON text, value by value.
pub fn msgpack_to_json(body: &[u8]) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::with_capacity(body.len() * 3 / 2);
    let mut de = rmp_serde::Deserializer::new(body);
    // The JSON decoder behind refuses nesting deeper than 128 anyway; rmp's own bound (1024) lets the
    // transcoder recurse deep enough to overflow a 2 MiB thread stack first.
    de.set_max_depth(128);
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| BodyError::Malformed(format!("msgpack: {e}")))?;
    Ok(out)
}

/// The JSON text of a body with these headers (at most `max` bytes once inflated); what decoding makes is
/// charged to `lease`, which already covers the body.
pub async fn json_of<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    max: usize,
    lease: &mut Lease,
) -> Result<Cow<'a, [u8]>, BodyError> {
    let raw: Cow<'a, [u8]> =
        if gzip(headers)? { Cow::Owned(gunzip(body, max, lease).await?) } else { Cow::Borrowed(body) };
    if msgpack(headers) {
        // MessagePack's JSON text is at most about twice its size; charged ahead, then what it took.
        let before = lease.held();
        lease.grow_to(before + raw.len() * 2).await.map_err(BodyError::Budget)?;
        let json = msgpack_to_json(&raw)?;
        lease.grow_to(before + json.capacity()).await.map_err(BodyError::Budget)?;
        Ok(Cow::Owned(json))
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    /// `json_of` with no budget to speak of.
    fn json_of<'a>(h: &HeaderMap, b: &'a [u8]) -> Result<Cow<'a, [u8]>, BodyError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut lease = falcon_runtime::budget::Budget::unlimited().lease();
        rt.block_on(super::json_of(h, b, 64 << 20, &mut lease))
    }

    fn gunzip(b: &[u8], max: usize) -> Result<Vec<u8>, BodyError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(super::gunzip(b, max, &mut falcon_runtime::budget::Budget::unlimited().lease()))
    }

    const ITEM: &str =
        r#"[{"endpoint":"h","metric":"m","value":1.5,"step":60,"counterType":"GAUGE","tags":"a=b","timestamp":1}]"#;

    #[test]
    fn json_gzip_and_msgpack_give_the_same_json() {
        assert_eq!(&*json_of(&headers(&[]), ITEM.as_bytes()).unwrap(), ITEM.as_bytes());
        let zipped = gz(ITEM.as_bytes());
        assert_eq!(&*json_of(&headers(&[("content-encoding", "gzip")]), &zipped).unwrap(), ITEM.as_bytes());
        let v: serde_json::Value = serde_json::from_str(ITEM).unwrap();
        let packed = rmp_serde::to_vec_named(&v).unwrap();
        assert!(packed.len() < ITEM.len());
        let h = headers(&[("content-type", "application/msgpack")]);
        let back: serde_json::Value = serde_json::from_slice(&json_of(&h, &packed).unwrap()).unwrap();
        assert_eq!(back, v);
        let both = headers(&[("content-type", "application/x-msgpack; charset=binary"), ("content-encoding", "gzip")]);
        let back: serde_json::Value = serde_json::from_slice(&json_of(&both, &gz(&packed)).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn bombs_garbage_and_unknown_encodings_are_refused() {
        let bomb = gz(&vec![b' '; 1 << 20]);
        assert_eq!(gunzip(&bomb, 1000), Err(BodyError::TooLarge));
        assert!(matches!(
            json_of(&headers(&[("content-encoding", "gzip")]), b"not gzip"),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            json_of(&headers(&[("content-encoding", "br")]), b"x"),
            Err(BodyError::UnsupportedEncoding(_))
        ));
        let h = headers(&[("content-type", "application/msgpack")]);
        assert!(matches!(json_of(&h, &[0xc1]), Err(BodyError::Malformed(_))), "0xc1 is never used in msgpack");
    }

    #[test]
    fn fuzz_regression_deep_msgpack_is_refused_before_the_stack_runs_out() {
        // Found by the `transfer_push` fuzz target: 1000 nested MessagePack arrays overflowed a 2 MiB stack in
        // the transcoder. Nesting past 128, which the JSON decoder would refuse anyway, is now malformed.
        let h = headers(&[("content-type", "application/msgpack")]);
        let deep = vec![0x91u8; 1000];
        assert!(matches!(json_of(&h, &deep), Err(BodyError::Malformed(_))));
        let mut ok = vec![0x91u8; 100];
        ok.push(0xc0);
        assert_eq!(&*json_of(&h, &ok).unwrap(), format!("{}null{}", "[".repeat(100), "]".repeat(100)).as_bytes());
    }
}
