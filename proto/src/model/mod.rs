//! The Open-Falcon data model (`common/model` in Go), with Go's JSON keys and decoding rules.
//!
//! Tagged Go fields keep their lower-case JSON names (`endpoint`, `counterType`); untagged ones are
//! capitalised (`Hostname`, `Message`). The gob encodings of [`JudgeItem`] and [`GraphItem`] live in
//! [`crate::gob::model`].

mod agent;
mod graph;
mod judge;
mod metric;
mod rpc;
mod strategy;
mod updater;

pub use agent::{
    AgentHeartbeatRequest, AgentPluginsResponse, AgentReportRequest, BuiltinMetric, BuiltinMetricResponse,
};
pub use graph::GraphItem;
pub use judge::JudgeItem;
pub use metric::{GoValue, MetricValue, TransferResponse};
pub use rpc::{NullRpcRequest, SimpleRpcResponse};
pub use strategy::{Expression, ExpressionResponse, HostStrategy, StrategiesResponse, Strategy, Template};
pub use updater::{DesiredAgent, HeartbeatRequest, HeartbeatResponse, RealAgent};
