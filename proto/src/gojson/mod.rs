//! Go's `encoding/json`, as far as Open-Falcon's wire needs it: the byte-exact encoder
//! ([`encode`]), the decoder semantics ([`decode`], [`go_struct!`](crate::go_struct)) and Go's float text
//! rules ([`float`]), and the incremental syntax [`scanner`] that refuses bad input at its first bad byte.

pub mod decode;
pub mod encode;
pub mod float;
pub mod scanner;

pub use decode::{
    decode_into, decode_str_with, eq_fold, field_index, from_first_value, from_slice, next_raw_value, raw_kind,
    skip_value, strip_position, Ctx, DecodeError, FieldPath, GoDecode, Key, KeySeed, Slot,
};
pub use encode::{compact_into, ser_f64, to_string, to_vec, to_writer, write_string, GoFormatter};
pub use float::{format_go_f64, parse_go_float, write_go_f64, ParseFloatError};
