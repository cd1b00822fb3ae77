//! What the three binaries share at run time that is not on the wire (the wire is `falcon-proto`):
//! [`logging`], one setup of the log output for all of them.

pub mod logging;
