//! `sys.disk.lsiraid.*`: LSI/Broadcom MegaRAID physical and virtual drives, from `storcli` (JSON) or the older
//! `MegaCli` (text).
//!
//! The names are the Open-Falcon book's ("Linux basic metrics", MegaCli section), which its shell plugin read
//! from `MegaCli -PDList -aALL` and `MegaCli -LDInfo -Lall -aALL`:
//!
//! - `sys.disk.lsiraid.pd.Media_Error_Count`, `.Other_Error_Count`, `.Predictive_Failure_Count`: the
//!   controller's counters; `.Drive_Temperature` in °C; `.Firmware_state`: 0 when the drive is in a healthy
//!   state, 1 otherwise. Tagged `PD=<enclosure>:<slot>` (`PD=32:0`; `N/A` for a drive without enclosure).
//! - `sys.disk.lsiraid.vd.state`: 0 when the virtual drive is Optimal, 1 otherwise; `.cache_policy`: 0 when the
//!   disk cache policy is "Disk's Default", 1 when it was forced on or off. Tagged `VD=<n>`.
//!
//! The book's plugin counted only "Online" as a healthy drive state, so every hot spare raised an alarm; the
//! book defines a non-zero value as "this drive has a problem", so hot spares, unconfigured-good and JBOD
//! drives are 0 here too. A controller other than the first adds `adapter=<n>` to the tags, since enclosure
//! and slot numbers repeat across controllers; the first keeps the book's tags unchanged.
//!
//! storcli is preferred when both are installed: it supersedes MegaCli and prints JSON. Its `Dell PERC`
//! rebrand, perccli, prints the same and is used the same way. Commands:
//! `storcli64 /call/eall/sall show all J nolog`, `storcli64 /call/vall show all J nolog`,
//! `MegaCli64 -PDList -aALL -NoLog`, `MegaCli64 -LDInfo -Lall -aALL -NoLog`.

use super::smart::tag_value;
use super::tool::{find_tool, run_tool};
use super::{gauge, parse_err, CollectError, Sample};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A physical drive as either tool reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhysicalDrive {
    /// Controller (adapter) number.
    pub adapter: u32,
    /// Enclosure id, `N/A` when the drive sits on the controller directly.
    pub enclosure: String,
    /// Slot number.
    pub slot: u32,
    /// Media errors.
    pub media_errors: Option<f64>,
    /// Other errors.
    pub other_errors: Option<f64>,
    /// Predictive failures.
    pub predictive_failures: Option<f64>,
    /// Temperature in °C.
    pub temperature: Option<f64>,
    /// The tool's state text (`Online, Spun Up`, `Onln`).
    pub state: Option<String>,
}

/// A virtual drive as either tool reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VirtualDrive {
    /// Controller (adapter) number.
    pub adapter: u32,
    /// Virtual drive number.
    pub id: u32,
    /// The tool's state text (`Optimal`, `Optl`, `Degraded`, `Dgrd`).
    pub state: Option<String>,
    /// Disk cache policy (`Disk's Default`, `Enabled`, `Disabled`).
    pub disk_cache_policy: Option<String>,
}

/// The enclosure text for a drive without one, whichever tool printed it.
const NO_ENCLOSURE: &str = "N/A";

// ---- MegaCli text ----

/// The drives in `MegaCli -PDList -aALL` output: a record starts at `Enclosure Device ID:` and needs a numeric
/// `Slot Number:`; `Adapter #N` lines switch controller. Lines that are not `key: value` or name nothing known
/// are skipped.
pub fn parse_megacli_pdlist(text: &str) -> Vec<PhysicalDrive> {
    let mut out = Vec::new();
    let mut adapter = 0;
    let mut cur: Option<(PhysicalDrive, bool)> = None;
    for line in text.lines() {
        if let Some(a) = adapter_number(line) {
            flush_pd(&mut cur, &mut out);
            adapter = a;
            continue;
        }
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        if key == "Enclosure Device ID" {
            flush_pd(&mut cur, &mut out);
            let enclosure = if value.is_empty() { NO_ENCLOSURE.to_string() } else { value.to_string() };
            cur = Some((PhysicalDrive { adapter, enclosure, ..Default::default() }, false));
        } else if let Some((pd, has_slot)) = cur.as_mut() {
            megacli_pd_field(pd, has_slot, key, value);
        }
    }
    flush_pd(&mut cur, &mut out);
    out
}

