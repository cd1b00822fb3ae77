//! A counting wrapper around the system allocator: how many bytes one execution allocates, so that an input
//! that makes the code under test reserve far more memory than its size justifies is a finding, not a slow
//! out-of-memory kill in production.
//!
//! The fuzz binary and the smoke tests install it with `#[global_allocator]`; counting is per thread and only
//! between [`start`] and [`stop`], so test threads running other targets do not disturb each other. Without
//! the allocator installed every figure stays 0 and no allocation finding is ever reported.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The allocator: the system one, counted.
pub struct CountingAlloc;

static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialised and without destructors: reading them never allocates, as an allocator requires.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<u64> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
    if !ACTIVE.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    let _ = LIVE.try_with(|l| {
        let now = l.get().saturating_add(size as i64);
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
    let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
    let _ = TOTAL.try_with(|t| t.set(t.get().saturating_add(size as u64)));
}

fn on_free(size: usize) {
    if ACTIVE.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(size as i64)));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches thread-local cells.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        on_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            on_free(layout.size());
            on_alloc(new_size);
        }
        p
    }
}

/// What one execution allocated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Most bytes live at once, counting only what the execution allocated.
    pub peak: u64,
    /// The largest single request.
    pub largest: u64,
    /// Every byte requested, freed or not.
    pub total: u64,
}

/// Whether the counting allocator is the global one (it has seen an allocation).
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// Starts counting on this thread from zero.
pub fn start() {
    LIVE.with(|c| c.set(0));
    PEAK.with(|c| c.set(0));
    LARGEST.with(|c| c.set(0));
    TOTAL.with(|c| c.set(0));
    ACTIVE.with(|c| c.set(true));
}

/// Stops counting on this thread, keeping the figures for [`stop`] (what the harness itself allocates after a
/// panic, a symbolised backtrace of tens of MiB, is not the input's doing).
pub fn pause() {
    ACTIVE.with(|c| c.set(false));
}

/// Stops counting on this thread and returns the figures since [`start`].
pub fn stop() -> Usage {
    ACTIVE.with(|c| c.set(false));
    Usage {
        peak: PEAK.with(Cell::get).max(0) as u64,
        largest: LARGEST.with(Cell::get) as u64,
        total: TOTAL.with(Cell::get),
    }
}
