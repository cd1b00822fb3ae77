//! Open-Falcon's wire, as the Go v0.3 components speak it.
//!
//! - [`gojson`]: Go's `encoding/json` byte for byte (encoder, decoder semantics, float rules).
//! - [`model`]: the shared types (`MetricValue`, `JudgeItem`, `GraphItem`, the HBS types).
//! - [`tags`]: tag strings, PK, checksums.
//! - [`ring`]: the consistent-hash ring that shards series to judge and graph nodes.
//! - [`jsonrpc`]: Go's `net/rpc/jsonrpc` server and client (agent, HBS, transfer RPC).
//! - [`gob`]: Go's gob encoding and the `net/rpc` gob codec (transfer -> judge/graph).
//! - [`pool`]: bounded connection pools for fan-out, as Go's `conn_pool`.
//! - [`connect`]: how a client opens its stream (plain TCP, or a connector such as TLS).

pub mod connect;
pub mod gob;
pub mod gojson;
pub mod jsonrpc;
pub mod model;
pub mod netutil;
pub mod pool;
pub mod ring;
pub mod rpc_table;
pub mod tags;

pub use gojson::ser_f64;
