//! What the three binaries share at run time that is not on the wire (the wire is `falcon-proto`):
//! [`logging`], one setup of the log output for all of them, and [`body`], reading a JSON request body that is
//! refused at its first bad byte.

pub mod body;
pub mod logging;
