//! An accepted data point (Go's `MetaData`) and the forms each output needs.
//!
//! One `Point` is built per accepted item and shared (`Arc`) by the judge queue, every graph address queue,
//! tsdb and the relay. The judge and graph gob bodies are written straight from it, with the step raised to
//! minStep and the timestamp aligned at encode time, so nothing is copied per output.

use falcon_proto::gob::encode::{GobEncode, Schema, StructWriter};
use falcon_proto::gob::model::{GRAPH_ITEMS, JUDGE_ITEMS, P8S_ITEMS};
use falcon_proto::gob::wire::put_uint;
use falcon_proto::model::{GoValue, MetricValue};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::sync::Arc;

/// The three counter types transfer accepts (case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterType {
    /// A value as is.
    Gauge,
    /// A cumulative counter (graph stores it as DERIVE).
    Counter,
    /// A derive.
    Derive,
}

impl CounterType {
    /// Parses Go's exact strings.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GAUGE" => Some(CounterType::Gauge),
            "COUNTER" => Some(CounterType::Counter),
            "DERIVE" => Some(CounterType::Derive),
            _ => None,
        }
    }

    /// The wire string (judge's `JudgeType`, the relay's `counterType`).
    pub fn as_str(self) -> &'static str {
        match self {
            CounterType::Gauge => "GAUGE",
            CounterType::Counter => "COUNTER",
            CounterType::Derive => "DERIVE",
        }
    }

    /// Graph's data-source type: GAUGE stays, COUNTER and DERIVE become DERIVE.
    pub fn ds_type(self) -> &'static str {
        match self {
            CounterType::Gauge => "GAUGE",
            _ => "DERIVE",
        }
    }

    /// Graph's `Min`: `U` for GAUGE, `0` otherwise.
    pub fn graph_min(self) -> &'static str {
        match self {
            CounterType::Gauge => "U",
            _ => "0",
        }
    }
}

/// A validated item.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Host (shared by the items of one agent).
    pub endpoint: Arc<str>,
    /// Metric name.
    pub metric: String,
    /// Go's `SortedTags` of the parsed tags: `k=v` pairs by key, joined with `,` (`""` for none). Keys never
    /// contain `,` or `=` and values never contain `,`, so this splits back unambiguously.
    pub tags: String,
    /// The value.
    pub value: f64,
    /// Normalised (now for <= 0 or > 2*now) but not aligned.
    pub timestamp: i64,
    /// As sent.
    pub step: i64,
    /// Counter type.
    pub counter_type: CounterType,
}

impl Point {
    /// The parsed tags, in key order.
    pub fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.split(',').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('='))
    }

    /// How many tags.
    pub fn tag_count(&self) -> usize {
        if self.tags.is_empty() {
            0
        } else {
            self.tags.bytes().filter(|&b| b == b',').count() + 1
        }
    }

    /// Go's PK (`endpoint/metric[/tags]`), the ring key, into a reused buffer.
    pub fn write_pk(&self, out: &mut String) {
        out.clear();
        out.push_str(&self.endpoint);
        out.push('/');
        out.push_str(&self.metric);
        if !self.tags.is_empty() {
            out.push('/');
            out.push_str(&self.tags);
        }
    }

    /// Step raised to `min_step`, and the timestamp aligned to it: what judge and graph receive.
    pub fn aligned(&self, min_step: i64) -> (i64, i64) {
        let step = self.step.max(min_step).max(1);
        (step, self.timestamp - self.timestamp % step)
    }
}

/// Reused buffers of [`canonical_tags`]: the output, and (start, `=`, end) offsets of each pair.
type TagScratch = (String, Vec<(usize, usize, usize)>);

thread_local! {
    static TAG_SCRATCH: std::cell::RefCell<TagScratch> = const { std::cell::RefCell::new((String::new(), Vec::new())) };
}

