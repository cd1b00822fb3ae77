//! Gob type definitions (`wireType`) as they travel: decoded from a peer's stream, and written for ours.
//!
//! A definition message is `int(-id)` followed by a `wireType` struct whose set field says the kind:
//! 0 ArrayT, 1 SliceT, 2 StructT, 3 MapT, 4 GobEncoderT, 5 BinaryMarshalerT, 6 TextMarshalerT.

use super::wire::{put_bytes, put_int, put_uint, Reader};
use super::GobError;
use std::sync::Arc;

/// Predefined type ids.
pub mod ids {
    /// bool
    pub const BOOL: i64 = 1;
    /// int (any signed width)
    pub const INT: i64 = 2;
    /// uint (any unsigned width)
    pub const UINT: i64 = 3;
    /// float64/float32
    pub const FLOAT: i64 = 4;
    /// []byte
    pub const BYTES: i64 = 5;
    /// string
    pub const STRING: i64 = 6;
    /// complex128
    pub const COMPLEX: i64 = 7;
    /// interface{}
    pub const INTERFACE: i64 = 8;
    /// First id a sender may assign to its own types.
    pub const FIRST_USER: i64 = 65;
}

/// One struct field of a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct WireField {
    /// Go field name (decoders match on it).
    pub name: Arc<str>,
    /// Its type id.
    pub id: i64,
}

/// A type definition received or sent.
#[derive(Debug, Clone, PartialEq)]
pub enum WireType {
    /// `[N]T`
    Array {
        /// Informational name.
        name: String,
        /// Element type.
        elem: i64,
        /// Length.
        len: i64,
    },
    /// `[]T`
    Slice {
        /// Informational name.
        name: String,
        /// Element type.
        elem: i64,
    },
    /// A struct.
    Struct {
        /// Informational name.
        name: String,
        /// Fields in the sender's order.
        fields: Vec<WireField>,
    },
    /// `map[K]V`
    Map {
        /// Informational name.
        name: String,
        /// Key type.
        key: i64,
        /// Value type.
        elem: i64,
    },
    /// A type with its own marshalling (GobEncoder, BinaryMarshaler, TextMarshaler): opaque bytes.
    Opaque {
        /// Informational name.
        name: String,
        /// 4, 5 or 6: which of the three.
        which: u8,
    },
}

/// Reads a struct's (delta, field) sequence, calling `f(field_index, reader)` for each present field.
pub fn read_struct<'a>(
    r: &mut Reader<'a>,
    max_field: usize,
    mut f: impl FnMut(usize, &mut Reader<'a>) -> Result<(), GobError>,
) -> Result<(), GobError> {
    let mut field: i64 = -1;
    loop {
        let delta = r.uint()?;
        if delta == 0 {
            return Ok(());
        }
        field = field
            .checked_add(i64::try_from(delta).map_err(|_| GobError::Malformed("field delta overflow".into()))?)
            .ok_or_else(|| GobError::Malformed("field delta overflow".into()))?;
        if field as usize >= max_field {
            return Err(GobError::Malformed(format!("field number {field} out of range")));
        }
        f(field as usize, r)?;
    }
}

/// `CommonType{Name, Id}`.
fn read_common(r: &mut Reader<'_>) -> Result<String, GobError> {
    let mut name = String::new();
    read_struct(r, 2, |i, r| {
        match i {
            0 => name = String::from_utf8_lossy(r.bytes()?).into_owned(),
            _ => {
                r.int()?;
            }
        }
        Ok(())
    })?;
    Ok(name)
}

