//! Checking a downloaded tarball against the checksum files the server publishes next to it: the `.md5` of
//! ops-meta's contract (a `md5sum` line) and, when the server has one, a `.sha256` (a `sha256sum` line).

/// Why a tarball was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The checksum file is not a `md5sum`/`sha256sum` line.
    #[error("{kind} file is not a {kind}sum line: {line:?}")]
    Format {
        /// `md5` or `sha256`.
        kind: &'static str,
        /// Its first line, cut short.
        line: String,
    },
    /// The line names another file.
    #[error("{kind} file is for {named:?}, not {file:?}")]
    OtherFile {
        /// `md5` or `sha256`.
        kind: &'static str,
        /// The file it names.
        named: String,
        /// The tarball's name.
        file: String,
    },
    /// The digest differs.
    #[error("{kind} mismatch: the server says {want}, the tarball is {got}")]
    Mismatch {
        /// `md5` or `sha256`.
        kind: &'static str,
        /// The published digest.
        want: String,
        /// The downloaded tarball's.
        got: String,
    },
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of `data`, as `md5sum` prints it.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

/// The SHA-256 of `data`, as `sha256sum` prints it.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

/// The digest of a `md5sum`/`sha256sum` line (`<hex>  <file>` or `<hex> *<file>`, or the digest alone), checked
/// to name `file` when it names one.
pub fn parse_sum_line<'a>(
    kind: &'static str,
    text: &'a str,
    hex_len: usize,
    file: &str,
) -> Result<&'a str, VerifyError> {
    let line = text.lines().next().unwrap_or("").trim_end();
    let bad = || VerifyError::Format { kind, line: line.chars().take(80).collect() };
    let (digest, rest) = match line.split_once(' ') {
        Some((d, r)) => (d, Some(r)),
        None => (line, None),
    };
    if digest.len() != hex_len || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    if let Some(rest) = rest {
        // `md5sum` writes two spaces (text mode) or a space and `*` (binary mode) before the name.
        let named = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*')).ok_or_else(bad)?;
        let named = named.rsplit('/').next().unwrap_or(named);
        if named != file {
            return Err(VerifyError::OtherFile { kind, named: named.to_string(), file: file.to_string() });
        }
    }
    Ok(digest)
}

/// Checks `data` (the tarball named `file`) against a `.md5` file's text.
pub fn check_md5(data: &[u8], md5_file: &str, file: &str) -> Result<(), VerifyError> {
    check("md5", 32, md5_file, file, md5_hex(data))
}

/// Checks `data` against a `.sha256` file's text.
pub fn check_sha256(data: &[u8], sha_file: &str, file: &str) -> Result<(), VerifyError> {
    check("sha256", 64, sha_file, file, sha256_hex(data))
}

/// The sum a `<kind>` file's line gives for `file` (`hex_len` hex digits) against the one computed, `got`.
fn check(kind: &'static str, hex_len: usize, sum_file: &str, file: &str, got: String) -> Result<(), VerifyError> {
    let want = parse_sum_line(kind, sum_file, hex_len, file)?.to_ascii_lowercase();
    if want != got {
        return Err(VerifyError::Mismatch { kind, want, got });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_coreutils_tools() {
        // `printf abc | md5sum` and `| sha256sum`.
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn sum_lines_in_every_form() {
        let f = "falcon-agent-1.0.0.tar.gz";
        let m = md5_hex(b"abc");
        for line in [format!("{m}  {f}\n"), format!("{m} *{f}"), m.clone(), format!("{m}  ./dist/{f}")] {
            assert!(check_md5(b"abc", &line, f).is_ok(), "{line}");
        }
        assert!(matches!(check_md5(b"abd", &format!("{m}  {f}"), f), Err(VerifyError::Mismatch { .. })));
        assert!(matches!(check_md5(b"abc", &format!("{m}  other.tar.gz"), f), Err(VerifyError::OtherFile { .. })));
        for bad in ["", "<html>404</html>", "zz0150983cd24fb0d6963f7d28e17f72  x", &m[..31]] {
            assert!(matches!(check_md5(b"abc", bad, f), Err(VerifyError::Format { .. })), "{bad}");
        }
        let s = sha256_hex(b"abc");
        assert!(check_sha256(b"abc", &format!("{}  {f}", s.to_uppercase()), f).is_ok());
        assert!(check_sha256(b"abcd", &s, f).is_err());
    }
}