/// Go's `DictedTagstring` then `SortedTags`: spaces removed, pieces without `=` dropped, split on the first
/// `=`, last duplicate wins, sorted by key. Works in the input's own buffer (the result is never longer).
pub fn canonical_tags(mut raw: String) -> String {
    if raw.is_empty() {
        return raw;
    }
    if raw.contains(' ') {
        raw.retain(|c| c != ' ');
    }
    // Already canonical (every piece a pair, keys strictly increasing): nothing to do.
    let mut prev: Option<&str> = None;
    let canonical = raw.split(',').all(|piece| match piece.split_once('=') {
        Some((k, _)) => {
            let ok = prev.is_none_or(|p| p < k);
            prev = Some(k);
            ok
        }
        None => false,
    });
    if canonical {
        return raw;
    }
    TAG_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let (out, pairs) = &mut *scratch;
        pairs.clear();
        let mut start = 0;
        for piece in raw.split(',') {
            if let Some(eq) = piece.find('=') {
                pairs.push((start, start + eq, start + piece.len()));
            }
            start += piece.len() + 1;
        }
        let key = |p: &(usize, usize, usize)| &raw[p.0..p.1];
        // A stable sort keeps input order among equal keys; keeping the last of each run is Go's last-wins.
        pairs.sort_by(|a, b| key(a).cmp(key(b)));
        out.clear();
        for (i, p) in pairs.iter().enumerate() {
            if pairs.get(i + 1).is_some_and(|n| key(n) == key(p)) {
                continue;
            }
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&raw[p.0..p.2]);
        }
        raw.clear();
        raw.push_str(out);
    });
    raw
}

/// `[]*JudgeItem` written from points.
pub struct JudgeBatch<'a> {
    /// The items.
    pub points: &'a [Arc<Point>],
    /// Transfer's minStep.
    pub min_step: i64,
}

impl GobEncode for JudgeBatch<'_> {
    fn schema(&self) -> Schema {
        Schema::Def(&JUDGE_ITEMS)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_uint(out, self.points.len() as u64);
        for p in self.points {
            let (_, ts) = p.aligned(self.min_step);
            StructWriter::new(out)
                .string(0, &p.endpoint)
                .string(1, &p.metric)
                .float(2, p.value)
                .int(3, ts)
                .string(4, p.counter_type.as_str())
                .string_pairs(5, p.tag_count(), p.tag_pairs())
                .finish();
        }
    }
}

/// `[]*GraphItem` written from points.
pub struct GraphBatch<'a> {
    /// The items.
    pub points: &'a [Arc<Point>],
    /// Transfer's minStep.
    pub min_step: i64,
}

impl GobEncode for GraphBatch<'_> {
    fn schema(&self) -> Schema {
        Schema::Def(&GRAPH_ITEMS)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_uint(out, self.points.len() as u64);
        for p in self.points {
            let (step, ts) = p.aligned(self.min_step);
            StructWriter::new(out)
                .string(0, &p.endpoint)
                .string(1, &p.metric)
                .string_pairs(2, p.tag_count(), p.tag_pairs())
                .float(3, p.value)
                .int(4, ts)
                .string(5, p.counter_type.ds_type())
                .int(6, step)
                // Go computes `Step * 2` in int64, which wraps for an absurd step (the line protocol takes any).
                .int(7, step.wrapping_mul(2))
                .string(8, p.counter_type.graph_min())
                .string(9, "U")
                .finish();
        }
    }
}

/// `[]*P8sItem` written from points (HEAD's `convert2P8sRelayItem`): the value rounded through `%.3f`, the step
/// raised to minStep and the timestamp aligned to it, `MetricType` the counter type. DERIVE points must have
/// been left out by the caller: HEAD refuses them.
pub struct P8sBatch<'a> {
    /// The items (GAUGE and COUNTER only).
    pub points: &'a [Arc<Point>],
    /// Transfer's minStep.
    pub min_step: i64,
}

