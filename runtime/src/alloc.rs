//! Allocator settings that give a request's memory back to the system once it is freed.
//!
//! A budget bounds what clients make the process buffer, but the allocator decides whether freed buffers
//! leave the process. Measured on glibc (the agent and the HBS): after 30 connections each sent a 3 MiB
//! message, RSS stayed at 20-25 MB against 8 MB idle, because glibc raises its mmap threshold to the size of
//! the largest chunk freed and serves later large buffers from arenas it rarely trims. A fixed threshold keeps
//! every buffer of 128 KiB or more in its own mapping, unmapped on free (docs/robustness.md has the figures).

/// glibc's `M_MMAP_THRESHOLD` (from `malloc.h`).
const M_MMAP_THRESHOLD: i32 = -3;
/// glibc's `M_TRIM_THRESHOLD`.
const M_TRIM_THRESHOLD: i32 = -1;

/// Buffers at least this large get their own mapping, returned to the system on free.
pub const MMAP_THRESHOLD: i32 = 128 << 10;

/// Sets glibc's thresholds to fixed values (a fixed mmap threshold also stops glibc from raising it); call
/// first thing in `main`. Returns whether glibc took them.
pub fn return_freed_memory() -> bool {
    // SAFETY: mallopt only sets the allocator's tunables; it is called before other threads exist.
    unsafe {
        let mmap = nix::libc::mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        let trim = nix::libc::mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
        mmap == 1 && trim == 1
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn glibc_takes_the_settings() {
        assert!(super::return_freed_memory());
    }
}
