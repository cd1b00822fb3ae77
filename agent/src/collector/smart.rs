//! `sys.disk.smart.*`: disk health from smartmontools' `smartctl` (7.0 or later, for its JSON output).
//!
//! The Open-Falcon book lists `sys.disk.smart.<ATA attribute name>` tagged `device=/dev/sda`, which its plugin
//! scraped from `smartctl -A` text. JSON (`-j`) keeps the same names without the column guessing, and also
//! covers NVMe, whose health log has no attribute table:
//!
//! - ATA: one gauge per entry of `ata_smart_attributes.table`, named after the attribute (`Reallocated_Sector_Ct`).
//!   The value is the number the text output prints in its RAW_VALUE column: the leading integer of `raw.string`.
//!   `raw.value` is the whole 48-bit raw field, which for temperatures (`36 (Min/Max 30/48)`) and timers
//!   (`29643h+45m+01.123s`) packs several counters into one meaningless integer; it is used only when the string
//!   does not start with a decimal number (e.g. a drive database entry printing hex).
//! - NVMe: every number in `nvme_smart_health_information_log` under its own key (`media_errors`,
//!   `percentage_used`, ...), except `nsid`, which names the namespace rather than measuring anything.
//!   `temperature_sensors` is an array, flattened to `temperature_sensor_1`, `_2`, ... (1-based, as smartctl's
//!   text output numbers them; a sensor smartctl leaves null is skipped). Other arrays and strings (the
//!   `_le`/`_s` forms smartctl adds for 128-bit counters) are skipped.
//! - Any protocol: `sys.disk.smart.health`, 0 when `smart_status.passed` is true, 1 when false, absent when
//!   smartctl could not tell.
//!
//! smartctl's exit status is a bit mask: bits 0 and 1 mean the command line or the device open failed, but bits
//! 2 to 7 report findings about a disk that was read (bit 3: "disk failing"), and the JSON on stdout is complete.
//! So stdout is parsed whenever it is JSON, whatever the status; only bits 0-1 are logged as failures.
//!
//! Disks are found with `smartctl --scan-open -j`, which also resolves each device's type (`sat`, `nvme`,
//! `megaraid,N` behind a RAID controller), and read with `smartctl -A -H -j -n standby,0 -d TYPE DEVICE`:
//! `-n standby,0` leaves a spun-down disk asleep and exits 0 for it, so an idle disk costs nothing and is not
//! reported as an error.

use super::tool::{find_tool, run_tool};
use super::{gauge, parse_err, CollectError, Sample};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Metric name prefix.
const PREFIX: &str = "sys.disk.smart.";

/// A disk `smartctl --scan-open` could open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartDevice {
    /// Device path (`/dev/sda`, `/dev/nvme0`, `/dev/bus/0` for disks behind a MegaRAID controller).
    pub name: String,
    /// smartctl's device type for `-d` (`sat`, `nvme`, `sat+megaraid,0`); empty lets smartctl detect it.
    pub dev_type: String,
}

impl SmartDevice {
    /// The `device` tag value: the path, plus the controller port when the type names one, since every disk
    /// behind a MegaRAID controller shares one path (`/dev/bus/0:megaraid_0`). The port is the last
    /// `+`-separated part of the type so that `sat+megaraid,0` and `megaraid,0` name the same disk.
    pub fn label(&self) -> String {
        match self.dev_type.rsplit('+').next() {
            Some(port) if port.contains(',') => format!("{}:{}", self.name, port.replace(',', "_")),
            _ => self.name.clone(),
        }
    }

    /// smartctl's arguments to read this disk's attributes and health.
    pub fn args(&self) -> Vec<&str> {
        let mut args = vec!["-A", "-H", "-j", "-n", "standby,0"];
        if !self.dev_type.is_empty() {
            args.extend(["-d", self.dev_type.as_str()]);
        }
        args.push(self.name.as_str());
        args
    }
}

/// The disks in `smartctl --scan-open -j` output, without those smartctl could not open (`open_error`) and
/// without names that smartctl would take for an option.
pub fn parse_scan_open(json: &str) -> Result<Vec<SmartDevice>, CollectError> {
    let root = parse_json(json, "smartctl --scan-open")?;
    let Some(devices) = root.get("devices").and_then(Value::as_array) else {
        // smartctl leaves the array out when it found nothing.
        return Ok(Vec::new());
    };
    Ok(devices.iter().filter_map(scan_entry).collect())
}

