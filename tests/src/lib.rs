//! Helpers for the cross-binary and Go interop tests: the deterministic item generator shared with the Go
//! program ([`gen`]), and building and driving that program ([`go`]).

pub mod gen;
pub mod go;
