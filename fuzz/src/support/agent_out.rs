//! Where the agent's outside-sourced items end: default tags applied (`outgoing::forwarded`) and the batch
//! handed to the real sender (`Sender::submit`: encoded once, buffered with a bound). The sender here has no
//! transfer address and a small buffer, so nothing leaves and memory stays bounded across executions.

use crate::feedback::note_n;
use falcon_agent::outgoing::forwarded;
use falcon_agent::sender::{Sender, SenderConfig};
use falcon_proto::model::MetricValue;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    static SENDER: Arc<Sender> = Sender::new(
        SenderConfig {
            addrs: Vec::new(),
            dial_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(1),
            max_items: 2048,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(1),
            connector: None,
        },
        None,
    );
}

/// Forwards `items` as the agent does, with a default tag that overrides one the items may carry.
pub fn forward(items: Vec<MetricValue>) {
    let defaults = BTreeMap::from([("idc".to_string(), "bj".to_string()), ("a".to_string(), "1".to_string())]);
    let items = forwarded(items, &defaults);
    for m in &items {
        // Default tags are applied piece by piece: the result must still hold every default once.
        assert!(m.tags.contains("idc=bj"), "default tag lost from {:?}", m.tags);
    }
    note_n("forwarded", items.len());
    SENDER.with(|s| s.submit(&items));
}
