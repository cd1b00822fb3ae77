//! Gob's primitive encodings (`encoding/gob` doc): unsigned varints with a negated byte count, zig-zag-like
//! signed ints, byte-reversed floats, length-prefixed strings.

use super::GobError;

/// Appends a gob uint: one byte below 128, else the negated byte count and the minimal big-endian bytes.
#[inline]
pub fn put_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
        return;
    }
    let bytes = v.to_be_bytes();
    let skip = (v.leading_zeros() / 8) as usize;
    let n = 8 - skip;
    out.push((256 - n) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends a gob int: `i << 1` for i >= 0, `(!i << 1) | 1` for i < 0, as a uint.
#[inline]
pub fn put_int(out: &mut Vec<u8>, v: i64) {
    let u = if v < 0 { ((!v as u64) << 1) | 1 } else { (v as u64) << 1 };
    put_uint(out, u);
}

/// Appends a gob float: the IEEE bits with their bytes reversed, as a uint (so small exponents stay short).
#[inline]
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    put_uint(out, v.to_bits().swap_bytes());
}

/// Appends a length-prefixed byte string.
#[inline]
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A cursor over one gob message.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads a uint.
    pub fn uint(&mut self) -> Result<u64, GobError> {
        let b = *self.buf.get(self.pos).ok_or(GobError::Eof)?;
        self.pos += 1;
        if b < 128 {
            return Ok(u64::from(b));
        }
        let n = (256 - u32::from(b)) as usize;
        if n > 8 {
            return Err(GobError::Malformed(format!("uint with {n} bytes")));
        }
        let bytes = self.take(n)?;
        Ok(bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// Reads an int.
    pub fn int(&mut self) -> Result<i64, GobError> {
        let u = self.uint()?;
        Ok(if u & 1 == 1 { !((u >> 1) as i64) } else { (u >> 1) as i64 })
    }

    /// Reads a float64.
    pub fn f64(&mut self) -> Result<f64, GobError> {
        Ok(f64::from_bits(self.uint()?.swap_bytes()))
    }

    /// Reads a bool (uint 0 or 1).
    pub fn bool(&mut self) -> Result<bool, GobError> {
        match self.uint()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(GobError::Malformed(format!("bool value {v}"))),
        }
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8], GobError> {
        let n = self.uint()?;
        if n > self.remaining() as u64 {
            return Err(GobError::Malformed(format!("length {n} beyond message end")));
        }
        self.take(n as usize)
    }

    /// Reads a count of elements that each need at least `min_elem_bytes`, refusing counts the message cannot
    /// hold (so a hostile count never drives an allocation).
    pub fn count(&mut self, min_elem_bytes: usize) -> Result<usize, GobError> {
        let n = self.uint()?;
        if n.saturating_mul(min_elem_bytes.max(1) as u64) > self.remaining() as u64 {
            return Err(GobError::Malformed(format!("count {n} beyond message end")));
        }
        Ok(n as usize)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GobError> {
        let end = self.pos.checked_add(n).ok_or(GobError::Eof)?;
        let s = self.buf.get(self.pos..end).ok_or(GobError::Eof)?;
        self.pos = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let mut b = Vec::new();
        put_uint(&mut b, 256);
        assert_eq!(b, [0xFE, 0x01, 0x00]);
        b.clear();
        put_int(&mut b, 65);
        assert_eq!(b, [0xFF, 0x82]);
        b.clear();
        put_int(&mut b, -65);
        assert_eq!(b, [0xFF, 0x81]);
        b.clear();
        put_f64(&mut b, 1.0);
        assert_eq!(b, [0xFE, 0xF0, 0x3F]);
        b.clear();
        put_int(&mut b, 1795261450);
        assert_eq!(b, [0xFC, 0xD6, 0x03, 0x08, 0x14]);
        b.clear();
        put_f64(&mut b, 83.7004740932886);
        assert_eq!(b, [0xF8, 0xAB, 0x97, 0x4A, 0x91, 0xD4, 0xEC, 0x54, 0x40]);
    }

    #[test]
    fn round_trips_and_bounds() {
        let vals_u = [0u64, 1, 127, 128, 255, 256, 65535, 1 << 40, u64::MAX];
        let vals_i = [0i64, 1, -1, 63, -64, 64, i64::MIN, i64::MAX];
        let vals_f = [0.0, -0.0, 1.5, f64::MIN_POSITIVE, f64::MAX, f64::INFINITY];
        let mut b = Vec::new();
        for v in vals_u {
            put_uint(&mut b, v);
        }
        for v in vals_i {
            put_int(&mut b, v);
        }
        for v in vals_f {
            put_f64(&mut b, v);
        }
        put_bytes(&mut b, b"hello");
        let mut r = Reader::new(&b);
        for v in vals_u {
            assert_eq!(r.uint().unwrap(), v);
        }
        for v in vals_i {
            assert_eq!(r.int().unwrap(), v);
        }
        for v in vals_f {
            assert_eq!(r.f64().unwrap().to_bits(), v.to_bits());
        }
        assert_eq!(r.bytes().unwrap(), b"hello");
        assert!(matches!(r.uint(), Err(GobError::Eof)));
        assert!(Reader::new(&[0xF7, 1, 2, 3, 4, 5, 6, 7, 8, 9]).uint().is_err(), "9-byte uint");
        assert!(Reader::new(&[0xFE, 0x01]).uint().is_err(), "truncated");
        assert!(Reader::new(&[0x05, b'a']).bytes().is_err(), "string past end");
        assert!(Reader::new(&[0xFC, 0x7F, 0xFF, 0xFF, 0xFF]).count(1).is_err(), "huge count");
        assert!(Reader::new(&[2]).bool().is_err());
    }
}
