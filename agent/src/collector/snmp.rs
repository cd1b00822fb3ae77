//! `snmp.Udp.*` from /proc/net/snmp: every column of the `Udp:` table.

use super::table::parse_table;
use super::{counter, read, CollectError, Env, Sample};

/// The samples from /proc/net/snmp text.
pub fn parse_udp(text: &str) -> Result<Vec<Sample>, CollectError> {
    Ok(parse_table(text, "Udp:")?.into_iter().map(|(n, v)| counter(format!("snmp.Udp.{n}"), v, "")).collect())
}

/// `snmp.Udp.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    parse_udp(&read(&env.proc_file("net/snmp"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_udp_column_of_the_captured_file() {
        let s = parse_udp(include_str!("../../fixtures/modern/net/snmp")).unwrap();
        let names: Vec<_> = s.iter().map(|x| x.metric.as_str()).collect();
        assert!(names.contains(&"snmp.Udp.InDatagrams") && names.contains(&"snmp.Udp.MemErrors"));
        assert_eq!(s.len(), 9);
        assert!(!names.iter().any(|n| n.starts_with("snmp.UdpLite")));
    }
}
