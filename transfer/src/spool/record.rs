//! One point as a spool record, and back: pure functions over bytes.
//!
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`, the payload
//! `timestamp: i64 | step: i64 | value: f64 bits | counter type: u8 | endpoint | metric | tags`, each string
//! as `u32 LE length | bytes`. The checksum finds a torn tail (a crash in the middle of a write) and any
//! other damage; decoding never trusts a length before checking it against what is there.

use crate::point::{canonical_tags, CounterType, Point};
use std::sync::Arc;

/// Bytes before the payload.
pub const HEADER: usize = 8;

/// The largest payload accepted when reading back: validated items are far smaller (metric and tags are at
/// most 510 bytes), so anything bigger is damage, not data.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A point, and the bytes its record took.
    Point(Point, usize),
    /// The buffer ends inside a record: read more (or, at the end of a file, a torn tail).
    Incomplete,
    /// Not a record.
    Corrupt(&'static str),
}

/// Appends the record of `p` to `out`.
pub fn encode(p: &Point, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.extend_from_slice(&p.timestamp.to_le_bytes());
    out.extend_from_slice(&p.step.to_le_bytes());
    out.extend_from_slice(&p.value.to_bits().to_le_bytes());
    out.push(match p.counter_type {
        CounterType::Gauge => 0,
        CounterType::Counter => 1,
        CounterType::Derive => 2,
    });
    for s in [&*p.endpoint, p.metric.as_str(), p.tags.as_str()] {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let payload_len = (out.len() - start - HEADER) as u32;
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Reads the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded {
    let (Some(len), Some(crc)) = (u32_at(buf, 0), u32_at(buf, 4)) else { return Decoded::Incomplete };
    let len = len as usize;
    if len > MAX_PAYLOAD {
        return Decoded::Corrupt("record length out of range");
    }
    let Some(payload) = buf.get(HEADER..HEADER + len) else { return Decoded::Incomplete };
    if crc32fast::hash(payload) != crc {
        return Decoded::Corrupt("checksum mismatch");
    }
    match parse_payload(payload) {
        Some(p) => Decoded::Point(p, HEADER + len),
        None => Decoded::Corrupt("malformed payload"),
    }
}

/// The length-prefixed string at `*at`, moving `*at` past it.
fn take_str<'b>(b: &'b [u8], at: &mut usize) -> Option<&'b str> {
    let n = u32_at(b, *at)? as usize;
    let end = at.checked_add(4)?.checked_add(n)?;
    let s = std::str::from_utf8(b.get(*at + 4..end)?).ok()?;
    *at = end;
    Some(s)
}

fn parse_payload(b: &[u8]) -> Option<Point> {
    let timestamp = u64_at(b, 0)? as i64;
    let step = u64_at(b, 8)? as i64;
    let value = f64::from_bits(u64_at(b, 16)?);
    let counter_type = match *b.get(24)? {
        0 => CounterType::Gauge,
        1 => CounterType::Counter,
        2 => CounterType::Derive,
        _ => return None,
    };
    let mut at = 25;
    let endpoint = take_str(b, &mut at)?;
    let metric = take_str(b, &mut at)?;
    let tags = take_str(b, &mut at)?;
    if at != b.len() {
        return None;
    }
    // Only accepted points are spooled, and their tags are canonical. Other tags are damage that the checksum
    // happened to pass, and must not go further: `tag_count` and `tag_pairs` disagree on them, and a gob map
    // written with the wrong count makes judge or graph refuse the whole batch, on every retry.
    if canonical_tags(tags.to_string()) != tags {
        return None;
    }
    Some(Point {
        endpoint: Arc::from(endpoint),
        metric: metric.to_string(),
        tags: tags.to_string(),
        value,
        timestamp,
        step,
        counter_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(v: f64, tags: &str) -> Point {
        Point {
            endpoint: Arc::from("host-é"),
            metric: "cpu.idle".into(),
            tags: tags.into(),
            value: v,
            timestamp: -5,
            step: 60,
            counter_type: CounterType::Derive,
        }
    }

    #[test]
    fn round_trips_every_value_and_odd_strings() {
        let mut buf = Vec::new();
        let pts: Vec<Point> =
            [f64::NAN, f64::INFINITY, -0.0, 1e308, -1e-300].iter().map(|&v| point(v, "a=1,b=\u{2028}")).collect();
        for p in &pts {
            encode(p, &mut buf);
        }
        encode(&point(1.0, ""), &mut buf);
        let mut at = 0;
        let mut got = Vec::new();
        while at < buf.len() {
            match decode(&buf[at..]) {
                Decoded::Point(p, n) => {
                    got.push(p);
                    at += n;
                }
                other => panic!("{other:?} at {at}"),
            }
        }
        assert_eq!(got.len(), 6);
        for (g, w) in got.iter().zip(&pts) {
            assert_eq!(g.value.to_bits(), w.value.to_bits(), "bit for bit, NaN included");
            assert_eq!((&*g.endpoint, g.tags.as_str(), g.timestamp), (&*w.endpoint, w.tags.as_str(), -5));
        }
        assert_eq!(got[5].tags, "");
    }

    #[test]
    fn torn_and_damaged_records_are_told_apart() {
        let mut buf = Vec::new();
        encode(&point(2.5, "k=v"), &mut buf);
        for cut in 0..buf.len() {
            assert_eq!(decode(&buf[..cut]), Decoded::Incomplete, "cut at {cut}");
        }
        for i in HEADER..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(matches!(decode(&bad), Decoded::Corrupt(_)), "flip at {i}");
        }
        let mut huge = buf.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge), Decoded::Corrupt("record length out of range"));
        // A payload whose checksum is right but whose inner lengths lie.
        let mut lie = vec![0u8; HEADER];
        let payload = [0u8; 25].iter().copied().chain(u32::MAX.to_le_bytes()).collect::<Vec<u8>>();
        lie[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        lie[4..8].copy_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        lie.extend_from_slice(&payload);
        assert_eq!(decode(&lie), Decoded::Corrupt("malformed payload"));
    }

    #[test]
    fn fuzz_regression_non_canonical_tags_are_damage() {
        // Found by the `transfer_spool` fuzz target: a checksum-correct record with the tags
        // `fstype}ext4,mount=/` decoded, and the graph batch written from it did not decode (two tags counted,
        // one written).
        let mut payload = Vec::new();
        payload.extend_from_slice(&1_795_261_457i64.to_le_bytes());
        payload.extend_from_slice(&10i64.to_le_bytes());
        payload.extend_from_slice(&83.7f64.to_bits().to_le_bytes());
        payload.push(0);
        for s in ["vm", "df.bytes.free.percent", "fstype}ext4,mount=/"] {
            payload.extend_from_slice(&(s.len() as u32).to_le_bytes());
            payload.extend_from_slice(s.as_bytes());
        }
        let mut rec = Vec::new();
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        rec.extend_from_slice(&payload);
        assert_eq!(decode(&rec), Decoded::Corrupt("malformed payload"));
    }
}
