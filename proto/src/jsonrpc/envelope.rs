//! The JSON-RPC 1.0 envelopes as Go's `net/rpc/jsonrpc` reads and writes them.
//!
//! Request `{"method":"S.M","params":[arg],"id":N}`; reply `{"id":N,"result":R,"error":null}` or
//! `{"id":N,"result":null,"error":"text"}`, each followed by `\n`. Keys are matched case-insensitively, the
//! request id is echoed as raw JSON (compacted, as Go re-encodes a `json.RawMessage`).

use crate::gojson::{self, eq_fold, next_raw_value, raw_kind, Ctx, GoDecode, KeySeed};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

/// A parsed request, borrowing from the frame.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Request<'a> {
    /// `Service.Method` ("" when absent or null).
    pub method: String,
    /// Raw `params`, None when absent or `null`.
    pub params: Option<&'a str>,
    /// Raw `id`, None when absent or `null` (echoed as `null`).
    pub id: Option<&'a str>,
}

/// Parses a request frame. An error means Go would fail the header decode and close the connection.
pub fn parse_request(frame: &[u8]) -> Result<Request<'_>, String> {
    let mut de = serde_json::Deserializer::from_slice(frame);
    let req = de.deserialize_any(RequestVisitor).map_err(|e| gojson::strip_position(&e))?;
    de.end().map_err(|e| gojson::strip_position(&e))?;
    Ok(req)
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = Request<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC request object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Request<'de>, E> {
        // Go decodes `null` into an empty request and answers "ill-formed".
        Ok(Request::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request<'de>, A::Error> {
        let mut req = Request::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let k = key.as_str();
            if k == "method" || eq_fold("method", k) {
                map.next_value_seed(gojson::Slot { slot: &mut req.method, ctx: Ctx::top("string") })?;
            } else if k == "params" || eq_fold("params", k) {
                req.params = map.next_value_seed(RawSeed)?;
            } else if k == "id" || eq_fold("id", k) {
                req.id = map.next_value_seed(RawSeed)?;
            } else {
                gojson::skip_value(&mut map)?;
            }
        }
        Ok(req)
    }
}

/// Raw value, None for `null` (Go sets a `*json.RawMessage` to nil on null).
struct RawSeed;

impl<'de> de::DeserializeSeed<'de> for RawSeed {
    type Value = Option<&'de str>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<&'de str>, D::Error> {
        let raw = next_raw_value(de)?;
        Ok(if raw == "null" { None } else { Some(raw) })
    }
}

/// Reads the envelope of the exact shape Go's client writes, `{"method":"S.M","params":[...],"id":N}` (compact,
/// in that order), from offsets alone: `params_end` is where the first nested member value ends (from the
/// frame scanner). None when the frame has any other shape; the general parser then handles it.
pub fn parse_go_shape(frame: &[u8], params_end: Option<usize>) -> Option<Request<'_>> {
    const HEAD: &[u8] = b"{\"method\":\"";
    const PARAMS: &[u8] = b"\",\"params\":[";
    const ID: &[u8] = b",\"id\":";
    let rest = frame.strip_prefix(HEAD)?;
    let quote = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[quote] != b'"' {
        return None;
    }
    let method = std::str::from_utf8(&rest[..quote]).ok()?;
    let after = &rest[quote..];
    if !after.starts_with(PARAMS) {
        return None;
    }
    let params_start = HEAD.len() + quote + PARAMS.len() - 1;
    let params_end = params_end?;
    if params_end <= params_start {
        return None;
    }
    let tail = frame.get(params_end..)?.strip_prefix(ID)?.strip_suffix(b"}")?;
    // A JSON integer: digits, and no leading zero (`02` is not JSON; Go's decoder fails on it).
    if tail.is_empty() || !tail.iter().all(u8::is_ascii_digit) || (tail.len() > 1 && tail[0] == b'0') {
        return None;
    }
    let text = std::str::from_utf8(frame).ok()?;
    let id_start = params_end + ID.len();
    Some(Request {
        method: method.to_string(),
        params: Some(&text[params_start..params_end]),
        id: Some(&text[id_start..id_start + tail.len()]),
    })
}

/// Why a call's params could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// Not valid JSON (only possible on the fast path, where the envelope did not validate the params): Go's
    /// decoder would have failed on the request and closed the connection.
    Malformed(String),
    /// Valid JSON of the wrong type: Go's error reply, method not called.
    Reply(String),
}

/// Decodes `params` into the method's argument as Go does: it is unmarshalled into `[1]interface{}` holding
/// the argument, so element 0 fills it, further elements are ignored, `[]` or `[null]` leaves it zero, and
/// anything but an array is an error.
pub fn decode_params<A: GoDecode + Default>(params: &str) -> Result<A, String> {
    decode_params_checked(params).map_err(|e| match e {
        ParamsError::Malformed(t) | ParamsError::Reply(t) => t,
    })
}

