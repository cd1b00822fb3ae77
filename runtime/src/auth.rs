//! Who may call a state-changing HTTP route (`/config/reload`, `/exit`, `/run`, `/plugin/*`, the HBS admin API).
//!
//! Go lets any loopback caller (and the agent also HBS's trustable IPs) through, with no way to prove who is
//! calling from elsewhere. We keep that rule and add a bearer token from the config: a request carrying
//! `Authorization: Bearer <token>` is let through from any address, and `tokenRequired` makes the token the only
//! way in, loopback included. The token is compared in constant time and never logged or shown.

use http::HeaderMap;

/// The token settings of one binary's HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    /// The configured token; empty for none.
    pub token: &'a str,
    /// Whether only the token lets a caller in.
    pub required: bool,
}

/// Why a caller was let in, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It sent the configured token.
    Token,
    /// Its address is trusted (loopback, or a trusted IP) and the token is not required.
    Address,
    /// Neither.
    Refused,
}

impl Admission {
    /// Whether the caller may go on.
    pub fn allowed(self) -> bool {
        self != Admission::Refused
    }
}

impl Gate<'_> {
    /// Judges a request with these headers from an address the binary trusts (`address_trusted`) or not.
    pub fn admit(&self, headers: &HeaderMap, address_trusted: bool) -> Admission {
        if !self.token.is_empty() {
            let sent = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim);
            if sent.is_some_and(|s| constant_time_eq(s.as_bytes(), self.token.as_bytes())) {
                return Admission::Token;
            }
        }
        if address_trusted && !self.required {
            Admission::Address
        } else {
            Admission::Refused
        }
    }
}

/// Equal contents, in a time that depends on the lengths only (the secret's length is not hidden).
fn constant_time_eq(sent: &[u8], secret: &[u8]) -> bool {
    let mut diff = (sent.len() != secret.len()) as u8;
    for (i, s) in secret.iter().enumerate() {
        diff |= s ^ sent.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// Whether a caller may use a state-changing admin route: loopback (any 127/8, ::1, or their IPv4-mapped
/// forms), or an address of `trusted` (compared as addresses, so `::ffff:10.1.1.1` matches `10.1.1.1`).
pub fn is_trusted<'a>(ip: std::net::IpAddr, trusted: impl IntoIterator<Item = &'a String>) -> bool {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    ip.is_loopback() || trusted.into_iter().any(|t| t.trim().parse::<IpAddr>().is_ok_and(|t| t == ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[test]
    fn token_address_and_required() {
        let open = Gate { token: "", required: false };
        assert_eq!(open.admit(&headers(None), true), Admission::Address);
        assert_eq!(open.admit(&headers(Some("Bearer x")), false), Admission::Refused, "no token configured");
        let t = Gate { token: "s3cret", required: false };
        assert_eq!(t.admit(&headers(Some("Bearer s3cret")), false), Admission::Token);
        assert_eq!(t.admit(&headers(Some("Bearer s3cre")), false), Admission::Refused);
        assert_eq!(t.admit(&headers(Some("Bearer s3cret!")), false), Admission::Refused);
        assert_eq!(t.admit(&headers(Some("Basic s3cret")), false), Admission::Refused);
        assert_eq!(t.admit(&headers(Some("Bearer wrong")), true), Admission::Address, "loopback still enough");
        let r = Gate { token: "s3cret", required: true };
        assert_eq!(r.admit(&headers(None), true), Admission::Refused, "loopback is not enough when required");
        assert_eq!(r.admit(&headers(Some("Bearer s3cret")), true), Admission::Token);
        assert!(!Admission::Refused.allowed() && Admission::Token.allowed());
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
    }
}
