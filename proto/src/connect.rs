//! How a client opens its byte stream: plain TCP by default, or whatever a [`Connector`] makes of the address
//! (the binaries plug TLS in here, from `falcon-runtime`, so that the wire library does not carry a TLS stack).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream a client can talk over.
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// A boxed [`ByteStream`].
pub type BoxStream = Box<dyn ByteStream>;

/// What [`Connector::connect`] returns.
pub type ConnectFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxStream>> + Send + 'a>>;

/// Opens streams to addresses (TCP and a handshake, for instance).
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// A stream to `addr` (`host:port`).
    fn connect<'a>(&'a self, addr: &'a str) -> ConnectFuture<'a>;
}

/// Plain TCP, `TCP_NODELAY` set.
pub async fn tcp(addr: &str) -> io::Result<tokio::net::TcpStream> {
    let s = tokio::net::TcpStream::connect(addr).await?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// A stream to `addr` through `connector` (plain TCP when None), within `timeout`.
pub async fn open(
    connector: Option<&std::sync::Arc<dyn Connector>>,
    addr: &str,
    timeout: Duration,
) -> Result<BoxStream, String> {
    let dial = async {
        match connector {
            Some(c) => c.connect(addr).await,
            None => tcp(addr).await.map(|s| Box::new(s) as BoxStream),
        }
    };
    match tokio::time::timeout(timeout, dial).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("i/o timeout".into()),
    }
}
