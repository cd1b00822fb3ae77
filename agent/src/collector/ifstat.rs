//! `net.if.*` from /proc/net/dev for interfaces matching `collector.ifacePrefix`, with the link speed from
//! /sys/class/net/<iface>/speed.

use super::{counter, gauge, read, CollectError, Env, Sample};

/// One interface line of /proc/net/dev: the 16 counters in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfStat {
    /// Interface name.
    pub iface: String,
    /// rx bytes, packets, errs, drop, fifo, frame, compressed, multicast, then tx bytes, packets, errs,
    /// drop, fifo, colls, carrier, compressed.
    pub counters: [i64; 16],
}

/// Parses /proc/net/dev. Lines without exactly 16 numeric fields are skipped, as in Go.
pub fn parse_net_dev(text: &str) -> Vec<IfStat> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else { continue };
        let Ok(fields) = rest.split_whitespace().map(str::parse).collect::<Result<Vec<i64>, _>>() else { continue };
        if fields.len() != 16 {
            continue;
        }
        let mut counters = [0i64; 16];
        counters.copy_from_slice(&fields);
        out.push(IfStat { iface: name.trim().to_string(), counters });
    }
    out
}

/// Whether `iface` is reported: it starts with one of the prefixes, or the list is empty (then every
/// interface, `lo` included, as in Go).
pub fn wanted(iface: &str, prefixes: &[String]) -> bool {
    prefixes.is_empty() || prefixes.iter().any(|p| iface.starts_with(p.as_str()))
}

/// Parses /sys/class/net/<iface>/speed (Mb/s). Virtual links print -1 or fail with EINVAL: both mean
/// unknown, reported as 0 (v0.3 sends -1000000 and negative percentages).
pub fn parse_speed(text: &str) -> i64 {
    text.trim().parse::<i64>().ok().filter(|v| *v > 0).unwrap_or(0)
}

const NAMES: [&str; 16] = [
    "net.if.in.bytes",
    "net.if.in.packets",
    "net.if.in.errors",
    "net.if.in.dropped",
    "net.if.in.fifo.errs",
    "net.if.in.frame.errs",
    "net.if.in.compressed",
    "net.if.in.multicast",
    "net.if.out.bytes",
    "net.if.out.packets",
    "net.if.out.errors",
    "net.if.out.dropped",
    "net.if.out.fifo.errs",
    "net.if.out.collisions",
    "net.if.out.carrier.errs",
    "net.if.out.compressed",
];

/// The 26 samples of one interface, in Go's order; `speed_mbps` as [`parse_speed`] gives it.
pub fn samples(s: &IfStat, speed_mbps: i64) -> Vec<Sample> {
    let tags = format!("iface={}", s.iface);
    let c = &s.counters;
    let mut out = Vec::with_capacity(26);
    for (name, v) in NAMES.iter().zip(c.iter()) {
        out.push(counter(*name, *v, tags.clone()));
    }
    out.push(counter("net.if.total.bytes", c[0].wrapping_add(c[8]), tags.clone()));
    out.push(counter("net.if.total.packets", c[1].wrapping_add(c[9]), tags.clone()));
    out.push(counter("net.if.total.errors", c[2].wrapping_add(c[10]), tags.clone()));
    out.push(counter("net.if.total.dropped", c[3].wrapping_add(c[11]), tags.clone()));
    let speed_bits = speed_mbps.saturating_mul(1_000_000);
    out.push(gauge("net.if.speed.bits", speed_bits as f64, tags.clone()));
    let pct = |bytes: i64| if speed_bits > 0 { bytes as f64 * 8.0 * 100.0 / speed_bits as f64 } else { 0.0 };
    out.push(counter("net.if.in.percent", pct(c[0]), tags.clone()));
    out.push(counter("net.if.out.percent", pct(c[8]), tags.clone()));
    out.push(counter("net.if.in.bits", c[0].wrapping_mul(8), tags.clone()));
    out.push(counter("net.if.out.bits", c[8].wrapping_mul(8), tags.clone()));
    out.push(counter("net.if.total.bits", c[0].wrapping_add(c[8]).wrapping_mul(8), tags));
    out
}

/// Reads /proc/net/dev and the speeds.
pub fn read_ifstats(env: &Env) -> Result<Vec<(IfStat, i64)>, CollectError> {
    let text = read(&env.proc_file("net/dev"))?;
    Ok(parse_net_dev(&text)
        .into_iter()
        .filter(|s| wanted(&s.iface, &env.iface_prefix))
        .map(|s| {
            let speed = std::fs::read_to_string(env.sys.join("class/net").join(&s.iface).join("speed"))
                .map(|t| parse_speed(&t))
                .unwrap_or(0);
            (s, speed)
        })
        .collect())
}

/// `net.if.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    Ok(read_ifstats(env)?.iter().flat_map(|(s, speed)| samples(s, *speed)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_captured_file_and_filters_by_prefix() {
        let all = parse_net_dev(include_str!("../../fixtures/modern/net/dev"));
        let names: Vec<_> = all.iter().map(|s| s.iface.as_str()).collect();
        assert_eq!(names, ["lo", "ifb0", "ifb1", "eth0"]);
        let eth = &all[3];
        assert_eq!(eth.counters[0], 134791255);
        assert_eq!(eth.counters[9], 3402);
        let p = vec!["eth".to_string(), "em".to_string()];
        assert!(wanted("eth0", &p) && !wanted("lo", &p) && wanted("lo", &[]));
    }

    #[test]
    fn twenty_six_samples_with_go_formulas() {
        let mut c = [0i64; 16];
        c[0] = 1000;
        c[8] = 500;
        c[1] = 3;
        c[9] = 4;
        let s = samples(&IfStat { iface: "eth0".into(), counters: c }, 1000);
        assert_eq!(s.len(), 26);
        let get = |n: &str| s.iter().find(|x| x.metric == n).unwrap();
        assert_eq!(get("net.if.total.bytes").value, 1500.0);
        assert_eq!(get("net.if.total.packets").value, 7.0);
        assert_eq!(get("net.if.speed.bits").value, 1e9);
        assert_eq!(get("net.if.speed.bits").kind, super::super::Kind::Gauge);
        assert_eq!(get("net.if.in.percent").value, 1000.0 * 8.0 * 100.0 / 1e9);
        assert_eq!(get("net.if.total.bits").value, 12000.0);
        assert_eq!(get("net.if.in.bytes").tags, "iface=eth0");
    }

    #[test]
    fn unknown_speeds_are_zero_not_negative() {
        assert_eq!(parse_speed("-1\n"), 0);
        assert_eq!(parse_speed("garbage"), 0);
        assert_eq!(parse_speed("10000\n"), 10000);
        let s = samples(&IfStat { iface: "eth0".into(), counters: [7; 16] }, 0);
        assert!(s.iter().all(|x| x.value >= 0.0));
    }

    #[test]
    fn short_lines_are_skipped() {
        assert!(parse_net_dev("eth0: 1 2 3\n").is_empty());
        assert!(parse_net_dev("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n").is_empty());
    }
}
