//! /proc and /sys text: each parser, then what its collector computes from the result.

use super::emit;
use crate::feedback::{note, note_err, note_n};
use falcon_agent::checks::ProcRule;
use falcon_agent::collector::cpu::{parse_stat, CpuUsage, ProcStat};
use falcon_agent::collector::df::{self, parse_mounts, unescape, StatFs};
use falcon_agent::collector::diskrw::Tracker;
use falcon_agent::collector::diskstats::{self, parse_diskstats, should_handle};
use falcon_agent::collector::ifstat::{self, parse_net_dev, parse_speed, wanted};
use falcon_agent::collector::iostat::windows;
use falcon_agent::collector::kernel::{parse_file_nr, parse_u64};
use falcon_agent::collector::load::parse_loadavg;
use falcon_agent::collector::mem::parse_meminfo;
use falcon_agent::collector::netstat::parse_tcpext;
use falcon_agent::collector::ports::{self, listening, parse_sockets};
use falcon_agent::collector::procs::{self, parse_proc};
use falcon_agent::collector::procstat::{self, parse_io, parse_stat as parse_pid_stat, parse_status, History, Usage};
use falcon_agent::collector::sampler::DiskSnapshot;
use falcon_agent::collector::snmp::parse_udp;
use falcon_agent::collector::sockstat::{parse_curr_estab, parse_sockstat_line, summary};
use falcon_agent::collector::table::parse_table;
use falcon_agent::collector::Sample;
use falcon_agent::http::system::{parse_mhz, parse_uptime, readable_size};
use std::time::{Duration, Instant};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The first half of the lines: an earlier snapshot of the same file, for the collectors that compare two.
fn earlier(t: &str) -> &str {
    let n = t.lines().count() / 2;
    let cut = t.match_indices('\n').nth(n.saturating_sub(1)).map_or(0, |(i, _)| i + 1);
    &t[..cut]
}

pub fn cpu(data: &[u8]) {
    let t = text(data);
    let cur = match parse_stat(&t) {
        Ok(s) => s,
        Err(e) => {
            note_err("cpu", &e);
            return;
        }
    };
    let prev = parse_stat(earlier(&t)).unwrap_or_default();
    let mut samples: Vec<Sample> = CpuUsage::between(&prev, &cur).samples();
    samples.extend(CpuUsage::between(&cur, &prev).samples());
    samples.extend(CpuUsage::between(&ProcStat::default(), &cur).samples());
    if let Some(c) = cur.ctxt {
        samples.push(falcon_agent::collector::counter("cpu.switches", c, ""));
    }
    emit(samples);
}

pub fn mem(data: &[u8]) {
    match parse_meminfo(&text(data)) {
        Ok(m) => {
            let _ = readable_size(m.classic_free() as f64);
            emit(m.samples());
        }
        Err(e) => note_err("mem", &e),
    }
}

pub fn load(data: &[u8]) {
    match parse_loadavg(&text(data)) {
        Ok(l) => {
            let _ = falcon_runtime::render::data_json(&l);
            note("load");
        }
        Err(e) => note_err("load", &e),
    }
}

pub fn diskstats(data: &[u8]) {
    let t = text(data);
    let cur = parse_diskstats(&t);
    note_n("disks", cur.len());
    let mut samples: Vec<Sample> =
        cur.iter().filter(|d| should_handle(&d.device)).flat_map(diskstats::samples).collect();
    let at = Instant::now();
    let prev = DiskSnapshot { at, disks: parse_diskstats(earlier(&t)) };
    let cur = DiskSnapshot { at: at.checked_add(Duration::from_millis(1000)).unwrap_or(at), disks: cur };
    for w in windows(Some(&prev), &cur).iter().chain(windows(None, &cur).iter()) {
        samples.extend(w.samples());
    }
    emit(samples);
}

pub fn net_dev(data: &[u8]) {
    let t = text(data);
    let speed = parse_speed(t.lines().last().unwrap_or(""));
    let prefixes = vec!["eth".to_string(), "em".to_string()];
    let mut samples = Vec::new();
    for s in parse_net_dev(&t) {
        if wanted(&s.iface, &prefixes) {
            note("wanted");
        }
        samples.extend(ifstat::samples(&s, speed));
        samples.extend(ifstat::samples(&s, 10_000));
    }
    emit(samples);
}

pub fn netstat(data: &[u8]) {
    match parse_tcpext(&text(data)) {
        Ok(s) => emit(s),
        Err(e) => note_err("netstat", &e),
    }
}

pub fn snmp(data: &[u8]) {
    let t = text(data);
    match parse_udp(&t) {
        Ok(s) => emit(s),
        Err(e) => note_err("udp", &e),
    }
    if let Err(e) = parse_curr_estab(&t) {
        note_err("estab", &e);
    }
}