/// [`decode_params`], telling a syntax error (the connection must close) from a type error (a reply).
pub fn decode_params_checked<A: GoDecode + Default>(params: &str) -> Result<A, ParamsError> {
    let mut arg = A::default();
    let kind = raw_kind(params);
    if kind != "array" {
        return Err(ParamsError::Reply(format!(
            "json: cannot unmarshal {kind} into Go value of type [1]interface {{}}"
        )));
    }
    let mut de = serde_json::Deserializer::from_str(params);
    let r = de.deserialize_seq(ParamsVisitor { arg: &mut arg }).and_then(|()| de.end());
    match r {
        Ok(()) => Ok(arg),
        Err(e) if e.is_data() => Err(ParamsError::Reply(gojson::strip_position(&e))),
        Err(e) => Err(ParamsError::Malformed(gojson::strip_position(&e))),
    }
}

struct ParamsVisitor<'a, A> {
    arg: &'a mut A,
}

impl<'de, A: GoDecode> Visitor<'de> for ParamsVisitor<'_, A> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a params array")
    }
    fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        seq.next_element_seed(gojson::Slot { slot: self.arg, ctx: Ctx::top(A::GO_TYPE) })?;
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Appends `{"method":<m>,"params":[<args>],"id":<id>}\n`, the bytes a Go client writes.
pub fn write_request(out: &mut Vec<u8>, method: &str, args_json: &[u8], id: u64) {
    out.extend_from_slice(b"{\"method\":");
    gojson::write_string(out, method);
    out.extend_from_slice(b",\"params\":[");
    out.extend_from_slice(args_json);
    out.extend_from_slice(b"],\"id\":");
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(b"}\n");
}

