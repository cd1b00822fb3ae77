//! A transfer spool segment read back after a crash or disk damage: records decoded one after another as the
//! spool's scan does, until a torn or corrupt one. An even first byte takes the rest as a segment; an odd one
//! takes it as one record's payload and writes a correct header in front, so the payload parser sees mutated
//! data rather than checksum mismatches. What decodes goes through every output form (spooled points were
//! accepted once, but their fields are whatever the disk now holds).

use crate::feedback::{note, note_n};
use crate::support::points;
use falcon_transfer::spool::record::{decode, Decoded, HEADER};

/// Records decoded per input at most.
const MAX_RECORDS: usize = 256;

pub fn run(data: &[u8]) {
    let Some((&mode, raw)) = data.split_first() else { return };
    let segment = if mode % 2 == 0 {
        raw.to_vec()
    } else {
        let mut s = Vec::with_capacity(raw.len() + HEADER);
        s.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        s.extend_from_slice(&crc32fast::hash(raw).to_le_bytes());
        s.extend_from_slice(raw);
        s
    };
    let mut at = 0;
    let mut out = Vec::new();
    while at < segment.len() && out.len() < MAX_RECORDS {
        match decode(&segment[at..]) {
            Decoded::Point(p, len) => {
                assert!(len >= HEADER && at + len <= segment.len(), "record length {len} outside the segment");
                at += len;
                out.push(p);
            }
            Decoded::Incomplete => {
                note("torn");
                break;
            }
            Decoded::Corrupt(why) => {
                note(why);
                break;
            }
        }
    }
    note_n("records", out.len());
    points::exercise(out);
}