/// One `devices` entry, if usable.
fn scan_entry(d: &Value) -> Option<SmartDevice> {
    if d.get("open_error").is_some() {
        return None;
    }
    let name = d.get("name")?.as_str()?;
    if name.is_empty() || name.starts_with('-') {
        return None;
    }
    let dev_type = d.get("type").and_then(Value::as_str).unwrap_or("");
    Some(SmartDevice { name: name.to_string(), dev_type: dev_type.to_string() })
}

/// The samples in `smartctl -A -H -j` output for one disk, tagged `device=<device>` (see
/// [`SmartDevice::label`]).
pub fn parse_device(json: &str, device: &str) -> Result<Vec<Sample>, CollectError> {
    Ok(device_samples(&parse_json(json, "smartctl -A -H")?, device))
}

/// Parses smartctl JSON, which is always an object.
fn parse_json(json: &str, what: &str) -> Result<Value, CollectError> {
    let root: Value = serde_json::from_str(json).map_err(|e| parse_err(what, e.to_string()))?;
    if !root.is_object() {
        return Err(parse_err(what, "not a JSON object"));
    }
    Ok(root)
}

/// ATA attributes, NVMe health log and overall health of one parsed disk report.
fn device_samples(root: &Value, device: &str) -> Vec<Sample> {
    let tags = format!("device={}", tag_value(device));
    let mut out = Vec::new();
    ata_samples(root, &tags, &mut out);
    nvme_samples(root, &tags, &mut out);
    if let Some(passed) = root.pointer("/smart_status/passed").and_then(Value::as_bool) {
        out.push(gauge(format!("{PREFIX}health"), if passed { 0.0 } else { 1.0 }, tags));
    }
    out
}

/// One gauge per ATA attribute with a name and a raw value.
fn ata_samples(root: &Value, tags: &str, out: &mut Vec<Sample>) {
    let Some(table) = root.pointer("/ata_smart_attributes/table").and_then(Value::as_array) else {
        return;
    };
    for attr in table {
        let (Some(name), Some(raw)) = (attr.get("name").and_then(Value::as_str), attr.get("raw")) else {
            continue;
        };
        if let Some(v) = raw_value(raw) {
            out.push(gauge(format!("{PREFIX}{}", metric_part(name)), v, tags));
        }
    }
}

/// The RAW_VALUE column's number: the leading integer of `raw.string`, else `raw.value` (see the module doc).
fn raw_value(raw: &Value) -> Option<f64> {
    let shown = raw.get("string").and_then(Value::as_str).and_then(leading_decimal);
    shown.map(|v| v as f64).or_else(|| raw.get("value").and_then(Value::as_f64))
}

/// The decimal integer `s` starts with; None for no digits or a hex `0x` prefix.
fn leading_decimal(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || s[end..].starts_with(['x', 'X']) {
        return None;
    }
    s[..end].parse().ok()
}

/// One gauge per number in the NVMe health log; sensors flattened (see the module doc).
fn nvme_samples(root: &Value, tags: &str, out: &mut Vec<Sample>) {
    let Some(log) = root.get("nvme_smart_health_information_log").and_then(Value::as_object) else {
        return;
    };
    for (key, v) in log {
        if key == "nsid" {
            continue;
        }
        if key == "temperature_sensors" {
            sensor_samples(v, tags, out);
        } else if let Some(n) = v.as_f64() {
            out.push(gauge(format!("{PREFIX}{}", metric_part(key)), n, tags));
        }
    }
}

/// `temperature_sensor_<n>` for each non-null sensor, n counted from 1.
fn sensor_samples(sensors: &Value, tags: &str, out: &mut Vec<Sample>) {
    let Some(list) = sensors.as_array() else {
        return;
    };
    for (i, t) in list.iter().enumerate() {
        if let Some(t) = t.as_f64() {
            out.push(gauge(format!("{PREFIX}temperature_sensor_{}", i + 1), t, tags));
        }
    }
}

/// A metric name part with every character outside `[A-Za-z0-9_.-]` replaced by `_`.
pub fn metric_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }).collect()
}

/// A tag value without the characters that separate tags (`,`, `=`) or that the wire trims (white space).
pub fn tag_value(s: &str) -> String {
    s.chars().map(|c| if c == ',' || c == '=' || c.is_whitespace() { '_' } else { c }).collect()
}

