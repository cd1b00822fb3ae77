//! What a target tells the engine about one execution, so that inputs reaching new behaviour are kept and
//! mutated further: stable stand-ins for coverage, which the stable toolchain cannot give in process.
//!
//! A feature is a tag with a value (an outcome kind, an error's shape, a bucketed count). An input that
//! produces a feature no earlier input produced joins the in-memory corpus; the engine counts at most a few
//! dozen values per tag, so a tag whose values follow the input (an error quoting it) cannot flood the corpus
//! with noise. Features must not depend on the clock or on memory addresses: the supervisor replays runs and
//! expects the same corpus each time.

use crate::hash::{extend, fnv1a};
use std::cell::RefCell;
use std::fmt::Display;

thread_local! {
    static FEATURES: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

fn push(tag: u64, value: u64) {
    FEATURES.with(|f| f.borrow_mut().push((tag, value)));
}

/// Records that `tag` happened.
pub fn note(tag: &str) {
    push(fnv1a(tag.as_bytes()), 0);
}

/// Records `tag` with a count, in power-of-two buckets (0, 1, 2, 3-4, 5-8, ...) so that counts do not make
/// every input new.
pub fn note_n(tag: &str, n: usize) {
    let bucket = usize::BITS - n.saturating_sub(1).leading_zeros() + u32::from(n > 0);
    push(extend(fnv1a(tag.as_bytes()), b"#"), u64::from(bucket));
}

/// Records an error by the shape of its text: runs of digits, quoted text (errors quote the input they
/// complain about) and whatever follows the first 60 characters are left out, so `count 12 beyond message
/// end` and `count 9000 beyond message end` are one feature, and `"abc" is not a number` and `"abd" is not a
/// number` another. Otherwise every mutation of a rejected input would look new.
pub fn note_err(tag: &str, err: &dyn Display) {
    let text = err.to_string();
    let mut h = fnv1a(b"");
    let (mut last_digit, mut quoted, mut escaped) = (false, false, false);
    for c in text.chars().take(60) {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        if c == '"' {
            quoted = true;
            h = extend(h, b"\"\"");
            continue;
        }
        let digit = c.is_ascii_digit();
        if !(digit && last_digit) {
            let mut buf = [0u8; 4];
            h = extend(h, if digit { b"#" } else { c.encode_utf8(&mut buf).as_bytes() });
        }
        last_digit = digit;
    }
    push(extend(fnv1a(tag.as_bytes()), b":"), h);
}

/// Takes the features of the execution that just ended.
pub fn take() -> Vec<(u64, u64)> {
    FEATURES.with(|f| std::mem::take(&mut *f.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_error_shapes() {
        take();
        note_n("n", 3);
        note_n("n", 4);
        note_n("n", 5);
        let f = take();
        assert_eq!(f[0], f[1]);
        assert_ne!(f[1], f[2]);
        note_err("e", &"count 12 beyond end");
        note_err("e", &"count 9000 beyond end");
        note_err("e", &"\"ab\\\"c\" is not a number");
        note_err("e", &"\"x\" is not a number");
        let f = take();
        assert_eq!(f[0], f[1]);
        assert_eq!(f[2], f[3]);
        assert_ne!(f[1], f[2]);
        assert!(take().is_empty());
    }
}
