//! The three ways data comes in: JSON-RPC `Transfer.Update` ([`rpc`]), HTTP `/api/push` (in `http`), and the
//! `update ...` line protocol ([`socket`]).

pub mod rpc;
pub mod socket;
