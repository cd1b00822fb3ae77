//! Helpers for the cross-binary and Go interop tests: the deterministic item generator shared with the Go
//! program ([`gen`]), building and driving that program ([`go`]), running our binaries ([`daemon`]) and a
//! minimal HTTP client ([`http`]), a fake transfer ([`fake`]), an SNTP server ([`sntp`]) and small helpers ([`util`]).
//! [`mariadb`] runs a private MariaDB server with our DDL of the `falcon_portal` tables; [`prometheus`], [`victoria`]
//! and [`influxdb`] run private Prometheus, VictoriaMetrics and InfluxDB 1.x servers for the storage writers;
//! [`pki`] makes a throwaway CA and certificates for the TLS tests; [`gobsink`] is a counting judge/graph node
//! for load runs; [`flood`] sends the hostile partial messages of the buffer-budget tests.

pub mod browser;
pub mod daemon;
pub mod fake;
pub mod flood;
pub mod gen;
pub mod go;
pub mod gobsink;
pub mod http;
pub mod influxdb;
pub mod mariadb;
pub mod pki;
pub mod prometheus;
pub mod promtool;
mod server;
pub mod sntp;
pub mod stack;
pub mod util;
pub mod victoria;
