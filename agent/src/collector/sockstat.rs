//! `ss.*`, the TCP line of `ss -s`, computed from the files iproute2 itself reads for it: /proc/net/sockstat,
//! /proc/net/sockstat6 and `Tcp: CurrEstab` of /proc/net/snmp. No `ss` process (v0.3 crashes on the
//! `timewait N` that modern `ss -s` prints) and no socket table walk.

use super::table::parse_table;
use super::{gauge, read, CollectError, Env, Sample};

/// The counters of one `PROTO: key value key value` line of a sockstat file.
pub fn parse_sockstat_line(text: &str, proto: &str) -> Vec<(String, u64)> {
    let Some(line) = text.lines().find(|l| l.split_whitespace().next() == Some(proto)) else { return Vec::new() };
    let f: Vec<&str> = line.split_whitespace().skip(1).collect();
    f.chunks(2).filter_map(|c| Some((c.first()?.to_string(), c.get(1)?.parse().ok()?))).collect()
}

fn get(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v).unwrap_or(0)
}

/// The summary as `ss -s` prints it: estab, closed, orphaned, timewait, and slabinfo.timewait (0: the slab
/// figure is gone from modern kernels).
pub fn summary(sockstat: &str, sockstat6: &str, established: u64) -> Vec<Sample> {
    let v4 = parse_sockstat_line(sockstat, "TCP:");
    let v6 = parse_sockstat_line(sockstat6, "TCP6:");
    let (alloc, tw, orphan, inuse4, inuse6) =
        (get(&v4, "alloc"), get(&v4, "tw"), get(&v4, "orphan"), get(&v4, "inuse"), get(&v6, "inuse"));
    let closed = alloc.saturating_sub((inuse4 + inuse6).saturating_sub(tw));
    vec![
        gauge("ss.estab", established, ""),
        gauge("ss.closed", closed, ""),
        gauge("ss.orphaned", orphan, ""),
        gauge("ss.timewait", tw, ""),
        gauge("ss.slabinfo.timewait", 0.0, ""),
    ]
}

/// `Tcp: CurrEstab` of /proc/net/snmp: the sockets in ESTABLISHED or CLOSE-WAIT, IPv4 and IPv6, which is the
/// `estab` that `ss -s` prints.
pub fn parse_curr_estab(snmp: &str) -> Result<u64, CollectError> {
    let tcp = parse_table(snmp, "Tcp:")?;
    let v = tcp.iter().find(|(k, _)| k == "CurrEstab").map(|(_, v)| *v);
    v.and_then(|v| u64::try_from(v).ok()).ok_or_else(|| super::parse_err("Tcp:", "no CurrEstab column"))
}

/// `ss.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let v4 = read(&env.proc_file("net/sockstat"))?;
    let v6 = read(&env.proc_file("net/sockstat6")).unwrap_or_default();
    let estab = parse_curr_estab(&read(&env.proc_file("net/snmp"))?)?;
    Ok(summary(&v4, &v6, estab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iproute2_formulas() {
        let s4 = "sockets: used 200\nTCP: inuse 30 orphan 2 tw 18 alloc 40 mem 3\nUDP: inuse 4 mem 1\n";
        let s6 = "TCP6: inuse 5\nUDP6: inuse 1\n";
        let s = summary(s4, s6, 7);
        let v: Vec<_> = s.iter().map(|x| (x.metric.as_str(), x.value.as_f64())).collect();
        // closed = alloc - (inuse4 + inuse6 - tw) = 40 - (35 - 18) = 23
        assert_eq!(
            v,
            [
                ("ss.estab", 7.0),
                ("ss.closed", 23.0),
                ("ss.orphaned", 2.0),
                ("ss.timewait", 18.0),
                ("ss.slabinfo.timewait", 0.0)
            ]
        );
    }

    #[test]
    fn captured_files_and_missing_ipv6() {
        let s = summary(include_str!("../../fixtures/modern/net/sockstat"), "", 1);
        assert_eq!(s.len(), 5);
        assert_eq!(s[3].value, 0.0);
        assert_eq!(s[1].value, 0.0, "alloc 1 - (inuse 1 - tw 0)");
        assert_eq!(parse_sockstat_line("TCP: inuse x\n", "TCP:"), vec![]);
    }

    #[test]
    fn curr_estab_from_snmp() {
        let snmp = include_str!("../../fixtures/modern/net/snmp");
        let want = snmp
            .lines()
            .filter(|l| l.starts_with("Tcp:"))
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(9))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap();
        assert_eq!(parse_curr_estab(snmp).unwrap(), want);
        assert!(parse_curr_estab("Tcp: RtoMin\nTcp: 200\n").is_err());
        assert!(parse_curr_estab("Udp: A\nUdp: 1\n").is_err());
    }
}
