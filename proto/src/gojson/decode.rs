//! Decoding JSON with the semantics of Go's `encoding/json` into typed Rust values.
//!
//! What differs from plain serde: keys match struct fields case-insensitively (an exact match wins), unknown keys
//! are skipped, a repeated key overwrites, JSON `null` leaves a string, number or struct untouched and clears a
//! slice, map or pointer, integers must be JSON integers, and a type mismatch fails the whole value with Go's
//! error text (`json: cannot unmarshal string into Go struct field MetricValue.step of type int64`).
//!
//! Types opt in through [`GoDecode`]; structs get it from the [`go_struct!`](crate::go_struct) macro.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;

/// A field on the way from the top-level value to the one being decoded; Go names it in type errors.
#[derive(Debug)]
pub struct FieldPath<'a> {
    /// Go name (without package) of the struct holding the field.
    pub strukt: &'static str,
    /// JSON name of the field.
    pub name: &'static str,
    /// The field holding that struct, if any.
    pub parent: Option<&'a FieldPath<'a>>,
}

/// Where a value sits, for Go's error texts.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Go's name for the type expected here (`int64`, `model.MetricValue`, `[]*model.MetricValue`).
    pub ty: &'static str,
    /// The innermost struct field being decoded, if any.
    pub field: Option<&'a FieldPath<'a>>,
}

impl<'a> Ctx<'a> {
    /// A top-level value of Go type `ty`.
    pub fn top(ty: &'static str) -> Self {
        Ctx { ty, field: None }
    }

    /// The same position, expecting another type (slice elements, map values).
    pub fn with_type(self, ty: &'static str) -> Self {
        Ctx { ty, field: self.field }
    }

    /// Go's `UnmarshalTypeError` text for a JSON value of kind `kind` (`string`, `number 60.5`, `object`...).
    pub fn type_error_text(&self, kind: &str) -> String {
        match self.field {
            None => format!("json: cannot unmarshal {kind} into Go value of type {}", self.ty),
            Some(fp) => {
                let mut names = Vec::new();
                let mut cur = Some(fp);
                while let Some(p) = cur {
                    names.push(p.name);
                    cur = p.parent;
                }
                names.reverse();
                let strukt = fp.strukt.rsplit('.').next().unwrap_or(fp.strukt);
                format!(
                    "json: cannot unmarshal {kind} into Go struct field {strukt}.{} of type {}",
                    names.join("."),
                    self.ty
                )
            }
        }
    }

    /// A serde error carrying Go's text.
    pub fn type_error<E: de::Error>(&self, kind: &str) -> E {
        E::custom(self.type_error_text(kind))
    }
}

/// A value decodable with Go's `encoding/json` rules.
pub trait GoDecode: Sized {
    /// Go's name for this type, as its decoder reports it in type errors (pointers are reported dereferenced).
    const GO_TYPE: &'static str;
    /// Go's name for a slice of this type.
    const GO_SLICE: &'static str;
    /// Go's name for a slice of pointers to this type.
    const GO_PTR_SLICE: &'static str = "[]*?";

    /// Decodes the next JSON value into `slot`, merging as Go does (a `null` leaves most types unchanged).
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error>;
}

/// A [`DeserializeSeed`] that decodes into an existing slot.
pub struct Slot<'s, 'c, T> {
    /// Where the value goes.
    pub slot: &'s mut T,
    /// Its position, for errors.
    pub ctx: Ctx<'c>,
}

impl<'de, T: GoDecode> DeserializeSeed<'de> for Slot<'_, '_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        T::decode(self.slot, de, self.ctx)
    }
}

/// Decodes a whole JSON text into `T` (Go's `json.Unmarshal`).
pub fn from_slice<T: GoDecode + Default>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut v = T::default();
    decode_into(bytes, &mut v, Ctx::top(T::GO_TYPE))?;
    Ok(v)
}

/// Decodes a whole JSON text into an existing value at position `ctx`.
pub fn decode_into<T: GoDecode>(bytes: &[u8], slot: &mut T, ctx: Ctx<'_>) -> Result<(), DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    T::decode(slot, &mut de, ctx).map_err(DecodeError::from)?;
    de.end().map_err(DecodeError::from)
}

