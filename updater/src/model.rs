//! The ops-updater protocol's types live with the rest of the wire in `falcon-proto`; re-exported here.

pub use falcon_proto::model::{DesiredAgent, HeartbeatRequest, HeartbeatResponse, RealAgent};
