//! `load.*` from /proc/loadavg.

use super::{gauge, parse_err, read, CollectError, Env, Sample};
use serde::Serialize;

/// /proc/loadavg, with the keys `/proc/system/loadavg` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct LoadAvg {
    /// 1-minute load.
    pub Avg1min: f64,
    /// 5-minute load.
    pub Avg5min: f64,
    /// 15-minute load.
    pub Avg15min: f64,
    /// Runnable entities.
    pub RunningProcesses: i64,
    /// All entities.
    pub TotalProcesses: i64,
}

/// Parses /proc/loadavg (`0.61 0.55 0.50 2/173 1234`).
pub fn parse_loadavg(text: &str) -> Result<LoadAvg, CollectError> {
    let f: Vec<&str> = text.split_whitespace().collect();
    let bad = || parse_err("/proc/loadavg", format!("{:?}", text.trim()));
    if f.len() < 4 {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
    let (run, total) = f[3].split_once('/').ok_or_else(bad)?;
    Ok(LoadAvg {
        Avg1min: num(f[0])?,
        Avg5min: num(f[1])?,
        Avg15min: num(f[2])?,
        RunningProcesses: run.parse().map_err(|_| bad())?,
        TotalProcesses: total.parse().map_err(|_| bad())?,
    })
}

/// Reads /proc/loadavg.
pub fn read_loadavg(env: &Env) -> Result<LoadAvg, CollectError> {
    parse_loadavg(&read(&env.proc_file("loadavg"))?)
}

/// `load.1min`, `load.5min`, `load.15min`.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let l = read_loadavg(env)?;
    Ok(vec![gauge("load.1min", l.Avg1min, ""), gauge("load.5min", l.Avg5min, ""), gauge("load.15min", l.Avg15min, "")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let l = parse_loadavg("1.61 1.66 1.25 2/173 4242\n").unwrap();
        assert_eq!((l.Avg1min, l.Avg15min, l.RunningProcesses, l.TotalProcesses), (1.61, 1.25, 2, 173));
        parse_loadavg(include_str!("../../fixtures/modern/loadavg")).unwrap();
        assert!(parse_loadavg("1 2\n").is_err());
        assert!(parse_loadavg("1 2 3 x\n").is_err());
    }
}
