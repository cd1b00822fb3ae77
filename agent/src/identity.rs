//! Who the agent says it is: the endpoint (`hostname`, else `FALCON_ENDPOINT`, else the OS host name), the
//! IP reported to HBS, the agent version and the plugin checkout's version.

use std::net::{IpAddr, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::Duration;

/// The version reported to HBS and shown by `/version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The endpoint: the configured hostname, else `$FALCON_ENDPOINT`, else the OS host name.
pub fn hostname(configured: &str) -> Result<String, String> {
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    if let Ok(v) = std::env::var("FALCON_ENDPOINT") {
        if !v.is_empty() {
            return Ok(v);
        }
    }
    let h = nix::unistd::gethostname().map_err(|e| e.to_string())?;
    h.into_string().map_err(|_| "host name is not UTF-8".to_string())
}

/// The local address the kernel would use toward `addr` (HBS), found with a connected UDP socket, which
/// sends nothing. v0.3 dials HBS over TCP and cuts the address at the first `:`, which breaks IPv6.
pub fn local_ip_toward(addr: &str) -> Option<IpAddr> {
    let target = addr.to_socket_addrs().ok()?.next()?;
    let bind = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(target).ok()?;
    Some(sock.local_addr().ok()?.ip())
}

/// `PluginVersion` as Go reports it: a status text when plugins are off or the checkout is missing, else
/// `git rev-parse HEAD` in the checkout (bounded in time), or `Error:<reason>`.
pub async fn plugin_version(enabled: bool, dir: &Path) -> String {
    if !enabled {
        return "plugin not enabled".into();
    }
    if !dir.exists() {
        return "plugin dir not existent".into();
    }
    let mut cmd = tokio::process::Command::new("git");
    cmd.args(["rev-parse", "HEAD"]).current_dir(dir).kill_on_drop(true).stdin(std::process::Stdio::null());
    match tokio::time::timeout(Duration::from_secs(10), cmd.output()).await {
        Ok(Ok(out)) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(Ok(out)) => format!("Error:{}", String::from_utf8_lossy(&out.stderr).trim()),
        Ok(Err(e)) => format!("Error:{e}"),
        Err(_) => "Error:git rev-parse timed out".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_precedence() {
        assert_eq!(hostname("h1").unwrap(), "h1");
        assert!(!hostname("").unwrap().is_empty());
    }

    #[test]
    fn local_address_for_both_families() {
        assert_eq!(local_ip_toward("127.0.0.1:6030"), Some("127.0.0.1".parse().unwrap()));
        if let Some(ip) = local_ip_toward("[::1]:6030") {
            assert_eq!(ip, "::1".parse::<IpAddr>().unwrap());
        }
        assert_eq!(local_ip_toward("not an address"), None);
    }

    #[tokio::test]
    async fn plugin_version_texts() {
        assert_eq!(plugin_version(false, Path::new("/x")).await, "plugin not enabled");
        assert_eq!(plugin_version(true, Path::new("/nonexistent/falcon")).await, "plugin dir not existent");
        let v = plugin_version(true, Path::new("/")).await;
        assert!(v.starts_with("Error:"), "{v}");
    }
}