/// Stores one PDList field; `has_slot` records that a valid slot was seen.
fn megacli_pd_field(pd: &mut PhysicalDrive, has_slot: &mut bool, key: &str, value: &str) {
    match key {
        "Slot Number" => {
            if let Ok(s) = value.parse() {
                pd.slot = s;
                *has_slot = true;
            }
        }
        "Media Error Count" => pd.media_errors = count(value),
        "Other Error Count" => pd.other_errors = count(value),
        "Predictive Failure Count" => pd.predictive_failures = count(value),
        "Drive Temperature" => pd.temperature = celsius(value),
        "Firmware state" => pd.state = Some(value.to_string()),
        _ => {}
    }
}

/// Keeps the current record if it named its slot.
fn flush_pd(cur: &mut Option<(PhysicalDrive, bool)>, out: &mut Vec<PhysicalDrive>) {
    if let Some((pd, true)) = cur.take() {
        out.push(pd);
    }
}

/// The virtual drives in `MegaCli -LDInfo -Lall -aALL` output: a record starts at `Virtual Drive: N`;
/// `Adapter N -- Virtual Drive Information:` lines switch controller.
pub fn parse_megacli_ldinfo(text: &str) -> Vec<VirtualDrive> {
    let mut out = Vec::new();
    let mut adapter = 0;
    let mut cur: Option<VirtualDrive> = None;
    for line in text.lines() {
        if let Some(a) = adapter_number(line) {
            out.extend(cur.take());
            adapter = a;
            continue;
        }
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        match (key, cur.as_mut()) {
            ("Virtual Drive", _) => {
                out.extend(cur.take());
                cur = leading_u32(value).map(|id| VirtualDrive { adapter, id, ..Default::default() });
            }
            ("State", Some(vd)) => vd.state = Some(value.to_string()),
            ("Disk Cache Policy", Some(vd)) => vd.disk_cache_policy = Some(value.to_string()),
            _ => {}
        }
    }
    out.extend(cur);
    out
}

/// The controller number of an `Adapter #0` / `Adapter 0 -- ...` header line.
fn adapter_number(line: &str) -> Option<u32> {
    let rest = line.trim_start().strip_prefix("Adapter")?;
    leading_u32(rest.trim_start().strip_prefix('#').unwrap_or(rest.trim_start()))
}

/// `key: value` split at the first colon, both trimmed (MegaCli pads either side unevenly).
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    Some((k.trim(), v.trim()))
}

/// The decimal number `s` starts with (`0 (Target Id: 0)`).
fn leading_u32(s: &str) -> Option<u32> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// A whole counter.
fn count(s: &str) -> Option<f64> {
    s.trim().parse::<u64>().ok().map(|n| n as f64)
}

/// °C from `31C (87.80 F)`; None for `N/A` or anything without the C.
fn celsius(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s.find(|c: char| !c.is_ascii_digit())?;
    if end == 0 || !s[end..].starts_with('C') {
        return None;
    }
    s[..end].parse::<u32>().ok().map(f64::from)
}

// ---- storcli JSON ----

/// The drives in `storcli /call/eall/sall show all J`: per controller, a `Drive /cC/eE/sS` row (with `State`)
/// and its `... - Detailed Information` / `... State` counters. Controllers whose command failed carry no
/// `Response Data` and add nothing.
pub fn parse_storcli_pd(json: &str) -> Result<Vec<PhysicalDrive>, CollectError> {
    let root = storcli_json(json)?;
    let mut out = Vec::new();
    for data in responses(&root) {
        for (key, rows) in data {
            let Some(path) = key.strip_prefix("Drive ") else {
                continue;
            };
            // The detail entries are objects, the drive rows arrays.
            let (Some(row), Some((adapter, enclosure, slot))) =
                (rows.as_array().and_then(|r| r.first()), drive_path(path))
            else {
                continue;
            };
            let detail = data.get(&format!("{key} - Detailed Information")).and_then(|d| d.get(format!("{key} State")));
            let mut pd = PhysicalDrive { adapter, enclosure, slot, ..Default::default() };
            pd.state = row.get("State").and_then(Value::as_str).map(str::to_string);
            if let Some(d) = detail {
                storcli_pd_counters(&mut pd, d);
            }
            out.push(pd);
        }
    }
    Ok(out)
}

