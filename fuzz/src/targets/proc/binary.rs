//! Binary replies: an NTP server's packet and a sock_diag netlink dump.

use crate::feedback::{note, note_err, note_n};
use falcon_agent::collector::ntp::{ntp_to_unix, parse_reply, stamp, with_port, PACKET_LEN};
use falcon_agent::collector::sockdiag::{parse_dump, Progress};

/// An NTP reply. The request's transmit time is taken from the reply's originate field half of the time, so
/// that the offset arithmetic is reached, not only the check that rejects foreign replies.
pub fn ntp(data: &[u8]) {
    let sent = match data.get(24..32) {
        Some(b) if data.len().is_multiple_of(2) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => 0xE9A5_1234_8000_0000,
    };
    let received = ntp_to_unix(sent) + 0.010;
    match parse_reply(data, sent, received) {
        Ok(r) => {
            note("reply");
            for interval in [10, 60, i64::MAX] {
                let _ = stamp(1_795_261_457, interval, Some(&r));
            }
        }
        Err(e) => note_err("ntp", &e),
    }
    let server = String::from_utf8_lossy(&data[..data.len().min(PACKET_LEN)]);
    let addr = with_port(&server);
    assert!(addr.contains(':'), "{addr:?} has no port");
}

/// A sock_diag dump: the input as one reply datagram, then its second half as the next one (a dump spans
/// several, and the parser keeps no state between them).
pub fn sockdiag(data: &[u8]) {
    let mut ports = Vec::new();
    for dgram in [data, &data[data.len() / 2..]] {
        match parse_dump(dgram, &mut ports) {
            Ok(Progress::Done) => note("done"),
            Ok(Progress::More) => note("more"),
            Err(e) => note_err("diag", &e),
        }
    }
    note_n("ports", ports.len());
}
