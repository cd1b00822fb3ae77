//! Encoding gob streams for our own types, and re-encoding [`Value`]s against received definitions.
//!
//! Type ids are assigned process-wide in the order Go's encoder assigns them (a struct takes its id before
//! its fields' types, a slice or map after its element types), and each stream sends a definition once,
//! outer type first, then its inner types depth-first. With the same first-use order as the Go transfer, our
//! byte stream therefore matches the recorded one message for message.

use super::types::{ids, WireField, WireType};
use super::value::Value;
use super::wire::{put_bytes, put_f64, put_int, put_uint};
use super::GobError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// The type of a field or value, as far as the encoder needs it.
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    /// bool
    Bool,
    /// Any signed integer.
    Int,
    /// Any unsigned integer.
    Uint,
    /// float64
    Float,
    /// []byte
    Bytes,
    /// string
    String,
    /// A user type.
    Def(&'static TypeDef),
}

impl Schema {
    fn builtin_id(self) -> Option<i64> {
        Some(match self {
            Schema::Bool => ids::BOOL,
            Schema::Int => ids::INT,
            Schema::Uint => ids::UINT,
            Schema::Float => ids::FLOAT,
            Schema::Bytes => ids::BYTES,
            Schema::String => ids::STRING,
            Schema::Def(_) => return None,
        })
    }
}

/// A user type: a unique key, the name put on the wire, and its shape.
#[derive(Debug)]
pub struct TypeDef {
    /// Unique within the process (Go's type string, e.g. `[]*model.JudgeItem`).
    pub key: &'static str,
    /// `CommonType.Name` on the wire (Go leaves it empty for types reached through a pointer or slice).
    pub wire_name: &'static str,
    /// Shape.
    pub kind: DefKind,
}

/// Shape of a [`TypeDef`].
#[derive(Debug)]
pub enum DefKind {
    /// Struct with named fields, in Go declaration order.
    Struct(&'static [(&'static str, Schema)]),
    /// Slice of an element type.
    Slice(Schema),
    /// Map.
    Map(Schema, Schema),
}

/// Process-wide id assignment (Go's ids are per process, shared by all its streams).
#[derive(Debug)]
pub struct TypeTable {
    inner: Mutex<TableInner>,
}

#[derive(Debug)]
struct TableInner {
    ids: HashMap<&'static str, i64>,
    next: i64,
}

impl Default for TypeTable {
    fn default() -> Self {
        TypeTable { inner: Mutex::new(TableInner { ids: HashMap::new(), next: ids::FIRST_USER }) }
    }
}

impl TypeTable {
    /// A fresh table (tests use one to reproduce a given process's ids).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The table shared by the whole process.
    pub fn global() -> Arc<Self> {
        static GLOBAL: OnceLock<Arc<TypeTable>> = OnceLock::new();
        GLOBAL.get_or_init(TypeTable::new).clone()
    }

    /// The id of `schema`, assigning ids to it and the types inside it in Go's order if new.
    pub fn id_of(&self, schema: Schema) -> i64 {
        if let Some(id) = schema.builtin_id() {
            return id;
        }
        // Nothing panics while the lock is held, so a poisoned table is still consistent.
        let mut t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        t.assign(schema)
    }
}

impl TableInner {
    fn assign(&mut self, schema: Schema) -> i64 {
        let def = match schema {
            Schema::Def(d) => d,
            s => return s.builtin_id().unwrap_or(ids::INT),
        };
        if let Some(&id) = self.ids.get(def.key) {
            return id;
        }
        match &def.kind {
            DefKind::Struct(fields) => {
                let id = self.take(def.key);
                for (_, f) in fields.iter() {
                    self.assign(*f);
                }
                id
            }
            DefKind::Slice(elem) => {
                self.assign(*elem);
                self.take(def.key)
            }
            DefKind::Map(k, v) => {
                self.assign(*k);
                self.assign(*v);
                self.take(def.key)
            }
        }
    }

    fn take(&mut self, key: &'static str) -> i64 {
        let id = self.next;
        self.next += 1;
        self.ids.insert(key, id);
        id
    }
}

/// A value we know how to write.
pub trait GobEncode {
    /// Its type.
    fn schema(&self) -> Schema;
    /// Appends the value's encoding: for a struct its field deltas and the closing 0, for a slice the count and
    /// elements, for a basic type the value itself.
    fn encode_body(&self, out: &mut Vec<u8>);
}

