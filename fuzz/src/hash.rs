//! FNV-1a, 64 bits: stable across runs and Rust releases (unlike `DefaultHasher`), for feature ids and the
//! file names of saved findings.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// The hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    extend(OFFSET, bytes)
}

/// Continues a hash over more bytes.
pub fn extend(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// `bytes` as lower-case hex, 32 bytes to a line with the offset first, for reports.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 + 16);
    for (i, chunk) in bytes.chunks(32).enumerate() {
        out.push_str(&format!("{:06x} ", i * 32));
        for b in chunk {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hex_dump(b"\x00\xff"), "000000 00ff\n");
    }
}
