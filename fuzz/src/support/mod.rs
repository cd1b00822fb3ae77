//! Shared pieces of the targets: driving async code over in-memory streams, and what transfer does with every
//! accepted point.

pub mod agent_out;
pub mod chunked;
pub mod hbs_state;
pub mod points;
pub mod rpc_conn;
pub mod runtime;
