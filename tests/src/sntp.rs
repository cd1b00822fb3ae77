//! A loopback SNTP server (RFC 4330) for tests: answers every client request with its clock shifted by a
//! chosen amount, so that an agent's offset and its server-time stamping can be checked.

use std::net::UdpSocket;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// NTP's 64-bit fixed point for `t`.
fn to_ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = (d.as_secs() + 2_208_988_800) & 0xFFFF_FFFF;
    (secs << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// Starts a server on 127.0.0.1 whose clock is `shift_secs` ahead (negative: behind); it stops after 60 s
/// without a request. Returns its address.
pub fn start(shift_secs: f64) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind SNTP server");
    let _ = sock.set_read_timeout(Some(Duration::from_secs(60)));
    let addr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    std::thread::spawn(move || {
        let mut buf = [0u8; 48];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if n < 48 {
                continue;
            }
            let now = SystemTime::now();
            let shift = Duration::from_secs_f64(shift_secs.abs());
            let t = if shift_secs >= 0.0 { now + shift } else { now - shift };
            let mut r = [0u8; 48];
            r[0] = 4 << 3 | 4; // version 4, server mode
            r[1] = 2; // stratum 2
            r[24..32].copy_from_slice(&buf[40..48]); // originate = the client's transmit
            r[32..40].copy_from_slice(&to_ntp(t).to_be_bytes());
            r[40..48].copy_from_slice(&to_ntp(t).to_be_bytes());
            let _ = sock.send_to(&r, from);
        }
    });
    addr
}
