//! A gob `net/rpc` client connection, one call at a time (as transfer's pooled connections are used).
//!
//! Each call writes the `rpc.Request` header and the argument (with any type definitions this connection has
//! not sent yet), then reads the `rpc.Response` header and body, absorbing whatever definitions the server
//! sends in between. A cancelled or failed call leaves the stream in an unknown state: drop the client.

use super::convert::FromGob;
use super::decode::{Decoder, Message};
use super::encode::{Encoder, GobEncode, TypeTable};
use super::model::{EmptyStruct, RequestHeader, ResponseHeader};
use super::stream::{MessageReader, DEFAULT_MAX_MESSAGE};
use super::GobError;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Why a gob call failed.
#[derive(Debug, thiserror::Error)]
pub enum GobCallError {
    /// Could not connect.
    #[error("dial {addr}: {reason}")]
    Dial {
        /// Target.
        addr: String,
        /// Cause.
        reason: String,
    },
    /// The stream failed or carried something unreadable; the connection is unusable.
    #[error("{0}")]
    Transport(#[from] GobError),
    /// The server's reply broke the protocol (wrong sequence number, say).
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server answered with an error; the connection is still usable.
    #[error("{0}")]
    Server(String),
}

/// One gob RPC connection.
pub struct GobClient {
    addr: String,
    reader: MessageReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    enc: Encoder,
    dec: Decoder,
    seq: u64,
    out: Vec<u8>,
}

impl GobClient {
    /// Connects to `addr` within `dial_timeout`, using the process-wide type ids.
    pub async fn connect(addr: &str, dial_timeout: Duration) -> Result<Self, GobCallError> {
        Self::connect_with(addr, dial_timeout, TypeTable::global(), DEFAULT_MAX_MESSAGE).await
    }

    /// Connects with a given type-id table and reply size bound.
    pub async fn connect_with(
        addr: &str,
        dial_timeout: Duration,
        table: Arc<TypeTable>,
        max_message: usize,
    ) -> Result<Self, GobCallError> {
        let dial = tokio::time::timeout(dial_timeout, TcpStream::connect(addr)).await;
        let stream = match dial {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(GobCallError::Dial { addr: addr.to_string(), reason: e.to_string() }),
            Err(_) => return Err(GobCallError::Dial { addr: addr.to_string(), reason: "i/o timeout".into() }),
        };
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        Ok(GobClient {
            addr: addr.to_string(),
            reader: MessageReader::new(rd, max_message),
            writer: wr,
            enc: Encoder::with_table(table),
            dec: Decoder::new(),
            seq: 0,
            out: Vec::with_capacity(8 << 10),
        })
    }

    /// The address it is connected to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Calls `method` with `args`, decoding the reply into `R`.
    pub async fn call<A, R>(&mut self, method: &str, args: &A) -> Result<R, GobCallError>
    where
        A: GobEncode + ?Sized,
        R: FromGob,
    {
        self.out.clear();
        let header = RequestHeader { service_method: method.to_string(), seq: self.seq };
        self.enc.encode(&header, &mut self.out);
        self.enc.encode(args, &mut self.out);
        self.writer.write_all(&self.out).await.map_err(GobError::from)?;
        let resp: ResponseHeader = self.read_value().await?;
        if resp.seq != self.seq {
            return Err(GobCallError::Protocol(format!("reply for seq {} while waiting for {}", resp.seq, self.seq)));
        }
        self.seq += 1;
        if !resp.error.is_empty() {
            let _: EmptyStruct = self.read_value().await?;
            return Err(GobCallError::Server(resp.error));
        }
        Ok(self.read_value().await?)
    }

    async fn read_value<T: FromGob>(&mut self) -> Result<T, GobError> {
        loop {
            let msg = self.reader.next_message().await?.ok_or(GobError::Eof)?;
            match self.dec.decode_message(msg)? {
                Message::TypeDef(_) => continue,
                Message::Value(_, v) => return T::from_gob(v),
            }
        }
    }
}