/// The counters of a `Drive ... State` object (numbers, or numbers as strings in some versions).
fn storcli_pd_counters(pd: &mut PhysicalDrive, d: &Value) {
    pd.media_errors = json_count(d.get("Media Error Count"));
    pd.other_errors = json_count(d.get("Other Error Count"));
    pd.predictive_failures = json_count(d.get("Predictive Failure Count"));
    pd.temperature = d.get("Drive Temperature").and_then(Value::as_str).and_then(celsius);
}

/// A counter that may be a JSON number or a numeric string.
fn json_count(v: Option<&Value>) -> Option<f64> {
    let v = v?;
    v.as_u64().map(|n| n as f64).or_else(|| v.as_str().and_then(count))
}

/// Controller, enclosure (`N/A` when absent) and slot of `/c0/e252/s0` or `/c0/s3`.
fn drive_path(path: &str) -> Option<(u32, String, u32)> {
    let (mut c, mut e, mut s) = (None, None, None);
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let (kind, num) = part.split_at(part.char_indices().nth(1).map_or(part.len(), |(i, _)| i));
        let n: u32 = num.parse().ok()?;
        match kind {
            "c" => c = Some(n),
            "e" => e = Some(n),
            "s" => s = Some(n),
            _ => return None,
        }
    }
    Some((c?, e.map_or_else(|| NO_ENCLOSURE.to_string(), |e| e.to_string()), s?))
}

