//! The method table a JSON-RPC server dispatches on (`"Transfer.Update" -> handler`).

use super::envelope::{decode_params_checked, ParamsError};
use crate::gojson::{self, GoDecode};
use crate::rpc_table::MethodTable;
pub use crate::rpc_table::RegistryError;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A started call: resolves to the Go-encoded result, or an error text for the reply.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

/// A registered method: decodes its params (synchronously, on the connection's reader, as Go does) and
/// returns the work to run concurrently.
pub trait Method: Send + Sync {
    /// Decodes `params` (raw JSON) and starts the call; an error means the method is not invoked.
    fn start(&self, params: &str) -> Result<CallFuture, ParamsError>;
}

struct Typed<F, A> {
    f: F,
    _arg: std::marker::PhantomData<fn(A)>,
}

impl<A, R, F, Fut> Method for Typed<F, A>
where
    A: GoDecode + Default + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, String>> + Send + 'static,
{
    fn start(&self, params: &str) -> Result<CallFuture, ParamsError> {
        let arg = decode_params_checked::<A>(params)?;
        let fut = (self.f)(arg);
        Ok(Box::pin(async move {
            let reply = fut.await?;
            let bytes = gojson::to_vec(&reply).map_err(|e| gojson::strip_position(&e))?;
            // A Go client treats `"result":null` with `"error":null` as a broken connection.
            if bytes == b"null" {
                return Err("rpc: method produced a null result".to_string());
            }
            Ok(bytes)
        }))
    }
}

/// Services and their methods.
#[derive(Default, Clone)]
pub struct Registry {
    table: MethodTable<dyn Method>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (`Service.Method`) with a handler taking the decoded argument.
    pub fn register<A, R, F, Fut>(&mut self, name: &str, f: F) -> Result<&mut Self, RegistryError>
    where
        A: GoDecode + Default + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, String>> + Send + 'static,
    {
        self.register_method(name, Arc::new(Typed { f, _arg: std::marker::PhantomData }))
    }

    /// Registers an already type-erased method.
    pub fn register_method(&mut self, name: &str, m: Arc<dyn Method>) -> Result<&mut Self, RegistryError> {
        self.table.insert(name, m)?;
        Ok(self)
    }

    /// Go's lookup; the error is the reply text.
    pub fn lookup(&self, service_method: &str) -> Result<&Arc<dyn Method>, String> {
        self.table.lookup(service_method)
    }
}
