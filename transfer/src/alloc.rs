//! The transfer's allocator settings: memory freed after a flood of large requests leaves the process.
//!
//! The binary allocates with mimalloc (items are allocated on one shard and freed on another, where glibc is
//! slow). By default mimalloc keeps freed pages, purging them 10 ms later but only when the thread that owns
//! them allocates again, so an idle transfer kept its peak: 71 MB RSS after one refused 96 MiB message, 250 MB
//! after twenty 15 MiB ones. Three settings bring it back to idle within seconds (docs/robustness.md):
//! - purge at once (`purge_delay` 0): no measurable cost at 118,000 or 850,000 items/s;
//! - no transparent huge pages (the crate's `no_thp` build feature): a 2 MiB page stays resident while any
//!   4 KiB of it is in use (idle RSS 11 MB with them, 5 MB without);
//! - every thread that reads from clients collects its own heap every [`COLLECT_EVERY`] ([`collect_loop`]):
//!   pages a quiet thread freed are otherwise never looked at again (12 MB after the flood instead of 6).

use std::time::Duration;

/// mimalloc's option id of `purge_delay` (`mi_option_e` in the v3 `mimalloc.h` the crate builds).
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// How often each runtime thread hands its freed pages back.
pub const COLLECT_EVERY: Duration = Duration::from_secs(2);

/// Sets the options; call first thing in `main`.
pub fn configure() {
    // SAFETY: mi_option_set only stores a tunable; it runs before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

/// Collects the calling thread's heap every [`COLLECT_EVERY`]; spawn one on every runtime thread.
pub async fn collect_loop() {
    loop {
        tokio::time::sleep(COLLECT_EVERY).await;
        // SAFETY: a non-forced collect of the calling thread's own heap, which mimalloc allows at any time.
        unsafe { libmimalloc_sys::mi_collect(false) }
    }
}
