//! `agent.alive`: always 1 while the agent runs.

use super::{gauge, CollectError, Env, Sample};

/// `agent.alive` G 1, no tags.
pub fn collect(_env: &Env) -> Result<Vec<Sample>, CollectError> {
    Ok(vec![gauge("agent.alive", 1.0, "")])
}
