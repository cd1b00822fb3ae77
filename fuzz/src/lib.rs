//! falcon-fuzz: a mutation fuzzer on the stable toolchain (no nightly, no libFuzzer) for every function of
//! the workspace that reads bytes from outside: the wire (JSON-RPC, Go's JSON, gob), the transfer's receivers
//! and spool, the agent's plugin, check, push and HBS-reply handling and its /proc and tool parsers, the
//! HBS's RPC service, admin API and DSN, and the three config files.
//!
//! - [`targets`]: one file per target (`pub fn run(data: &[u8])`) and the registry.
//! - [`engine`]: the loop (seeds, mutation, feature-guided corpus, first finding ends a run); [`exec`]: one
//!   execution under watch (panic, time, memory); [`mutate`], [`rng`], [`feedback`], [`alloc`].
//! - [`corpus`]: `corpus/<target>/` seeds and `regressions/<target>/` saved findings.
//! - [`supervisor`]: the long-run command, which runs each target in a child process so that an abort
//!   (stack overflow, allocation failure) or a hang is caught too, and replays the run to save its input.
//! - [`report`]: the texts of reports and findings.
//!
//! `tests/fuzz_smoke.rs` runs every target briefly with a fixed seed and replays every saved regression.

pub mod alloc;
pub mod corpus;
pub mod engine;
pub mod exec;
pub mod feedback;
pub mod hash;
pub mod mutate;
pub mod report;
pub mod rng;
pub mod supervisor;
pub mod support;
pub mod targets;
