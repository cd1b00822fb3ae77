//! falcon-updater: keeps the agents of a host at the versions a server names, speaking Open-Falcon's
//! ops-updater protocol (so a real ops-meta, or our HBS, can drive it), with what ops-updater lacks:
//! downloads bounded in size and time without wget, MD5 and SHA-256 checks, tarballs that cannot write
//! outside their directory, a health watch after each switch and a rollback when the new version does not come
//! up.
//!
//! Layout:
//! - [`config`]: ops-updater's config keys and ours.
//! - [`model`]: the heartbeat request and answer.
//! - [`agents`]: the agents' directories, `.version`, `./control`.
//! - [`fetch`], [`verify`], [`unpack`]: getting a tarball, checking it, unpacking it safely.
//! - [`install`]: install, switch, watch, roll back, prune.
//! - [`heartbeat`]: the loop; [`http`]: `/health`, `/version`, `/status`.

pub mod agents;
pub mod config;
pub mod fetch;
pub mod heartbeat;
pub mod http;
pub mod install;
pub mod metrics;
pub mod model;
pub mod unpack;
pub mod verify;
