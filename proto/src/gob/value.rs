//! A decoded gob value of any type, for peers whose types we only know by field name.

use std::sync::Arc;

/// Any gob value. Struct fields carry the names from the sender's definition and appear only when sent
/// (gob omits zero fields).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// bool
    Bool(bool),
    /// Any signed integer.
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    /// float32 or float64.
    Float(f64),
    /// complex64 or complex128.
    Complex(f64, f64),
    /// `[]byte` (also the payload of GobEncoder/BinaryMarshaler/TextMarshaler types).
    Bytes(Vec<u8>),
    /// A Go string (arbitrary bytes).
    String(Vec<u8>),
    /// Slice or array elements.
    Seq(Vec<Value>),
    /// Map entries in wire order.
    Map(Vec<(Value, Value)>),
    /// Present struct fields, in wire order.
    Struct(Vec<(Arc<str>, Value)>),
}

impl Value {
    /// A short name of the kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Float(_) => "float",
            Value::Complex(..) => "complex",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "string",
            Value::Seq(_) => "slice",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }
}
