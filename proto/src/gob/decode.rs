//! Decoding a gob stream: type definitions are remembered per stream (ids are the sender's choice), values
//! are decoded against them into [`Value`]s.
//!
//! Definitions may refer to ids defined later in the same run (Go sends the outer type first), so references
//! are only resolved when a value arrives. Everything is bounded: the message (by the framing), every count
//! (by the bytes left in the message), nesting depth and the number of definitions.

use super::types::{ids, read_struct, read_wire_type, WireType};
use super::value::Value;
use super::wire::Reader;
use super::GobError;
use std::collections::HashMap;

/// Nesting bound for values (a recursive type could otherwise recurse as deep as the message is long).
pub const MAX_DEPTH: usize = 64;
/// Bound on definitions per stream.
pub const MAX_TYPES: usize = 4096;

/// What one message held.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A type definition, now remembered.
    TypeDef(i64),
    /// A value and its type id.
    Value(i64, Value),
}

/// The receiving state of one gob stream.
#[derive(Debug, Default, Clone)]
pub struct Decoder {
    types: HashMap<i64, WireType>,
}

impl Decoder {
    /// A fresh stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The definition of `id`, if received.
    pub fn wire_type(&self, id: i64) -> Option<&WireType> {
        self.types.get(&id)
    }

    /// All definitions received.
    pub fn types(&self) -> &HashMap<i64, WireType> {
        &self.types
    }

    /// Decodes one message (the bytes after its length prefix).
    pub fn decode_message(&mut self, msg: &[u8]) -> Result<Message, GobError> {
        let mut r = Reader::new(msg);
        let id = r.int()?;
        if id < 0 {
            // i64::MIN has no positive counterpart: a hostile id, not a definition.
            let id = id.checked_neg().ok_or_else(|| GobError::Malformed(format!("type id {id} out of range")))?;
            if id < ids::FIRST_USER {
                return Err(GobError::Malformed(format!("definition of reserved type id {id}")));
            }
            let t = read_wire_type(&mut r)?;
            if r.remaining() != 0 {
                return Err(GobError::Malformed("extra data after type definition".into()));
            }
            if let Some(old) = self.types.get(&id) {
                if *old != t {
                    return Err(GobError::Malformed(format!("type id {id} redefined")));
                }
            } else if self.types.len() >= MAX_TYPES {
                return Err(GobError::Malformed(format!("more than {MAX_TYPES} type definitions")));
            }
            self.types.insert(id, t);
            return Ok(Message::TypeDef(id));
        }
        if id == 0 {
            return Err(GobError::Malformed("type id 0".into()));
        }
        let value = if matches!(self.types.get(&id), Some(WireType::Struct { .. })) {
            self.decode_value(id, &mut r, 0)?
        } else {
            // A top-level non-struct value is preceded by a zero field delta.
            if r.uint()? != 0 {
                return Err(GobError::Malformed("non-zero delta before a singleton value".into()));
            }
            self.decode_value(id, &mut r, 0)?
        };
        if r.remaining() != 0 {
            return Err(GobError::Malformed(format!("{} bytes after the value", r.remaining())));
        }
        Ok(Message::Value(id, value))
    }

    /// Decodes one value of type `id`.
    pub fn decode_value(&self, id: i64, r: &mut Reader<'_>, depth: usize) -> Result<Value, GobError> {
        if depth > MAX_DEPTH {
            return Err(GobError::TooDeep);
        }
        Ok(match id {
            ids::BOOL => Value::Bool(r.bool()?),
            ids::INT => Value::Int(r.int()?),
            ids::UINT => Value::Uint(r.uint()?),
            ids::FLOAT => Value::Float(r.f64()?),
            ids::BYTES => Value::Bytes(r.bytes()?.to_vec()),
            ids::STRING => Value::String(r.bytes()?.to_vec()),
            ids::COMPLEX => Value::Complex(r.f64()?, r.f64()?),
            ids::INTERFACE => return Err(GobError::Unsupported("interface values".into())),
            _ => match self.types.get(&id).ok_or(GobError::UnknownType(id))? {
                WireType::Struct { fields, .. } => {
                    let mut out = Vec::with_capacity(fields.len());
                    read_struct(r, fields.len(), |i, r| {
                        let f = &fields[i];
                        out.push((f.name.clone(), self.decode_value(f.id, r, depth + 1)?));
                        Ok(())
                    })?;
                    Value::Struct(out)
                }
                WireType::Slice { elem, .. } => {
                    let n = r.count(1)?;
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        out.push(self.decode_value(*elem, r, depth + 1)?);
                    }
                    Value::Seq(out)
                }
                WireType::Array { elem, len, .. } => {
                    let n = r.count(1)?;
                    if n as i64 != *len {
                        return Err(GobError::Malformed(format!("array of {n} elements for length {len}")));
                    }
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        out.push(self.decode_value(*elem, r, depth + 1)?);
                    }
                    Value::Seq(out)
                }
                WireType::Map { key, elem, .. } => {
                    let n = r.count(2)?;
                    let mut out = Vec::with_capacity(n);
                    for _ in 0..n {
                        let k = self.decode_value(*key, r, depth + 1)?;
                        let v = self.decode_value(*elem, r, depth + 1)?;
                        out.push((k, v));
                    }
                    Value::Map(out)
                }
                WireType::Opaque { .. } => Value::Bytes(r.bytes()?.to_vec()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_regression_the_most_negative_type_id_is_malformed() {
        // Found by the `gob` fuzz target: a message starting with int(i64::MIN) overflowed the negation that
        // turns a definition's id positive.
        let msg = [0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(Decoder::new().decode_message(&msg), Err(GobError::Malformed(_))));
    }
}
