//! `net.port.listen` for the ports HBS hands out. v0.3 runs `ss -t -l -n` and `ss -u -a -n` and gives up on
//! any line without 4 or 5 columns (which modern iproute2 prints). Here the kernel is asked directly over
//! sock_diag netlink ([`super::sockdiag`]): TCP listeners and every UDP socket, IPv4 and IPv6. Only where
//! sock_diag is unavailable are the /proc/net tables read instead (slow: see `sockdiag`).

use super::sockdiag::{local_ports, DiagError, AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, STATE_ALL, STATE_LISTEN};
use super::{gauge, read, CollectError, Env, Sample};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

/// One socket of /proc/net/{tcp,tcp6,udp,udp6}: local port and the kernel's state code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    /// Local port.
    pub port: u16,
    /// State (`0A` LISTEN, `01` ESTABLISHED, ...).
    pub state: u8,
}

/// TCP LISTEN.
pub const TCP_LISTEN: u8 = 0x0A;

/// Parses a /proc/net socket table; malformed lines are skipped.
pub fn parse_sockets(text: &str) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let local = f.nth(1)?;
            let state = f.nth(1)?;
            let (_, port) = local.rsplit_once(':')?;
            Some(Socket { port: u16::from_str_radix(port, 16).ok()?, state: u8::from_str_radix(state, 16).ok()? })
        })
        .collect()
}

/// The ports in use as `ss -t -l` (TCP listeners) and `ss -u -a` (every UDP socket) list them.
pub fn listening(tcp: &[Socket], udp: &[Socket]) -> BTreeSet<u16> {
    tcp.iter().filter(|s| s.state == TCP_LISTEN).chain(udp.iter()).map(|s| s.port).collect()
}

/// Reads one or more tables, skipping those the kernel lacks (no IPv6, for example).
pub fn read_tables(env: &Env, names: &[&str]) -> Result<Vec<Socket>, CollectError> {
    let mut out = Vec::new();
    let mut any = false;
    let mut last_err = None;
    for n in names {
        match read(&env.proc_file(n)) {
            Ok(t) => {
                any = true;
                out.extend(parse_sockets(&t));
            }
            Err(e) => last_err = Some(e),
        }
    }
    match (any, last_err) {
        (false, Some(e)) => Err(e),
        _ => Ok(out),
    }
}

/// The listening port set from sock_diag: TCP LISTEN and every UDP socket, both families. A family the
/// kernel lacks (no IPv6) is skipped; TCP must answer for at least one family.
pub fn diag_listening() -> Result<BTreeSet<u16>, DiagError> {
    let mut ports = BTreeSet::new();
    let mut tcp_err = None;
    let mut tcp_ok = false;
    for family in [AF_INET, AF_INET6] {
        match local_ports(family, IPPROTO_TCP, STATE_LISTEN) {
            Ok(p) => {
                tcp_ok = true;
                ports.extend(p);
            }
            Err(e) => tcp_err = Some(e),
        }
        // UDP sockets of a family the kernel cannot dump are not fatal: v0.3 ignored `ss -u` failures too.
        if let Ok(p) = local_ports(family, IPPROTO_UDP, STATE_ALL) {
            ports.extend(p);
        }
    }
    match (tcp_ok, tcp_err) {
        (false, Some(e)) => Err(e),
        _ => Ok(ports),
    }
}

/// The listening port set: sock_diag, or the /proc/net tables when sock_diag fails (said once in the log).
pub fn listening_ports(env: &Env) -> Result<BTreeSet<u16>, CollectError> {
    static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);
    match diag_listening() {
        Ok(p) => return Ok(p),
        Err(e) => {
            if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "sock_diag unavailable: reading /proc/net/tcp* and udp* instead (slower)");
            }
        }
    }
    let tcp = read_tables(env, &["net/tcp", "net/tcp6"])?;
    let udp = read_tables(env, &["net/udp", "net/udp6"]).unwrap_or_default();
    Ok(listening(&tcp, &udp))
}

/// One sample per requested port: 1 if something listens on it, else 0.
pub fn samples(requested: &[i64], listening: &BTreeSet<u16>) -> Vec<Sample> {
    requested
        .iter()
        .map(|p| {
            let up = u16::try_from(*p).is_ok_and(|p| listening.contains(&p));
            gauge("net.port.listen", if up { 1.0 } else { 0.0 }, format!("port={p}"))
        })
        .collect()
}

/// `net.port.listen`, only when HBS handed out ports.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let checks = env.checks();
    if checks.ports.is_empty() {
        return Ok(Vec::new());
    }
    Ok(samples(&checks.ports, &listening_ports(env)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_tables() {
        let tcp = parse_sockets(include_str!("../../fixtures/modern/net/tcp"));
        assert!(tcp.iter().any(|s| s.port == 0x07E8 && s.state == TCP_LISTEN));
        let l = listening(&tcp, &[]);
        assert!(l.contains(&2024));
    }

    #[test]
    fn sock_diag_sees_tcp_listeners_and_udp_sockets_of_both_families() {
        let t4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let u4 = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut want = vec![t4.local_addr().unwrap().port(), u4.local_addr().unwrap().port()];
        // IPv6 may be off in a container; test it where it exists.
        let t6 = std::net::TcpListener::bind("[::1]:0").ok();
        want.extend(t6.iter().map(|l| l.local_addr().unwrap().port()));
        let got = diag_listening().unwrap();
        for p in want {
            assert!(got.contains(&p), "port {p} missing from {got:?}");
        }
    }

    #[test]
    fn ipv6_rows_udp_and_garbage() {
        let tcp6 = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0\n   1: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:0016 01 0\nbroken\n";
        let udp = "  sl  local_address rem_address   st\n 1: 00000000:0035 00000000:0000 07 0\n";
        let l = listening(&parse_sockets(tcp6), &parse_sockets(udp));
        assert_eq!(l.into_iter().collect::<Vec<_>>(), vec![22, 53]);
        let s = samples(&[22, 13306, 70000], &[22u16].into_iter().collect());
        let v: Vec<_> = s.iter().map(|x| (x.tags.as_str(), x.value.as_f64())).collect();
        assert_eq!(v, [("port=22", 1.0), ("port=13306", 0.0), ("port=70000", 0.0)]);
    }
}