impl GobEncode for P8sBatch<'_> {
    fn schema(&self) -> Schema {
        Schema::Def(&P8S_ITEMS)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_uint(out, self.points.len() as u64);
        let mut text = String::with_capacity(32);
        for p in self.points {
            let (step, ts) = p.aligned(self.min_step);
            StructWriter::new(out)
                .string(0, &p.endpoint)
                .string(1, &p.metric)
                .string_pairs(2, p.tag_count(), p.tag_pairs())
                .float(3, round3(p.value, &mut text))
                .int(4, ts)
                .string(5, p.counter_type.as_str())
                .int(6, step)
                .finish();
        }
    }
}

/// `strconv.ParseFloat(fmt.Sprintf("%.3f", v), 64)`: both sides round exactly, so printing and reading back
/// gives Go's value bit for bit (NaN and the infinities pass through).
pub fn round3(v: f64, scratch: &mut String) -> f64 {
    if !v.is_finite() {
        return v;
    }
    scratch.clear();
    let _ = write!(scratch, "{v:.3}");
    scratch.parse().unwrap_or(v)
}

/// Appends the OpenTSDB line for `p`: `put <metric> <ts> <value %.3f> ` then `k=v ` per tag, with an
/// `endpoint` tag overriding any of that name, keys lower-cased, spaces turned into `_`; the raw timestamp.
/// Go emits tags in random map order; we emit them sorted.
pub fn write_tsdb_line(out: &mut String, p: &Point) {
    let _ = write!(out, "put {} {} {} ", p.metric, p.timestamp, go_fixed3(p.value));
    let mut tags: Vec<(String, String)> = p
        .tag_pairs()
        .filter(|(k, _)| *k != "endpoint")
        .map(|(k, v)| (k.replace(' ', "_").to_lowercase(), v.replace(' ', "_")))
        .collect();
    tags.push(("endpoint".into(), p.endpoint.replace(' ', "_")));
    tags.sort();
    for (k, v) in tags {
        let _ = write!(out, "{k}={v} ");
    }
    out.push('\n');
}

/// Go's `%.3f`, including its spelling of the non-finite values.
fn go_fixed3(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v:.3}")
    }
}

/// The MetricValue the relay sends for `p`: sorted tag string, original step, normalised unaligned timestamp.
/// A NaN or infinite value goes as the string Go's `ParseFloat` reads back (`"NaN"`, `"+Inf"`), because JSON has
/// no number for it; Go's relay fails the whole batch there.
pub fn relay_value(p: &Point) -> MetricValue {
    let value = if p.value.is_finite() { GoValue::Number(p.value) } else { GoValue::String(go_fixed3(p.value)) };
    MetricValue {
        endpoint: p.endpoint.to_string(),
        metric: p.metric.clone(),
        value,
        step: p.step,
        counter_type: p.counter_type.as_str().to_string(),
        tags: p.tags.clone(),
        timestamp: p.timestamp,
    }
}

/// A point as `/trace` and `/filter` show it: Go's `list.Element` holding a `MetaData`.
pub struct TraceEntry(pub Arc<Point>);

struct TagMap<'a>(&'a Point);

impl Serialize for TagMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.tag_count()))?;
        for (k, v) in self.0.tag_pairs() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct MetaData<'a>(&'a Point);

impl Serialize for MetaData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut st = s.serialize_struct("MetaData", 7)?;
        st.serialize_field("metric", &p.metric)?;
        st.serialize_field("endpoint", &*p.endpoint)?;
        st.serialize_field("timestamp", &p.timestamp)?;
        st.serialize_field("step", &p.step)?;
        st.serialize_field("value", &GoF64(p.value))?;
        st.serialize_field("counterType", p.counter_type.as_str())?;
        st.serialize_field("tags", &TagMap(p))?;
        st.end()
    }
}

struct GoF64(f64);

impl Serialize for GoF64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        falcon_proto::ser_f64(&self.0, s)
    }
}

