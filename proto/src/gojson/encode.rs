//! Writing JSON byte for byte as Go's `encoding/json` does.
//!
//! serde_json with a custom [`Formatter`]: floats in Go's shortest form, `<` `>` `&` U+2028 U+2029 escaped as
//! `\u003c`-style sequences, control characters other than `\n` `\r` `\t` as `\u00XX` (Go 1.19 has no `\b`/`\f`
//! short forms). Key order comes from the struct declaration, as in Go.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};
use std::io;

/// The serde_json formatter that reproduces Go's output.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoFormatter;

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let mut s = String::with_capacity(24);
        super::float::write_go_f64(&mut s, value);
        writer.write_all(s.as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        // Go formats float32 with the same thresholds on the float32 shortest digits.
        let abs = value.abs();
        let s = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let e = format!("{value:e}");
            match e.find('e') {
                Some(p) if !e[p + 1..].starts_with('-') => format!("{}e+{}", &e[..p], &e[p + 1..]),
                _ => e,
            }
        } else {
            format!("{value}")
        };
        writer.write_all(s.as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        write_html_escaped(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()> {
        let byte = match char_escape {
            CharEscape::Quote => return writer.write_all(b"\\\""),
            CharEscape::ReverseSolidus => return writer.write_all(b"\\\\"),
            CharEscape::Solidus => return writer.write_all(b"/"),
            CharEscape::LineFeed => return writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => return writer.write_all(b"\\r"),
            CharEscape::Tab => return writer.write_all(b"\\t"),
            CharEscape::Backspace => 0x08,
            CharEscape::FormFeed => 0x0c,
            CharEscape::AsciiControl(b) => b,
        };
        writer.write_all(&[b'\\', b'u', b'0', b'0', HEX[(byte >> 4) as usize], HEX[(byte & 0xf) as usize]])
    }
}

/// Writes text that needs no JSON escaping, applying Go's HTML-safe escapes.
fn write_html_escaped<W: ?Sized + io::Write>(writer: &mut W, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (esc, width): (&[u8], usize) = match bytes[i] {
            b'<' => (b"\\u003c", 1),
            b'>' => (b"\\u003e", 1),
            b'&' => (b"\\u0026", 1),
            // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => (b"\\u2028", 3),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => (b"\\u2029", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        writer.write_all(&bytes[start..i])?;
        writer.write_all(esc)?;
        i += width;
        start = i;
    }
    writer.write_all(&bytes[start..])
}

/// Serialises `value` as Go's `json.Marshal` would.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// Serialises `value` as Go's `json.Marshal` would, appending to `out`.
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(out: W, value: &T) -> Result<(), serde_json::Error> {
    let mut ser = serde_json::Serializer::with_formatter(out, GoFormatter);
    value.serialize(&mut ser)
}

/// Serialises `value` as a `String` (Go's output is always valid UTF-8).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let v = to_vec(value)?;
    // The serializer only ever writes UTF-8.
    Ok(String::from_utf8_lossy(&v).into_owned())
}

/// Writes a JSON string literal with Go's escaping.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = to_writer(&mut *out, s);
}

/// `serialize_with` for float64 fields: Go's encoder refuses NaN and ±Inf (`json: unsupported value: NaN`)
/// rather than writing something a Go decoder would reject.
pub fn ser_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if !v.is_finite() {
        return Err(serde::ser::Error::custom(format!("json: unsupported value: {}", go_special_name(*v))));
    }
    s.serialize_f64(*v)
}

/// How Go's `%v` prints a non-finite float.
pub(crate) fn go_special_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// Go's `json.Compact` with HTML escaping, as the encoder applies it to a `json.RawMessage` (the JSON-RPC `id`):
/// insignificant whitespace removed, `<` `>` `&` U+2028 U+2029 inside strings escaped. `raw` must be valid JSON.
pub fn compact_into(out: &mut Vec<u8>, raw: &[u8]) {
    let mut in_str = false;
    let mut esc = false;
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if in_str {
            if esc {
                esc = false;
                out.push(c);
            } else {
                match c {
                    b'\\' => {
                        esc = true;
                        out.push(c)
                    }
                    b'"' => {
                        in_str = false;
                        out.push(c)
                    }
                    b'<' => out.extend_from_slice(b"\\u003c"),
                    b'>' => out.extend_from_slice(b"\\u003e"),
                    b'&' => out.extend_from_slice(b"\\u0026"),
                    0xE2 if raw.get(i + 1) == Some(&0x80) && matches!(raw.get(i + 2), Some(0xA8 | 0xA9)) => {
                        out.extend_from_slice(if raw[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                        i += 2;
                    }
                    _ => out.push(c),
                }
            }
        } else {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'"' => {
                    in_str = true;
                    out.push(c)
                }
                _ => out.push(c),
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn escapes_like_go() {
        let s = "a<b>&c\u{2028}\u{2029}\"\\\n\r\t\u{8}\u{c}\u{1}\u{7f}é";
        assert_eq!(
            to_string(s).unwrap(),
            r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\r\t\u0008\u000c\u0001"#.to_string() + "\u{7f}é\""
        );
        assert_eq!(to_string("url=http://x/?a=1&b=2").unwrap(), r#""url=http://x/?a=1\u0026b=2""#);
    }

    #[test]
    fn floats_and_maps_like_go() {
        let mut m = BTreeMap::new();
        m.insert("b", 1e21);
        m.insert("a", 100.0);
        m.insert("c", 1e-7);
        assert_eq!(to_string(&m).unwrap(), r#"{"a":100,"b":1e+21,"c":1e-7}"#);
    }

    #[test]
    fn nan_is_an_error() {
        #[derive(serde::Serialize)]
        struct S {
            #[serde(serialize_with = "ser_f64")]
            v: f64,
        }
        let e = to_vec(&S { v: f64::NAN }).unwrap_err().to_string();
        assert!(e.contains("json: unsupported value: NaN"), "{e}");
        assert_eq!(to_string(&S { v: 2.0 }).unwrap(), r#"{"v":2}"#);
    }

    #[test]
    fn compacts_raw_ids() {
        let mut out = Vec::new();
        compact_into(&mut out, b" [ 1 , \"a <b>\" ,\n{\"k\" : \"\\\"&\"} ] ");
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"[1,"a \u003cb\u003e",{"k":"\"\u0026"}]"#);
    }
}