pub fn sockstat(data: &[u8]) {
    let t = text(data);
    let v6 = earlier(&t);
    note_n("tcp", parse_sockstat_line(&t, "TCP:").len());
    let estab = parse_curr_estab(&t).unwrap_or(u64::MAX);
    emit(summary(&t, v6, estab));
}

pub fn kernel(data: &[u8]) {
    let t = text(data);
    let _ = parse_u64(&t, "file-max");
    match parse_file_nr(&t) {
        Ok(n) => note_n("file-nr", n as usize),
        Err(e) => note_err("file-nr", &e),
    }
    if let Ok(rows) = parse_table(&t, "Ip:") {
        note_n("ip", rows.len());
    }
}

pub fn mounts(data: &[u8]) {
    let t = text(data);
    let list = parse_mounts(&t);
    note_n("mounts", list.len());
    let mut tracker = Tracker::default();
    for m in &list {
        let _ = tracker.decide(&m.file, m.read_only);
        let _ = unescape(&m.spec);
    }
    // statvfs results a disk may give, the absurd included.
    let figures = [
        StatFs { frsize: 4096, blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 18, files: 1 << 16, ffree: 1 << 15 },
        StatFs::default(),
        StatFs { frsize: u64::MAX, blocks: u64::MAX, bfree: 0, bavail: u64::MAX, files: u64::MAX, ffree: u64::MAX },
        StatFs { frsize: 1, blocks: 1, bfree: 2, bavail: 3, files: 0, ffree: 1 },
    ];
    let usages: Vec<_> = list.iter().zip(figures.iter().cycle()).map(|(m, s)| df::usage(m.clone(), *s)).collect();
    emit(df::samples(&usages));
}

pub fn sockets(data: &[u8]) {
    let t = text(data);
    let socks = parse_sockets(&t);
    note_n("sockets", socks.len());
    let set = listening(&socks, &parse_sockets(earlier(&t)));
    emit(ports::samples(&[22, 0, -1, 65535, 65536, i64::MAX], &set));
}

/// `/proc/<pid>/stat`, `status` and `io` all read from the same text, and the resources of a rule built from
/// them over two cycles.
pub fn pid_files(data: &[u8]) {
    let t = text(data);
    let stat = parse_pid_stat(&t);
    let (threads, rss, swap) = parse_status(&t);
    let io = parse_io(&t);
    note(if stat.is_some() { "stat" } else { "no-stat" });
    let Some(stat) = stat else { return };
    let usage = Usage {
        utime: stat.utime,
        stime: stat.stime,
        rss,
        swap,
        threads,
        fds: Some(3),
        read_bytes: io.map(|i| i.0),
        write_bytes: io.map(|i| i.1),
    };
    let list: Vec<_> = (1..4).filter_map(|pid| parse_proc(pid, "app", b"app\0--flag\0")).collect();
    let rules = vec![("name=app".to_string(), ProcRule { name: Some("app".into()), cmdline: None })];
    let later = parse_pid_stat(earlier(&t)).unwrap_or(stat);
    let mut history = History::default();
    let mut samples = Vec::new();
    for s in [later, stat] {
        let read = |_: u32| Some((s, usage));
        samples.extend(procs::resource_samples(&rules, &list, &mut history, &read));
    }
    samples.extend(procstat::samples("name=app", &procstat::sum([&usage, &usage]), Some(f64::MAX)));
    emit(samples);
}

/// A process's `comm` and `cmdline` (split at the first newline), matched against rules.
pub fn cmdline(data: &[u8]) {
    let (name, cmd) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"app"[..], data),
    };
    let Some(p) = parse_proc(4242, &String::from_utf8_lossy(name), cmd) else {
        note("kernel-thread");
        return;
    };
    let rules = vec![
        ("name=app".to_string(), ProcRule { name: Some("app".into()), cmdline: None }),
        ("cmdline=-jar x".to_string(), ProcRule { name: None, cmdline: Some("-jar x".into()) }),
        (String::new(), ProcRule::default()),
    ];
    emit(procs::samples(&rules, &[p]));
}

pub fn uptime(data: &[u8]) {
    let t = text(data);
    match parse_uptime(&t) {
        Ok((d, h, m)) => {
            assert!((0..24).contains(&h.abs()) && (0..60).contains(&m.abs()), "uptime {d}d {h}h {m}m");
            note("uptime");
        }
        Err(e) => note_err("uptime", &e),
    }
    if let Some(mhz) = parse_mhz(&t) {
        note_n("mhz", mhz.len());
    }
}
