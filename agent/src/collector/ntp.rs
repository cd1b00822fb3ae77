//! `sys.ntp.offset` and `sys.ntp.fail`: the local clock against an NTP server, by one SNTP query (RFC 4330)
//! per server, in the configured order, until one answers in time.
//!
//! The offset is `((T2 - T1) + (T3 - T4)) / 2` in milliseconds, server minus local: positive when the local
//! clock is behind. A reply is accepted only if it answers our request (its originate timestamp is the
//! transmit timestamp we sent), comes from a synchronised server (leap indicator not 3, stratum 1 to 15) and is
//! a server-mode packet. The caller stamps these items with the server's time when the local clock is off by
//! more than an interval, so that an alarm on them can still fire (a judge drops points far from now).

use super::{gauge, Sample};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// An SNTP packet without extensions.
pub const PACKET_LEN: usize = 48;

/// Why a server gave no offset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NtpError {
    /// Name resolution, socket or timeout.
    #[error("{0}")]
    Io(String),
    /// The reply is not an answer we can use.
    #[error("unusable reply: {0}")]
    Reply(&'static str),
}

/// A timestamp as NTP's 64-bit fixed point (seconds since 1900, 32-bit fraction).
pub fn to_ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET) & 0xFFFF_FFFF;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// NTP fixed point to seconds since the Unix epoch (era 0 before 2036, era 1 after, by RFC 4330's rule).
pub fn ntp_to_unix(ts: u64) -> f64 {
    let secs = ts >> 32;
    // RFC 4330 §3: if the most significant bit is clear, the time is in era 1 (from 2036-02-07).
    let secs = if secs & 0x8000_0000 == 0 { secs + (1 << 32) } else { secs };
    let frac = (ts & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    secs as f64 - NTP_UNIX_OFFSET as f64 + frac
}

/// A client request carrying `transmit` (LI 0, version 4, mode 3).
pub fn request(transmit: u64) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    p[0] = 4 << 3 | 3;
    p[40..48].copy_from_slice(&transmit.to_be_bytes());
    p
}

/// What one answered query gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reply {
    /// Server minus local, milliseconds.
    pub offset_ms: f64,
    /// The server's clock when the reply arrived, Unix seconds.
    pub server_now: f64,
}

fn ts_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Checks a reply to the request that carried `sent` (local transmit time, NTP format), received at
/// `received` (local, Unix seconds), and computes the offset.
pub fn parse_reply(b: &[u8], sent: u64, received: f64) -> Result<Reply, NtpError> {
    if b.len() < PACKET_LEN {
        return Err(NtpError::Reply("shorter than 48 bytes"));
    }
    let (li, mode, stratum) = (b[0] >> 6, b[0] & 7, b[1]);
    if mode != 4 {
        return Err(NtpError::Reply("not a server reply"));
    }
    if li == 3 || stratum == 0 || stratum > 15 {
        return Err(NtpError::Reply("server not synchronised (or a kiss-o'-death)"));
    }
    if ts_at(b, 24) != sent {
        return Err(NtpError::Reply("originate timestamp is not ours"));
    }
    let (t2, t3) = (ts_at(b, 32), ts_at(b, 40));
    if t3 == 0 {
        return Err(NtpError::Reply("no transmit timestamp"));
    }
    let (t1, t2, t3, t4) = (ntp_to_unix(sent), ntp_to_unix(t2), ntp_to_unix(t3), received);
    let offset = ((t2 - t1) + (t3 - t4)) / 2.0;
    Ok(Reply { offset_ms: offset * 1000.0, server_now: t4 + offset })
}

/// `host` -> `host:123`; `host:port` and `[v6]:port` as given.
pub fn with_port(server: &str) -> String {
    let s = server.trim();
    let has_port = match s.rsplit_once(':') {
        Some((host, port)) => port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    };
    if has_port {
        s.to_string()
    } else if s.contains(':') && !s.starts_with('[') {
        format!("[{s}]:123")
    } else {
        format!("{s}:123")
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// One bounded query of `server` (`host:port`).
pub fn query(server: &str, timeout: Duration) -> Result<Reply, NtpError> {
    let deadline = Instant::now() + timeout;
    let addr: SocketAddr = server
        .to_socket_addrs()
        .map_err(|e| NtpError::Io(format!("resolve {server}: {e}")))?
        .next()
        .ok_or_else(|| NtpError::Io(format!("resolve {server}: no address")))?;
    let local: SocketAddr = if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let io = |e: std::io::Error| NtpError::Io(format!("{server}: {e}"));
    let sock = UdpSocket::bind(local).map_err(io)?;
    sock.connect(addr).map_err(io)?;
    let sent = to_ntp(SystemTime::now());
    sock.send(&request(sent)).map_err(io)?;
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NtpError::Io(format!("{server}: no answer in {} ms", timeout.as_millis())));
        }
        sock.set_read_timeout(Some(left)).map_err(io)?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(io(e)),
        };
        match parse_reply(&buf[..n], sent, unix_now()) {
            // A stray or late datagram for an earlier request: keep waiting for ours.
            Err(NtpError::Reply("originate timestamp is not ours")) => continue,
            r => return r,
        }
    }
}

/// The cycle's NTP items and, when a server answered, its clock.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `sys.ntp.offset` (when a server answered) and `sys.ntp.fail`.
    pub samples: Vec<Sample>,
    /// The server's clock (Unix seconds) and the offset, ms, from the server that answered.
    pub server: Option<Reply>,
}