/// Decodes the first JSON value of `bytes` into `T`, ignoring whatever follows it, as Go's
/// `json.NewDecoder(body).Decode(&v)` does for HTTP bodies.
pub fn from_first_value<T: GoDecode + Default>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut v = T::default();
    T::decode(&mut v, &mut de, Ctx::top(T::GO_TYPE)).map_err(DecodeError::from)?;
    Ok(v)
}

/// A decoding failure, with Go's wording where Go's decoder would have produced one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl From<serde_json::Error> for DecodeError {
    fn from(e: serde_json::Error) -> Self {
        DecodeError(strip_position(&e))
    }
}

/// serde_json appends " at line L column C" to every message; Go's texts have no position.
pub fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    if let Some(at) = s.rfind(" at line ") {
        let tail = &s[at + " at line ".len()..];
        let mut parts = tail.split(" column ");
        let is_num = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if is_num(parts.next()) && is_num(parts.next()) && parts.next().is_none() {
            return s[..at].to_string();
        }
    }
    s
}

/// Go's case-insensitive field match (`bytes.EqualFold`) of a JSON key against an ASCII field name,
/// including the two non-ASCII letters that fold to ASCII: KELVIN SIGN (k) and LATIN SMALL LETTER LONG S (s).
pub fn eq_fold(name: &str, key: &str) -> bool {
    let mut n = name.bytes();
    for c in key.chars() {
        let Some(nb) = n.next() else { return false };
        let nl = nb.to_ascii_lowercase();
        let ok = match c {
            '\u{212A}' => nl == b'k',
            '\u{017F}' => nl == b's',
            c if c.is_ascii() => (c as u8).to_ascii_lowercase() == nl,
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n.next().is_none()
}

/// A map key, borrowed from the input when it has no escapes.
pub enum Key<'de> {
    /// Points into the input.
    Borrowed(&'de str),
    /// Unescaped copy.
    Owned(String),
}

impl Key<'_> {
    /// The key text.
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

/// Seed for [`Key`].
pub struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        de.deserialize_str(V)
    }
}

/// The JSON kind of a raw value, as Go names it in type errors (numbers get their literal appended by callers).
pub fn raw_kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "bool",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// Reads the next value as raw JSON text (valid JSON, no surrounding whitespace).
pub fn next_raw_value<'de, D: Deserializer<'de>>(de: D) -> Result<&'de str, D::Error> {
    let raw: &'de RawValue = serde::Deserialize::deserialize(de)?;
    Ok(raw.get())
}

/// Writes `Visitor` methods that reject the listed JSON kinds with Go's type-error text. The visitor must have
/// a field `ctx: Ctx`. Kinds: `bool str num seq map unit_err`.
#[doc(hidden)]
#[macro_export]
macro_rules! __go_reject {
    ($($kind:ident)*) => { $( $crate::__go_reject!(@one $kind); )* };
    (@one bool) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> { Err(self.ctx.type_error("bool")) }
    };
    (@one str) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> { Err(self.ctx.type_error("string")) }
    };
    (@one num) => {
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> { Err(self.ctx.type_error("number")) }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> { Err(self.ctx.type_error("number")) }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> { Err(self.ctx.type_error("number")) }
    };
    (@one seq) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(self.ctx.type_error("array"))
        }
    };
    (@one map) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(self.ctx.type_error("object"))
        }
    };
}

/// Decodes an integer field: a JSON integer in `[min, max]`, else Go's `number <literal>` error; `null` is None.
fn decode_int<'de, D: Deserializer<'de>>(de: D, ctx: Ctx<'_>, min: i128, max: i128) -> Result<Option<i128>, D::Error> {
    let raw = next_raw_value(de)?;
    match raw_kind(raw) {
        "null" => Ok(None),
        // i64 parsing covers every int type but u64's upper half, and is much cheaper than i128's.
        "number" => match raw.parse::<i64>().map(i128::from).or_else(|_| raw.parse::<i128>()) {
            Ok(v) if v >= min && v <= max => Ok(Some(v)),
            _ => Err(ctx.type_error(&format!("number {raw}"))),
        },
        kind => Err(ctx.type_error(kind)),
    }
}

