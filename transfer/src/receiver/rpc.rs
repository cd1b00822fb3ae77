//! `Transfer.Update` and `Transfer.Ping` on the JSON-RPC listener.

use crate::app::{App, Source};
use crate::wire::Incoming;
use falcon_proto::jsonrpc::{Registry, RegistryError};
use falcon_proto::model::{NullRpcRequest, SimpleRpcResponse};
use std::sync::Arc;

/// The transfer's JSON-RPC methods.
pub fn registry(app: Arc<App>) -> Result<Registry, RegistryError> {
    let mut r = Registry::new();
    r.register("Transfer.Update", move |items: Vec<Option<Incoming>>| {
        let app = app.clone();
        async move { Ok(app.receive(items, Source::Rpc)) }
    })?;
    r.register("Transfer.Ping", |_: NullRpcRequest| async { Ok(SimpleRpcResponse { code: 0 }) })?;
    Ok(r)
}