/// Asks the servers in order until one answers.
pub fn collect(servers: &[String], timeout: Duration) -> Outcome {
    for s in servers.iter().filter(|s| !s.trim().is_empty()) {
        let server = with_port(s);
        match query(&server, timeout) {
            Ok(r) => {
                return Outcome {
                    samples: vec![
                        gauge("sys.ntp.offset", r.offset_ms, format!("server={server}")),
                        gauge("sys.ntp.fail", 0.0, ""),
                    ],
                    server: Some(r),
                }
            }
            Err(e) => tracing::warn!(%server, error = %e, "NTP query failed"),
        }
    }
    Outcome { samples: vec![gauge("sys.ntp.fail", 1.0, "")], server: None }
}

/// The timestamp for the NTP items: the server's clock when the local one is off by more than `interval`
/// seconds, else the cycle's.
pub fn stamp(cycle_ts: i64, interval: i64, server: Option<&Reply>) -> i64 {
    match server {
        Some(r) if r.offset_ms.abs() > interval as f64 * 1000.0 => r.server_now.round() as i64,
        _ => cycle_ts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_eras() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_261_450_250);
        let n = to_ntp(t);
        assert!((ntp_to_unix(n) - 1_795_261_450.25).abs() < 1e-6);
        // 2040 is in era 1: its 32-bit seconds wrapped.
        let t = UNIX_EPOCH + Duration::from_secs(2_208_988_800);
        assert!((ntp_to_unix(to_ntp(t)) - 2_208_988_800.0).abs() < 1e-6);
        let r = request(n);
        assert_eq!(r[0], 0x23);
        assert_eq!(ts_at(&r, 40), n);
    }

    fn reply(li_vn_mode: u8, stratum: u8, origin: u64, t2: u64, t3: u64) -> Vec<u8> {
        let mut r = vec![0u8; 48];
        r[0] = li_vn_mode;
        r[1] = stratum;
        r[24..32].copy_from_slice(&origin.to_be_bytes());
        r[32..40].copy_from_slice(&t2.to_be_bytes());
        r[40..48].copy_from_slice(&t3.to_be_bytes());
        r
    }

    #[test]
    fn offset_formula_and_rejections() {
        let at = |s: f64| to_ntp(UNIX_EPOCH + Duration::from_secs_f64(s));
        // Local sent at 1000, server got it at 1010.1 and answered at 1010.2, local received at 1000.3:
        // offset = ((1010.1 - 1000) + (1010.2 - 1000.3)) / 2 = 10 s.
        let sent = at(1000.0);
        let r = parse_reply(&reply(0x24, 2, sent, at(1010.1), at(1010.2)), sent, 1000.3).unwrap();
        assert!((r.offset_ms - 10_000.0).abs() < 0.01, "{r:?}");
        assert!((r.server_now - 1010.3).abs() < 0.001);
        let ok = reply(0x24, 2, sent, at(1.0), at(1.0));
        assert!(parse_reply(&ok[..40], sent, 0.0).is_err());
        assert_eq!(parse_reply(&reply(0x23, 2, sent, 1, 1), sent, 0.0), Err(NtpError::Reply("not a server reply")));
        assert!(parse_reply(&reply(0xE4, 2, sent, 1, 1), sent, 0.0).is_err(), "alarm: unsynchronised");
        assert!(parse_reply(&reply(0x24, 0, sent, 1, 1), sent, 0.0).is_err(), "kiss-o'-death");
        assert!(parse_reply(&reply(0x24, 2, sent + 1, 1, 1), sent, 0.0).is_err(), "not our request");
        assert!(parse_reply(&reply(0x24, 2, sent, 1, 0), sent, 0.0).is_err());
    }

    #[test]
    fn ports_and_stamps() {
        assert_eq!(with_port("pool.ntp.org"), "pool.ntp.org:123");
        assert_eq!(with_port("10.0.0.1:1123"), "10.0.0.1:1123");
        assert_eq!(with_port("::1"), "[::1]:123");
        assert_eq!(with_port("[::1]:5"), "[::1]:5");
        let r = Reply { offset_ms: 120_000.0, server_now: 5000.4 };
        assert_eq!(stamp(100, 60, Some(&r)), 5000);
        assert_eq!(stamp(100, 600, Some(&r)), 100);
        assert_eq!(stamp(100, 60, None), 100);
    }

    #[test]
    fn queries_a_loopback_server_after_a_dead_one() {
        let addr = falcon_tests::sntp::start(-30.0);
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap().to_string();
        let t = Instant::now();
        let out = collect(&[dead_addr, addr.clone()], Duration::from_millis(300));
        assert!(t.elapsed() < Duration::from_secs(3));
        let r = out.server.unwrap();
        assert!((r.offset_ms + 30_000.0).abs() < 500.0, "{r:?}");
        assert_eq!(out.samples[0].tags, format!("server={addr}"));
        assert_eq!(out.samples[1].value, 0.0);
        let none = collect(&["127.0.0.1:9".into()], Duration::from_millis(100));
        assert!(none.server.is_none());
        assert_eq!((none.samples.len(), none.samples[0].metric.as_str()), (1, "sys.ntp.fail"));
        assert_eq!(none.samples[0].value, 1.0);
    }
}
