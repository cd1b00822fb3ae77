//! `falcon_updater::unpack::check`: a tarball from an update server. The bytes are wrapped in gzip so the tar
//! reader sees the mutations; whatever the check lets through must be relative, without `..`, and of a kind the
//! updater writes.

use crate::feedback::{note, note_err};
use falcon_updater::unpack::{check, inside, Limits};
use std::io::Write;

pub fn run(data: &[u8]) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if gz.write_all(data).is_err() {
        return;
    }
    let Ok(tarball) = gz.finish() else { return };
    let limits = Limits { entries: 64, bytes: 64 << 10 };
    match check(&tarball, limits) {
        Ok(()) => {
            note("accepted");
            // Re-read what was accepted: every path must stay inside.
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&tarball[..]));
            if let Ok(entries) = archive.entries() {
                for e in entries.flatten() {
                    if let Ok(p) = e.path() {
                        assert!(inside(&p).is_some(), "accepted an entry outside: {}", p.display());
                    }
                }
            }
        }
        Err(e) => note_err("refused", &e),
    }
}
