//! `falcon_proto::gojson::scanner`: the verdict must not depend on how the bytes arrive (whole, or in pieces
//! whose sizes the data chooses), and a value the scanner accepts must be one the decoder reads (as raw JSON).

use crate::feedback::{note, note_err};
use falcon_proto::gojson::scanner::{Scanner, Top};

/// The verdict on `data` fed in pieces of `sizes` (cycled): the end of the value, an error offset, or "more".
fn verdict(data: &[u8], top: Top, sizes: &[usize]) -> Result<Option<u64>, u64> {
    let mut s = Scanner::new(top);
    let mut done = 0usize;
    let mut k = 0;
    while done < data.len() {
        let n = sizes.get(k % sizes.len().max(1)).copied().unwrap_or(1).clamp(1, data.len() - done);
        k += 1;
        match s.feed(&data[done..done + n]) {
            Ok(Some(end)) => return Ok(Some((done + end) as u64)),
            Ok(None) => done += n,
            Err(e) => return Err(e.offset),
        }
    }
    match s.finish() {
        Ok(true) => Ok(Some(done as u64)),
        _ => Ok(None),
    }
}

pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let top = if first & 1 == 0 { Top::Any } else { Top::ObjectOrNull };
    let sizes: Vec<usize> = rest.iter().take(4).map(|&b| (b as usize % 17) + 1).collect();
    let whole = verdict(rest, top, &[usize::MAX]);
    let pieces = verdict(rest, top, &sizes);
    assert_eq!(whole, pieces, "the verdict depends on how the bytes arrive");
    match whole {
        Ok(Some(end)) => {
            note("value");
            let value = &rest[..end as usize];
            if let Err(e) = serde_json::from_slice::<&serde_json::value::RawValue>(value) {
                // serde_json refuses some inputs Go's decoder takes (lone surrogates in escapes are one): only
                // record it; the Go interop test checks the scanner against Go itself.
                note_err("serde", &e);
            }
        }
        Ok(None) => note("more"),
        Err(_) => note("syntax"),
    }
}
