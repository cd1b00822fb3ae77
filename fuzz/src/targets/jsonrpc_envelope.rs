//! One JSON-RPC frame as both ends read it. As a request: the envelope (general parser, and Go's fast shape
//! checked against it), the params decoded into every argument type a server registers (transfer, HBS) and the
//! reply written back with the request's id. As a reply: Go's client rules, the result decoded into every type
//! our clients expect.

use crate::feedback::{note, note_err};
use crate::support::chunked::run_ready;
use falcon_proto::gojson::{self, GoDecode};
use falcon_proto::jsonrpc::envelope::{
    decode_params_checked, parse_go_shape, parse_request, parse_response, write_response, ParamsError,
};
use falcon_proto::jsonrpc::frame::FrameReader;
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetricResponse, ExpressionResponse,
    MetricValue, NullRpcRequest, SimpleRpcResponse, StrategiesResponse, TransferResponse,
};
use falcon_transfer::wire::Incoming;

pub fn run(data: &[u8]) {
    request_side(data);
    reply_side(data);
}

fn request_side(data: &[u8]) {
    let general = parse_request(data);
    // The fast path needs the framer's offset of the first nested value.
    let mut reader = FrameReader::new(data, data.len().max(1));
    if let Some(Ok(Some((frame, nested)))) = run_ready(reader.next_frame_meta()) {
        if let (Some(fast), Ok(slow)) = (parse_go_shape(frame, nested), parse_request(frame)) {
            assert_eq!(fast, slow, "fast and general envelope parses disagree");
        }
        if let Some(fast) = parse_go_shape(frame, nested) {
            // The fast path has not validated the params: they must fail cleanly if malformed.
            params(fast.params.unwrap_or("null"));
            reply_is_json(fast.id);
        }
    }
    let req = match general {
        Ok(r) => r,
        Err(e) => {
            note_err("request", &e);
            return;
        }
    };
    note(if req.method.contains('.') { "method:dotted" } else { "method:other" });
    if let Some(p) = req.params {
        params(p);
    }
    reply_is_json(req.id);
}

/// Whatever the id was, the reply echoing it is one valid JSON value and a newline.
fn reply_is_json(id: Option<&str>) {
    let mut out = Vec::new();
    write_response(&mut out, id, Err("rpc: can't find method"));
    assert_eq!(out.last(), Some(&b'\n'));
    // Syntax only: the id is echoed raw, and JSON allows numbers no float holds (`-1e400`).
    if let Err(e) = serde_json::from_slice::<&serde_json::value::RawValue>(&out) {
        panic!("reply with id {id:?} is not JSON: {e}");
    }
}

fn params(p: &str) {
    decode::<Vec<Option<Incoming>>>(p, "Transfer.Update");
    decode::<Vec<Option<MetricValue>>>(p, "[]*MetricValue");
    decode::<AgentReportRequest>(p, "Agent.ReportStatus");
    decode::<AgentHeartbeatRequest>(p, "Agent.BuiltinMetrics");
    decode::<NullRpcRequest>(p, "Hbs.GetStrategies");
}

fn decode<A: GoDecode + Default>(params: &str, what: &str) {
    match decode_params_checked::<A>(params) {
        Ok(_) => note(what),
        Err(ParamsError::Reply(e)) => note_err(what, &e),
        Err(ParamsError::Malformed(e)) => note_err("malformed", &e),
    }
}

fn reply_side(data: &[u8]) {
    let resp = match parse_response(data) {
        Ok(r) => r,
        Err(e) => {
            note_err("response", &e);
            return;
        }
    };
    let Ok(result) = resp.outcome else {
        note("server-error");
        return;
    };
    let r = result.as_bytes();
    result_as::<BuiltinMetricResponse>(r, "BuiltinMetrics");
    result_as::<AgentPluginsResponse>(r, "MinePlugins");
    result_as::<String>(r, "TrustableIps");
    result_as::<SimpleRpcResponse>(r, "ReportStatus");
    result_as::<TransferResponse>(r, "Update");
    result_as::<StrategiesResponse>(r, "GetStrategies");
    result_as::<ExpressionResponse>(r, "GetExpressions");
}

fn result_as<R: GoDecode + Default>(raw: &[u8], what: &str) {
    match gojson::from_slice::<R>(raw) {
        Ok(_) => note(what),
        Err(e) => note_err(what, &e),
    }
}
