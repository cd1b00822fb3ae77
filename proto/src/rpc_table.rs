//! The `Service.Method` table both RPC servers dispatch on, with Go's lookup rules and error texts.

use std::collections::HashMap;
use std::sync::Arc;

/// Why registration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Names must be `Service.Method`.
    #[error("method name {0:?} is not of the form Service.Method")]
    BadName(String),
    /// Registered twice.
    #[error("method {0} registered twice")]
    Duplicate(String),
}

/// Services and their methods (`M` is the server's type-erased handler).
pub struct MethodTable<M: ?Sized> {
    services: HashMap<String, HashMap<String, Arc<M>>>,
}

impl<M: ?Sized> Default for MethodTable<M> {
    fn default() -> Self {
        MethodTable { services: HashMap::new() }
    }
}

impl<M: ?Sized> Clone for MethodTable<M> {
    fn clone(&self) -> Self {
        MethodTable { services: self.services.clone() }
    }
}

impl<M: ?Sized> MethodTable<M> {
    /// Adds `name` (`Service.Method`).
    pub fn insert(&mut self, name: &str, m: Arc<M>) -> Result<(), RegistryError> {
        let (svc, method) = name.rsplit_once('.').ok_or_else(|| RegistryError::BadName(name.to_string()))?;
        if svc.is_empty() || method.is_empty() {
            return Err(RegistryError::BadName(name.to_string()));
        }
        let methods = self.services.entry(svc.to_string()).or_default();
        if methods.insert(method.to_string(), m).is_some() {
            return Err(RegistryError::Duplicate(name.to_string()));
        }
        Ok(())
    }

    /// Go's `net/rpc` lookup: split on the last `.`, find the service, then the method; the error is the
    /// text Go's server replies with.
    pub fn lookup(&self, service_method: &str) -> Result<&Arc<M>, String> {
        let Some((svc, method)) = service_method.rsplit_once('.') else {
            return Err(format!("rpc: service/method request ill-formed: {service_method}"));
        };
        let Some(methods) = self.services.get(svc) else {
            return Err(format!("rpc: can't find service {service_method}"));
        };
        methods.get(method).ok_or_else(|| format!("rpc: can't find method {service_method}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_lookup_texts() {
        let mut t: MethodTable<str> = MethodTable::default();
        t.insert("Agent.ReportStatus", Arc::from("x")).unwrap();
        assert!(t.lookup("Agent.ReportStatus").is_ok());
        assert_eq!(t.lookup("Agent.Nope").unwrap_err(), "rpc: can't find method Agent.Nope");
        assert_eq!(t.lookup("Nope.X").unwrap_err(), "rpc: can't find service Nope.X");
        assert_eq!(t.lookup("NoDot").unwrap_err(), "rpc: service/method request ill-formed: NoDot");
        // The last dot splits: "a.b.c" is method c of service "a.b".
        assert_eq!(t.lookup("Agent.x.ReportStatus").unwrap_err(), "rpc: can't find service Agent.x.ReportStatus");
        assert!(matches!(t.insert("Agent.ReportStatus", Arc::from("y")), Err(RegistryError::Duplicate(_))));
        assert!(matches!(t.insert("Bad", Arc::from("y")), Err(RegistryError::BadName(_))));
        assert!(matches!(t.insert(".x", Arc::from("y")), Err(RegistryError::BadName(_))));
    }
}
