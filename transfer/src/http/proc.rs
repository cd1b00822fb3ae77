//! `/trace/<endpoint>/<metric>[/<k=v,...>]` and `/filter/<endpoint>/<metric>/<opt>/<threshold>[/<k=v,...>]`.

use super::data;
use crate::app::App;
use crate::point::TraceEntry;
use crate::trace::Opt;
use axum::response::Response;
use falcon_proto::tags::{pk, Tags};

/// Go's tag parsing here: split on `,` then on `=`, keeping only exact two-part pairs.
fn url_tags(s: Option<&str>) -> Tags {
    let mut t = Tags::new();
    for piece in s.unwrap_or("").split(',') {
        let parts: Vec<&str> = piece.split('=').collect();
        if let [k, v] = parts[..] {
            t.insert(k.to_string(), v.to_string());
        }
    }
    t
}

fn entries(items: Vec<std::sync::Arc<crate::point::Point>>) -> Vec<TraceEntry> {
    items.into_iter().map(TraceEntry).collect()
}

pub(super) fn trace(app: &App, rest: &str) -> Response {
    let args: Vec<&str> = rest.split('/').collect();
    // Go indexes args[1] unchecked and the handler panics; we answer instead.
    let (Some(endpoint), Some(metric)) = (args.first(), args.get(1)) else { return data(&"bad args") };
    app.sender.trace.arm(pk(endpoint, metric, &url_tags(args.get(2).copied())), None);
    data(&entries(app.sender.trace.items()))
}

pub(super) fn filter(app: &App, rest: &str) -> Response {
    let args: Vec<&str> = rest.split('/').collect();
    if args.len() < 4 {
        return data(&"bad args");
    }
    let Ok(threshold) = falcon_proto::gojson::parse_go_float(args[3]) else { return data(&"bad threadhold") };
    let Some(opt) = Opt::parse(args[2]) else { return data(&format!("bad opt: {}", args[2])) };
    app.sender.filter.arm(pk(args[0], args[1], &url_tags(args.get(4).copied())), Some((opt, threshold)));
    data(&entries(app.sender.filter.items()))
}
