//! Typed decoding from [`Value`]s with Go's compatibility rules: struct fields match by name, unknown
//! fields are skipped, missing ones stay zero, signedness must agree, and a struct with fields of which none
//! match is an error.

use super::value::Value;
use super::GobError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A type decodable from a gob [`Value`].
pub trait FromGob: Sized {
    /// Converts, or says why the types are incompatible.
    fn from_gob(v: Value) -> Result<Self, GobError>;
}

fn mismatch(want: &str, got: &Value) -> GobError {
    GobError::TypeMismatch(format!("want {want}, got {}", got.kind()))
}

impl FromGob for String {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            // Go strings may hold any bytes; ours must be UTF-8, so invalid sequences become U+FFFD.
            Value::String(b) => {
                Ok(String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
            }
            other => Err(mismatch("string", &other)),
        }
    }
}

impl FromGob for i64 {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Int(i) => Ok(i),
            other => Err(mismatch("int", &other)),
        }
    }
}

impl FromGob for u64 {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Uint(u) => Ok(u),
            other => Err(mismatch("uint", &other)),
        }
    }
}

impl FromGob for f64 {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Float(f) => Ok(f),
            other => Err(mismatch("float", &other)),
        }
    }
}

impl FromGob for bool {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(mismatch("bool", &other)),
        }
    }
}

impl<T: FromGob> FromGob for Vec<T> {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Seq(items) => items.into_iter().map(T::from_gob).collect(),
            other => Err(mismatch("slice", &other)),
        }
    }
}

impl<V: FromGob> FromGob for BTreeMap<String, V> {
    fn from_gob(v: Value) -> Result<Self, GobError> {
        match v {
            Value::Map(entries) => {
                entries.into_iter().map(|(k, v)| Ok((String::from_gob(k)?, V::from_gob(v)?))).collect()
            }
            other => Err(mismatch("map", &other)),
        }
    }
}

/// The present fields of a struct value, for `FromGob` impls of structs.
pub struct Fields {
    fields: Vec<(Arc<str>, Value)>,
}

impl Fields {
    /// Takes a struct value apart.
    pub fn of(v: Value, type_name: &str) -> Result<Self, GobError> {
        match v {
            Value::Struct(fields) => Ok(Fields { fields }),
            other => Err(GobError::TypeMismatch(format!("want struct {type_name}, got {}", other.kind()))),
        }
    }

    /// Fills a struct with fields named in `names`: calls `set(index_in_names, value)` for each wire field
    /// whose name is known; errors when the wire struct had fields but none of them matched (Go's rule).
    pub fn fill(
        self,
        type_name: &str,
        names: &[&str],
        mut set: impl FnMut(usize, Value) -> Result<(), GobError>,
    ) -> Result<(), GobError> {
        let had_fields = !self.fields.is_empty();
        let mut matched = false;
        for (name, value) in self.fields {
            if let Some(i) = names.iter().position(|n| **n == *name) {
                matched = true;
                set(i, value).map_err(|e| GobError::TypeMismatch(format!("{type_name}.{name}: {e}")))?;
            }
        }
        if had_fields && !matched && !names.is_empty() {
            return Err(GobError::TypeMismatch(format!("no fields matched compiling decoder for {type_name}")));
        }
        Ok(())
    }
}
