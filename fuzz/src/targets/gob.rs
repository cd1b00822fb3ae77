//! Gob as judge, graph and our gob client read it: a recorded stream split into messages and decoded in order
//! (definitions remembered), each value converted into every type we accept (rpc headers, JudgeItem and
//! GraphItem lists, the small replies); and the same bytes read from a socket through `MessageReader`.
//!
//! Checked: a decoded value re-encodes against its own definitions, and that encoding decodes and re-encodes
//! to the same bytes; decoded item lists re-encode with our encoder into a stream that decodes to the same
//! number of items.

use crate::feedback::{note, note_err, note_n};
use crate::support::chunked::{run_ready, Chunked};
use falcon_proto::gob::encode::encode_value_message;
use falcon_proto::gob::stream::{split_messages, MessageReader};
use falcon_proto::gob::types::WireType;
use falcon_proto::gob::{Decoder, Encoder, FromGob, Message, RequestHeader, ResponseHeader, Value};
use falcon_proto::model::{GraphItem, JudgeItem, NullRpcRequest, SimpleRpcResponse};
use std::collections::HashSet;

/// Messages decoded per input at most.
const MAX_MESSAGES: usize = 1024;

pub fn run(data: &[u8]) {
    match split_messages(data) {
        Ok(msgs) => {
            note_n("messages", msgs.len());
            let mut dec = Decoder::new();
            for m in msgs.into_iter().take(MAX_MESSAGES) {
                if !decode_one(&mut dec, m) {
                    break;
                }
            }
        }
        Err(e) => note_err("split", &e),
    }
    from_socket(data);
}

/// The same stream read the way a server reads it, in small reads, with a 4 KiB message bound.
fn from_socket(data: &[u8]) {
    let mode = data.first().copied().unwrap_or(0);
    let mut reader = MessageReader::new(Chunked::new(data, u64::from(mode), 1 + usize::from(mode % 16)), 4096);
    let mut dec = Decoder::new();
    for _ in 0..MAX_MESSAGES {
        match run_ready(reader.next_message()) {
            None => panic!("MessageReader waits on a stream that never blocks"),
            Some(Ok(Some(m))) => {
                if dec.decode_message(m).is_err() {
                    break;
                }
            }
            Some(Ok(None)) => break,
            Some(Err(e)) => {
                note_err("socket", &e);
                break;
            }
        }
    }
}

/// Decodes one message; false when the stream is broken (a server closes the connection there).
fn decode_one(dec: &mut Decoder, msg: &[u8]) -> bool {
    match dec.decode_message(msg) {
        Ok(Message::TypeDef(_)) => {
            note("typedef");
            true
        }
        Ok(Message::Value(id, v)) => {
            note(v.kind());
            reencode(dec, id, &v);
            convert(v);
            true
        }
        Err(e) => {
            note_err("decode", &e);
            false
        }
    }
}

/// Every conversion a receiver of ours might apply to a body.
fn convert(v: Value) {
    ok("RequestHeader", RequestHeader::from_gob(v.clone()));
    ok("ResponseHeader", ResponseHeader::from_gob(v.clone()));
    ok("SimpleRpcResponse", SimpleRpcResponse::from_gob(v.clone()));
    ok("NullRpcRequest", NullRpcRequest::from_gob(v.clone()));
    if let Ok(items) = Vec::<JudgeItem>::from_gob(v.clone()) {
        note_n("judge", items.len());
        assert_eq!(items_round_trip(&items), items.len(), "judge items round trip");
    }
    if let Ok(items) = Vec::<GraphItem>::from_gob(v) {
        note_n("graph", items.len());
        assert_eq!(items_round_trip(&items), items.len(), "graph items round trip");
    }
}

fn ok<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) {
    match r {
        Ok(_) => note(what),
        Err(e) => note_err(what, &e),
    }
}

/// Encodes items with our encoder as a fresh stream and counts what our decoder gets back.
fn items_round_trip<T: falcon_proto::gob::encode::GobSliceElem + FromGob>(items: &[T]) -> usize {
    let mut out = Vec::new();
    Encoder::new().encode(items, &mut out);
    let msgs = split_messages(&out).unwrap_or_else(|e| panic!("our stream does not split: {e}"));
    let mut dec = Decoder::new();
    for m in msgs {
        match dec.decode_message(m) {
            Ok(Message::TypeDef(_)) => {}
            Ok(Message::Value(_, v)) => {
                return Vec::<T>::from_gob(v).unwrap_or_else(|e| panic!("our items do not convert: {e}")).len()
            }
            Err(e) => panic!("our items do not decode: {e}"),
        }
    }
    panic!("our stream has no value")
}

/// A value re-encodes against the definitions it came with; that message decodes and re-encodes identically.
fn reencode(dec: &Decoder, id: i64, v: &Value) {
    // The re-encoder finds fields by name, so a definition with a repeated field name cannot round-trip; such
    // a type is legal gob but nothing sends it.
    let unique_names = dec.types().values().all(|t| match t {
        WireType::Struct { fields, .. } => fields.iter().map(|f| &f.name).collect::<HashSet<_>>().len() == fields.len(),
        _ => true,
    });
    let first = match encode_value_message(dec.types(), id, v) {
        Ok(m) => m,
        Err(e) => {
            assert!(!unique_names, "decoded value does not re-encode: {e}");
            note_err("reencode", &e);
            return;
        }
    };
    let mut again = dec.clone();
    match again.decode_message(&first) {
        Ok(Message::Value(id2, v2)) => {
            assert_eq!(id2, id);
            let second = encode_value_message(again.types(), id2, &v2)
                .unwrap_or_else(|e| panic!("re-decoded value does not re-encode: {e}"));
            assert_eq!(first, second, "re-encoding is not stable");
        }
        other => panic!("re-encoded value does not decode: {other:?}"),
    }
}
