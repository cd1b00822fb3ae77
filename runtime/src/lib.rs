//! What the three binaries share at run time that is not on the wire (the wire is `falcon-proto`):
//! [`logging`], one setup of the log output for all of them; [`body`], reading a JSON request body that is
//! refused at its first bad byte; [`auth`], who may call a state-changing HTTP route; [`tls`], the opt-in TLS of
//! the JSON-RPC links; [`buffers`], the config of the process's budget for bytes buffered from clients;
//! [`alloc`], allocator settings that give freed buffers back; [`exec`], running a program we do not control
//! (plugins, checks, an agent's `control`) with a deadline and bounded output.

pub mod alloc;
pub mod auth;
pub mod body;
pub mod buffers;
pub mod exec;
pub mod logging;
pub mod tls;
