//! The JSON-RPC framer as a server runs it: concatenated values arriving in reads of any size. The first input
//! byte picks the read sizes and the frame bound (a small one, to reach the too-large path); the rest is the
//! stream.
//!
//! Checked: every frame is the next non-whitespace stretch of the stream (nothing skipped, reordered or
//! invented), starts like a request and ends with a bracket, stays within the bound, and its nested-end offset lies inside it; the
//! envelope's fast path agrees with the general parser whenever both accept a frame.

use crate::feedback::{note, note_err, note_n};
use crate::support::chunked::{run_ready, Chunked};
use falcon_proto::jsonrpc::envelope::{parse_go_shape, parse_request};
use falcon_proto::jsonrpc::frame::{FrameReader, DEFAULT_MAX_FRAME};

/// Frames read per input at most (an input of `{}{}{}...` has thousands).
const MAX_FRAMES: usize = 4096;

pub fn run(data: &[u8]) {
    let Some((&mode, stream)) = data.split_first() else { return };
    let max_chunk = [0, 1, 7, 64][usize::from(mode & 3)];
    let max_frame = if mode & 4 != 0 { 64 } else { DEFAULT_MAX_FRAME };
    let mut reader = FrameReader::new(Chunked::new(stream, u64::from(mode), max_chunk), max_frame);
    let mut pos = 0;
    let mut frames = 0;
    while frames < MAX_FRAMES {
        let Some(next) = run_ready(reader.next_frame_meta()) else {
            panic!("FrameReader waits on a stream that never blocks")
        };
        let (frame, nested_end) = match next {
            Ok(Some(f)) => f,
            Ok(None) => {
                note("eof");
                break;
            }
            Err(e) => {
                note_err("frame", &e);
                break;
            }
        };
        frames += 1;
        while stream.get(pos).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            pos += 1;
        }
        assert!(stream[pos..].starts_with(frame), "frame is not the next stretch of the stream");
        pos += frame.len();
        assert!(frame.len() <= max_frame, "frame of {} bytes over the {max_frame}-byte bound", frame.len());
        // The scanner balances brackets of either kind (`{"a":1]` is one frame; the envelope parser refuses it).
        let closed = matches!(frame.last(), Some(b'}' | b']'));
        assert!(frame == b"null" || (frame.first() == Some(&b'{') && closed), "odd frame");
        if let Some(end) = nested_end {
            assert!(end <= frame.len(), "nested end {end} beyond the frame");
        }
        let general = parse_request(frame);
        match (parse_go_shape(frame, nested_end), &general) {
            (Some(fast), Ok(slow)) => {
                note("both");
                assert_eq!(&fast, slow, "fast and general envelope parses disagree");
            }
            (Some(_), Err(_)) => note("fast-only"),
            (None, Ok(_)) => note("general-only"),
            (None, Err(e)) => note_err("envelope", e),
        }
    }
    note_n("frames", frames);
}
