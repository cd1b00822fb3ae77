//! Listen addresses as Open-Falcon configs write them (Go's `net.Listen` form).

/// A Go listen address as `net.Listen` takes it, turned into one `bind` takes: an empty host (`:6030`) means
/// every interface.
pub fn listen_addr(go_addr: &str) -> String {
    match go_addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => go_addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_listen_addresses() {
        assert_eq!(listen_addr(":6030"), "0.0.0.0:6030");
        assert_eq!(listen_addr("127.0.0.1:8433"), "127.0.0.1:8433");
        assert_eq!(listen_addr("[::1]:80"), "[::1]:80");
    }
}