/// A struct type whose slices we also send (`[]*T`).
pub trait GobSliceElem: GobEncode + Sized {
    /// The definition of `[]*T`.
    const SLICE: &'static TypeDef;
}

impl<T: GobSliceElem> GobEncode for [T] {
    fn schema(&self) -> Schema {
        Schema::Def(T::SLICE)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_uint(out, self.len() as u64);
        for item in self {
            item.encode_body(out);
        }
    }
}

impl<T: GobSliceElem> GobEncode for Vec<T> {
    fn schema(&self) -> Schema {
        Schema::Def(T::SLICE)
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.as_slice().encode_body(out)
    }
}

/// Writes a struct body: present fields as (delta, value), zero values omitted as Go does, closing 0.
pub struct StructWriter<'a> {
    out: &'a mut Vec<u8>,
    last: i64,
}

impl<'a> StructWriter<'a> {
    /// Starts a struct body.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        StructWriter { out, last: -1 }
    }

    #[inline]
    fn field(&mut self, index: i64) {
        put_uint(self.out, (index - self.last) as u64);
        self.last = index;
    }

    /// A string field (omitted when empty).
    #[inline]
    pub fn string(&mut self, index: i64, v: &str) -> &mut Self {
        if !v.is_empty() {
            self.field(index);
            put_bytes(self.out, v.as_bytes());
        }
        self
    }

    /// A signed integer field (omitted when 0).
    #[inline]
    pub fn int(&mut self, index: i64, v: i64) -> &mut Self {
        if v != 0 {
            self.field(index);
            put_int(self.out, v);
        }
        self
    }

    /// An unsigned integer field (omitted when 0).
    #[inline]
    pub fn uint(&mut self, index: i64, v: u64) -> &mut Self {
        if v != 0 {
            self.field(index);
            put_uint(self.out, v);
        }
        self
    }

    /// A float field (omitted when it compares equal to 0, so -0.0 too, as in Go).
    #[inline]
    pub fn float(&mut self, index: i64, v: f64) -> &mut Self {
        if v != 0.0 {
            self.field(index);
            put_f64(self.out, v);
        }
        self
    }

    /// A bool field (omitted when false).
    #[inline]
    pub fn bool(&mut self, index: i64, v: bool) -> &mut Self {
        if v {
            self.field(index);
            put_uint(self.out, 1);
        }
        self
    }

    /// A non-nil `map[string]string` field: always sent, even empty (Go omits only nil maps).
    pub fn string_map(&mut self, index: i64, m: &BTreeMap<String, String>) -> &mut Self {
        self.string_pairs(index, m.len(), m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// A non-nil `map[string]string` field from `len` key/value pairs.
    #[inline]
    pub fn string_pairs<'p>(
        &mut self,
        index: i64,
        len: usize,
        pairs: impl Iterator<Item = (&'p str, &'p str)>,
    ) -> &mut Self {
        self.field(index);
        put_uint(self.out, len as u64);
        for (k, v) in pairs {
            put_bytes(self.out, k.as_bytes());
            put_bytes(self.out, v.as_bytes());
        }
        self
    }

    /// Closes the struct.
    #[inline]
    pub fn finish(&mut self) {
        self.out.push(0);
    }
}

/// The sending state of one gob stream.
#[derive(Debug)]
pub struct Encoder {
    table: Arc<TypeTable>,
    sent: HashSet<i64>,
    scratch: Vec<u8>,
}

impl Encoder {
    /// A fresh stream using the process-wide id table.
    pub fn new() -> Self {
        Self::with_table(TypeTable::global())
    }

    /// A fresh stream using `table`.
    pub fn with_table(table: Arc<TypeTable>) -> Self {
        Encoder { table, sent: HashSet::new(), scratch: Vec::with_capacity(1024) }
    }

    /// Appends the messages for `value`: any definitions this stream has not sent yet, then the value.
    pub fn encode<T: GobEncode + ?Sized>(&mut self, value: &T, out: &mut Vec<u8>) {
        let schema = value.schema();
        let id = self.table.id_of(schema);
        self.send_type(schema, out);
        self.scratch.clear();
        put_int(&mut self.scratch, id);
        let is_struct = matches!(schema, Schema::Def(TypeDef { kind: DefKind::Struct(_), .. }));
        if !is_struct {
            // Top-level non-structs carry a zero "singleton" field delta.
            self.scratch.push(0);
        }
        value.encode_body(&mut self.scratch);
        put_uint(out, self.scratch.len() as u64);
        out.extend_from_slice(&self.scratch);
    }

