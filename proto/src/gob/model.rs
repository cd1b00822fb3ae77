//! Gob schemas and conversions for the types transfer exchanges with judge and graph, and net/rpc's headers.
//!
//! Wire names follow what Go sends: named top-level structs carry their name (`Request`,
//! `SimpleRpcResponse`), structs reached through `[]*T` and the slices themselves carry none, and maps carry
//! their type string (`map[string]string`).

use super::convert::{Fields, FromGob};
use super::encode::{DefKind, GobEncode, GobSliceElem, Schema, StructWriter, TypeDef};
use super::value::Value;
use super::GobError;
use crate::model::{GraphItem, JudgeItem, NullRpcRequest, SimpleRpcResponse};

/// `map[string]string`
pub static MAP_STRING_STRING: TypeDef = TypeDef {
    key: "map[string]string",
    wire_name: "map[string]string",
    kind: DefKind::Map(Schema::String, Schema::String),
};

/// `model.JudgeItem`
pub static JUDGE_ITEM: TypeDef = TypeDef {
    key: "model.JudgeItem",
    wire_name: "",
    kind: DefKind::Struct(&[
        ("Endpoint", Schema::String),
        ("Metric", Schema::String),
        ("Value", Schema::Float),
        ("Timestamp", Schema::Int),
        ("JudgeType", Schema::String),
        ("Tags", Schema::Def(&MAP_STRING_STRING)),
    ]),
};

/// `[]*model.JudgeItem`
pub static JUDGE_ITEMS: TypeDef =
    TypeDef { key: "[]*model.JudgeItem", wire_name: "", kind: DefKind::Slice(Schema::Def(&JUDGE_ITEM)) };

/// `model.GraphItem`
pub static GRAPH_ITEM: TypeDef = TypeDef {
    key: "model.GraphItem",
    wire_name: "",
    kind: DefKind::Struct(&[
        ("Endpoint", Schema::String),
        ("Metric", Schema::String),
        ("Tags", Schema::Def(&MAP_STRING_STRING)),
        ("Value", Schema::Float),
        ("Timestamp", Schema::Int),
        ("DsType", Schema::String),
        ("Step", Schema::Int),
        ("Heartbeat", Schema::Int),
        ("Min", Schema::String),
        ("Max", Schema::String),
    ]),
};

/// `[]*model.GraphItem`
pub static GRAPH_ITEMS: TypeDef =
    TypeDef { key: "[]*model.GraphItem", wire_name: "", kind: DefKind::Slice(Schema::Def(&GRAPH_ITEM)) };

/// HEAD's `model.P8sItem` (falcon2p8s's `rpc.P8sItem` has the same exported fields on the wire).
pub static P8S_ITEM: TypeDef = TypeDef {
    key: "model.P8sItem",
    wire_name: "",
    kind: DefKind::Struct(&[
        ("Endpoint", Schema::String),
        ("Metric", Schema::String),
        ("Tags", Schema::Def(&MAP_STRING_STRING)),
        ("Value", Schema::Float),
        ("Timestamp", Schema::Int),
        ("MetricType", Schema::String),
        ("Step", Schema::Int),
    ]),
};

/// `[]*model.P8sItem`
pub static P8S_ITEMS: TypeDef =
    TypeDef { key: "[]*model.P8sItem", wire_name: "", kind: DefKind::Slice(Schema::Def(&P8S_ITEM)) };

/// `rpc.Request`
pub static REQUEST: TypeDef = TypeDef {
    key: "rpc.Request",
    wire_name: "Request",
    kind: DefKind::Struct(&[("ServiceMethod", Schema::String), ("Seq", Schema::Uint)]),
};

/// `rpc.Response`
pub static RESPONSE: TypeDef = TypeDef {
    key: "rpc.Response",
    wire_name: "Response",
    kind: DefKind::Struct(&[("ServiceMethod", Schema::String), ("Seq", Schema::Uint), ("Error", Schema::String)]),
};

/// `model.SimpleRpcResponse`
pub static SIMPLE_RPC_RESPONSE: TypeDef = TypeDef {
    key: "model.SimpleRpcResponse",
    wire_name: "SimpleRpcResponse",
    kind: DefKind::Struct(&[("Code", Schema::Int)]),
};

/// `model.NullRpcRequest`
pub static NULL_RPC_REQUEST: TypeDef =
    TypeDef { key: "model.NullRpcRequest", wire_name: "NullRpcRequest", kind: DefKind::Struct(&[]) };

/// `struct{}`: the body Go's server sends with an error reply.
pub static EMPTY_STRUCT: TypeDef = TypeDef { key: "struct {}", wire_name: "", kind: DefKind::Struct(&[]) };

/// `rpc.Request`: the header before every call's argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeader {
    /// `Service.Method`
    pub service_method: String,
    /// Per-connection sequence number from 0.
    pub seq: u64,
}

/// `rpc.Response`: the header before every reply body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeader {
    /// Echo of the request's method.
    pub service_method: String,
    /// Echo of the request's sequence number.
    pub seq: u64,
    /// Error text, empty on success.
    pub error: String,
}

/// The empty struct Go sends as the body of an error reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyStruct;

impl GobEncode for RequestHeader {
    fn schema(&self) -> Schema {
        Schema::Def(&REQUEST)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        StructWriter::new(out).string(0, &self.service_method).uint(1, self.seq).finish();
    }
}

