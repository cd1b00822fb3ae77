//! The "telnet" line protocol on `socket.listen`:
//! `update <endpoint> <metric> <timestamp> <value> [<counterType> [<step> | <hb>:<min>:<max>:<step>]]`.
//!
//! Parsing is Go's (fields split on whitespace, counter type defaulting to COUNTER, step to 60, no tags, no
//! further validation, nothing ever written back; `quit` ends the session). Two deliberate differences: a
//! trailing `\r` is stripped (Go keeps it, so CRLF clients fail on the last field), and items are forwarded as
//! lines arrive, in batches of up to 200 or whenever the connection has no more input buffered, where Go holds
//! every item of a connection in memory until it closes.
//!
//! A connection reads through a small buffer that the budget does not charge; a line longer than that is
//! charged to the process's buffer budget as it grows, and a line left unfinished for the budget's stall
//! timeout closes the connection.

use crate::app::{App, Source};
use crate::point::{CounterType, Point};
use falcon_proto::gojson::parse_go_float;
use falcon_runtime::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Longest line accepted; longer ones are skipped (and counted).
pub const MAX_LINE: usize = 64 << 10;
/// Items forwarded together at most.
pub const BATCH: usize = 200;
/// Go's default step for socket items.
pub const DEFAULT_STEP: i64 = 60;

/// Parses one line (without its `\n`); None for lines Go ignores or drops.
pub fn parse_line(line: &str) -> Option<Point> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut f = line.split_whitespace();
    if f.next()? != "update" {
        return None;
    }
    let fields: Vec<&str> = f.collect();
    if !(4..=6).contains(&fields.len()) {
        return None;
    }
    let timestamp: i64 = fields[2].parse().ok()?;
    let value = parse_go_float(fields[3]).ok()?;
    let counter_type = match fields.get(4) {
        Some(t) => CounterType::parse(t)?,
        None => CounterType::Counter,
    };
    let step = match fields.get(5) {
        None => DEFAULT_STEP,
        Some(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.len() {
                1 => parts[0].parse().ok()?,
                4 => parts[3].parse().ok()?,
                _ => return None,
            }
        }
    };
    Some(Point {
        endpoint: crate::wire::Endpoint::intern(fields[0]).0,
        metric: fields[1].to_string(),
        tags: String::new(),
        value,
        timestamp,
        step,
        counter_type,
    })
}

/// The read buffer of a connection (within the budget's uncharged bytes per lease).
const READ_BUF: usize = 2 << 10;

/// Serves one connection until `quit`, EOF, the idle timeout, an error or shutdown.
pub async fn serve_conn<S: AsyncRead + Unpin>(stream: S, app: Arc<App>, idle: Duration, mut shutdown: Shutdown) {
    let mut reader = BufReader::with_capacity(READ_BUF, stream);
    let mut line = Vec::with_capacity(256);
    let mut lease = app.budget.lease();
    let stall = app.budget.stall().map_or(idle, |s| s.min(idle));
    let mut batch = Vec::with_capacity(BATCH);
    let mut oversized = false;
    loop {
        if reader.buffer().is_empty() && !batch.is_empty() {
            // Forward what arrived before waiting for more.
            app.receive_points(std::mem::take(&mut batch), Source::Socket);
        }
        // Half a line holds its buffer: it gets the stall timeout, not the idle one.
        let wait = if line.is_empty() { idle } else { stall };
        let filled = tokio::select! {
            r = tokio::time::timeout(wait, reader.fill_buf()) => r,
            _ = shutdown.wait() => break,
        };
        let buf = match filled {
            Ok(Ok(b)) if !b.is_empty() => b,
            Err(_) if !line.is_empty() => {
                app.budget.count_stall("socket", lease.held());
                break;
            }
            // EOF, error or idle timeout.
            _ => break,
        };
        let (chunk, newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        if line.len() + chunk.len() > MAX_LINE {
            oversized = true;
        } else if !oversized {
            let need = line.len() + chunk.len();
            if need > line.capacity() {
                let cap = line.capacity().saturating_mul(2).max(need).min(MAX_LINE);
                if let Err(e) = lease.grow_to(READ_BUF + cap).await {
                    app.budget.count_close("socket", &e);
                    break;
                }
                line.reserve_exact(cap - line.len());
            }
            line.extend_from_slice(chunk);
        }
        let used = chunk.len() + usize::from(newline);
        reader.consume(used);
        if !newline {
            continue;
        }
        if oversized {
            app.stats.socket_bad_lines.add(1);
            oversized = false;
        } else {
            let text = String::from_utf8_lossy(&line);
            if text == "quit" {
                line.clear();
                break;
            }
            if !text.is_empty() {
                match parse_line(&text) {
                    Some(p) => batch.push(p),
                    None => app.stats.socket_bad_lines.add(1),
                }
            }
        }
        line.clear();
        if line.capacity() > 4 << 10 {
            // A long line's buffer goes back once the line is done.
            line = Vec::with_capacity(256);
            lease.shrink_to(0);
        }
        if batch.len() >= BATCH {
            app.receive_points(std::mem::take(&mut batch), Source::Socket);
        }
    }
    if !batch.is_empty() {
        app.receive_points(batch, Source::Socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_as_go_does() {
        let p = parse_line("update vm peer.socket.test 1795261520 2.5 GAUGE 10").unwrap();
        assert_eq!(
            (&*p.endpoint, p.metric.as_str(), p.timestamp, p.value),
            ("vm", "peer.socket.test", 1795261520, 2.5)
        );
        assert_eq!((p.counter_type, p.step), (CounterType::Gauge, 10));
        let p = parse_line("update vm peer.socket.default 1795261520 7").unwrap();
        assert_eq!((p.counter_type, p.step, p.tags.as_str()), (CounterType::Counter, 60, ""));
        let p = parse_line("update\th  m   5  1e3 DERIVE 120:U:U:30\r").unwrap();
        assert_eq!((p.step, p.value, p.counter_type), (30, 1000.0, CounterType::Derive));
        for bad in [
            "update vm m 1",
            "update vm m x 1",
            "update vm m 1 y",
            "update vm m 1 2 gauge",
            "update vm m 1 2 GAUGE 1:2",
            "update vm m 1 2 GAUGE 10 extra",
            "put vm m 1 2",
            "",
        ] {
            assert!(parse_line(bad).is_none(), "{bad:?}");
        }
    }
}
