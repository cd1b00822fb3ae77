//! TLS for the JSON-RPC links between our components, opt-in and beside Go's plaintext ports.
//!
//! - Servers (transfer, HBS) listen on an extra address with [`ServerTls`]: a certificate and key, and with a
//!   client CA, mutual TLS. [`ServerTls::reload`] re-reads the files; connections already open keep the
//!   session they have, new ones get the new certificate.
//! - Clients (agent to transfer and HBS, the transfer relay) dial through [`ClientTls`], a
//!   [`Connector`](falcon_proto::connect::Connector): the server's certificate must chain to the configured
//!   CA and name the host dialled (or `serverName`), else the connection is refused and logged.
//!
//! rustls with the ring provider; no OpenSSL.

use crate::ratelog::RateLimited;
use falcon_proto::connect::{BoxStream, ConnectFuture, Connector};
use falcon_proto::go_struct;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How long a client may take to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

go_struct! {
    /// A client's TLS settings (`tls` in the agent's `heartbeat` and `transfer` sections and in the transfer's
    /// relay section). TLS is on when `ca` is set.
    pub struct ClientTlsConfig => "g.TlsConfig" {
        /// PEM file of the CA the server's certificate must chain to.
        pub ca: String = "ca",
        /// PEM certificate chain presented to a server that asks for one (mutual TLS); with `key`.
        pub cert: String = "cert",
        /// PEM private key of `cert`.
        pub key: String = "key",
        /// The name the server's certificate must carry; empty: the host part of the address dialled.
        pub server_name: String = "serverName",
    }
}

impl ClientTlsConfig {
    /// Whether TLS is on.
    pub fn enabled(&self) -> bool {
        !self.ca.is_empty()
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds nothing usable.
    #[error("{what} {path}: {reason}")]
    File {
        /// Which file (certificate, key, CA).
        what: &'static str,
        /// Its path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the combination (a key that does not match its certificate...).
    #[error("tls: {0}")]
    Config(String),
}

fn file_err(what: &'static str, path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File { what, path: path.display().to_string(), reason: reason.to_string() }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (at least one).
pub fn load_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(what, path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(what, path, e))?;
    if certs.is_empty() {
        return Err(file_err(what, path, "no certificate in the file"));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_err("key", path, e))
}

fn roots(path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    for c in load_certs("CA", path)? {
        store.add(c).map_err(|e| file_err("CA", path, e))?;
    }
    Ok(store)
}

/// A server's files: certificate chain and key, and the CA client certificates must chain to (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// PEM certificate chain.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// PEM CA of the clients; empty: clients need no certificate.
    pub client_ca: String,
}

impl ServerFiles {
    /// The files of a TLS listener configured at `listen` (None when `listen` is empty: no TLS listener).
    pub fn for_listener(listen: &str, cert: &str, key: &str, client_ca: &str) -> Option<ServerFiles> {
        (!listen.is_empty()).then(|| ServerFiles { cert: cert.into(), key: key.into(), client_ca: client_ca.into() })
    }
}

fn server_config(files: &ServerFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = load_certs("certificate", Path::new(&files.cert))?;
    let key = load_key(Path::new(&files.key))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = if files.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots(Path::new(&files.client_ca))?),
            provider(),
        )
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let cfg = builder.with_single_cert(certs, key).map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(cfg))
}

/// A TLS listener's configuration, reloadable.
pub struct ServerTls {
    files: ServerFiles,
    what: &'static str,
    current: RwLock<TlsAcceptor>,
    /// Handshakes that failed (no or a wrong client certificate, a client that does not trust us, garbage).
    pub failed_handshakes: AtomicU64,
}

static HANDSHAKE_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));
static CLIENT_LOG: RateLimited = RateLimited::new(Duration::from_secs(10));

impl ServerTls {
    /// Reads the files; `what` names the listener in logs.
    pub fn new(files: ServerFiles, what: &'static str) -> Result<Arc<Self>, TlsError> {
        let acceptor = TlsAcceptor::from(server_config(&files)?);
        Ok(Arc::new(ServerTls { files, what, current: RwLock::new(acceptor), failed_handshakes: AtomicU64::new(0) }))
    }

    /// Re-reads the files. On an error the running configuration stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let acceptor = TlsAcceptor::from(server_config(&self.files)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = acceptor;
        tracing::info!(listener = self.what, cert = %self.files.cert, "TLS certificates reloaded");
        Ok(())
    }

    /// Runs the handshake on an accepted connection; None (counted and logged) when it fails.
    pub async fn accept(&self, tcp: TcpStream) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        let peer = tcp.peer_addr().ok();
        let acceptor = self.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let reason = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => return Some(s),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "handshake timed out".to_string(),
        };
        self.failed_handshakes.fetch_add(1, Relaxed);
        if let Some(suppressed) = HANDSHAKE_LOG.check() {
            tracing::warn!(listener = self.what, peer = ?peer, %reason, suppressed, "TLS handshake refused");
        }
        None
    }
}

/// A client's TLS: dials TCP, then verifies the server against the configured CA.
pub struct ClientTls {
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").field("server_name", &self.server_name).finish()
    }
}

impl ClientTls {
    /// From a `tls` section with `ca` set.
    pub fn new(cfg: &ClientTlsConfig) -> Result<Arc<Self>, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(roots(Path::new(&cfg.ca))?);
        let config = match (cfg.cert.is_empty(), cfg.key.is_empty()) {
            (true, true) => builder.with_no_client_auth(),
            (false, false) => builder
                .with_client_auth_cert(load_certs("certificate", Path::new(&cfg.cert))?, load_key(Path::new(&cfg.key))?)
                .map_err(|e| TlsError::Config(e.to_string()))?,
            _ => return Err(TlsError::Config("cert and key go together".into())),
        };
        let server_name = if cfg.server_name.is_empty() {
            None
        } else {
            Some(
                ServerName::try_from(cfg.server_name.clone())
                    .map_err(|e| TlsError::Config(format!("serverName {:?}: {e}", cfg.server_name)))?,
            )
        };
        Ok(Arc::new(ClientTls { connector: TlsConnector::from(Arc::new(config)), server_name }))
    }

    /// The name to verify for `addr`: `serverName`, else its host (an IP address or a DNS name).
    fn name_for(&self, addr: &str) -> std::io::Result<ServerName<'static>> {
        if let Some(n) = &self.server_name {
            return Ok(n.clone());
        }
        let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("server name {host:?}: {e}")))
    }
}

impl Connector for ClientTls {
    fn connect<'a>(&'a self, addr: &'a str) -> ConnectFuture<'a> {
        Box::pin(async move {
            let name = self.name_for(addr)?;
            let tcp = falcon_proto::connect::tcp(addr).await?;
            match self.connector.connect(name, tcp).await {
                Ok(s) => Ok(Box::new(s) as BoxStream),
                Err(e) => {
                    if let Some(suppressed) = CLIENT_LOG.check() {
                        tracing::warn!(%addr, error = %e, suppressed, "TLS: server refused (its certificate does not verify, or it refused ours)");
                    }
                    Err(e)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
