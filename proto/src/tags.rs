//! Tag strings, primary keys and checksums with Go's exact rules (`common/utils`).
//!
//! These strings decide which shard a series lands on (the PK is the ring key) and name graph's rrd files
//! (the md5 of the PK), so every byte must match Go.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Sorted tag map; BTreeMap's order is Go's `sort.Strings` order (bytewise).
pub type Tags = BTreeMap<String, String>;

/// Go's `DictedTagstring`, the lenient parser transfer uses: every `' '` is removed (inside values too),
/// the string is split on `,`, each piece on its first `=`; pieces without `=` are dropped, and a repeated
/// key keeps its last value. Empty keys and values are allowed.
pub fn parse_tags(s: &str) -> Tags {
    let mut out = Tags::new();
    if s.is_empty() {
        return out;
    }
    let cleaned;
    let s = if s.contains(' ') {
        cleaned = s.replace(' ', "");
        cleaned.as_str()
    } else {
        s
    };
    for piece in s.split(',') {
        if let Some((k, v)) = piece.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Why [`parse_tags_strict`] refused a tag string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad tag piece {0:?}: no '='")]
pub struct StrictTagError(pub String);

/// Go's `SplitTagsString`, the strict variant (v0.3 gateway, `Graph.Delete`): like [`parse_tags`] but a piece
/// without `=` is an error.
pub fn parse_tags_strict(s: &str) -> Result<Tags, StrictTagError> {
    let mut out = Tags::new();
    if s.is_empty() {
        return Ok(out);
    }
    let s = s.replace(' ', "");
    for piece in s.split(',') {
        let (k, v) = piece.split_once('=').ok_or_else(|| StrictTagError(piece.to_string()))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// Go's `SortedTags`: `k=v` pairs in key order joined by `,`; `""` for no tags.
pub fn sorted_tags(tags: &Tags) -> String {
    let mut s = String::with_capacity(tags.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    write_sorted_tags(&mut s, tags);
    s
}

fn write_sorted_tags(out: &mut String, tags: &Tags) {
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// Go's `PK`: `endpoint/metric`, or `endpoint/metric/<sorted tags>`. The ring key for judge and graph.
pub fn pk(endpoint: &str, metric: &str, tags: &Tags) -> String {
    let mut s = String::with_capacity(endpoint.len() + metric.len() + 2 + tags.len() * 16);
    write_pk(&mut s, endpoint, metric, tags);
    s
}

/// [`pk`] into a reusable buffer (cleared first), for the per-item hot path.
pub fn write_pk(out: &mut String, endpoint: &str, metric: &str, tags: &Tags) {
    out.clear();
    out.push_str(endpoint);
    out.push('/');
    out.push_str(metric);
    if !tags.is_empty() {
        out.push('/');
        write_sorted_tags(out, tags);
    }
}

/// Go's `Checksum`: lower-case hex md5 of the PK (graph's rrd file name, judge's key).
pub fn checksum(endpoint: &str, metric: &str, tags: &Tags) -> String {
    md5_hex(pk(endpoint, metric, tags).as_bytes())
}

/// Go's `Counter`: `metric`, or `metric/<sorted tags>`.
pub fn counter(metric: &str, tags: &Tags) -> String {
    if tags.is_empty() {
        return metric.to_string();
    }
    format!("{metric}/{}", sorted_tags(tags))
}

/// Go's `UUID` (graph's index key): `endpoint/metric[/<sorted tags>]/<dstype>/<step>`.
pub fn uuid(endpoint: &str, metric: &str, tags: &Tags, ds_type: &str, step: i64) -> String {
    let mut s = pk(endpoint, metric, tags);
    let _ = write!(s, "/{ds_type}/{step}");
    s
}

/// Lower-case hex md5.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

/// HBS's `DigestBuiltinMetrics`: sort the `metric/tags` strings bytewise, concatenate them with no separator,
/// md5 the result; `""` when there are none. The agent only echoes this back.
pub fn builtin_metrics_checksum<'a, I>(metrics: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut keys: Vec<String> = metrics.into_iter().map(|(m, t)| format!("{m}/{t}")).collect();
    if keys.is_empty() {
        return String::new();
    }
    keys.sort();
    md5_hex(keys.concat().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn lenient_parser_is_gos() {
        assert_eq!(parse_tags(""), t(&[]));
        assert_eq!(parse_tags("a=b"), t(&[("a", "b")]));
        assert_eq!(parse_tags(" a = b c , d=e"), t(&[("a", "bc"), ("d", "e")]));
        assert_eq!(parse_tags("a=b=c"), t(&[("a", "b=c")]));
        assert_eq!(parse_tags("junk,a=1,,=v,k=,a=2"), t(&[("", "v"), ("a", "2"), ("k", "")]));
        // Only ' ' is removed, tabs stay.
        assert_eq!(parse_tags("a=\tb"), t(&[("a", "\tb")]));
        assert_eq!(parse_tags_strict("a=1,b=2").unwrap(), t(&[("a", "1"), ("b", "2")]));
        assert!(parse_tags_strict("a=1,junk").is_err());
    }

    #[test]
    fn pk_and_friends() {
        let tags = t(&[("mount", "/"), ("fstype", "ext4")]);
        assert_eq!(sorted_tags(&tags), "fstype=ext4,mount=/");
        assert_eq!(pk("h1", "df.bytes.free", &tags), "h1/df.bytes.free/fstype=ext4,mount=/");
        assert_eq!(pk("h1", "cpu.idle", &t(&[])), "h1/cpu.idle");
        assert_eq!(counter("cpu.idle", &t(&[])), "cpu.idle");
        assert_eq!(counter("m", &tags), "m/fstype=ext4,mount=/");
        assert_eq!(uuid("h", "m", &t(&[]), "GAUGE", 60), "h/m/GAUGE/60");
        assert_eq!(uuid("h", "m", &t(&[("a", "1")]), "DERIVE", 30), "h/m/a=1/DERIVE/30");
        assert_eq!(checksum("h1", "cpu.idle", &t(&[])), md5_hex(b"h1/cpu.idle"));
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        // Uppercase sorts before lowercase, bytewise.
        assert_eq!(sorted_tags(&t(&[("b", "1"), ("B", "2"), ("a", "3")])), "B=2,a=3,b=1");
    }

    #[test]
    fn builtin_checksum_matches_captured_hbs_reply() {
        // captures/agent-hbs: the BuiltinMetrics reply for host "vm" carried this checksum.
        let metrics = [
            ("url.check.health", "url=http://127.0.0.1:11988/health,timeout=3"),
            ("net.port.listen", "port=22"),
            ("du.bs", "path=/opt/falcon/data"),
            ("proc.num", "name=mariadbd"),
            ("net.port.listen", "port=13306"),
            ("proc.num", "cmdline=falcon-judge"),
        ];
        assert_eq!(builtin_metrics_checksum(metrics), "52fa70c8a25a08cef8388dd5f602450c");
        assert_eq!(builtin_metrics_checksum([]), "");
        assert_eq!(
            builtin_metrics_checksum([("proc.num", "name=sshd"), ("net.port.listen", "port=22")]),
            md5_hex(b"net.port.listen/port=22proc.num/name=sshd")
        );
    }
}
