//! Addresses and credentials as the binaries may show them: config replies (`/config`, `/config/reload`), pages,
//! metric labels, log lines and file names never carry a password, a token or a URL's query.
//!
//! Go answers `/config` (the transfer: any caller) and `/config/reload` (loopback callers, any local user) with
//! the whole file; HEAD's `influxdb.password`, our remote-write credentials, a DSN's password or a token in a
//! plugin repository's URL are in them. The keys stay (a tool reading the reply sees the same shape); a set
//! secret shows as [`MASK`], an unset one as `""`.

use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;

/// What a set secret shows as.
pub const MASK: &str = "******";

/// A URL cut into the parts redaction treats differently. The authority ends at the first `/`, the user
/// information at the last `@` in it (so a raw `#`, `?` or `@` in a password stays inside the password); a `?`
/// or `#` in what is left starts the query or fragment.
struct Parts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
    /// Without its `?`.
    query: Option<&'a str>,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (userinfo, after) = match rest[..authority_end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let no_fragment = after.split('#').next().unwrap_or("");
    let (before_query, query) = no_fragment.split_once('?').map_or((no_fragment, None), |(a, q)| (a, Some(q)));
    let (host, path) = before_query.split_at(before_query.find('/').unwrap_or(before_query.len()));
    Some(Parts { scheme, userinfo, host, path, query })
}

/// An address as it may be shown briefly (metric labels, pages, log lines, spool names): a URL without its user
/// and password or its query and fragment (where tokens go); a plain `host:port` as it is.
pub fn public_addr(addr: &str) -> String {
    match parts(addr) {
        Some(p) => format!("{}://{}{}", p.scheme, p.host, p.path),
        None => addr.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

/// A URL as config replies show it: the user kept and the password masked (a user part without a password,
/// often a token, masked whole), every query value (and a bare
/// query item) masked (InfluxDB's `p=`, `token=`...), the fragment dropped; a plain `host:port` as it is.
pub fn redacted_url(url: &str) -> String {
    let Some(p) = parts(url) else { return url.to_string() };
    let mut out = format!("{}://", p.scheme);
    if let Some(u) = p.userinfo {
        match u.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:{MASK}@")),
            // A lone user part is often the token itself (`https://<token>@github.com/...`).
            None => out.push_str(&format!("{MASK}@")),
        }
    }
    out.push_str(p.host);
    out.push_str(p.path);
    if let Some(q) = p.query {
        let pairs: Vec<String> = q
            .split('&')
            .filter(|i| !i.is_empty())
            .map(|i| match i.split_once('=') {
                Some((k, _)) => format!("{k}={MASK}"),
                None => MASK.to_string(),
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
            redacted_url("https://u:pw@vm.example:8428/api/v1/write?token=abc&extra_label=dc%3D1&bare#frag"),
            "https://u:******@vm.example:8428/api/v1/write?token=******&extra_label=******&******"
        );
        assert_eq!(redacted_url("http://ghp_token@h?"), "http://******@h?");
        assert_eq!(redacted_url("http://a:b@c:d@h/p"), "http://a:******@h/p", "the last @ ends the userinfo");
        assert_eq!(redacted_url("http://h?x=a/b"), "http://h?x=******", "a query without a path");
        // Raw '#' and '?' in a password stay in the password.
        assert_eq!(redacted_url("http://u:p#w?d@h:1/w"), "http://u:******@h:1/w");
        assert_eq!(public_addr("http://u:p#w?d@h:1/w"), "http://h:1/w");
        assert_eq!(public_addr("h:1?x"), "h:1");
        // Shown twice, the same: config replies load again as the same config (the agent's fuzz target).
        for u in ["https://u:pw@h/p?a=1&b#f", "http://h", "h:1", "http://u@h?"] {
            assert_eq!(redacted_url(&redacted_url(u)), redacted_url(u), "{u}");
        }
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