macro_rules! go_int {
    ($t:ty, $go:literal) => {
        impl GoDecode for $t {
            const GO_TYPE: &'static str = $go;
            const GO_SLICE: &'static str = concat!("[]", $go);
            const GO_PTR_SLICE: &'static str = concat!("[]*", $go);
            fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
                if let Some(v) = decode_int(de, ctx, <$t>::MIN as i128, <$t>::MAX as i128)? {
                    // In range by the check above.
                    *slot = v as $t;
                }
                Ok(())
            }
        }
    };
}
go_int!(i64, "int64");
go_int!(i32, "int32");
go_int!(u64, "uint64");
go_int!(u32, "uint32");

impl GoDecode for f64 {
    const GO_TYPE: &'static str = "float64";
    const GO_SLICE: &'static str = "[]float64";
    const GO_PTR_SLICE: &'static str = "[]*float64";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        let raw = next_raw_value(de)?;
        match raw_kind(raw) {
            "null" => Ok(()),
            "number" => match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    *slot = v;
                    Ok(())
                }
                _ => Err(ctx.type_error(&format!("number {raw}"))),
            },
            kind => Err(ctx.type_error(kind)),
        }
    }
}

/// Visitor that only accepts one JSON kind and reports any other as Go does.
struct KindVisitor<'s, 'c, T> {
    slot: &'s mut T,
    ctx: Ctx<'c>,
}

impl<'de> Visitor<'de> for KindVisitor<'_, '_, String> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.slot.clear();
        self.slot.push_str(v);
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        *self.slot = v;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    crate::__go_reject!(bool num seq map);
}

impl GoDecode for String {
    const GO_TYPE: &'static str = "string";
    const GO_SLICE: &'static str = "[]string";
    const GO_PTR_SLICE: &'static str = "[]*string";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        de.deserialize_any(KindVisitor { slot, ctx })
    }
}

impl<'de> Visitor<'de> for KindVisitor<'_, '_, bool> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a bool")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        *self.slot = v;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    crate::__go_reject!(str num seq map);
}

impl GoDecode for bool {
    const GO_TYPE: &'static str = "bool";
    const GO_SLICE: &'static str = "[]bool";
    const GO_PTR_SLICE: &'static str = "[]*bool";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        de.deserialize_any(KindVisitor { slot, ctx })
    }
}

/// Decodes a JSON string with Go's rules for a string field, handing the text to `set` (`null` leaves the
/// field alone; any other kind is Go's type error). For string-like field types other than `String`.
pub fn decode_str_with<'de, D: Deserializer<'de>>(de: D, ctx: Ctx<'_>, set: impl FnOnce(&str)) -> Result<(), D::Error> {
    struct V<'c, F> {
        set: F,
        ctx: Ctx<'c>,
    }
    impl<'de, F: FnOnce(&str)> Visitor<'de> for V<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
            (self.set)(v);
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        crate::__go_reject!(bool num seq map);
    }
    de.deserialize_any(V { set, ctx })
}

/// A slice: an array replaces the contents, `null` makes it nil (empty).
impl<T: GoDecode + Default> GoDecode for Vec<T> {
    const GO_TYPE: &'static str = T::GO_SLICE;
    const GO_SLICE: &'static str = "[][]?";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        struct V<'s, 'c, T> {
            out: &'s mut Vec<T>,
            ctx: Ctx<'c>,
        }
        impl<'de, T: GoDecode + Default> Visitor<'de> for V<'_, '_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let V { out, ctx } = self;
                out.clear();
                if let Some(n) = seq.size_hint() {
                    out.reserve(n.min(4096));
                }
                let elem_ctx = ctx.with_type(T::GO_TYPE);
                loop {
                    let mut item = T::default();
                    match seq.next_element_seed(Slot { slot: &mut item, ctx: elem_ctx })? {
                        Some(()) => out.push(item),
                        None => return Ok(()),
                    }
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                self.out.clear();
                Ok(())
            }
            crate::__go_reject!(bool str num map);
        }
        de.deserialize_any(V { out: slot, ctx })
    }
}