/// Decodes the `wireType` payload of a definition message.
pub fn read_wire_type(r: &mut Reader<'_>) -> Result<WireType, GobError> {
    let mut out: Option<WireType> = None;
    read_struct(r, 7, |kind, r| {
        if out.is_some() {
            return Err(GobError::Malformed("wireType with two kinds".into()));
        }
        out = Some(match kind {
            0 => {
                let (mut name, mut elem, mut len) = (String::new(), 0, 0);
                read_struct(r, 3, |i, r| {
                    match i {
                        0 => name = read_common(r)?,
                        1 => elem = r.int()?,
                        _ => len = r.int()?,
                    }
                    Ok(())
                })?;
                WireType::Array { name, elem, len }
            }
            1 => {
                let (mut name, mut elem) = (String::new(), 0);
                read_struct(r, 2, |i, r| {
                    match i {
                        0 => name = read_common(r)?,
                        _ => elem = r.int()?,
                    }
                    Ok(())
                })?;
                WireType::Slice { name, elem }
            }
            2 => {
                let (mut name, mut fields) = (String::new(), Vec::new());
                read_struct(r, 2, |i, r| {
                    match i {
                        0 => name = read_common(r)?,
                        _ => {
                            let n = r.count(1)?;
                            fields.reserve(n);
                            for _ in 0..n {
                                let (mut fname, mut fid) = (String::new(), 0);
                                read_struct(r, 2, |j, r| {
                                    match j {
                                        0 => fname = String::from_utf8_lossy(r.bytes()?).into_owned(),
                                        _ => fid = r.int()?,
                                    }
                                    Ok(())
                                })?;
                                fields.push(WireField { name: fname.into(), id: fid });
                            }
                        }
                    }
                    Ok(())
                })?;
                WireType::Struct { name, fields }
            }
            3 => {
                let (mut name, mut key, mut elem) = (String::new(), 0, 0);
                read_struct(r, 3, |i, r| {
                    match i {
                        0 => name = read_common(r)?,
                        1 => key = r.int()?,
                        _ => elem = r.int()?,
                    }
                    Ok(())
                })?;
                WireType::Map { name, key, elem }
            }
            which => {
                let mut name = String::new();
                read_struct(r, 1, |_, r| {
                    name = read_common(r)?;
                    Ok(())
                })?;
                WireType::Opaque { name, which: which as u8 }
            }
        });
        Ok(())
    })?;
    out.ok_or_else(|| GobError::Malformed("empty wireType".into()))
}

/// Appends `CommonType{Name, Id}` as field `delta` of the enclosing struct (zero fields omitted, as Go does).
fn put_common(out: &mut Vec<u8>, name: &str, id: i64) {
    out.push(1); // field 0 of the enclosing struct: CommonType
    let mut last = -1i64;
    if !name.is_empty() {
        out.push(1);
        put_bytes(out, name.as_bytes());
        last = 0;
    }
    if id != 0 {
        put_uint(out, (1 - last) as u64);
        put_int(out, id);
    }
    out.push(0);
}

/// Appends the `wireType` payload for `t` with id `id` (the caller frames the message with `-id`).
pub fn write_wire_type(out: &mut Vec<u8>, id: i64, t: &WireType) {
    match t {
        WireType::Array { name, elem, len } => {
            out.push(1);
            put_common(out, name, id);
            out.push(1);
            put_int(out, *elem);
            if *len != 0 {
                out.push(1);
                put_int(out, *len);
            }
            out.push(0);
        }
        WireType::Slice { name, elem } => {
            out.push(2);
            put_common(out, name, id);
            out.push(1);
            put_int(out, *elem);
            out.push(0);
        }
        WireType::Struct { name, fields } => {
            out.push(3);
            put_common(out, name, id);
            if !fields.is_empty() {
                out.push(1);
                put_uint(out, fields.len() as u64);
                for f in fields {
                    out.push(1);
                    put_bytes(out, f.name.as_bytes());
                    out.push(1);
                    put_int(out, f.id);
                    out.push(0);
                }
            }
            out.push(0);
        }
        WireType::Map { name, key, elem } => {
            out.push(4);
            put_common(out, name, id);
            out.push(1);
            put_int(out, *key);
            out.push(1);
            put_int(out, *elem);
            out.push(0);
        }
        WireType::Opaque { name, which } => {
            out.push(*which + 1);
            put_common(out, name, id);
            out.push(0);
        }
    }
    out.push(0);
}
