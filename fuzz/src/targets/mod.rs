//! One file per target, each `pub fn run(data: &[u8])` feeding the bytes to the real code, and the registry
//! the engine, the binary and the smoke tests share.

pub mod agent_config;
pub mod agent_hbs_reply;
pub mod agent_plugin;
pub mod agent_push;
pub mod agent_shellcheck;
pub mod gob;
pub mod gob_server;
pub mod gojson;
pub mod gojson_scanner;
pub mod hbs_admin;
pub mod hbs_config;
pub mod hbs_dsn;
pub mod hbs_rpc;
pub mod http;
pub mod jsonrpc_envelope;
pub mod jsonrpc_frame;
pub mod proc;
pub mod transfer_config;
pub mod transfer_push;
pub mod transfer_remote_write;
pub mod transfer_rpc;
pub mod transfer_socket;
pub mod transfer_spool;
pub mod updater_protocol;
pub mod updater_tarball;

mod dict;

/// A fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name on the command line and in `corpus/` and `regressions/`.
    pub name: &'static str,
    /// What it covers, for `--list` and the docs.
    pub covers: &'static str,
    /// The entry point; must never panic.
    pub run: fn(&[u8]),
    /// Tokens the mutator inserts.
    pub dict: &'static [&'static [u8]],
    /// Longest input tried.
    pub max_len: usize,
}