/// A pointer: `null` makes it nil, anything else decodes into the (possibly new) pointee.
impl<T: GoDecode + Default> GoDecode for Option<T> {
    const GO_TYPE: &'static str = T::GO_TYPE;
    const GO_SLICE: &'static str = T::GO_PTR_SLICE;
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        struct V<'s, 'c, T>(&'s mut Option<T>, Ctx<'c>);
        impl<'de, T: GoDecode + Default> Visitor<'de> for V<'_, '_, T> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<(), E> {
                *self.0 = None;
                Ok(())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                *self.0 = None;
                Ok(())
            }
            fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
                T::decode(self.0.get_or_insert_with(T::default), de, self.1)
            }
        }
        de.deserialize_option(V(slot, ctx))
    }
}

/// `map[string]V`: an object merges into the map (Go keeps existing entries), `null` empties it.
impl<V: GoDecode + Default> GoDecode for BTreeMap<String, V> {
    const GO_TYPE: &'static str = "map[string]string";
    const GO_SLICE: &'static str = "[]map[string]string";
    fn decode<'de, D: Deserializer<'de>>(slot: &mut Self, de: D, ctx: Ctx<'_>) -> Result<(), D::Error> {
        struct Vis<'s, 'c, V> {
            out: &'s mut BTreeMap<String, V>,
            ctx: Ctx<'c>,
        }
        impl<'de, V: GoDecode + Default> Visitor<'de> for Vis<'_, '_, V> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                let Vis { out, ctx } = self;
                let vctx = ctx.with_type(V::GO_TYPE);
                while let Some(k) = map.next_key_seed(KeySeed)? {
                    let entry = out.entry(k.as_str().to_string()).or_default();
                    map.next_value_seed(Slot { slot: entry, ctx: vctx })?;
                }
                Ok(())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                self.out.clear();
                Ok(())
            }
            crate::__go_reject!(bool str num seq);
        }
        de.deserialize_any(Vis { out: slot, ctx })
    }
}

/// The field a JSON key selects, as Go's decoder picks it: an exact match, else the first case-insensitive one.
pub fn field_index(keys: &[&str], key: &str) -> Option<usize> {
    // Length and first byte first: most candidates differ there, and a memcmp call costs more than both.
    let (len, first) = (key.len(), key.as_bytes().first().copied());
    keys.iter()
        .position(|k| k.len() == len && k.as_bytes().first().copied() == first && *k == key)
        .or_else(|| keys.iter().position(|k| eq_fold(k, key)))
}

