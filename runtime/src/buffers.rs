//! The `buffers` config section every binary takes: its budget for bytes buffered from clients and its bound
//! on one request ([`crate::budget`] does the accounting).
//!
//! Defaults differ per binary (the transfer takes every agent's traffic), so each binary's config starts from
//! [`BuffersConfig::with_defaults`] and the file only overrides the keys it names.

use crate::budget::Budget;
use crate::cli::{invalid, ConfigError};
use falcon_proto::go_struct;
use std::sync::Arc;
use std::time::Duration;

/// A Go agent's whole cycle is about 30 KB; 4 MiB is over a hundred times that.
pub const DEFAULT_MAX_MESSAGE: i64 = 4 << 20;
/// The budget of the HBS and the agent: room for a dozen requests at the bound, on a small machine.
pub const DEFAULT_BUDGET: i64 = 64 << 20;
/// How long a reader waits for room before its connection is closed.
pub const DEFAULT_WAIT_MS: i64 = 10_000;
/// How long a started request may go without a new byte.
pub const DEFAULT_STALL_SECONDS: i64 = 60;

go_struct! {
    /// Ours: memory that clients' requests may hold. Go reads any request whole, whatever its size.
    pub struct BuffersConfig => "g.BuffersConfig", custom_default {
        /// Bytes buffered from all clients at once (JSON-RPC messages and HTTP bodies being read, over every
        /// listener); a reader that needs more waits for room.
        pub budget_bytes: i64 = "budgetBytes",
        /// The largest single request (a JSON-RPC message, an HTTP body); larger ones close the connection or
        /// get 413. Go has no bound: raise this (and the budget) to accept what an old client sends.
        pub max_message_bytes: i64 = "maxMessageBytes",
        /// Milliseconds a reader waits for room in a spent budget before its connection is closed.
        pub wait_ms: i64 = "waitMs",
        /// Seconds a started request may go without a new byte before its connection is closed (0: never).
        pub stall_seconds: i64 = "stallSeconds",
    }
}

impl Default for BuffersConfig {
    fn default() -> Self {
        Self::with_defaults(DEFAULT_BUDGET, DEFAULT_MAX_MESSAGE)
    }
}

impl BuffersConfig {
    /// A section with this binary's budget and message bound, and the common waits.
    pub fn with_defaults(budget_bytes: i64, max_message_bytes: i64) -> Self {
        BuffersConfig {
            budget_bytes,
            max_message_bytes,
            wait_ms: DEFAULT_WAIT_MS,
            stall_seconds: DEFAULT_STALL_SECONDS,
        }
    }

    /// Refuses values that cannot work, naming the key (`section` is where the section sits, e.g. `buffers`).
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{section}.{k}");
        if self.budget_bytes < 1 << 20 {
            return Err(invalid(&key("budgetBytes"), "must be at least 1048576 (1 MiB)"));
        }
        if self.max_message_bytes < 1 << 10 {
            return Err(invalid(&key("maxMessageBytes"), "must be at least 1024"));
        }
        let largest = self.budget().largest_lease();
        if self.max_message_bytes as u64 >= largest as u64 {
            return Err(invalid(
                &key("maxMessageBytes"),
                format!("must be below {largest}: one request at the bound must fit in 7/8 of budgetBytes"),
            ));
        }
        if !(0..=3_600_000).contains(&self.wait_ms) {
            return Err(invalid(&key("waitMs"), "must be between 0 and 3600000"));
        }
        if !(0..=86_400).contains(&self.stall_seconds) {
            return Err(invalid(&key("stallSeconds"), "must be between 0 and 86400"));
        }
        Ok(())
    }

    /// The budget these settings describe (call once per process: every listener shares it).
    pub fn budget(&self) -> Arc<Budget> {
        let stall = (self.stall_seconds > 0).then(|| Duration::from_secs(self.stall_seconds as u64));
        Budget::new(
            self.budget_bytes.max(0) as usize,
            self.max_message(),
            Duration::from_millis(self.wait_ms.max(0) as u64),
            stall,
        )
    }

    /// The bound on one request.
    pub fn max_message(&self) -> usize {
        self.max_message_bytes.max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_keep_the_binarys_defaults() {
        let mut c = BuffersConfig::with_defaults(256 << 20, 16 << 20);
        falcon_proto::gojson::decode_into(
            br#"{"waitMs": 500}"#,
            &mut c,
            falcon_proto::gojson::Ctx::top("g.BuffersConfig"),
        )
        .unwrap();
        assert_eq!((c.budget_bytes, c.max_message_bytes, c.wait_ms, c.stall_seconds), (256 << 20, 16 << 20, 500, 60));
        c.validate("buffers").unwrap();
        assert_eq!(c.budget().limit(), 256 << 20);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let bad = |f: fn(&mut BuffersConfig), want: &str| {
            let mut c = BuffersConfig::default();
            f(&mut c);
            let e = c.validate("buffers").unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        bad(|c| c.budget_bytes = 1000, "buffers.budgetBytes");
        bad(|c| c.max_message_bytes = 10, "buffers.maxMessageBytes");
        bad(|c| c.max_message_bytes = c.budget_bytes, "7/8 of budgetBytes");
        bad(|c| c.wait_ms = -1, "buffers.waitMs");
        bad(|c| c.stall_seconds = 100_000, "buffers.stallSeconds");
    }
}
