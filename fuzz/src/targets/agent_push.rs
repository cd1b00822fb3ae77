//! The agent's `/v1/push` handler logic: a blank body refused, Go's first-value decode into MetricValue, each
//! item checked as transfer would (`invalid_reason`), the valid ones forwarded and encoded by the sender.
//! A valid item must encode: one that does not would cost the whole batch.

use crate::feedback::{note, note_err, note_n};
use crate::support::agent_out;
use falcon_agent::http::push::invalid_reason;
use falcon_proto::gojson;
use falcon_proto::model::MetricValue;

pub fn run(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let items: Vec<Option<MetricValue>> = match gojson::from_first_value(data) {
        Ok(v) => v,
        Err(e) => {
            note_err("decode", &e);
            return;
        }
    };
    let mut valid = Vec::new();
    for m in items.into_iter().flatten() {
        match invalid_reason(&m) {
            Some(why) => note(why),
            None => {
                if let Err(e) = gojson::to_vec(&m) {
                    panic!("a valid pushed item does not encode: {e}: {m:?}");
                }
                valid.push(m);
            }
        }
    }
    note_n("valid", valid.len());
    agent_out::forward(valid);
}
