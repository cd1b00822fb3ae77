//! Transfer's counters, as Go's `proc` package keeps and prints them.
//!
//! A QPS counter prints `{"Name","Cnt","Qps","Time","Other":{}}`; reading it refreshes `Time` to now and,
//! when more than a second has passed since the last refresh, `Qps = (Cnt - lastCnt) / (now - lastTs)`
//! (integer division). The queue-size counters (`*SendCacheCnt`) print without `Qps`; Go refreshes them every
//! 5 s (and never for tsdb in v0.3), we compute them when read. `/counter/all` lists v0.3's 24 counters, or
//! HEAD's 35 when the config has HEAD's sections; counters of ours are listed by `/counter/extra`.

use falcon_runtime::timefmt::{format_local, now_unix};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Mutex;

#[derive(Debug)]
struct QpsState {
    qps: i64,
    last_ts: i64,
    last_cnt: i64,
}

/// A counter with Go's smoothed QPS.
#[derive(Debug)]
pub struct QpsCounter {
    cnt: AtomicI64,
    state: Mutex<QpsState>,
}

impl QpsCounter {
    fn new(now: i64) -> Self {
        QpsCounter { cnt: AtomicI64::new(0), state: Mutex::new(QpsState { qps: 0, last_ts: now, last_cnt: 0 }) }
    }

    /// Adds `n`.
    pub fn add(&self, n: usize) {
        if n > 0 {
            self.cnt.fetch_add(n as i64, Relaxed);
        }
    }

    /// The count.
    pub fn get(&self) -> i64 {
        self.cnt.load(Relaxed)
    }

    /// Go's `Get()`: refreshes the QPS when more than a second has passed, returns (cnt, qps).
    fn read(&self, now: i64) -> (i64, i64) {
        let cnt = self.get();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now - st.last_ts > 1 {
            st.qps = (cnt - st.last_cnt) / (now - st.last_ts);
            st.last_ts = now;
            st.last_cnt = cnt;
        }
        (cnt, st.qps)
    }
}

