//! "What happened last, and when": the last successful send and the peer it went to, the last error of a link,
//! kept for the binaries' pages. The text is bounded, so a peer's long error message costs at most that.

use serde::Serialize;
use std::sync::Mutex;

/// Longest text kept, in bytes (cut at a character boundary).
pub const MAX_TEXT: usize = 300;

/// One event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event {
    /// Unix seconds.
    pub at: i64,
    /// What (an address, an error message), at most [`MAX_TEXT`] bytes.
    pub text: String,
}

/// The latest event of one kind.
#[derive(Debug, Default)]
pub struct Latest(Mutex<Option<Event>>);

impl Latest {
    /// Records `text` at `at`.
    pub fn set(&self, at: i64, text: &str) {
        let mut cut = text.len().min(MAX_TEXT);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Event { at, text: text[..cut].to_string() });
    }

    /// The latest, if any.
    pub fn get(&self) -> Option<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_with_bounded_text() {
        let l = Latest::default();
        assert_eq!(l.get(), None);
        l.set(5, "a");
        l.set(6, &"é".repeat(400));
        let e = l.get().unwrap_or_default();
        assert_eq!(e.at, 6);
        assert!(e.text.len() <= MAX_TEXT && e.text.len() >= MAX_TEXT - 1 && e.text.chars().all(|c| c == 'é'));
    }
}