    /// Sends the definition of `schema` and, depth-first, of the types inside it, skipping what was sent.
    fn send_type(&mut self, schema: Schema, out: &mut Vec<u8>) {
        let Schema::Def(def) = schema else { return };
        let id = self.table.id_of(schema);
        if !self.sent.insert(id) {
            return;
        }
        let wire = self.wire_type_of(def);
        let mut msg = Vec::with_capacity(64);
        put_int(&mut msg, -id);
        super::types::write_wire_type(&mut msg, id, &wire);
        put_uint(out, msg.len() as u64);
        out.extend_from_slice(&msg);
        match &def.kind {
            DefKind::Struct(fields) => {
                for (_, f) in fields.iter() {
                    self.send_type(*f, out);
                }
            }
            DefKind::Slice(e) => self.send_type(*e, out),
            DefKind::Map(k, v) => {
                self.send_type(*k, out);
                self.send_type(*v, out);
            }
        }
    }

    fn wire_type_of(&self, def: &'static TypeDef) -> WireType {
        let name = def.wire_name.to_string();
        match &def.kind {
            DefKind::Struct(fields) => WireType::Struct {
                name,
                fields: fields.iter().map(|(n, s)| WireField { name: (*n).into(), id: self.table.id_of(*s) }).collect(),
            },
            DefKind::Slice(e) => WireType::Slice { name, elem: self.table.id_of(*e) },
            DefKind::Map(k, v) => WireType::Map { name, key: self.table.id_of(*k), elem: self.table.id_of(*v) },
        }
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Re-encodes a decoded value against the definitions it came with (a round trip of a peer's stream).
pub fn encode_value(types: &HashMap<i64, WireType>, id: i64, v: &Value, out: &mut Vec<u8>) -> Result<(), GobError> {
    match (id, v) {
        (ids::BOOL, Value::Bool(b)) => put_uint(out, u64::from(*b)),
        (ids::INT, Value::Int(i)) => put_int(out, *i),
        (ids::UINT, Value::Uint(u)) => put_uint(out, *u),
        (ids::FLOAT, Value::Float(f)) => put_f64(out, *f),
        (ids::COMPLEX, Value::Complex(a, b)) => {
            put_f64(out, *a);
            put_f64(out, *b);
        }
        (ids::BYTES, Value::Bytes(b)) | (ids::STRING, Value::String(b)) => put_bytes(out, b),
        _ => match (types.get(&id).ok_or(GobError::UnknownType(id))?, v) {
            (WireType::Struct { fields, .. }, Value::Struct(present)) => {
                let mut last = -1i64;
                for (name, fv) in present {
                    let idx = fields
                        .iter()
                        .position(|f| f.name == *name)
                        .ok_or_else(|| GobError::TypeMismatch(format!("no field {name}")))?;
                    put_uint(out, (idx as i64 - last) as u64);
                    last = idx as i64;
                    encode_value(types, fields[idx].id, fv, out)?;
                }
                out.push(0);
            }
            (WireType::Slice { elem, .. } | WireType::Array { elem, .. }, Value::Seq(items)) => {
                put_uint(out, items.len() as u64);
                for it in items {
                    encode_value(types, *elem, it, out)?;
                }
            }
            (WireType::Map { key, elem, .. }, Value::Map(entries)) => {
                put_uint(out, entries.len() as u64);
                for (k, val) in entries {
                    encode_value(types, *key, k, out)?;
                    encode_value(types, *elem, val, out)?;
                }
            }
            (WireType::Opaque { .. }, Value::Bytes(b)) => put_bytes(out, b),
            (t, v) => return Err(GobError::TypeMismatch(format!("{} value for {t:?}", v.kind()))),
        },
    }
    Ok(())
}

/// Re-encodes a whole value message (type id, singleton delta if needed, value) without the length prefix.
pub fn encode_value_message(types: &HashMap<i64, WireType>, id: i64, v: &Value) -> Result<Vec<u8>, GobError> {
    let mut msg = Vec::new();
    put_int(&mut msg, id);
    if !matches!(types.get(&id), Some(WireType::Struct { .. })) {
        msg.push(0);
    }
    encode_value(types, id, v, &mut msg)?;
    Ok(msg)
}
