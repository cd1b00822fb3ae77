//! `TcpExt.*` from /proc/net/netstat: the 23 names v0.3 picks, those the kernel prints.

use super::table::parse_table;
use super::{counter, read, CollectError, Env, Sample};

/// The TcpExt columns v0.3 reports.
pub const WANTED: [&str; 23] = [
    "PruneCalled",
    "LockDroppedIcmps",
    "ArpFilter",
    "TW",
    "DelayedACKLocked",
    "ListenOverflows",
    "ListenDrops",
    "TCPPrequeueDropped",
    "TCPTSReorder",
    "TCPDSACKUndo",
    "TCPLoss",
    "TCPLostRetransmit",
    "TCPLossFailures",
    "TCPFastRetrans",
    "TCPTimeouts",
    "TCPSchedulerFailed",
    "TCPAbortOnMemory",
    "TCPAbortOnTimeout",
    "TCPAbortFailed",
    "TCPMemoryPressures",
    "TCPSpuriousRTOs",
    "TCPBacklogDrop",
    "TCPMinTTLDrop",
];

/// The samples from /proc/net/netstat text, in file order (Go's is random).
pub fn parse_tcpext(text: &str) -> Result<Vec<Sample>, CollectError> {
    Ok(parse_table(text, "TcpExt:")?
        .into_iter()
        .filter(|(n, v)| *v >= 0 && WANTED.contains(&n.as_str()))
        .map(|(n, v)| counter(format!("TcpExt.{n}"), v, ""))
        .collect())
}

/// `TcpExt.*`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    parse_tcpext(&read(&env.proc_file("net/netstat"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_wanted_columns_of_the_captured_file() {
        let s = parse_tcpext(include_str!("../../fixtures/modern/net/netstat")).unwrap();
        // This kernel no longer prints TCPPrequeueDropped, TCPLoss nor TCPSchedulerFailed: 20 remain, as in
        // the Go capture.
        assert_eq!(s.len(), 20);
        assert!(s.iter().any(|x| x.metric == "TcpExt.TW"));
        assert!(s.iter().all(|x| x.kind == super::super::Kind::Counter && x.tags.is_empty()));
    }
}
