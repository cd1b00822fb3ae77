//! Everything transfer derives from an accepted point before it leaves: the ring key, the judge, graph and
//! p8s gob batches, the OpenTSDB line, the archive line, the InfluxDB line, the relay's MetricValue, the remote
//! write request, the spool record and the `/trace` view. Receiver targets run their points through here, so a
//! point a receiver accepts but an output cannot handle is found too.
//!
//! Two round trips are checked: a spool record decodes to the point it was made from, and a gob batch we
//! encode decodes with our own decoder into as many items.

use crate::feedback::{note, note_err, note_n};
use falcon_proto::gob::{Decoder, FromGob, Message};
use falcon_proto::gob::{Encoder, GobEncode};
use falcon_proto::model::{GraphItem, JudgeItem};
use falcon_proto::ring::HashRing;
use falcon_transfer::point::{
    relay_value, write_tsdb_line, CounterType, GraphBatch, JudgeBatch, P8sBatch, Point, TraceEntry,
};
use falcon_transfer::sender::{archive, influxdb, remote_write};
use falcon_transfer::spool::record;
use std::sync::Arc;

thread_local! {
    // Three nodes as a small cluster has them; building a ring is not what is tested here.
    static RING: Option<HashRing> = HashRing::new(["graph-00", "graph-01", "graph-02"], 50).ok();
}

/// Runs `points` through every output form.
pub fn exercise(points: Vec<Point>) {
    note_n("points", points.len());
    if points.is_empty() {
        return;
    }
    let points: Vec<Arc<Point>> = points.into_iter().map(Arc::new).collect();
    let (mut pk, mut text, mut bytes) = (String::new(), String::new(), Vec::new());
    for p in &points {
        p.write_pk(&mut pk);
        RING.with(|r| r.as_ref().map(|r| r.get_index(&pk)));
        write_tsdb_line(&mut text, p);
        archive::write_line(&mut bytes, p);
        if influxdb::line(p, 1_000_000_000).is_none() {
            note("influx:unsendable");
        }
        if let Err(e) = falcon_proto::gojson::to_vec(&relay_value(p)) {
            note_err("relay", &e);
        }
        spool_round_trip(p);
    }
    if let Err(e) = falcon_runtime::render::data_json(&points.iter().cloned().map(TraceEntry).collect::<Vec<_>>()) {
        note_err("trace", &e);
    }
    let _ = influxdb::body(&points, 1000);
    let req = remote_write::request(&points, "hostname");
    match remote_write::encode(&req) {
        Ok(body) => match falcon_transfer::http::remote_write_in::decode_body(&body, usize::MAX) {
            Ok(back) => assert_eq!(back.timeseries.len(), req.timeseries.len(), "remote write round trip"),
            Err(e) => panic!("our remote write body does not decode: {e}"),
        },
        Err(e) => note_err("remote_write", &e),
    }
    for min_step in [1, 30] {
        let judge = gob_round_trip(&JudgeBatch { points: &points, min_step });
        assert_eq!(decode_items::<JudgeItem>(&judge), points.len(), "judge batch round trip");
        let graph = gob_round_trip(&GraphBatch { points: &points, min_step });
        assert_eq!(decode_items::<GraphItem>(&graph), points.len(), "graph batch round trip");
        let p8s: Vec<Arc<Point>> = points.iter().filter(|p| p.counter_type != CounterType::Derive).cloned().collect();
        gob_round_trip(&P8sBatch { points: &p8s, min_step });
    }
}

/// A spool record decodes to the point it was made from, with nothing left over.
fn spool_round_trip(p: &Point) {
    let mut buf = Vec::new();
    record::encode(p, &mut buf);
    match record::decode(&buf) {
        record::Decoded::Point(q, len) => {
            assert_eq!(len, buf.len(), "spool record length");
            let same = q.endpoint == p.endpoint
                && q.metric == p.metric
                && q.tags == p.tags
                && q.value.to_bits() == p.value.to_bits()
                && (q.timestamp, q.step, q.counter_type) == (p.timestamp, p.step, p.counter_type);
            // Records longer than the decoder's bound are refused on the way back (documented); others must match.
            assert!(same, "spool record round trip changed the point");
        }
        other => {
            let over = buf.len() > record::HEADER + record::MAX_PAYLOAD;
            assert!(over, "spool record of an accepted point does not decode: {other:?}");
            note("spool:oversize");
        }
    }
}

/// Encodes a batch as a fresh stream.
fn gob_round_trip<T: GobEncode + ?Sized>(batch: &T) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new().encode(batch, &mut out);
    out
}

/// Decodes a stream of definitions and one slice value into items; panics if our own encoding does not decode.
fn decode_items<T: FromGob>(stream: &[u8]) -> usize {
    let msgs = match falcon_proto::gob::stream::split_messages(stream) {
        Ok(m) => m,
        Err(e) => panic!("our gob stream does not split: {e}"),
    };
    let mut dec = Decoder::new();
    for m in msgs {
        match dec.decode_message(m) {
            Ok(Message::TypeDef(_)) => {}
            Ok(Message::Value(_, v)) => match Vec::<T>::from_gob(v) {
                Ok(items) => return items.len(),
                Err(e) => panic!("our gob batch does not convert back: {e}"),
            },
            Err(e) => panic!("our gob batch does not decode: {e}"),
        }
    }
    panic!("our gob stream has no value")
}
