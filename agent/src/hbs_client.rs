//! The agent's HBS connection over one or more addresses (`heartbeat.addrs`, falcon-plus#957 and #354): calls
//! go to one HBS at a time; on a connection error or a timeout the same call moves to the next address, and
//! later calls stay where one succeeded. An HBS that answers, even with an error, keeps the agent.

use falcon_proto::gojson::GoDecode;
use falcon_proto::jsonrpc::client::{CallError, Client, ClientConfig};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Clients for every address and the one in use.
pub struct HbsClient {
    clients: Vec<Client>,
    current: AtomicUsize,
}

/// Whether an error means "this HBS is unreachable": try the next one.
pub fn is_unreachable(e: &CallError) -> bool {
    matches!(
        e,
        CallError::Dial { .. } | CallError::Timeout { .. } | CallError::Closed { .. } | CallError::Protocol { .. }
    )
}

impl HbsClient {
    /// A client over `addrs` (in failover order), each with `cfg`.
    pub fn new(addrs: &[String], cfg: ClientConfig) -> Self {
        HbsClient {
            clients: addrs.iter().map(|a| Client::new(a.clone(), cfg.clone())).collect(),
            current: AtomicUsize::new(0),
        }
    }

    /// The address in use.
    pub fn addr(&self) -> &str {
        self.clients.get(self.current.load(Ordering::Relaxed) % self.clients.len().max(1)).map_or("", |c| c.addr())
    }

    /// Calls `method`, moving through the addresses (from the one in use, each at most once) while they are
    /// unreachable.
    pub async fn call<A: Serialize, R: GoDecode + Default>(&self, method: &str, args: &A) -> Result<R, CallError> {
        let n = self.clients.len();
        if n == 0 {
            return Err(CallError::Dial { addr: String::new(), reason: "no HBS address configured".into() });
        }
        let start = self.current.load(Ordering::Relaxed);
        let mut last = None;
        for step in 0..n {
            let i = (start + step) % n;
            match self.clients[i].call::<A, R>(method, args).await {
                Err(e) if is_unreachable(&e) => {
                    tracing::warn!(hbs = %self.clients[i].addr(), error = %e, method, "HBS unreachable");
                    last = Some(e);
                }
                r => {
                    if i != start % n {
                        tracing::info!(hbs = %self.clients[i].addr(), "heartbeat moved to this HBS");
                        // Another task may have moved on meanwhile; the last success wins either way.
                        self.current.store(i, Ordering::Relaxed);
                    }
                    return r;
                }
            }
        }
        Err(last.unwrap_or(CallError::Dial { addr: String::new(), reason: "no HBS answered".into() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use falcon_proto::jsonrpc::registry::Registry;
    use falcon_proto::jsonrpc::server::{spawn, ServerConfig};
    use falcon_proto::model::NullRpcRequest;
    use std::time::Duration;

    async fn hbs(answer: &'static str) -> (String, falcon_runtime::shutdown::ShutdownTrigger) {
        let mut reg = Registry::new();
        reg.register("Agent.TrustableIps", move |_r: NullRpcRequest| async move { Ok(answer.to_string()) }).unwrap();
        let (stop, shutdown) = falcon_runtime::shutdown::channel();
        let (addr, _) = spawn("127.0.0.1:0", reg, ServerConfig::default(), shutdown).await.unwrap();
        (addr.to_string(), stop)
    }

    fn dead_addr() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    }

    #[tokio::test]
    async fn fails_over_and_sticks() {
        let (b, _sb) = hbs("from-b").await;
        let (c, _sc) = hbs("from-c").await;
        let cfg = ClientConfig { dial_timeout: Duration::from_millis(300), ..ClientConfig::default() };
        let client = HbsClient::new(&[dead_addr(), b.clone(), c], cfg);
        let r: String = client.call("Agent.TrustableIps", &NullRpcRequest {}).await.unwrap();
        assert_eq!(r, "from-b");
        assert_eq!(client.addr(), b);
        let r: String = client.call("Agent.TrustableIps", &NullRpcRequest {}).await.unwrap();
        assert_eq!(r, "from-b", "stays on the HBS that answered");
        let e = client.call::<_, String>("Agent.Nope", &NullRpcRequest {}).await.unwrap_err();
        assert!(!is_unreachable(&e), "a server error does not move the agent: {e}");
        assert_eq!(client.addr(), b);

        let none = HbsClient::new(&[dead_addr()], ClientConfig::default());
        assert!(none.call::<_, String>("Agent.TrustableIps", &NullRpcRequest {}).await.is_err());
        assert!(HbsClient::new(&[], ClientConfig::default()).call::<_, String>("x", &NullRpcRequest {}).await.is_err());
    }
}
