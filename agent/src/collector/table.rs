//! The header/value line pairs of /proc/net/netstat and /proc/net/snmp (`TcpExt: a b c` then `TcpExt: 1 2 3`).

use super::{parse_err, CollectError};

/// The named columns of the first `<prefix>` header line and the value line that follows it, in file order.
/// Values that do not parse as integers are skipped (a kernel may print a signed field).
pub fn parse_table(text: &str, prefix: &str) -> Result<Vec<(String, i64)>, CollectError> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(header) = line.strip_prefix(prefix) else { continue };
        let Some(values) = lines.next().and_then(|l| l.strip_prefix(prefix)) else {
            return Err(parse_err(prefix, "header line without a value line"));
        };
        let names: Vec<&str> = header.split_whitespace().collect();
        let vals: Vec<&str> = values.split_whitespace().collect();
        if names.len() != vals.len() {
            return Err(parse_err(prefix, format!("{} names but {} values", names.len(), vals.len())));
        }
        return Ok(names
            .into_iter()
            .zip(vals)
            .filter_map(|(n, v)| v.parse::<i64>().ok().map(|v| (n.to_string(), v)))
            .collect());
    }
    Err(parse_err(prefix, "no such section"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_the_header_with_its_values() {
        let t = "Tcp: A B\nTcp: 1 -2\nUdp: X Y\nUdp: 3 4\n";
        assert_eq!(parse_table(t, "Udp:").unwrap(), vec![("X".into(), 3), ("Y".into(), 4)]);
        assert_eq!(parse_table(t, "Tcp:").unwrap(), vec![("A".into(), 1), ("B".into(), -2)]);
        assert!(parse_table(t, "Ip:").is_err());
        assert!(parse_table("Udp: X Y\nUdp: 1\n", "Udp:").is_err());
        assert!(parse_table("Udp: X Y\n", "Udp:").is_err());
    }
}