impl GobEncode for ResponseHeader {
    fn schema(&self) -> Schema {
        Schema::Def(&RESPONSE)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        StructWriter::new(out).string(0, &self.service_method).uint(1, self.seq).string(2, &self.error).finish();
    }
}

impl GobEncode for EmptyStruct {
    fn schema(&self) -> Schema {
        Schema::Def(&EMPTY_STRUCT)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(0);
    }
}

impl GobEncode for SimpleRpcResponse {
    fn schema(&self) -> Schema {
        Schema::Def(&SIMPLE_RPC_RESPONSE)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        StructWriter::new(out).int(0, self.code).finish();
    }
}

impl GobEncode for NullRpcRequest {
    fn schema(&self) -> Schema {
        Schema::Def(&NULL_RPC_REQUEST)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(0);
    }
}

impl GobEncode for JudgeItem {
    fn schema(&self) -> Schema {
        Schema::Def(&JUDGE_ITEM)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        StructWriter::new(out)
            .string(0, &self.endpoint)
            .string(1, &self.metric)
            .float(2, self.value)
            .int(3, self.timestamp)
            .string(4, &self.judge_type)
            .string_map(5, &self.tags)
            .finish();
    }
}

impl GobSliceElem for JudgeItem {
    const SLICE: &'static TypeDef = &JUDGE_ITEMS;
}

impl GobEncode for GraphItem {
    fn schema(&self) -> Schema {
        Schema::Def(&GRAPH_ITEM)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        StructWriter::new(out)
            .string(0, &self.endpoint)
            .string(1, &self.metric)
            .string_map(2, &self.tags)
            .float(3, self.value)
            .int(4, self.timestamp)
            .string(5, &self.ds_type)
            .int(6, self.step)
            .int(7, self.heartbeat)
            .string(8, &self.min)
            .string(9, &self.max)
            .finish();
    }
}

impl GobSliceElem for GraphItem {
    const SLICE: &'static TypeDef = &GRAPH_ITEMS;
}

impl FromGob for RequestHeader {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        let mut h = RequestHeader::default();
        Fields::of(v, "rpc.Request")?.fill("rpc.Request", &["ServiceMethod", "Seq"], |i, v| {
            match i {
                0 => h.service_method = String::from_gob(v)?,
                _ => h.seq = u64::from_gob(v)?,
            }
            Ok(())
        })?;
        Ok(h)
    }
}

impl FromGob for ResponseHeader {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        let mut h = ResponseHeader::default();
        Fields::of(v, "rpc.Response")?.fill("rpc.Response", &["ServiceMethod", "Seq", "Error"], |i, v| {
            match i {
                0 => h.service_method = String::from_gob(v)?,
                1 => h.seq = u64::from_gob(v)?,
                _ => h.error = String::from_gob(v)?,
            }
            Ok(())
        })?;
        Ok(h)
    }
}

impl FromGob for SimpleRpcResponse {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        let mut r = SimpleRpcResponse::default();
        Fields::of(v, "model.SimpleRpcResponse")?.fill("model.SimpleRpcResponse", &["Code"], |_, v| {
            r.code = i64::from_gob(v)?;
            Ok(())
        })?;
        Ok(r)
    }
}

impl FromGob for NullRpcRequest {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        Fields::of(v, "model.NullRpcRequest")?;
        Ok(NullRpcRequest {})
    }
}

impl FromGob for EmptyStruct {
    fn from_gob(_: Value) -> Result<Self, GobError> {
        // Go's client discards the error body whatever it is.
        Ok(EmptyStruct)
    }
}

impl FromGob for JudgeItem {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        let mut it = JudgeItem::default();
        let names = ["Endpoint", "Metric", "Value", "Timestamp", "JudgeType", "Tags"];
        Fields::of(v, "model.JudgeItem")?.fill("model.JudgeItem", &names, |i, v| {
            match i {
                0 => it.endpoint = String::from_gob(v)?,
                1 => it.metric = String::from_gob(v)?,
                2 => it.value = f64::from_gob(v)?,
                3 => it.timestamp = i64::from_gob(v)?,
                4 => it.judge_type = String::from_gob(v)?,
                _ => it.tags = FromGob::from_gob(v)?,
            }
            Ok(())
        })?;
        Ok(it)
    }
}

impl FromGob for GraphItem {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        let mut it = GraphItem::default();
        let names = ["Endpoint", "Metric", "Tags", "Value", "Timestamp", "DsType", "Step", "Heartbeat", "Min", "Max"];
        Fields::of(v, "model.GraphItem")?.fill("model.GraphItem", &names, |i, v| {
            match i {
                0 => it.endpoint = String::from_gob(v)?,
                1 => it.metric = String::from_gob(v)?,
                2 => it.tags = FromGob::from_gob(v)?,
                3 => it.value = f64::from_gob(v)?,
                4 => it.timestamp = i64::from_gob(v)?,
                5 => it.ds_type = String::from_gob(v)?,
                6 => it.step = i64::from_gob(v)?,
                7 => it.heartbeat = i64::from_gob(v)?,
                8 => it.min = String::from_gob(v)?,
                _ => it.max = String::from_gob(v)?,
            }
            Ok(())
        })?;
        Ok(it)
    }
}
