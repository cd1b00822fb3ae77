//! `kernel.*`: file-max, pid_max and file-nr.

use super::{gauge, parse_err, read, CollectError, Env, Sample};

/// Parses a file holding one unsigned integer.
pub fn parse_u64(text: &str, what: &str) -> Result<u64, CollectError> {
    text.trim().parse().map_err(|_| parse_err(what, format!("{:?}", text.trim())))
}

/// The first field of /proc/sys/fs/file-nr, which must have exactly three.
pub fn parse_file_nr(text: &str) -> Result<u64, CollectError> {
    let f: Vec<&str> = text.split_whitespace().collect();
    if f.len() != 3 {
        return Err(parse_err("/proc/sys/fs/file-nr", format!("{} fields", f.len())));
    }
    parse_u64(f[0], "/proc/sys/fs/file-nr")
}

/// /proc/sys/fs/file-max.
pub fn max_files(env: &Env) -> Result<u64, CollectError> {
    parse_u64(&read(&env.proc_file("sys/fs/file-max"))?, "file-max")
}

/// /proc/sys/kernel/pid_max.
pub fn max_proc(env: &Env) -> Result<u64, CollectError> {
    parse_u64(&read(&env.proc_file("sys/kernel/pid_max"))?, "pid_max")
}

/// `kernel.maxfiles`, `kernel.maxproc`, `kernel.files.allocated`, `kernel.files.left`. As in Go, what was
/// read before a failure is still reported.
pub fn collect(env: &Env) -> Result<Vec<Sample>, CollectError> {
    let mut out = Vec::with_capacity(4);
    let maxfiles = max_files(env)?;
    out.push(gauge("kernel.maxfiles", maxfiles, ""));
    match max_proc(env) {
        Ok(v) => out.push(gauge("kernel.maxproc", v, "")),
        Err(_) => return Ok(out),
    }
    let Ok(allocated) = read(&env.proc_file("sys/fs/file-nr")).and_then(|t| parse_file_nr(&t)) else {
        return Ok(out);
    };
    out.push(gauge("kernel.files.allocated", allocated, ""));
    out.push(gauge("kernel.files.left", maxfiles.saturating_sub(allocated), ""));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_nr_needs_three_fields() {
        assert_eq!(parse_file_nr("958\t0\t2466186\n").unwrap(), 958);
        assert!(parse_file_nr("958 0\n").is_err());
        assert!(parse_file_nr(include_str!("../../fixtures/modern/sys/fs/file-nr")).is_ok());
        assert!(parse_u64("x", "t").is_err());
        assert!(parse_u64(include_str!("../../fixtures/modern/sys/kernel/pid_max"), "t").is_ok());
    }
}