/// The virtual drives in `storcli /call/vall show all J`: per controller, a `/cC/vV` row (with `State`) and
/// a `VDV Properties` object (with `Disk Cache Policy`).
pub fn parse_storcli_vd(json: &str) -> Result<Vec<VirtualDrive>, CollectError> {
    let root = storcli_json(json)?;
    let mut out = Vec::new();
    for data in responses(&root) {
        for (key, rows) in data {
            let (Some(row), Some((adapter, id))) = (rows.as_array().and_then(|r| r.first()), vd_path(key)) else {
                continue;
            };
            let props = data.get(&format!("VD{id} Properties"));
            out.push(VirtualDrive {
                adapter,
                id,
                state: row.get("State").and_then(Value::as_str).map(str::to_string),
                disk_cache_policy: props
                    .and_then(|p| p.get("Disk Cache Policy"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
    }
    Ok(out)
}

/// Controller and virtual drive of `/c0/v1`.
fn vd_path(key: &str) -> Option<(u32, u32)> {
    let (c, v) = key.strip_prefix("/c")?.split_once("/v")?;
    Some((c.parse().ok()?, v.parse().ok()?))
}

/// Parses storcli JSON, which is always an object.
fn storcli_json(json: &str) -> Result<Value, CollectError> {
    let root: Value = serde_json::from_str(json).map_err(|e| parse_err("storcli json", e.to_string()))?;
    if !root.is_object() {
        return Err(parse_err("storcli json", "not a JSON object"));
    }
    Ok(root)
}

/// Each controller's `Response Data` object.
fn responses(root: &Value) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    let controllers = root.get("Controllers").and_then(Value::as_array);
    controllers.into_iter().flatten().filter_map(|c| c.get("Response Data").and_then(Value::as_object))
}

// ---- samples ----

/// The book's metrics for the drives found.
pub fn samples(pds: &[PhysicalDrive], vds: &[VirtualDrive]) -> Vec<Sample> {
    let mut out = Vec::new();
    for pd in pds {
        pd_samples(pd, &mut out);
    }
    for vd in vds {
        vd_samples(vd, &mut out);
    }
    out
}

/// One drive's counters, temperature and state.
fn pd_samples(pd: &PhysicalDrive, out: &mut Vec<Sample>) {
    let tags = with_adapter(format!("PD={}:{}", tag_value(&pd.enclosure), pd.slot), pd.adapter);
    let state = pd.state.as_deref().map(pd_state_value);
    let values = [
        ("Media_Error_Count", pd.media_errors),
        ("Other_Error_Count", pd.other_errors),
        ("Predictive_Failure_Count", pd.predictive_failures),
        ("Drive_Temperature", pd.temperature),
        ("Firmware_state", state),
    ];
    for (name, v) in values {
        if let Some(v) = v {
            out.push(gauge(format!("sys.disk.lsiraid.pd.{name}"), v, tags.as_str()));
        }
    }
}

/// One virtual drive's state and cache policy.
fn vd_samples(vd: &VirtualDrive, out: &mut Vec<Sample>) {
    let tags = with_adapter(format!("VD={}", vd.id), vd.adapter);
    if let Some(s) = vd.state.as_deref() {
        let ok = matches!(s.trim().to_ascii_lowercase().as_str(), "optimal" | "optl");
        out.push(gauge("sys.disk.lsiraid.vd.state", if ok { 0.0 } else { 1.0 }, tags.as_str()));
    }
    if let Some(p) = vd.disk_cache_policy.as_deref() {
        let default = p.trim().eq_ignore_ascii_case("Disk's Default");
        out.push(gauge("sys.disk.lsiraid.vd.cache_policy", if default { 0.0 } else { 1.0 }, tags.as_str()));
    }
}

/// 0 for the states of a drive that is fine (online, hot spare, unconfigured good, JBOD; MegaCli's words or
/// storcli's abbreviations), 1 for the rest (failed, offline, rebuilding, unconfigured bad, missing, ...).
fn pd_state_value(state: &str) -> f64 {
    let first = state.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    let ok = matches!(
        first.as_str(),
        "online" | "onln" | "hotspare" | "ghs" | "dhs" | "unconfigured(good)" | "ugood" | "jbod"
    );
    if ok {
        0.0
    } else {
        1.0
    }
}

/// Tags plus `adapter=N` for controllers after the first (see the module doc).
fn with_adapter(tags: String, adapter: u32) -> String {
    if adapter == 0 {
        tags
    } else {
        format!("{tags},adapter={adapter}")
    }
}

// ---- runner ----

/// storcli and its Dell rebrand, by name (searched in PATH and the sbin directories) and install path.
const STORCLI_NAMES: [&str; 4] = ["storcli64", "storcli", "perccli64", "perccli"];
const STORCLI_PATHS: [&str; 2] = ["/opt/MegaRAID/storcli/storcli64", "/opt/MegaRAID/perccli/perccli64"];
/// MegaCli, likewise.
const MEGACLI_NAMES: [&str; 3] = ["MegaCli64", "MegaCli", "megacli"];
const MEGACLI_PATHS: [&str; 2] = ["/opt/MegaRAID/MegaCli/MegaCli64", "/opt/MegaRAID/MegaCli/MegaCli"];

const STORCLI_PD_ARGS: [&str; 5] = ["/call/eall/sall", "show", "all", "J", "nolog"];
const STORCLI_VD_ARGS: [&str; 5] = ["/call/vall", "show", "all", "J", "nolog"];
const MEGACLI_PD_ARGS: [&str; 3] = ["-PDList", "-aALL", "-NoLog"];
const MEGACLI_VD_ARGS: [&str; 4] = ["-LDInfo", "-Lall", "-aALL", "-NoLog"];

/// The installed tool, storcli first.
enum Tool {
    StorCli(PathBuf),
    MegaCli(PathBuf),
}

fn tool() -> Option<Tool> {
    find_tool(&STORCLI_NAMES, &STORCLI_PATHS)
        .map(Tool::StorCli)
        .or_else(|| find_tool(&MEGACLI_NAMES, &MEGACLI_PATHS).map(Tool::MegaCli))
}

/// Whether storcli, perccli or MegaCli is installed.
pub fn available() -> bool {
    tool().is_some()
}

/// Reads physical and virtual drives with the installed tool, each call bounded by `timeout`. No tool means no
/// samples and no error; failures are logged and whatever was read is reported.
pub fn refresh(timeout: Duration) -> Vec<Sample> {
    let (pds, vds) = match tool() {
        None => return Vec::new(),
        Some(Tool::StorCli(bin)) => (
            collect(&bin, &STORCLI_PD_ARGS, timeout, parse_storcli_pd),
            collect(&bin, &STORCLI_VD_ARGS, timeout, parse_storcli_vd),
        ),
        Some(Tool::MegaCli(bin)) => (
            collect(&bin, &MEGACLI_PD_ARGS, timeout, |t| Ok(parse_megacli_pdlist(t))),
            collect(&bin, &MEGACLI_VD_ARGS, timeout, |t| Ok(parse_megacli_ldinfo(t))),
        ),
    };
    samples(&pds, &vds)
}

/// Runs one command and parses its stdout whatever the exit code (both tools report per-controller failures
/// inside the output); a failure is logged only when nothing came of the run.
fn collect<T>(
    bin: &Path,
    args: &[&str],
    timeout: Duration,
    parse: impl Fn(&str) -> Result<Vec<T>, CollectError>,
) -> Vec<T> {
    let out = match run_tool(bin, args, timeout) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(tool = %bin.display(), ?args, error = %e, "RAID tool failed");
            return Vec::new();
        }
    };
    match parse(&String::from_utf8_lossy(&out.stdout)) {
        Ok(items) => {
            if items.is_empty() && out.code != Some(0) {
                tracing::warn!(tool = %bin.display(), ?args, exit = ?out.code, "RAID tool reported nothing");
            }
            items
        }
        Err(e) => {
            tracing::warn!(tool = %bin.display(), ?args, exit = ?out.code, error = %e, "RAID tool output unreadable");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(s: &'a [Sample], metric: &str, tags: &str) -> Option<&'a Sample> {
        s.iter().find(|x| x.metric == metric && x.tags == tags)
    }

    fn value(s: &[Sample], metric: &str, tags: &str) -> Option<f64> {
        find(s, metric, tags).map(|x| x.value.as_f64())
    }

    #[test]
    fn megacli_pdlist() {
        let pds = parse_megacli_pdlist(include_str!("../../fixtures/lsiraid/megacli_pdlist.txt"));
        assert_eq!(pds.len(), 4);
        assert_eq!(
            pds[1],
            PhysicalDrive {
                adapter: 0,
                enclosure: "32".into(),
                slot: 1,
                media_errors: Some(12.0),
                other_errors: Some(3.0),
                predictive_failures: Some(1.0),
                temperature: Some(33.0),
                state: Some("Online, Spun Up".into()),
            }
        );
        let s = samples(&pds, &[]);
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=32:0"), Some(0.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Drive_Temperature", "PD=32:0"), Some(31.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Media_Error_Count", "PD=32:1"), Some(12.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=32:2"), Some(1.0));
        // Temperature N/A: no sample rather than a made-up one.
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Drive_Temperature", "PD=32:2"), None);
        // A hot spare is healthy.
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=32:3"), Some(0.0));
        assert_eq!(s.len(), 5 + 5 + 4 + 5);
    }

    #[test]
    fn megacli_ldinfo() {
        let vds = parse_megacli_ldinfo(include_str!("../../fixtures/lsiraid/megacli_ldinfo.txt"));
        assert_eq!(vds.len(), 2);
        assert_eq!(rows(&samples(&[], &vds)), TWO_VDS);
    }

    /// Both VD fixtures describe the same array: VD 0 optimal with the default cache policy, VD 1 degraded
    /// with another.
    const TWO_VDS: [(&str, &str, f64); 4] = [
        ("sys.disk.lsiraid.vd.state", "VD=0", 0.0),
        ("sys.disk.lsiraid.vd.cache_policy", "VD=0", 0.0),
        ("sys.disk.lsiraid.vd.state", "VD=1", 1.0),
        ("sys.disk.lsiraid.vd.cache_policy", "VD=1", 1.0),
    ];

    fn rows(s: &[Sample]) -> Vec<(&str, &str, f64)> {
        s.iter().map(|x| (x.metric.as_str(), x.tags.as_str(), x.value.as_f64())).collect()
    }

    #[test]
    fn megacli_second_adapter_and_garbage() {
        let text = "Adapter #0\n\nEnclosure Device ID: 32\nSlot Number: 0\nFirmware state: Online\n\
                    \u{0}\u{1}garbage without colon\n::::\nSlot Number: x\n\
                    Adapter #1\nEnclosure Device ID: N/A\nSlot Number: 4\nMedia Error Count: lots\n\
                    Drive Temperature :hot\nFirmware state: Rebuild\n\
                    Enclosure Device ID: 9\nMedia Error Count: 1\n\
                    Adapter #\nEnclosure Device ID: 7\nSlot Number: 99999999999\n";
        let pds = parse_megacli_pdlist(text);
        assert_eq!(
            rows(&samples(&pds, &[])),
            [
                ("sys.disk.lsiraid.pd.Firmware_state", "PD=32:0", 0.0),
                ("sys.disk.lsiraid.pd.Firmware_state", "PD=N/A:4,adapter=1", 1.0),
            ]
        );
        let ld = "State: Optimal\nVirtual Drive: ?\nState: Optimal\nAdapter 2 -- x:\n\
                  Virtual Drive: 3 (Target Id: 3)\nState : Partially Degraded\n";
        let vds = parse_megacli_ldinfo(ld);
        assert_eq!(
            vds,
            [VirtualDrive { adapter: 2, id: 3, state: Some("Partially Degraded".into()), ..Default::default() }]
        );
        assert!(parse_megacli_pdlist("").is_empty());
    }

    #[test]
    fn storcli_pd() {
        let pds = parse_storcli_pd(include_str!("../../fixtures/lsiraid/storcli_pd.json")).unwrap();
        assert_eq!(pds.len(), 4);
        let s = samples(&pds, &[]);
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=252:0"), Some(0.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Drive_Temperature", "PD=252:0"), Some(31.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Media_Error_Count", "PD=252:1"), Some(12.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Other_Error_Count", "PD=252:1"), Some(3.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Predictive_Failure_Count", "PD=252:1"), Some(1.0));
        // UBad, a counter given as a string, no temperature.
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=252:2"), Some(1.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Other_Error_Count", "PD=252:2"), Some(0.0));
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Drive_Temperature", "PD=252:2"), None);
        assert_eq!(value(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=252:3"), Some(0.0));
        assert_eq!(s.len(), 5 + 5 + 4 + 5);
    }

    #[test]
    fn storcli_vd() {
        let vds = parse_storcli_vd(include_str!("../../fixtures/lsiraid/storcli_vd.json")).unwrap();
        assert_eq!(rows(&samples(&[], &vds)), TWO_VDS);
    }

    #[test]
    fn storcli_odd_shapes() {
        let failed = r#"{"Controllers":[{"Command Status":{"Controller":0,"Status":"Failure",
            "Description":"No VDs have been configured"}}]}"#;
        assert!(parse_storcli_vd(failed).unwrap().is_empty());
        assert!(parse_storcli_pd(r#"{"Controllers":"x"}"#).unwrap().is_empty());
        assert!(parse_storcli_pd("CLI Version = 007.1017.0000.0000").is_err());
        assert!(parse_storcli_pd("[]").is_err());
        let odd = r#"{"Controllers":[{"Response Data":{
            "Drive /c1/s3":[{"State":"JBOD"}],
            "Drive /c1/s3 - Detailed Information":{"Drive /c1/s3 State":{"Media Error Count":"x"}},
            "Drive /c1/e2/sX":[{"State":"Onln"}],
            "Drive /c1/e2/s5":[],
            "Drive /c1/q2/s5":[{}],
            "/c1/v2":[{"State":"OfLn"}],
            "/c1/vx":[{"State":"Optl"}],
            "VD2 Properties":"none"}}, 7]}"#;
        let pds = parse_storcli_pd(odd).unwrap();
        assert_eq!(
            pds,
            [PhysicalDrive {
                adapter: 1,
                enclosure: "N/A".into(),
                slot: 3,
                state: Some("JBOD".into()),
                ..Default::default()
            }]
        );
        let vds = parse_storcli_vd(odd).unwrap();
        assert_eq!(vds, [VirtualDrive { adapter: 1, id: 2, state: Some("OfLn".into()), disk_cache_policy: None }]);
        let s = samples(&pds, &vds);
        assert_eq!(
            find(&s, "sys.disk.lsiraid.pd.Firmware_state", "PD=N/A:3,adapter=1").map(|x| x.value.as_f64()),
            Some(0.0)
        );
        assert_eq!(find(&s, "sys.disk.lsiraid.vd.state", "VD=2,adapter=1").map(|x| x.value.as_f64()), Some(1.0));
    }

    #[test]
    fn small_parsers() {
        assert_eq!(celsius(" 29C (84.20 F)"), Some(29.0));
        assert_eq!(celsius("N/A"), None);
        assert_eq!(celsius("29"), None);
        assert_eq!(celsius("84F"), None);
        assert_eq!(adapter_number("Adapter #3"), Some(3));
        assert_eq!(adapter_number("Adapter 1 -- Virtual Drive Information:"), Some(1));
        assert_eq!(adapter_number("Adapter: none"), None);
        assert_eq!(drive_path("/c0/e252/s7"), Some((0, "252".into(), 7)));
        assert_eq!(drive_path("/c0/e252"), None);
        assert_eq!(drive_path("/cé/s1"), None);
        assert_eq!(vd_path("/c0/v12"), Some((0, 12)));
        assert_eq!(vd_path("VD0 Properties"), None);
    }
}
