//! Go's `net/rpc` with the `net/rpc/jsonrpc` codec: the protocol of agent -> transfer, agent -> HBS,
//! judge -> HBS and transfer -> transfer.
//!
//! - [`frame`]: splitting a stream into concatenated JSON values (never lines).
//! - [`envelope`]: request and reply objects, Go's error texts, params as `[1]interface{}`.
//! - [`registry`]: `"Service.Method"` -> typed handler.
//! - [`server`]: accept loop and per-connection dispatch.
//! - [`client`]: multiplexed client with timeouts and redial.

pub mod client;
pub mod envelope;
pub mod frame;
pub mod registry;
pub mod server;

pub use client::{CallError, Client, ClientConfig};
pub use registry::{Registry, RegistryError};
pub use server::{Server, ServerConfig, ServerStats};