/// Skips one value of any kind.
pub fn skip_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Defines a struct with Go's JSON key names, Go's encoder output (`Serialize`) and Go's decoder
/// semantics ([`GoDecode`]).
///
/// ```ignore
/// go_struct! {
///     /// Doc.
///     pub struct TransferResponse => "model.TransferResponse" {
///         /// Doc.
///         pub total: i64 = "Total" as "int",
///     }
/// }
/// ```
/// The optional `as "<go type>"` gives the Go type name used in type-error texts when it differs from the
/// Rust field type's default (Go `int` is an `i64` here).
#[macro_export]
macro_rules! go_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident => $goname:literal {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty = $key:literal $(as $gotype:literal)?
            ),* $(,)?
        }
    ) => {
        $crate::go_struct! {
            @impl [Debug, Clone, Default, PartialEq, serde::Serialize]
            $(#[$meta])*
            pub struct $name => $goname {
                $( $(#[$fmeta])* pub $field : $ty = $key $(as $gotype)? ),*
            }
        }
    };
    // `custom_default`: the caller implements `Default` (config structs whose missing keys take documented
    // defaults: decoding into a default value leaves absent keys untouched).
    (
        $(#[$meta:meta])*
        pub struct $name:ident => $goname:literal, custom_default {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty = $key:literal $(as $gotype:literal)?
            ),* $(,)?
        }
    ) => {
        $crate::go_struct! {
            @impl [Debug, Clone, PartialEq, serde::Serialize]
            $(#[$meta])*
            pub struct $name => $goname {
                $( $(#[$fmeta])* pub $field : $ty = $key $(as $gotype)? ),*
            }
        }
    };
    (
        @impl [$($derive:path),*]
        $(#[$meta:meta])*
        pub struct $name:ident => $goname:literal {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty = $key:literal $(as $gotype:literal)?
            ),*
        }
    ) => {
        $(#[$meta])*
        #[derive($($derive),*)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $key)]
                pub $field: $ty,
            )*
        }

        impl $crate::gojson::GoDecode for $name {
            const GO_TYPE: &'static str = $goname;
            const GO_SLICE: &'static str = concat!("[]", $goname);
            const GO_PTR_SLICE: &'static str = concat!("[]*", $goname);

            fn decode<'de, D: serde::Deserializer<'de>>(
                slot: &mut Self,
                de: D,
                ctx: $crate::gojson::Ctx<'_>,
            ) -> Result<(), D::Error> {
                struct V<'s, 'c> {
                    out: &'s mut $name,
                    ctx: $crate::gojson::Ctx<'c>,
                }
                impl<'de> serde::de::Visitor<'de> for V<'_, '_> {
                    type Value = ();
                    fn expecting(&self, f: &mut ::std::fmt::Formatter) -> ::std::fmt::Result {
                        f.write_str(concat!("a JSON object for ", $goname))
                    }
                    #[allow(unused_mut, unused_variables, unused_assignments)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                        let V { out, ctx } = self;
                        const KEYS: &[&str] = &[$($key),*];
                        while let Some(key) = map.next_key_seed($crate::gojson::KeySeed)? {
                            let idx = $crate::gojson::field_index(KEYS, key.as_str());
                            let mut n = 0usize;
                            let mut done = false;
                            $(
                                if !done && idx == Some(n) {
                                    let fp = $crate::gojson::FieldPath { strukt: $goname, name: $key, parent: ctx.field };
                                    let fctx = $crate::gojson::Ctx {
                                        ty: $crate::__go_type_or!($($gotype)?; <$ty as $crate::gojson::GoDecode>::GO_TYPE),
                                        field: Some(&fp),
                                    };
                                    map.next_value_seed($crate::gojson::Slot { slot: &mut out.$field, ctx: fctx })?;
                                    done = true;
                                }
                                n += 1;
                            )*
                            if !done {
                                $crate::gojson::skip_value(&mut map)?;
                            }
                        }
                        Ok(())
                    }
                    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
                        Ok(())
                    }
                    $crate::__go_reject!(bool str num seq);
                }
                de.deserialize_any(V { out: slot, ctx })
            }
        }
    };
}

/// Picks the explicit Go type name if the field gave one.
#[doc(hidden)]
#[macro_export]
macro_rules! __go_type_or {
    ($go:literal; $default:expr) => {
        $go
    };
    (; $default:expr) => {
        $default
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::go_struct! {
        /// Test struct.
        pub struct Inner => "model.Inner" {
            /// A.
            pub id: i64 = "id" as "int",
            /// B.
            pub name: String = "name",
        }
    }

    crate::go_struct! {
        /// Test struct.
        pub struct Outer => "model.Outer" {
            /// Plain.
            pub step: i64 = "step",
            /// Untagged-style capital key.
            pub hostname: String = "Hostname",
            /// Nested pointer.
            pub inner: Option<Inner> = "inner",
            /// Slice of pointers.
            pub list: Vec<Option<Inner>> = "list",
            /// Map.
            pub tags: Option<BTreeMap<String, String>> = "tags",
            /// Float.
            pub ratio: f64 = "ratio",
            /// Flag.
            pub on: bool = "on",
        }
    }

    fn dec(s: &str) -> Result<Outer, String> {
        from_slice::<Outer>(s.as_bytes()).map_err(|e| e.0)
    }

    #[test]
    fn keys_fold_and_last_wins() {
        let o = dec(r#"{"STEP":1,"hostNAME":"a","step":2,"hostname":"b","x":[1,{"y":2}],"\u0073tep":3}"#).unwrap();
        assert_eq!(o.step, 3);
        assert_eq!(o.hostname, "b");
        // KELVIN SIGN folds to k; "\u017F" (long s) to s.
        let o = dec("{\"\u{017F}tep\":7}").unwrap();
        assert_eq!(o.step, 7);
        assert!(eq_fold("kind", "\u{212A}IND"));
        assert!(!eq_fold("kind", "kin"));
    }

    #[test]
    fn null_semantics() {
        let o = dec(
            r#"{"step":5,"step":null,"hostname":"h","Hostname":null,"inner":{"id":1},"tags":{"a":"1"},"ratio":null}"#,
        )
        .unwrap();
        assert_eq!(o.step, 5);
        assert_eq!(o.hostname, "h");
        assert_eq!(o.inner, Some(Inner { id: 1, name: String::new() }));
        let o = dec(r#"{"inner":{"id":1},"inner":null,"tags":{"a":"1"},"tags":{"b":"2"}}"#).unwrap();
        assert_eq!(o.inner, None);
        let tags = o.tags.unwrap();
        assert_eq!(tags.len(), 2, "Go merges repeated objects into one map");
        let o = dec(r#"{"inner":{"id":1},"inner":{"name":"n"}}"#).unwrap();
        assert_eq!(o.inner, Some(Inner { id: 1, name: "n".into() }), "Go merges into the existing pointee");
        let o = dec(r#"{"list":[null,{"id":2}]}"#).unwrap();
        assert_eq!(o.list, vec![None, Some(Inner { id: 2, name: String::new() })]);
    }

    #[test]
    fn go_type_error_texts() {
        let cases = [
            (r#"{"step":60.5}"#, "json: cannot unmarshal number 60.5 into Go struct field Outer.step of type int64"),
            (r#"{"step":6e1}"#, "json: cannot unmarshal number 6e1 into Go struct field Outer.step of type int64"),
            (r#"{"step":"60"}"#, "json: cannot unmarshal string into Go struct field Outer.step of type int64"),
            (
                r#"{"step":9223372036854775808}"#,
                "json: cannot unmarshal number 9223372036854775808 into Go struct field Outer.step of type int64",
            ),
            (r#"{"hostname":1}"#, "json: cannot unmarshal number into Go struct field Outer.Hostname of type string"),
            (
                r#"{"inner":{"id":"x"}}"#,
                "json: cannot unmarshal string into Go struct field Inner.inner.id of type int",
            ),
            (r#"{"inner":5}"#, "json: cannot unmarshal number into Go struct field Outer.inner of type model.Inner"),
            (r#"{"list":{}}"#, "json: cannot unmarshal object into Go struct field Outer.list of type []*model.Inner"),
            (r#"{"list":[true]}"#, "json: cannot unmarshal bool into Go struct field Outer.list of type model.Inner"),
            (r#"{"tags":{"a":1}}"#, "json: cannot unmarshal number into Go struct field Outer.tags of type string"),
            (r#"{"ratio":"1"}"#, "json: cannot unmarshal string into Go struct field Outer.ratio of type float64"),
            (r#"{"on":1}"#, "json: cannot unmarshal number into Go struct field Outer.on of type bool"),
            (r#"[1]"#, "json: cannot unmarshal array into Go value of type model.Outer"),
        ];
        for (input, want) in cases {
            assert_eq!(dec(input).unwrap_err(), want, "input {input}");
        }
    }

    #[test]
    fn first_value_ignores_trailing_bytes() {
        let v: Vec<Option<Inner>> = from_first_value(b" [{\"id\":1}] trailing junk").unwrap();
        assert_eq!(v.len(), 1);
        assert!(from_slice::<Vec<Option<Inner>>>(b"[{\"id\":1}] trailing junk").is_err());
        assert!(from_first_value::<Vec<Option<Inner>>>(b"nope").is_err());
    }

    #[test]
    fn top_level_slices() {
        let v: Vec<Option<Inner>> = from_slice(br#"[{"id":1},null]"#).unwrap();
        assert_eq!(v.len(), 2);
        let e = from_slice::<Vec<Option<Inner>>>(br#"{"not":"a list"}"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal object into Go value of type []*model.Inner");
        let e = from_slice::<Vec<Option<Inner>>>(br#"[7]"#).unwrap_err();
        assert_eq!(e.0, "json: cannot unmarshal number into Go value of type model.Inner");
        let v: Vec<Option<Inner>> = from_slice(b"null").unwrap();
        assert!(v.is_empty());
    }
}
