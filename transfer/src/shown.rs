//! What the transfer shows of its peers' addresses and credentials: `/config`, `/spool`, the page, metric
//! labels and spool directory names never carry a password, a token or a URL's query.
//!
//! Go's transfer answers `/config` to any caller with the whole file; v0.3 had nothing secret in it, HEAD's
//! `influxdb.password` and our remote-write credentials are. The keys stay (a tool reading `/config` sees the
//! same shape); a set secret shows as [`MASK`], an unset one as `""`.

use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;

/// What a set secret shows as.
pub const MASK: &str = "******";

/// An address as it may be shown briefly (metric labels, the page): a URL without its user and password or
/// its query and fragment (where tokens go); a plain `host:port` as it is.
pub fn public_addr(addr: &str) -> String {
    let no_query = addr.split(['?', '#']).next().unwrap_or("");
    match no_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => no_query.to_string(),
    }
}

/// A URL as `/config` shows it: the user kept and the password masked, every query value masked (InfluxDB's
/// `p=`, `token=`...), the fragment dropped; a plain `host:port` as it is.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let rest = rest.split('#').next().unwrap_or("");
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(a, q)| (a, Some(q)));
    let (authority, path) = before_query.split_at(before_query.find('/').unwrap_or(before_query.len()));
    let mut out = format!("{scheme}://");
    if let Some((userinfo, host)) = authority.rsplit_once('@') {
        match userinfo.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:{MASK}@")),
            None => out.push_str(&format!("{userinfo}@")),
        }
        out.push_str(host);
    } else {
        out.push_str(authority);
    }
    out.push_str(path);
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, _)) => format!("{k}={MASK}"),
                None => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Whether a header's value is a credential: `Authorization`, cookies, and any name that speaks of a token,
/// key, secret, password or auth (`X-Api-Key`, `X-Auth-Token`...). A tenant header (`X-Scope-OrgID`) is not.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "cookie" || ["auth", "token", "key", "secret", "passw", "session"].iter().any(|w| n.contains(w))
}

/// `serialize_with` for a password or token: [`MASK`] when set.
pub fn secret<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if value.is_empty() { "" } else { MASK })
}

/// `serialize_with` for a URL: [`redacted_url`].
pub fn url<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redacted_url(value))
}

/// `serialize_with` for extra request headers: credential values masked ([`is_secret_header`]).
pub fn headers<S: Serializer>(value: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(value.len()))?;
    for (k, v) in value {
        if is_secret_header(k) && !v.is_empty() {
            m.serialize_entry(k, MASK)?;
        } else {
            m.serialize_entry(k, v)?;
        }
    }
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_have_no_secrets() {
        assert_eq!(public_addr("10.0.0.2:8088"), "10.0.0.2:8088");
        assert_eq!(
            public_addr("https://u:secret@vm.example:8428/api/v1/write?token=abc"),
            "https://vm.example:8428/api/v1/write"
        );
        assert_eq!(public_addr("http://h/x#frag"), "http://h/x");
        assert_eq!(public_addr("http://user@h"), "http://h");
    }

    #[test]
    fn redacted_urls_keep_their_shape_without_secrets() {
        assert_eq!(redacted_url("127.0.0.1:8088"), "127.0.0.1:8088");
        assert_eq!(redacted_url("http://vm:8428/api/v1/write"), "http://vm:8428/api/v1/write");
        assert_eq!(
            redacted_url("https://u:pw@vm.example:8428/api/v1/write?token=abc&extra_label=dc%3D1&flag#frag"),
            "https://u:******@vm.example:8428/api/v1/write?token=******&extra_label=******&flag"
        );
        assert_eq!(redacted_url("http://user@h?"), "http://user@h?");
        assert_eq!(redacted_url("http://a:b@c:d@h/p"), "http://a:******@h/p", "the last @ ends the userinfo");
    }

    #[test]
    fn credential_headers_are_told_from_tenant_headers() {
        for h in ["Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "X-Secret"] {
            assert!(is_secret_header(h), "{h}");
        }
        for h in ["X-Scope-OrgID", "X-Prometheus-Remote-Write-Version", "User-Agent"] {
            assert!(!is_secret_header(h), "{h}");
        }
    }

    #[test]
    fn serializers_mask_what_is_set() {
        #[derive(serde::Serialize)]
        struct S {
            #[serde(serialize_with = "secret")]
            set: String,
            #[serde(serialize_with = "secret")]
            unset: String,
            #[serde(serialize_with = "headers")]
            h: BTreeMap<String, String>,
        }
        let h = BTreeMap::from([("Authorization".into(), "Bearer x".into()), ("X-Scope-OrgID".into(), "a".into())]);
        let json = serde_json::to_string(&S { set: "pw".into(), unset: String::new(), h }).unwrap();
        assert_eq!(json, r#"{"set":"******","unset":"","h":{"Authorization":"******","X-Scope-OrgID":"a"}}"#);
    }
}
