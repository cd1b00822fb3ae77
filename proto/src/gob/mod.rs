//! Go's gob encoding and the default `net/rpc` codec: transfer -> judge (`Judge.Send`) and transfer -> graph
//! (`Graph.Send`).
//!
//! - [`wire`]: primitive encodings.
//! - [`types`]: type definitions (`wireType`) in both directions.
//! - [`value`], [`decode`]: a general decoder into [`Value`] trees, per-stream definitions, bounds.
//! - [`convert`]: typed conversion with Go's field-matching rules.
//! - [`encode`]: typed encoding with Go's id assignment and definition order.
//! - [`model`]: schemas of `JudgeItem`, `GraphItem`, `SimpleRpcResponse` and net/rpc's headers.
//! - [`stream`]: length-prefixed messages from a socket.
//! - [`client`], [`server`]: `net/rpc` over gob.

pub mod client;
pub mod convert;
pub mod decode;
pub mod encode;
pub mod model;
pub mod server;
pub mod stream;
pub mod types;
pub mod value;
pub mod wire;

pub use client::{GobCallError, GobClient};
pub use convert::FromGob;
pub use decode::{Decoder, Message};
pub use encode::{Encoder, GobEncode, TypeTable};
pub use model::{EmptyStruct, RequestHeader, ResponseHeader};
pub use server::{GobRegistry, GobServer, GobServerConfig, GobServerStats};
pub use value::Value;

/// A gob stream problem.
#[derive(Debug, thiserror::Error)]
pub enum GobError {
    /// The socket failed.
    #[error("gob: i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended inside a message or value.
    #[error("gob: unexpected end of data")]
    Eof,
    /// Bytes that are not valid gob.
    #[error("gob: corrupted data: {0}")]
    Malformed(String),
    /// A message above the configured bound.
    #[error("gob: message of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The bound.
        limit: usize,
    },
    /// A value of a type id never defined on this stream.
    #[error("gob: unknown type id {0}")]
    UnknownType(i64),
    /// A feature we do not decode.
    #[error("gob: unsupported: {0}")]
    Unsupported(String),
    /// A value whose type does not fit the target.
    #[error("gob: type mismatch: {0}")]
    TypeMismatch(String),
    /// Values nested deeper than the bound.
    #[error("gob: values nested too deeply")]
    TooDeep,
}