/// Appends a reply as Go's server codec writes it: success carries `result` and `"error":null`, failure
/// `"result":null` and the error text. `id` is the raw request id (None gives `null`).
pub fn write_response(out: &mut Vec<u8>, id: Option<&str>, result: Result<&[u8], &str>) {
    out.extend_from_slice(b"{\"id\":");
    match id {
        Some(raw) => gojson::compact_into(out, raw.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    match result {
        Ok(r) => {
            out.extend_from_slice(b",\"result\":");
            out.extend_from_slice(r);
            out.extend_from_slice(b",\"error\":null}\n");
        }
        Err(text) => {
            out.extend_from_slice(b",\"result\":null,\"error\":");
            gojson::write_string(out, text);
            out.extend_from_slice(b"}\n");
        }
    }
}

/// A reply as a Go client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<'a> {
    /// The request id it answers.
    pub id: u64,
    /// The result, or the server's error text (`unspecified error` when it sent `""`).
    pub outcome: Result<&'a str, String>,
}

/// Parses a reply frame with Go's client rules. An error is a protocol violation that makes a Go client drop
/// the whole connection: a non-integer id, an `error` that is not a string, or a null result without an error.
pub fn parse_response(frame: &[u8]) -> Result<Response<'_>, String> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = (u64, Option<&'de str>, Option<&'de str>);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON-RPC response object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut id, mut result, mut error) = (0u64, None, None);
            while let Some(key) = map.next_key_seed(KeySeed)? {
                let k = key.as_str();
                if k == "id" || eq_fold("id", k) {
                    map.next_value_seed(gojson::Slot { slot: &mut id, ctx: Ctx::top("uint64") })?;
                } else if k == "result" || eq_fold("result", k) {
                    result = map.next_value_seed(RawSeed)?;
                } else if k == "error" || eq_fold("error", k) {
                    error = map.next_value_seed(RawSeed)?;
                } else {
                    gojson::skip_value(&mut map)?;
                }
            }
            Ok((id, result, error))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(frame);
    let (id, result, error) = de.deserialize_map(V).map_err(|e| gojson::strip_position(&e))?;
    de.end().map_err(|e| gojson::strip_position(&e))?;
    let outcome = match (result, error) {
        (Some(r), None) => Ok(r),
        (_, Some(e)) => {
            if raw_kind(e) != "string" {
                return Err(format!("invalid error {e}"));
            }
            let text: String = serde_json::from_str(e).map_err(|e| e.to_string())?;
            Err(if text.is_empty() { "unspecified error".to_string() } else { text })
        }
        (None, None) => return Err("invalid error <nil>".to_string()),
    };
    Ok(Response { id, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricValue, NullRpcRequest};

    #[test]
    fn requests_parse_like_go() {
        let r = parse_request(br#"{"METHOD":"A.B","Params":[{}],"ID":"x","id":7,"jsonrpc":"2.0"}"#).unwrap();
        assert_eq!(r, Request { method: "A.B".into(), params: Some("[{}]"), id: Some("7") });
        let r = parse_request(br#"{"method":"A.B","params":null,"id":null}"#).unwrap();
        assert_eq!(r, Request { method: "A.B".into(), params: None, id: None });
        assert_eq!(parse_request(b"null").unwrap(), Request::default());
        assert!(parse_request(br#"{"method":1}"#).is_err());
        assert!(parse_request(br#"{"method":"a" "x"}"#).is_err());
    }

    #[test]
    fn go_shape_envelope_from_offsets() {
        let f = br#"{"method":"Transfer.Update","params":[[{"a":"]"}]],"id":17}"#;
        // The scanner reports where the params array closed back to depth 1.
        let end = f.iter().rposition(|&b| b == b']').map(|i| i + 1);
        let r = parse_go_shape(f, end).unwrap();
        assert_eq!(r, Request { method: "Transfer.Update".into(), params: Some(r#"[[{"a":"]"}]]"#), id: Some("17") });
        // Anything else falls back to the general parser.
        assert!(parse_go_shape(br#"{"method":"X","params":[1],"id":"s"}"#, Some(25)).is_none());
        assert!(parse_go_shape(br#"{ "method":"X","params":[1],"id":1}"#, Some(26)).is_none());
        assert!(parse_go_shape(br#"{"method":"X","params":[1],"id":1,"id":2}"#, Some(25)).is_none());
        assert!(parse_go_shape(br#"{"method":"XA","params":[1],"id":1}"#, Some(31)).is_none());
        assert!(parse_go_shape(br#"{"method":"X","params":[1],"id":1}"#, None).is_none());
    }

    #[test]
    fn fuzz_regression_an_id_with_a_leading_zero_is_not_gos_shape() {
        // Found by the hbs_rpc fuzz target: the fast path took `"id":02`, which is not JSON, and the reply echoed
        // it (`{"id":02,...}`), a frame no JSON client parses. The general parser now sees it, and refuses it as
        // Go does.
        let f = br#"{"method":"X","params":[1],"id":02}"#;
        assert!(parse_go_shape(f, Some(26)).is_none());
        assert!(parse_request(f).is_err());
        assert_eq!(parse_go_shape(br#"{"method":"X","params":[1],"id":0}"#, Some(26)).unwrap().id, Some("0"));
    }

    #[test]
    fn params_syntax_errors_are_told_apart() {
        assert!(matches!(decode_params_checked::<Vec<Option<MetricValue>>>("[[{]]"), Err(ParamsError::Malformed(_))));
        assert!(matches!(decode_params_checked::<Vec<Option<MetricValue>>>("[5]"), Err(ParamsError::Reply(_))));
    }

    #[test]
    fn params_follow_go_array_rules() {
        let v: Vec<Option<MetricValue>> = decode_params(r#"[[{"metric":"m"}],{"extra":1}]"#).unwrap();
        assert_eq!(v.len(), 1);
        let v: Vec<Option<MetricValue>> = decode_params("[]").unwrap();
        assert!(v.is_empty());
        let _: NullRpcRequest = decode_params("[null]").unwrap();
        assert_eq!(
            decode_params::<Vec<Option<MetricValue>>>(r#"[{"not":"a list"}]"#).unwrap_err(),
            "json: cannot unmarshal object into Go value of type []*model.MetricValue"
        );
        assert_eq!(
            decode_params::<NullRpcRequest>(r#"{"a":1}"#).unwrap_err(),
            "json: cannot unmarshal object into Go value of type [1]interface {}"
        );
    }

    #[test]
    fn writes_go_bytes() {
        let mut out = Vec::new();
        write_request(&mut out, "Transfer.Update", b"[]", 0);
        assert_eq!(out, b"{\"method\":\"Transfer.Update\",\"params\":[[]],\"id\":0}\n");
        out.clear();
        write_response(&mut out, Some(" \"str-id\" "), Ok(b"{\"code\":0}"));
        assert_eq!(out, b"{\"id\":\"str-id\",\"result\":{\"code\":0},\"error\":null}\n");
        out.clear();
        write_response(&mut out, Some("1"), Err("rpc: can't find method Agent.NoSuchMethod"));
        assert_eq!(out, b"{\"id\":1,\"result\":null,\"error\":\"rpc: can't find method Agent.NoSuchMethod\"}\n");
        out.clear();
        write_response(&mut out, None, Err("x<y"));
        assert_eq!(out, b"{\"id\":null,\"result\":null,\"error\":\"x\\u003cy\"}\n");
    }

    #[test]
    fn responses_follow_go_client_rules() {
        let r = parse_response(br#"{"id":3,"result":{"code":0},"error":null}"#).unwrap();
        assert_eq!(r, Response { id: 3, outcome: Ok(r#"{"code":0}"#) });
        let r = parse_response(br#"{"id":3,"result":null,"error":"boom"}"#).unwrap();
        assert_eq!(r.outcome, Err("boom".to_string()));
        let r = parse_response(br#"{"id":3,"error":""}"#).unwrap();
        assert_eq!(r.outcome, Err("unspecified error".to_string()));
        assert_eq!(parse_response(br#"{"id":3,"result":null,"error":null}"#).unwrap_err(), "invalid error <nil>");
        assert!(parse_response(br#"{"id":3,"result":1,"error":5}"#).is_err());
        assert!(parse_response(br#"{"id":"x","result":1}"#).is_err());
    }
}