macro_rules! counters {
    ($($field:ident => $name:literal,)*) => {
        /// Every QPS counter transfer keeps.
        #[derive(Debug)]
        pub struct Stats {
            $(
                #[doc = $name]
                pub $field: QpsCounter,
            )*
            /// When the process started (the time Go's never-refreshed counters show).
            pub started: i64,
            /// Seconds per delivery attempt, by output (`/metrics` only).
            pub send_seconds: falcon_runtime::metrics::SecondsHistogram,
        }

        impl Stats {
            /// All at zero.
            pub fn new() -> Self {
                let now = now_unix();
                Stats {
                    $($field: QpsCounter::new(now),)*
                    started: now,
                    send_seconds: falcon_runtime::metrics::seconds_family(),
                }
            }

            fn by_name(&self, name: &str) -> Option<&QpsCounter> {
                match name {
                    $($name => Some(&self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

counters! {
    recv => "RecvCnt",
    rpc_recv => "RpcRecvCnt",
    http_recv => "HttpRecvCnt",
    socket_recv => "SocketRecvCnt",
    send_to_judge => "SendToJudgeCnt",
    send_to_tsdb => "SendToTsdbCnt",
    send_to_influxdb => "SendToInfluxdbCnt",
    send_to_graph => "SendToGraphCnt",
    send_to_transfer => "SendToTransferCnt",
    send_to_p8s_relay => "SendToP8sRelayCnt",
    judge_drop => "SendToJudgeDropCnt",
    tsdb_drop => "SendToTsdbDropCnt",
    graph_drop => "SendToGraphDropCnt",
    transfer_drop => "SendToTransferDropCnt",
    influxdb_drop => "SendToInfluxdbDropCnt",
    p8s_relay_drop => "SendToP8sRelayDropCnt",
    judge_fail => "SendToJudgeFailCnt",
    tsdb_fail => "SendToTsdbFailCnt",
    graph_fail => "SendToGraphFailCnt",
    transfer_fail => "SendToTransferFailCnt",
    influxdb_fail => "SendToInfluxdbFailCnt",
    p8s_relay_fail => "SendToP8sRelayFailCnt",
    history_request => "HistoryRequestCnt",
    info_request => "InfoRequestCnt",
    last_request => "LastRequestCnt",
    last_raw_request => "LastRawRequestCnt",
    history_response_counter => "HistoryResponseCounterCnt",
    history_response_item => "HistoryResponseItemCnt",
    last_request_item => "LastRequestItemCnt",
    last_raw_request_item => "LastRawRequestItemCnt",
    // Ours (`/counter/extra`): batches put back in their queue after a transport failure, items left undelivered
    // at shutdown, socket lines that did not parse, and oversized socket lines.
    judge_requeued => "SendToJudgeRequeueCnt",
    graph_requeued => "SendToGraphRequeueCnt",
    tsdb_requeued => "SendToTsdbRequeueCnt",
    transfer_requeued => "SendToTransferRequeueCnt",
    undelivered_at_exit => "UndeliveredAtExitCnt",
    socket_bad_lines => "SocketBadLineCnt",
    send_to_archive => "SendToArchiveCnt",
    archive_drop => "SendToArchiveDropCnt",
    archive_fail => "SendToArchiveFailCnt",
    archive_requeued => "SendToArchiveRequeueCnt",
    send_to_remote_write => "SendToRemoteWriteCnt",
    remote_write_drop => "SendToRemoteWriteDropCnt",
    remote_write_fail => "SendToRemoteWriteFailCnt",
    remote_write_requeued => "SendToRemoteWriteRequeueCnt",
    influxdb_requeued => "SendToInfluxdbRequeueCnt",
    p8s_relay_requeued => "SendToP8sRelayRequeueCnt",
    p8s_relay_derive => "SendToP8sRelayDeriveSkipCnt",
    // Ours, for `/metrics` only (not in Go's lists): items refused by validation.
    invalid => "RecvInvalidCnt",
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

/// Queue lengths summed per output, for the `*SendCacheCnt` counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueLens {
    /// All judge queues.
    pub judge: usize,
    /// All graph queues.
    pub graph: usize,
    /// The tsdb queue.
    pub tsdb: usize,
    /// The relay queue.
    pub transfer: usize,
    /// All p8s relay queues.
    pub p8s_relay: usize,
}

const V03_ORDER: &[&str] = &[
    "RecvCnt",
    "RpcRecvCnt",
    "HttpRecvCnt",
    "SocketRecvCnt",
    "SendToJudgeCnt",
    "SendToTsdbCnt",
    "SendToGraphCnt",
    "SendToJudgeDropCnt",
    "SendToTsdbDropCnt",
    "SendToGraphDropCnt",
    "SendToJudgeFailCnt",
    "SendToTsdbFailCnt",
    "SendToGraphFailCnt",
    "JudgeSendCacheCnt",
    "TsdbSendCacheCnt",
    "GraphSendCacheCnt",
    "HistoryRequestCnt",
    "InfoRequestCnt",
    "LastRequestCnt",
    "LastRawRequestCnt",
    "HistoryResponseCounterCnt",
    "HistoryResponseItemCnt",
    "LastRequestItemCnt",
    "LastRawRequestItemCnt",
];

const HEAD_ORDER: &[&str] = &[
    "RecvCnt",
    "RpcRecvCnt",
    "HttpRecvCnt",
    "SocketRecvCnt",
    "SendToJudgeCnt",
    "SendToTsdbCnt",
    "SendToInfluxdbCnt",
    "SendToGraphCnt",
    "SendToTransferCnt",
    "SendToP8sRelayCnt",
    "SendToJudgeDropCnt",
    "SendToTsdbDropCnt",
    "SendToGraphDropCnt",
    "SendToTransferDropCnt",
    "SendToInfluxdbDropCnt",
    "SendToP8sRelayDropCnt",
    "SendToJudgeFailCnt",
    "SendToTsdbFailCnt",
    "SendToGraphFailCnt",
    "SendToTransferFailCnt",
    "SendToInfluxdbFailCnt",
    "SendToP8sRelayFailCnt",
    "JudgeSendCacheCnt",
    "TsdbSendCacheCnt",
    "GraphSendCacheCnt",
    "TransferSendCacheCnt",
    "P8sRelaySendCacheCnt",
    "HistoryRequestCnt",
    "InfoRequestCnt",
    "LastRequestCnt",
    "LastRawRequestCnt",
    "HistoryResponseCounterCnt",
    "HistoryResponseItemCnt",
    "LastRequestItemCnt",
    "LastRawRequestItemCnt",
];

const EXTRA_ORDER: &[&str] = &[
    "SendToJudgeRequeueCnt",
    "SendToGraphRequeueCnt",
    "SendToTsdbRequeueCnt",
    "SendToTransferRequeueCnt",
    "UndeliveredAtExitCnt",
    "SocketBadLineCnt",
    "SendToArchiveCnt",
    "SendToArchiveDropCnt",
    "SendToArchiveFailCnt",
    "SendToArchiveRequeueCnt",
    "SendToRemoteWriteCnt",
    "SendToRemoteWriteDropCnt",
    "SendToRemoteWriteFailCnt",
    "SendToRemoteWriteRequeueCnt",
    "SendToInfluxdbRequeueCnt",
    "SendToP8sRelayRequeueCnt",
    "SendToP8sRelayDeriveSkipCnt",
    "AcceptErrorCnt",
];

/// One printed counter.
pub enum Entry {
    /// A QPS counter.
    Qps {
        /// Name.
        name: &'static str,
        /// Count.
        cnt: i64,
        /// Smoothed rate.
        qps: i64,
        /// Local time string.
        time: String,
    },
    /// A plain counter.
    Base {
        /// Name.
        name: &'static str,
        /// Value.
        cnt: i64,
        /// Local time string.
        time: String,
    },
}

struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_struct("Other", 0)?.end()
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Entry::Qps { name, cnt, qps, time } => {
                let mut st = s.serialize_struct("SCounterQps", 5)?;
                st.serialize_field("Name", name)?;
                st.serialize_field("Cnt", cnt)?;
                st.serialize_field("Qps", qps)?;
                st.serialize_field("Time", time)?;
                st.serialize_field("Other", &Empty)?;
                st.end()
            }
            Entry::Base { name, cnt, time } => {
                let mut st = s.serialize_struct("SCounterBase", 4)?;
                st.serialize_field("Name", name)?;
                st.serialize_field("Cnt", cnt)?;
                st.serialize_field("Time", time)?;
                st.serialize_field("Other", &Empty)?;
                st.end()
            }
        }
    }
}

impl Stats {
    /// The `/counter/all` list: v0.3's order, or HEAD's when `head` (the config has HEAD's sections).
    pub fn all(&self, queues: QueueLens, head: bool) -> Vec<Entry> {
        self.entries(if head { HEAD_ORDER } else { V03_ORDER }, queues)
    }

    /// Our own counters, in the same format.
    pub fn extra(&self) -> Vec<Entry> {
        self.entries(EXTRA_ORDER, QueueLens::default())
    }

    fn entries(&self, names: &[&'static str], q: QueueLens) -> Vec<Entry> {
        let now = now_unix();
        let time = format_local(now);
        names
            .iter()
            .map(|&name| {
                let queue = match name {
                    "JudgeSendCacheCnt" => Some(q.judge),
                    "GraphSendCacheCnt" => Some(q.graph),
                    "TsdbSendCacheCnt" => Some(q.tsdb),
                    "TransferSendCacheCnt" => Some(q.transfer),
                    "P8sRelaySendCacheCnt" => Some(q.p8s_relay),
                    "AcceptErrorCnt" => Some(falcon_proto::netutil::accept_errors() as usize),
                    _ => None,
                };
                match (queue, self.by_name(name)) {
                    (Some(len), _) => Entry::Base { name, cnt: len as i64, time: time.clone() },
                    (None, Some(c)) => {
                        let (cnt, qps) = c.read(now);
                        Entry::Qps { name, cnt, qps, time: time.clone() }
                    }
                    // Every name in the lists has a counter; a missing one prints as zero rather than failing.
                    (None, None) => Entry::Qps { name, cnt: 0, qps: 0, time: time.clone() },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_gos_names_and_shapes() {
        let s = Stats::new();
        s.recv.add(468);
        let all = s.all(QueueLens { judge: 3, ..Default::default() }, false);
        assert_eq!(all.len(), 24);
        let json = falcon_proto::gojson::to_string(&all).unwrap();
        assert!(json.starts_with(r#"[{"Name":"RecvCnt","Cnt":468,"Qps":0,"Time":""#), "{json}");
        assert!(json.contains(r#"{"Name":"JudgeSendCacheCnt","Cnt":3,"Time":""#));
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        let names: Vec<&str> = parsed.iter().map(|e| e["Name"].as_str().unwrap()).collect();
        assert_eq!(names, V03_ORDER);
        assert!(parsed.iter().all(|e| e["Other"] == serde_json::json!({})));
        assert_eq!(s.all(QueueLens::default(), true).len(), 35);
        for name in V03_ORDER.iter().chain(HEAD_ORDER).chain(EXTRA_ORDER) {
            // Queue lengths and the accept-error count are read when printed, not kept as QPS counters.
            let computed = name.ends_with("SendCacheCnt") || *name == "AcceptErrorCnt";
            assert!(computed || s.by_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn qps_is_gos_integer_rate_over_the_read_interval() {
        let c = QpsCounter::new(100);
        c.add(50);
        assert_eq!(c.read(101), (50, 0), "within a second: not refreshed");
        assert_eq!(c.read(105), (50, 10));
        c.add(7);
        assert_eq!(c.read(108), (57, 2), "7 / 3 rounds down");
    }
}
