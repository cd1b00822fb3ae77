//! OpenTSDB delivery: one write of `put` lines per batch over a pooled TCP connection; nothing is read back.

use super::lane::{Deliver, SendError};
use crate::point::{write_tsdb_line, Point};
use falcon_proto::pool::{ConnPool, TcpDialer};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Sends batches to the tsdb address.
pub struct TsdbDeliver {
    /// Connections to OpenTSDB.
    pub pool: Arc<ConnPool<TcpDialer>>,
}

impl Deliver for TsdbDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        let mut text = String::with_capacity(batch.len() * 96);
        for p in batch {
            write_tsdb_line(&mut text, p);
        }
        self.pool
            .call_with(|mut c| async move {
                let r = c.write_all(text.as_bytes()).await;
                (c, r)
            })
            .await
            .map_err(|e| SendError::Transport(e.to_string()))
    }
}
