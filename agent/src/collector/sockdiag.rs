//! The local ports of the host's sockets, asked of the kernel over sock_diag netlink (what `ss -ltn` does).
//!
//! Why not /proc/net/tcp: every read of it walks the whole TCP established hash (262,144 buckets on a machine
//! with a few GB of memory), however few sockets exist, and the walk restarts for every page of output. A
//! sock_diag dump with only the LISTEN state asked walks the listening hash alone, so its cost follows the
//! number of listeners, not the size of the table or the number of connections.
//!
//! The request and the reply parsing are pure functions over bytes ([`request`], [`parse_dump`]), tested on
//! fixtures; [`local_ports`] does the I/O.

use std::os::fd::AsRawFd;
use std::time::Duration;

/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6`.
pub const AF_INET6: u8 = 10;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;
/// The state bit of TCP LISTEN (`1 << TCP_LISTEN`).
pub const STATE_LISTEN: u32 = 1 << 10;
/// Every state (what `ss -a` asks).
pub const STATE_ALL: u32 = u32::MAX;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, then a 48-byte `inet_diag_sockid`.
const REQ_LEN: usize = 56;
/// The part of `struct inet_diag_msg` read here: family, state, timer, retrans, then sport (big endian).
const MSG_MIN: usize = 6;
/// At most this many reply datagrams per dump (each holds dozens of sockets): a bound, not a limit met in
/// practice.
const MAX_DATAGRAMS: usize = 100_000;
/// How long one reply datagram may take.
const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// The socket could not be opened, or a send or receive failed.
    #[error("sock_diag {0}")]
    Io(#[from] nix::Error),
    /// The kernel answered the dump with an error (for example no `udp_diag` support).
    #[error("sock_diag refused: errno {0}")]
    Kernel(i32),
    /// A reply did not have the expected shape.
    #[error("sock_diag reply: {0}")]
    Malformed(&'static str),
    /// More datagrams than [`MAX_DATAGRAMS`].
    #[error("sock_diag dump did not end after {MAX_DATAGRAMS} datagrams")]
    Endless,
}

/// A `SOCK_DIAG_BY_FAMILY` dump request for one family and protocol, limited to `states`.
pub fn request(family: u8, protocol: u8, states: u32, seq: u32) -> [u8; NLMSG_HDRLEN + REQ_LEN] {
    let mut b = [0u8; NLMSG_HDRLEN + REQ_LEN];
    b[0..4].copy_from_slice(&((NLMSG_HDRLEN + REQ_LEN) as u32).to_ne_bytes());
    b[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    // pid 0: the kernel. The inet_diag_sockid stays zero: no address filter.
    b[16] = family;
    b[17] = protocol;
    b[20..24].copy_from_slice(&states.to_ne_bytes());
    b
}

/// One reply datagram's effect.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// More datagrams follow.
    More,
    /// `NLMSG_DONE` was seen.
    Done,
}

/// Appends the local port of every socket in one reply datagram to `ports`.
pub fn parse_dump(buf: &[u8], ports: &mut Vec<u16>) -> Result<Progress, DiagError> {
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(DiagError::Malformed("message length outside the datagram"));
        }
        let body = &rest[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE => return Ok(Progress::Done),
            NLMSG_ERROR => {
                let errno = body.get(..4).map(|e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]])).unwrap_or(-1);
                // The kernel sends a negative errno; i32::MIN has no positive counterpart (damage, not an errno).
                return Err(DiagError::Kernel(errno.saturating_neg()));
            }
            NLMSG_NOOP => {}
            SOCK_DIAG_BY_FAMILY => {
                if body.len() < MSG_MIN {
                    return Err(DiagError::Malformed("inet_diag_msg too short"));
                }
                ports.push(u16::from_be_bytes([body[4], body[5]]));
            }
            _ => return Err(DiagError::Malformed("unexpected message type")),
        }
        // Messages are aligned to 4 bytes.
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or(&[]);
    }
    Ok(Progress::More)
}

/// The local ports of every socket of `protocol` in `family` whose state is in `states`.
pub fn local_ports(family: u8, protocol: u8, states: u32) -> Result<Vec<u16>, DiagError> {
    use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};
    let fd = socket::socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )?;
    let timeout = nix::sys::time::TimeVal::new(RECV_TIMEOUT.as_secs() as _, 0);
    socket::setsockopt(&fd, socket::sockopt::ReceiveTimeout, &timeout)?;
    let req = request(family, protocol, states, 1);
    socket::sendto(fd.as_raw_fd(), &req, &NetlinkAddr::new(0, 0), MsgFlags::empty())?;
    // The kernel fills dump datagrams up to about a page (or 32 KiB); a larger buffer never truncates them.
    let mut buf = vec![0u8; 64 * 1024];
    let mut ports = Vec::new();
    for _ in 0..MAX_DATAGRAMS {
        let n = socket::recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        if n == 0 {
            return Err(DiagError::Malformed("empty datagram"));
        }
        if parse_dump(&buf[..n], &mut ports)? == Progress::Done {
            return Ok(ports);
        }
    }
    Err(DiagError::Endless)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink message of `kind` with `body`, padded to 4 bytes.
    fn msg(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    /// An inet_diag_msg (72 bytes) for a socket bound to `port`.
    fn diag(port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 72];
        b[0] = AF_INET;
        b[1] = 10;
        b[4..6].copy_from_slice(&port.to_be_bytes());
        b
    }

    #[test]
    fn request_layout() {
        let r = request(AF_INET6, IPPROTO_TCP, STATE_LISTEN, 7);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes(r[6..8].try_into().unwrap()), 0x301);
        assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 7);
        assert_eq!((r[16], r[17]), (10, 6));
        assert_eq!(u32::from_ne_bytes(r[20..24].try_into().unwrap()), 0x400);
        assert!(r[24..].iter().all(|b| *b == 0));
    }

    #[test]
    fn replies_errors_and_garbage() {
        let mut dgram = msg(20, &diag(22));
        dgram.extend(msg(20, &diag(8433)));
        let mut ports = Vec::new();
        assert_eq!(parse_dump(&dgram, &mut ports).unwrap(), Progress::More);
        assert_eq!(parse_dump(&msg(3, &[0; 4]), &mut ports).unwrap(), Progress::Done);
        assert_eq!(ports, [22, 8433]);

        let err = msg(2, &(-2i32).to_ne_bytes());
        assert!(matches!(parse_dump(&err, &mut ports), Err(DiagError::Kernel(2))));
        assert!(matches!(parse_dump(&msg(20, &[1, 2]), &mut ports), Err(DiagError::Malformed(_))));
        assert!(matches!(parse_dump(&msg(99, &[]), &mut ports), Err(DiagError::Malformed(_))));
        let mut lying = msg(20, &diag(1));
        lying[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(matches!(parse_dump(&lying, &mut ports), Err(DiagError::Malformed(_))));
        assert_eq!(parse_dump(&[1, 2, 3], &mut ports).unwrap(), Progress::More, "a stub shorter than a header");
        assert_eq!(ports, [22, 8433]);
    }

    #[test]
    fn this_host_lists_a_listener_we_open() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let listening = local_ports(AF_INET, IPPROTO_TCP, STATE_LISTEN).unwrap();
        assert!(listening.contains(&port));
        let client_port = c.local_addr().unwrap().port();
        assert!(!listening.contains(&client_port), "an established socket is not a listener");
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp = local_ports(AF_INET, IPPROTO_UDP, STATE_ALL).unwrap();
        assert!(udp.contains(&u.local_addr().unwrap().port()));
    }

    #[test]
    fn fuzz_regression_an_errno_of_i32_min_does_not_overflow() {
        // Found by the proc fuzz target: negating the error message's errno overflowed for i32::MIN.
        let reply = msg(NLMSG_ERROR, &i32::MIN.to_ne_bytes());
        assert!(matches!(parse_dump(&reply, &mut Vec::new()), Err(DiagError::Kernel(i32::MAX))));
        let reply = msg(NLMSG_ERROR, &(-95i32).to_ne_bytes());
        assert!(matches!(parse_dump(&reply, &mut Vec::new()), Err(DiagError::Kernel(95))));
    }
}
