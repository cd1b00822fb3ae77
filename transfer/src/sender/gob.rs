//! Judge, graph and p8s relay delivery: gob `Judge.Send` / `Graph.Send` / `P8sRelay.Send` over a pooled
//! connection.

use super::lane::{Deliver, SendError};
use crate::point::{GraphBatch, JudgeBatch, P8sBatch, Point};
use falcon_proto::gob::GobCallError;
use falcon_proto::model::SimpleRpcResponse;
use falcon_proto::pool::{ConnPool, GobDialer, PoolCallError};
use std::sync::Arc;

/// Which gob service.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// `Judge.Send` with `[]*JudgeItem`.
    Judge,
    /// `Graph.Send` with `[]*GraphItem`.
    Graph,
    /// `P8sRelay.Send` with `[]*P8sItem` (HEAD).
    P8sRelay,
}

/// Sends batches to one judge, graph or p8s relay address.
pub struct GobDeliver {
    /// Connections to the address.
    pub pool: Arc<ConnPool<GobDialer>>,
    /// Which service.
    pub service: Service,
    /// Transfer's minStep.
    pub min_step: i64,
}

impl Deliver for GobDeliver {
    async fn send(&self, batch: &[Arc<Point>]) -> Result<(), SendError> {
        let r = match self.service {
            Service::Judge => {
                let items = JudgeBatch { points: batch, min_step: self.min_step };
                self.pool.gob_call::<_, SimpleRpcResponse>("Judge.Send", &items).await
            }
            Service::Graph => {
                let items = GraphBatch { points: batch, min_step: self.min_step };
                self.pool.gob_call::<_, SimpleRpcResponse>("Graph.Send", &items).await
            }
            Service::P8sRelay => {
                let items = P8sBatch { points: batch, min_step: self.min_step };
                self.pool.gob_call::<_, SimpleRpcResponse>("P8sRelay.Send", &items).await
            }
        };
        // The reply's Code is ignored, as in Go.
        match r {
            Ok(_) => Ok(()),
            Err(PoolCallError::Call(GobCallError::Server(text))) => Err(SendError::Rejected(text)),
            Err(e) => Err(SendError::Transport(e.to_string())),
        }
    }
}