/// Every target, in the order `all` runs them.
pub static TARGETS: &[Target] = &[
    Target {
        name: "jsonrpc_frame",
        covers: "falcon_proto::jsonrpc::frame::FrameReader over a stream read in data-chosen chunks, then the server's envelope parse of each frame",
        run: jsonrpc_frame::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "jsonrpc_envelope",
        covers: "jsonrpc::envelope: parse_request, parse_go_shape (checked against parse_request), decode_params_checked for every registered argument type, write_response, parse_response and every reply type",
        run: jsonrpc_envelope::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "gojson",
        covers: "falcon_proto::gojson from_slice/from_first_value into the model types (MetricValue lists, HBS requests and replies, strategies), re-encoding with to_vec and decoding again to the same value; parse_go_float against format_go_f64",
        run: gojson::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "gojson_scanner",
        covers: "falcon_proto::gojson::scanner: the same verdict whole or in data-chosen pieces, for any value and for JSON-RPC requests",
        run: gojson_scanner::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "gob",
        covers: "falcon_proto::gob: stream::split_messages and MessageReader, Decoder::decode_message, FromGob into rpc headers and JudgeItem/GraphItem lists, encode_value_message of every decoded value, re-encoding of decoded items",
        run: gob::run,
        dict: dict::GOB,
        max_len: 8 << 10,
    },
    Target {
        name: "gob_server",
        covers: "falcon_proto::gob::GobServer::serve_conn with Judge.Send/Graph.Send handlers over an in-memory duplex stream; every reply must decode",
        run: gob_server::run,
        dict: dict::GOB,
        max_len: 8 << 10,
    },
    Target {
        name: "transfer_rpc",
        covers: "falcon_proto::jsonrpc::Server::serve_conn with falcon_transfer::receiver::rpc::registry (Transfer.Update, Transfer.Ping) over an in-memory stream, App::receive; every reply must be well formed",
        run: transfer_rpc::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "transfer_socket",
        covers: "falcon_transfer::receiver::socket::serve_conn over a chunked stream and parse_line, then every output form of the points",
        run: transfer_socket::run,
        dict: dict::SOCKET,
        max_len: 4 << 10,
    },
    Target {
        name: "transfer_push",
        covers: "/api/push: http::body::json_of (plain, gzip, MessagePack, both, unknown encodings), gojson::from_first_value into Incoming, validate::validate, every output form",
        run: transfer_push::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "transfer_remote_write",
        covers: "/api/v1/write: http::remote_write_in::decode_body (snappy + protobuf) and items, validate::validate, every output form",
        run: transfer_remote_write::run,
        dict: dict::PROTOBUF,
        max_len: 8 << 10,
    },
    Target {
        name: "transfer_spool",
        covers: "falcon_transfer::spool::record::decode over damaged spool files (and over payloads with a valid checksum), every output form of what decodes",
        run: transfer_spool::run,
        dict: dict::SPOOL,
        max_len: 4 << 10,
    },
    Target {
        name: "transfer_config",
        covers: "falcon_runtime::cli::parse_config_object then falcon_transfer::config::Config::from_json (decode and validate), the rings of its clusters, /config rendering",
        run: transfer_config::run,
        dict: dict::CONFIG,
        max_len: 8 << 10,
    },
    Target {
        name: "agent_config",
        covers: "falcon_agent::config::Config::from_bytes (decode and validate), to_go_json decoding back to the same config",
        run: agent_config::run,
        dict: dict::CONFIG,
        max_len: 8 << 10,
    },
    Target {
        name: "hbs_config",
        covers: "falcon_hbs::config::Config::from_bytes (decode, validate, DSN check), its JSON decoding back to the same config (the DSN's password masked)",
        run: hbs_config::run,
        dict: dict::CONFIG,
        max_len: 4 << 10,
    },
    Target {
        name: "agent_push",
        covers: "the agent's /v1/push: gojson::from_first_value into MetricValue, http::push::invalid_reason, outgoing::forwarded, the sender's encoding",
        run: agent_push::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "agent_plugin",
        covers: "plugin stdout (plugins::runner::decode_stdout) and HBS plugin entries (desired::split_entry, cycle_of, args::parse_args, runner::timeout_of)",
        run: agent_plugin::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "agent_hbs_reply",
        covers: "the agent's use of HBS replies: BuiltinMetricResponse -> heartbeat::BuiltinState::accept -> checks::parse_checks -> ports/proc/url checks; MinePlugins entries; TrustableIps -> auth::is_trusted",
        run: agent_hbs_reply::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "agent_shellcheck",
        covers: "falcon_agent::shellchecks::parse_output (and parse_line) over a check's stdout, outgoing::forwarded, the sender's encoding",
        run: agent_shellcheck::run,
        dict: dict::SHELLCHECK,
        max_len: 8 << 10,
    },
    Target {
        name: "proc",
        covers: "every pure parser of agent::collector (/proc text, sock_diag replies, NTP packets, smartctl and storcli JSON, MegaCli text, du and curl output, HTTP status lines) and the samples built from what they return; the first byte picks the parser",
        run: proc::run,
        dict: dict::PROC,
        max_len: 8 << 10,
    },
    Target {
        name: "hbs_rpc",
        covers: "falcon_proto::jsonrpc::Server::serve_conn with falcon_hbs::rpc::registry (every Agent.* and Hbs.* method) on an in-memory SQLite database, over an in-memory stream; every reply must parse",
        run: hbs_rpc::run,
        dict: dict::JSON,
        max_len: 8 << 10,
    },
    Target {
        name: "hbs_dsn",
        covers: "falcon_hbs::store::dsn::is_dsn, parse and parse_go_duration",
        run: hbs_dsn::run,
        dict: dict::DSN,
        max_len: 1 << 10,
    },
    Target {
        name: "http",
        covers: "the HTTP routers (falcon_transfer::http::router, falcon_agent::http::router, falcon_hbs::http::router) called with requests built from the bytes: paths, percent-decoding, /trace and /filter arguments, headers, bodies",
        run: http::run,
        dict: dict::HTTP,
        max_len: 8 << 10,
    },
    Target {
        name: "hbs_admin",
        covers: "the admin API: admin::Op from JSON, Store::apply on a fresh in-memory SQLite database, the cache load and its queries (builtin metrics, plugins, inherited strategies, expressions), export",
        run: hbs_admin::run,
        dict: dict::ADMIN,
        max_len: 4 << 10,
    },
    Target {
        name: "updater_tarball",
        covers: "falcon_updater::unpack::check on a gzip-wrapped tar stream: entry paths, kinds, links, bounds",
        run: updater_tarball::run,
        dict: &[b"ustar\x0000", b"../", b"/etc/", b"control", b"./"],
        max_len: 8 << 10,
    },
    Target {
        name: "updater_protocol",
        covers: "rollout protocol: HeartbeatResponse and HeartbeatRequest decoding, ops-meta rules and desired agents, md5/sha256 lines, URLs, the updater's config",
        run: updater_protocol::run,
        dict: dict::JSON,
        max_len: 4 << 10,
    },
];

/// The target named `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
