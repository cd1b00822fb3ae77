//! Go's `2006-01-02 15:04:05` timestamps in local time, as Open-Falcon prints them (`/counter/all` times,
//! the agent's `/system/date`).

/// Formats Unix seconds as `YYYY-MM-DD hh:mm:ss` in the process's local time zone (UTC if it cannot be read).
pub fn format_local(ts: i64) -> String {
    let (y, mo, d, h, mi, s) = local_parts(ts);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn local_parts(ts: i64) -> (i64, i64, i64, i64, i64, i64) {
    let t: nix::libc::time_t = ts as nix::libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fully initialises on success; both pointers are valid for the
    // call and localtime_r is the thread-safe variant.
    let mut tm: nix::libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !nix::libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return utc_parts(ts);
    }
    (
        i64::from(tm.tm_year) + 1900,
        i64::from(tm.tm_mon) + 1,
        i64::from(tm.tm_mday),
        i64::from(tm.tm_hour),
        i64::from(tm.tm_min),
        i64::from(tm.tm_sec),
    )
}

/// Civil date from Unix seconds (Howard Hinnant's days-from-civil inverse).
fn utc_parts(ts: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_civil_dates() {
        assert_eq!(utc_parts(0), (1970, 1, 1, 0, 0, 0));
        // The captures' clock: 1795261507 = 2026-11-21 11:45:07 UTC.
        assert_eq!(utc_parts(1_795_261_507), (2026, 11, 21, 11, 45, 7));
        assert_eq!(utc_parts(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn local_format_has_go_layout() {
        let s = format_local(1_795_261_507);
        assert_eq!(s.len(), 19);
        assert_eq!(&s[4..5], "-");
        assert_eq!(&s[10..11], " ");
        assert!(s.starts_with("2026-11-2"), "{s}");
    }
}