impl Serialize for TraceEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Element", 1)?;
        st.serialize_field("Value", &MetaData(&self.0))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use falcon_proto::gob::{Encoder, FromGob};
    use falcon_proto::model::{GraphItem, JudgeItem};
    use falcon_proto::tags;

    fn point(tags: &str, ct: CounterType, step: i64, ts: i64) -> Point {
        Point {
            endpoint: Arc::from("vm"),
            metric: "m".into(),
            tags: canonical_tags(tags.into()),
            value: 2.5,
            timestamp: ts,
            step,
            counter_type: ct,
        }
    }

    #[test]
    fn canonical_tags_match_go_parse_then_sort() {
        for raw in ["", "a=1", "b=2,a=1", " b = 2 , a=1", "junk,a=1,,a=2,=x,k=", "mount=/,fstype=ext4", "a=b=c,a=1,a=2"]
        {
            let want = tags::sorted_tags(&tags::parse_tags(raw));
            assert_eq!(canonical_tags(raw.to_string()), want, "{raw:?}");
        }
        let p = point("mount=/,fstype=ext4", CounterType::Gauge, 10, 1);
        assert_eq!(p.tag_pairs().collect::<Vec<_>>(), vec![("fstype", "ext4"), ("mount", "/")]);
        assert_eq!(p.tag_count(), 2);
        let mut pk = String::new();
        p.write_pk(&mut pk);
        assert_eq!(pk, tags::pk("vm", "m", &tags::parse_tags("mount=/,fstype=ext4")));
    }

    #[test]
    fn gob_views_decode_to_gos_conversion() {
        let pts: Vec<Arc<Point>> = vec![
            Arc::new(point("b=2,a=1", CounterType::Gauge, 10, 1_795_261_457)),
            Arc::new(point("", CounterType::Counter, 60, 1_795_261_457)),
            Arc::new(point("x=1", CounterType::Derive, 5, 1_795_261_457)),
        ];
        let decode = |bytes: &[u8]| {
            let mut dec = falcon_proto::gob::Decoder::new();
            let mut last = None;
            for m in falcon_proto::gob::stream::split_messages(bytes).unwrap() {
                if let falcon_proto::gob::Message::Value(_, v) = dec.decode_message(m).unwrap() {
                    last = Some(v);
                }
            }
            last.unwrap()
        };
        let mut out = Vec::new();
        Encoder::new().encode(&GraphBatch { points: &pts, min_step: 30 }, &mut out);
        let g = Vec::<GraphItem>::from_gob(decode(&out)).unwrap();
        assert_eq!((g[0].step, g[0].heartbeat, g[0].timestamp), (30, 60, 1_795_261_440));
        assert_eq!((g[0].ds_type.as_str(), g[0].min.as_str(), g[0].max.as_str()), ("GAUGE", "U", "U"));
        assert_eq!(g[0].tags, tags::parse_tags("a=1,b=2"));
        assert_eq!(
            (g[1].step, g[1].timestamp, g[1].ds_type.as_str(), g[1].min.as_str()),
            (60, 1_795_261_440, "DERIVE", "0")
        );
        assert_eq!((g[2].ds_type.as_str(), g[2].step), ("DERIVE", 30));
        assert!(g[1].tags.is_empty());
        out.clear();
        Encoder::new().encode(&JudgeBatch { points: &pts, min_step: 30 }, &mut out);
        let j = Vec::<JudgeItem>::from_gob(decode(&out)).unwrap();
        assert_eq!((j[1].judge_type.as_str(), j[1].timestamp, j[1].value), ("COUNTER", 1_795_261_440, 2.5));
        assert_eq!(j[0].tags.len(), 2);
    }

    #[test]
    fn p8s_items_round_the_value_and_align_like_head() {
        use falcon_proto::gob::Value;
        let mut a = point("b=2,a=1", CounterType::Gauge, 10, 1_795_261_457);
        a.value = 0.0005; // %.3f rounds the exact binary value, which is just above one half: 0.001
        let mut c = point("", CounterType::Counter, 60, 1_795_261_457);
        c.value = f64::NAN;
        let pts = vec![Arc::new(a), Arc::new(c)];
        let mut out = Vec::new();
        falcon_proto::gob::Encoder::new().encode(&P8sBatch { points: &pts, min_step: 30 }, &mut out);
        let mut dec = falcon_proto::gob::Decoder::new();
        let mut last = None;
        for m in falcon_proto::gob::stream::split_messages(&out).unwrap() {
            if let falcon_proto::gob::Message::Value(_, v) = dec.decode_message(m).unwrap() {
                last = Some(v);
            }
        }
        let Some(Value::Seq(items)) = last else { panic!("not a slice") };
        let field = |i: usize, name: &str| match &items[i] {
            Value::Struct(f) => f.iter().find(|(n, _)| &**n == name).map(|(_, v)| v.clone()),
            _ => None,
        };
        assert_eq!(field(0, "Value"), Some(Value::Float(0.001)));
        assert_eq!(field(0, "Step"), Some(Value::Int(30)));
        assert_eq!(field(0, "Timestamp"), Some(Value::Int(1_795_261_440)));
        assert_eq!(field(0, "MetricType"), Some(Value::String(b"GAUGE".to_vec())));
        assert!(matches!(field(0, "Tags"), Some(Value::Map(m)) if m.len() == 2));
        assert_eq!(field(1, "MetricType"), Some(Value::String(b"COUNTER".to_vec())));
        assert!(matches!(field(1, "Value"), Some(Value::Float(v)) if v.is_nan()));
        // Go sends a zero-length map that is not nil, and MetaData's tags never are.
        assert_eq!((field(1, "Step"), field(1, "Tags")), (Some(Value::Int(60)), Some(Value::Map(vec![]))));
        let mut s = String::new();
        assert_eq!(round3(2.0004999, &mut s), 2.0);
        assert_eq!(round3(-1e300, &mut s), -1e300);
        assert_eq!(round3(f64::INFINITY, &mut s), f64::INFINITY);
    }

    #[test]
    fn tsdb_and_relay_forms() {
        let mut p = point("B Key=x y,endpoint=other", CounterType::Gauge, 60, 1_700_000_003);
        p.value = 97.5;
        let mut line = String::new();
        write_tsdb_line(&mut line, &p);
        // Spaces were already removed by the tag parser; keys are lower-cased; endpoint overrides the tag.
        assert_eq!(line, "put m 1700000003 97.500 bkey=xy endpoint=vm \n");
        p.value = f64::NAN;
        let r = relay_value(&p);
        assert_eq!(r.value, GoValue::String("NaN".into()));
        assert_eq!((r.step, r.timestamp, r.tags.as_str()), (60, 1_700_000_003, "BKey=xy,endpoint=other"));
    }

    #[test]
    fn trace_entry_json_is_gos() {
        let p = Arc::new(point("", CounterType::Gauge, 10, 1_795_261_607));
        let s = falcon_proto::gojson::to_string(&TraceEntry(p)).unwrap();
        assert_eq!(
            s,
            r#"{"Value":{"metric":"m","endpoint":"vm","timestamp":1795261607,"step":10,"value":2.5,"counterType":"GAUGE","tags":{}}}"#
        );
    }

    #[test]
    fn fuzz_regression_graph_heartbeat_of_an_absurd_step_wraps_as_in_go() {
        // Found by the `transfer_socket` fuzz target: `update vm m 1 2 GAUGE 9223372036854775807` overflowed
        // `step * 2`. Go's int64 arithmetic wraps, and so does ours now.
        let pts = vec![Arc::new(point("", CounterType::Gauge, i64::MAX, 1_795_261_457))];
        let mut out = Vec::new();
        Encoder::new().encode(&GraphBatch { points: &pts, min_step: 30 }, &mut out);
        let mut dec = falcon_proto::gob::Decoder::new();
        let mut items = Vec::new();
        for m in falcon_proto::gob::stream::split_messages(&out).unwrap() {
            if let falcon_proto::gob::Message::Value(_, v) = dec.decode_message(m).unwrap() {
                items = Vec::<GraphItem>::from_gob(v).unwrap();
            }
        }
        assert_eq!((items[0].step, items[0].heartbeat), (i64::MAX, i64::MAX.wrapping_mul(2)));
    }
}
