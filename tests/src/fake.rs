//! A fake transfer: our JSON-RPC server answering `Transfer.Update` like Go's and recording every call.

use falcon_base::shutdown::{channel, ShutdownTrigger};
use falcon_proto::jsonrpc::registry::Registry;
use falcon_proto::jsonrpc::server::{spawn, ServerConfig};
use falcon_proto::model::{MetricValue, TransferResponse};
use std::sync::{Arc, Mutex};

/// Every `Transfer.Update` call received, one Vec per call.
pub type Calls = Arc<Mutex<Vec<Vec<MetricValue>>>>;

/// A running fake transfer.
pub struct FakeTransfer {
    /// Where it listens.
    pub addr: String,
    /// What it received.
    pub calls: Calls,
    stop: ShutdownTrigger,
}

impl FakeTransfer {
    /// Starts one on `addr` (`127.0.0.1:0` for a free port), recording into `calls`.
    pub fn start(rt: &tokio::runtime::Runtime, addr: &str, calls: Calls) -> FakeTransfer {
        let mut reg = Registry::new();
        let c = calls.clone();
        let registered = reg.register("Transfer.Update", move |items: Vec<MetricValue>| {
            let c = c.clone();
            async move {
                let total = items.len() as i64;
                if let Ok(mut c) = c.lock() {
                    c.push(items);
                }
                Ok(TransferResponse { message: "ok".into(), total, invalid: 0, latency: 0 })
            }
        });
        assert!(registered.is_ok());
        let (stop, shutdown) = channel();
        let (local, _) =
            rt.block_on(spawn(addr, reg, ServerConfig::default(), shutdown)).expect("fake transfer listens");
        FakeTransfer { addr: local.to_string(), calls, stop }
    }

    /// Stops listening and drops its connections.
    pub fn stop(self) {
        self.stop.trigger();
    }

    /// Every item received so far.
    pub fn items(&self) -> Vec<MetricValue> {
        self.calls.lock().map(|c| c.iter().flatten().cloned().collect()).unwrap_or_default()
    }
}