/// The smartctl binary, if installed.
fn smartctl() -> Option<PathBuf> {
    find_tool(&["smartctl"], &[])
}

/// Whether smartctl is installed.
pub fn available() -> bool {
    smartctl().is_some()
}

/// Scans for disks and reads each one, every smartctl call bounded by `timeout`. No smartctl means no samples
/// and no error; failures are logged and the disks that answered are still reported.
pub fn refresh(timeout: Duration) -> Vec<Sample> {
    let Some(bin) = smartctl() else {
        return Vec::new();
    };
    let devices = match scan(&bin, timeout) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "smartctl --scan-open failed");
            return Vec::new();
        }
    };
    devices.iter().flat_map(|d| read_device(&bin, d, timeout)).collect()
}

/// `smartctl --scan-open -j`.
fn scan(bin: &Path, timeout: Duration) -> Result<Vec<SmartDevice>, String> {
    let run = run_tool(bin, &["--scan-open", "-j"], timeout).map_err(|e| e.to_string())?;
    parse_scan_open(&String::from_utf8_lossy(&run.stdout)).map_err(|e| format!("{e} (exit {:?})", run.code))
}

/// One disk's samples; failures logged, whatever parsed kept.
fn read_device(bin: &Path, dev: &SmartDevice, timeout: Duration) -> Vec<Sample> {
    let label = dev.label();
    let run = match run_tool(bin, &dev.args(), timeout) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(device = %label, error = %e, "smartctl failed");
            return Vec::new();
        }
    };
    let root = match parse_json(&String::from_utf8_lossy(&run.stdout), "smartctl -A -H") {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(device = %label, exit = ?run.code, error = %e, "smartctl printed no JSON");
            return Vec::new();
        }
    };
    // Bits 0-1: nothing was read. Higher bits are findings, already in the JSON.
    if !matches!(run.code, Some(c) if c & 0b11 == 0) {
        let msg = root.pointer("/smartctl/messages/0/string").and_then(Value::as_str).unwrap_or("");
        tracing::warn!(device = %label, exit = ?run.code, message = msg, "smartctl could not read the disk");
    }
    device_samples(&root, &label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(samples: &[Sample], metric: &str) -> Option<f64> {
        samples.iter().find(|s| s.metric == metric).map(|s| s.value.as_f64())
    }

    #[test]
    fn scan_skips_devices_that_did_not_open() {
        let d = parse_scan_open(include_str!("../../fixtures/smart/scan_open.json")).unwrap();
        let names: Vec<(String, String)> = d.iter().map(|d| (d.label(), d.dev_type.clone())).collect();
        assert_eq!(
            names,
            [
                ("/dev/sda".to_string(), "sat".to_string()),
                ("/dev/nvme0".to_string(), "nvme".to_string()),
                ("/dev/bus/0:megaraid_0".to_string(), "sat+megaraid,0".to_string()),
                ("/dev/bus/0:megaraid_1".to_string(), "megaraid,1".to_string()),
            ]
        );
        assert_eq!(d[0].args(), ["-A", "-H", "-j", "-n", "standby,0", "-d", "sat", "/dev/sda"]);
    }

    #[test]
    fn scan_without_devices_and_garbage() {
        assert!(parse_scan_open(r#"{"smartctl":{"exit_status":0}}"#).unwrap().is_empty());
        assert!(parse_scan_open("/dev/sda -d sat # /dev/sda [SAT], ATA device").is_err());
        assert!(parse_scan_open("[1,2]").is_err());
        let odd = r#"{"devices":[{"type":"sat"},{"name":"-x"},{"name":7},"x",{"name":"/dev/sdz"}]}"#;
        let d = parse_scan_open(odd).unwrap();
        assert_eq!(d, [SmartDevice { name: "/dev/sdz".into(), dev_type: String::new() }]);
        assert_eq!(d[0].args(), ["-A", "-H", "-j", "-n", "standby,0", "/dev/sdz"]);
    }

    #[test]
    fn ata_attributes_use_the_printed_raw_value() {
        let s = parse_device(include_str!("../../fixtures/smart/ata.json"), "/dev/sda").unwrap();
        assert_eq!(s.len(), 10);
        assert!(s.iter().all(|s| s.tags == "device=/dev/sda" && s.kind == super::super::Kind::Gauge));
        assert_eq!(value(&s, "sys.disk.smart.Reallocated_Sector_Ct"), Some(8.0));
        assert_eq!(value(&s, "sys.disk.smart.Power_On_Hours"), Some(36055.0));
        assert_eq!(value(&s, "sys.disk.smart.Raw_Read_Error_Rate"), Some(199781349.0));
        // raw.value packs min/max (807272484) and ms (11601234947503051) in; the printed number is meant.
        assert_eq!(value(&s, "sys.disk.smart.Temperature_Celsius"), Some(36.0));
        assert_eq!(value(&s, "sys.disk.smart.Airflow_Temperature_Cel"), Some(36.0));
        assert_eq!(value(&s, "sys.disk.smart.Head_Flying_Hours"), Some(29643.0));
        assert_eq!(value(&s, "sys.disk.smart.health"), Some(0.0));
    }

    #[test]
    fn nvme_health_log_with_flattened_sensors() {
        let s = parse_device(include_str!("../../fixtures/smart/nvme.json"), "/dev/nvme0").unwrap();
        assert_eq!(value(&s, "sys.disk.smart.media_errors"), Some(0.0));
        assert_eq!(value(&s, "sys.disk.smart.percentage_used"), Some(2.0));
        assert_eq!(value(&s, "sys.disk.smart.temperature"), Some(38.0));
        assert_eq!(value(&s, "sys.disk.smart.num_err_log_entries"), Some(42.0));
        assert_eq!(value(&s, "sys.disk.smart.temperature_sensor_1"), Some(38.0));
        assert_eq!(value(&s, "sys.disk.smart.temperature_sensor_2"), Some(45.0));
        assert_eq!(value(&s, "sys.disk.smart.nsid"), None);
        assert_eq!(value(&s, "sys.disk.smart.health"), Some(0.0));
        // 18 numbers, nsid out, 2 sensors, health.
        assert_eq!(s.len(), 18 - 1 + 2 + 1);
        assert!(s.iter().all(|s| s.tags == "device=/dev/nvme0"));
    }

    #[test]
    fn failing_disk_reports_health_one() {
        let s = parse_device(include_str!("../../fixtures/smart/failing.json"), "/dev/sdc").unwrap();
        assert_eq!(value(&s, "sys.disk.smart.health"), Some(1.0));
        assert_eq!(value(&s, "sys.disk.smart.Reallocated_Sector_Ct"), Some(3960.0));
        assert_eq!(value(&s, "sys.disk.smart.Current_Pending_Sector"), Some(16.0));
    }

    #[test]
    fn unknown_health_odd_values_and_names() {
        let json = r#"{"smartctl":{"exit_status":2},
            "ata_smart_attributes":{"table":[
                {"name":"Weird/Name (x)","raw":{"value":5,"string":"0x0005"}},
                {"name":"No_Raw"},
                {"raw":{"value":1,"string":"1"}},
                {"name":"Bad_Raw","raw":{"value":"x","string":"n/a"}},
                "garbage"]},
            "nvme_smart_health_information_log":{"media_errors":3,"data_units_read_s":"1","data_units_read_le":[1],
                "temperature_sensors":[null,40,"x"]}}"#;
        let s = parse_device(json, "/dev/bus/0:megaraid,0").unwrap();
        let got: Vec<(&str, f64)> = s.iter().map(|s| (s.metric.as_str(), s.value.as_f64())).collect();
        assert_eq!(
            got,
            [
                ("sys.disk.smart.Weird_Name__x_", 5.0),
                ("sys.disk.smart.media_errors", 3.0),
                ("sys.disk.smart.temperature_sensor_2", 40.0),
            ]
        );
        assert_eq!(s[0].tags, "device=/dev/bus/0:megaraid_0");
        assert!(parse_device("", "/dev/sda").is_err());
        assert!(parse_device("null", "/dev/sda").is_err());
        assert!(parse_device(r#"{"smart_status":{"passed":"yes"}}"#, "/dev/sda").unwrap().is_empty());
    }

    #[test]
    fn leading_decimal_rules() {
        assert_eq!(leading_decimal("36 (Min/Max 30/48)"), Some(36));
        assert_eq!(leading_decimal(" 12h+3m"), Some(12));
        assert_eq!(leading_decimal("0x0000"), None);
        assert_eq!(leading_decimal("-"), None);
        assert_eq!(leading_decimal("99999999999999999999999"), None);
    }
}
