//! Go's `encoding/json` semantics: the bytes decoded into each model type the wire carries, both as a whole
//! text (`json.Unmarshal`) and as the first value of a body (`json.Decoder`). Whatever decodes must encode with
//! Go's encoder and decode again to the same value. The same bytes as a numeric string go through Go's
//! `ParseFloat`, and a finite result must print and parse back to the same bits.

use crate::feedback::{note, note_err};
use falcon_proto::gojson::{self, format_go_f64, parse_go_float, GoDecode};
use falcon_proto::model::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetricResponse, ExpressionResponse,
    MetricValue, SimpleRpcResponse, StrategiesResponse, TransferResponse,
};
use serde::Serialize;
use std::fmt::Debug;

pub fn run(data: &[u8]) {
    round_trip::<Vec<Option<MetricValue>>>(data, "metrics");
    round_trip::<AgentReportRequest>(data, "report");
    round_trip::<AgentHeartbeatRequest>(data, "heartbeat");
    round_trip::<BuiltinMetricResponse>(data, "builtin");
    round_trip::<AgentPluginsResponse>(data, "plugins");
    round_trip::<StrategiesResponse>(data, "strategies");
    round_trip::<ExpressionResponse>(data, "expressions");
    round_trip::<TransferResponse>(data, "transfer");
    round_trip::<SimpleRpcResponse>(data, "simple");
    if let Ok(text) = std::str::from_utf8(data) {
        float(text);
    }
}

fn round_trip<T: GoDecode + Default + Serialize + PartialEq + Debug>(data: &[u8], what: &str) {
    let whole = gojson::from_slice::<T>(data);
    match gojson::from_first_value::<T>(data) {
        Ok(first) => {
            note(what);
            if let Ok(w) = &whole {
                assert_eq!(w, &first, "Unmarshal and Decoder disagree on a whole text");
            }
            let bytes = match gojson::to_vec(&first) {
                Ok(b) => b,
                Err(e) => panic!("decoded {what} does not encode: {e}"),
            };
            match gojson::from_slice::<T>(&bytes) {
                Ok(back) => assert_eq!(back, first, "{what} changed through encode and decode"),
                Err(e) => panic!("our encoding of {what} does not decode: {e}"),
            }
        }
        Err(e) => {
            note_err(what, &e);
            assert!(whole.is_err(), "Unmarshal accepts what Decoder refuses");
        }
    }
}

fn float(text: &str) {
    match parse_go_float(text) {
        Ok(v) if v.is_finite() => {
            note("float");
            let printed = format_go_f64(v);
            match parse_go_float(&printed) {
                Ok(back) => assert_eq!(back.to_bits(), v.to_bits(), "{text:?} -> {printed:?} -> {back}"),
                Err(e) => panic!("{printed:?} (from {text:?}) does not parse back: {e}"),
            }
        }
        Ok(_) => note("float:special"),
        Err(e) => note_err("float", &e),
    }
}
