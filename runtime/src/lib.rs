//! What the binaries share at run time that is not on the wire (the wire is `falcon-proto`):
//!
//! - [`cli`]: Go's `-c <file>` and `-v`, the config file read with errors naming it.
//! - [`logging`]: one setup of the log output for all of them (text or JSON, stderr or a rotated [`logfile`]).
//! - [`hangup`]: SIGHUP reopens the log file and reloads the config.
//! - [`listen`]: Go-style listen addresses (`:6030`).
//! - [`render`]: Go's HTTP envelopes (`{"msg":"success","data":...}`); [`http_serve`]: serving a router with
//!   bounded and idle-closed connections.
//! - [`metrics`]: `GET /metrics` in the Prometheus text format, with [`metrics_process`]' `process_*` series.
//! - [`outcomes`]: bounded counts of outcomes per subject, for metrics.
//! - [`history`], [`ui`]: the last hour of a few numbers, and the plot script and style of the binaries' pages.
//! - [`latest`]: the last event of a kind (a send, an error) with its time, for pages.
//! - [`timefmt`]: Go's `2006-01-02 15:04:05` local timestamps.
//! - [`body`]: reading a JSON request body that is refused at its first bad byte.
//! - [`auth`]: who may call a state-changing HTTP route; [`redact`]: addresses and secrets as replies and logs
//!   may show them.
//! - [`tls`]: the opt-in TLS of the JSON-RPC links.
//! - [`buffers`]: the config of the process's budget for bytes buffered from clients.
//! - [`alloc`]: allocator settings that give freed buffers back.
//! - [`exec`]: running a program we do not control (plugins, checks, an agent's `control`) with a deadline and
//!   bounded output.
//! - [`shutdown`], [`ratelog`], [`budget`]: re-exported from `falcon-base`, where they sit so that the wire
//!   servers in `falcon-proto` can use them too.

pub use falcon_base::{budget, ratelog, shutdown};

pub mod alloc;
pub mod auth;
pub mod body;
pub mod buffers;
pub mod cli;
pub mod exec;
pub mod hangup;
pub mod history;
pub mod http_serve;
pub mod latest;
pub mod listen;
pub mod logfile;
pub mod logging;
pub mod metrics;
pub mod metrics_process;
pub mod outcomes;
pub mod redact;
pub mod render;
pub mod timefmt;
pub mod tls;
pub mod ui;
