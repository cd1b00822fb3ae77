//! Output of the programs the agent runs: smartctl and storcli JSON, MegaCli text, du, curl and a HEAD
//! reply's status line.

use super::emit;
use crate::feedback::{note, note_err, note_n};
use falcon_agent::collector::du::parse_du;
use falcon_agent::collector::lsiraid::{
    self, parse_megacli_ldinfo, parse_megacli_pdlist, parse_storcli_pd, parse_storcli_vd,
};
use falcon_agent::collector::smart::{metric_part, parse_device, parse_scan_open, tag_value};
use falcon_agent::collector::url::{parse_curl, parse_http_url, parse_status_line};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

pub fn smart_scan(data: &[u8]) {
    match parse_scan_open(&text(data)) {
        Ok(devs) => {
            note_n("devices", devs.len());
            for d in &devs {
                let label = d.label();
                let args = d.args();
                assert_eq!(args.last(), Some(&d.name.as_str()), "the device is the last argument");
                assert!(!d.name.starts_with('-'), "a device name smartctl would take for an option");
                let _ = (tag_value(&label), metric_part(&label));
            }
        }
        Err(e) => note_err("scan", &e),
    }
}

pub fn smart_device(data: &[u8]) {
    match parse_device(&text(data), "/dev/bus/0:megaraid_0") {
        Ok(samples) => emit(samples),
        Err(e) => note_err("device", &e),
    }
}

pub fn storcli(data: &[u8]) {
    let t = text(data);
    let pds = parse_storcli_pd(&t).unwrap_or_else(|e| {
        note_err("pd", &e);
        Vec::new()
    });
    let vds = parse_storcli_vd(&t).unwrap_or_else(|e| {
        note_err("vd", &e);
        Vec::new()
    });
    note_n("pds", pds.len());
    note_n("vds", vds.len());
    emit(lsiraid::samples(&pds, &vds));
}

pub fn megacli(data: &[u8]) {
    let t = text(data);
    let pds = parse_megacli_pdlist(&t);
    let vds = parse_megacli_ldinfo(&t);
    note_n("pds", pds.len());
    note_n("vds", vds.len());
    emit(lsiraid::samples(&pds, &vds));
}

/// `du -bs` stdout, then stderr after the first NUL byte.
pub fn du(data: &[u8]) {
    let (out, err) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    match parse_du(&text(out), &text(err)) {
        Some(_) => note("size"),
        None => note("failed"),
    }
}

/// curl's stdout, the URL on the first line, and the bytes as a HEAD reply.
pub fn url(data: &[u8]) {
    let t = text(data);
    note(if parse_curl(&t) { "up" } else { "down" });
    if let Some((host, port, path)) = parse_http_url(t.lines().next().unwrap_or("")) {
        assert!(path.starts_with('/'), "request path {path:?} does not start with /");
        assert!(!host.is_empty() || port > 0);
        note("http-url");
    }
    if let Some(code) = parse_status_line(data) {
        note_n("status", usize::from(code));
    }
}
