//! What a process has once and every server in it shares, below both the wire (`falcon-proto`, whose JSON-RPC
//! and gob servers stop, log and buffer through these) and the runtime (`falcon-runtime`, which re-exports them
//! for the binaries):
//!
//! - [`shutdown`]: a cloneable "stop now" signal, and the wait for SIGTERM/SIGINT.
//! - [`ratelog`]: logging a repeated failure at a bounded rate, with the number suppressed.
//! - [`budget`]: the bound on bytes buffered from clients, across every reader of the process.

pub mod budget;
pub mod ratelog;
pub mod shutdown;
