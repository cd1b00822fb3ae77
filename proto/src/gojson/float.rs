//! Go's float text rules: `strconv.ParseFloat(s, 64)` for numeric strings, and the `encoding/json` float encoder.
//!
//! Transfer accepts `"value":"12.5"` through ParseFloat, which also takes `NaN`, `Inf`, `infinity`, hex floats
//! (`0x1p3`) and `_` digit separators; we must accept and reject exactly the same strings. On output Go writes
//! the shortest round-trip digits, `100` rather than `100.0`, and switches to exponent form below 1e-6 and from
//! 1e21 on, as `1e-7` and `1e+21`.

use std::fmt::Write as _;

/// Why a string is not a float for Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseFloatError {
    /// Not Go float syntax (`strconv.ErrSyntax`).
    #[error("invalid syntax")]
    Syntax,
    /// Well formed but beyond f64 (`strconv.ErrRange`); Go also returns ±Inf with this error.
    #[error("value out of range")]
    Range,
}

/// `strconv.ParseFloat(s, 64)`: decimal or hexadecimal float, `inf`/`infinity`/`nan` in any case,
/// underscores only between digits. Leading or trailing spaces are a syntax error.
pub fn parse_go_float(s: &str) -> Result<f64, ParseFloatError> {
    if let Some(v) = special(s) {
        return Ok(v);
    }
    let lit = read_float(s.as_bytes()).ok_or(ParseFloatError::Syntax)?;
    if lit.end != s.len() {
        return Err(ParseFloatError::Syntax);
    }
    if lit.hex {
        return hex_to_f64(lit.mantissa, lit.exp, lit.neg, lit.trunc);
    }
    // Decimal: Go and Rust both round correctly, so Rust's parser gives Go's result once the separators are gone.
    let v = if lit.underscores { s.replace('_', "").parse::<f64>() } else { s.parse::<f64>() }
        .map_err(|_| ParseFloatError::Syntax)?;
    if v.is_infinite() {
        return Err(ParseFloatError::Range);
    }
    Ok(v)
}

/// Go's `special`: an optional sign then `inf` or `infinity`, or `nan` without a sign (all case-insensitive),
/// covering the whole string.
fn special(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (neg, rest) = match b.first()? {
        b'+' => (false, &b[1..]),
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let signed = rest.len() != b.len();
    let is = |word: &str| rest.eq_ignore_ascii_case(word.as_bytes());
    if is("inf") || is("infinity") {
        return Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if !signed && is("nan") {
        return Some(f64::NAN);
    }
    None
}

/// What `readFloat` learns about a literal.
struct Literal {
    mantissa: u64,
    /// Binary exponent for hex literals (decimal ones are handed to Rust's parser instead).
    exp: i64,
    neg: bool,
    trunc: bool,
    hex: bool,
    underscores: bool,
    /// Bytes consumed.
    end: usize,
}

/// A port of Go's `readFloat` grammar; returns None on a syntax error.
fn read_float(s: &[u8]) -> Option<Literal> {
    let mut i = 0;
    let mut neg = false;
    match s.first()? {
        b'+' => i += 1,
        b'-' => {
            neg = true;
            i += 1
        }
        _ => {}
    }
    let mut base: u64 = 10;
    let mut max_mant_digits = 19;
    let mut exp_char = b'e';
    let mut hex = false;
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        base = 16;
        max_mant_digits = 16;
        i += 2;
        exp_char = b'p';
        hex = true;
    }
    let (mut underscores, mut sawdot, mut sawdigits) = (false, false, false);
    let (mut nd, mut nd_mant, mut dp): (i64, i64, i64) = (0, 0, 0);
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    while i < s.len() {
        let c = s[i];
        let lc = c.to_ascii_lowercase();
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
            dp = nd;
        } else if c.is_ascii_digit() || (base == 16 && (b'a'..=b'f').contains(&lc)) {
            sawdigits = true;
            let d = if c.is_ascii_digit() { u64::from(c - b'0') } else { u64::from(lc - b'a' + 10) };
            if c == b'0' && nd == 0 {
                // Leading zeros only move the point.
                dp -= 1;
            } else {
                nd += 1;
                if nd_mant < max_mant_digits {
                    mantissa = mantissa * base + d;
                    nd_mant += 1;
                } else if c != b'0' {
                    trunc = true;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if base == 16 {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < s.len() && s[i].to_ascii_lowercase() == exp_char {
        i += 1;
        let mut esign = 1;
        match s.get(i)? {
            b'+' => i += 1,
            b'-' => {
                i += 1;
                esign = -1
            }
            _ => {}
        }
        if !s.get(i)?.is_ascii_digit() {
            return None;
        }
        let mut e: i64 = 0;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if base == 16 {
        // A hex mantissa needs a 'p' exponent.
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    if underscores && !underscore_ok(&s[..i]) {
        return None;
    }
    Some(Literal { mantissa, exp, neg, trunc, hex, underscores, end: i })
}

/// Go's `underscoreOK`: `_` may only sit between digits, or between a base prefix and a digit.
fn underscore_ok(mut s: &[u8]) -> bool {
    // '^' start, '0' digit or prefix, '_' underscore, '!' anything else.
    let mut saw = b'^';
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `atofHex` for float64: round mantissa·2^exp to 53 bits, half to even, `trunc` as a sticky bit.
fn hex_to_f64(mut mantissa: u64, exp: i64, neg: bool, trunc: bool) -> Result<f64, ParseFloatError> {
    const MANTBITS: u32 = 52;
    const EXPBITS: u32 = 11;
    const BIAS: i64 = -1023;
    let max_exp: i64 = (1 << EXPBITS) + BIAS - 2;
    let min_exp: i64 = BIAS + 1;
    let mut exp = exp + i64::from(MANTBITS);
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < min_exp - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    let mut overflow = false;
    if exp > max_exp {
        mantissa = 1 << MANTBITS;
        exp = max_exp + 1;
        overflow = true;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) as u64) & ((1 << EXPBITS) - 1)) << MANTBITS;
    if neg {
        bits |= 1 << 63;
    }
    if overflow {
        return Err(ParseFloatError::Range);
    }
    Ok(f64::from_bits(bits))
}

/// Appends `v` as Go's `encoding/json` writes a float64: the shortest digits that round-trip, exponent form
/// below 1e-6 and from 1e21 on (`1e-7`, `1e+21`), plain decimals otherwise (`100`, `0.000123`). The caller
/// must reject NaN and ±Inf first (Go's encoder fails on them); here they are written as Rust prints them.
pub fn write_go_f64(out: &mut String, v: f64) {
    if !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let (digits, exp) = go_shortest_digits(v.abs());
    if v < 0.0 {
        out.push('-');
    }
    let abs = v.abs();
    if !(1e-6..1e21).contains(&abs) {
        // Go's 'e' format; its JSON encoder then trims "e-07" to "e-7", so only positive exponents are padded.
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        if exp < 0 {
            let _ = write!(out, "e-{}", -exp);
        } else {
            let _ = write!(out, "e+{exp:02}");
        }
        return;
    }
    // Go's 'f' format with the shortest digits: value = d1.d2...dn x 10^exp.
    let n = digits.len() as i32;
    if exp >= n - 1 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (exp - (n - 1)) as usize));
    } else if exp >= 0 {
        let point = (exp + 1) as usize;
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(&digits);
    }
}

/// The shortest round-trip significant digits of `abs` (> 0, finite) and its decimal exponent, choosing as Go's
/// `strconv` does when two candidates of that length are equally close: the even one.
///
/// Rust's shortest formatting agrees with Go except on such exact ties, where it rounds up. A tie needs the
/// exact value to end one digit past the shortest length, which is only possible at 16 or more digits (below
/// that, candidates are further apart than the float spacing), so only then do we re-round at the same length
/// with Rust's exact mode, which rounds ties to even, and keep that result if it still round-trips.
fn go_shortest_digits(abs: f64) -> (String, i32) {
    let shortest = split_exp(&format!("{abs:e}"));
    if shortest.0.len() < 16 {
        return shortest;
    }
    let exact_text = format!("{abs:.*e}", shortest.0.len() - 1);
    let exact = split_exp(&exact_text);
    if exact != shortest && exact_text.parse::<f64>() == Ok(abs) {
        return exact;
    }
    shortest
}

/// Splits Rust's `d.ddde[-]x` into its digits (trailing zeros removed) and exponent.
fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let mut digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// `write_go_f64` into a fresh string.
pub fn format_go_f64(v: f64) -> String {
    let mut s = String::with_capacity(24);
    write_go_f64(&mut s, v);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_json() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (100.0, "100"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (83.7004740932886, "83.7004740932886"),
            (270553174016.0, "270553174016"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.25e-10, "1.25e-10"),
            (-1e-7, "-1e-7"),
            (-2.5e22, "-2.5e+22"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (123456789.125, "123456789.125"),
            // An exact tie between two 17-digit candidates: Go rounds to even, Rust's Display rounds up.
            (0.00018739700317382812, "0.00018739700317382812"),
            (1e22, "1e+22"),
            (123e-9, "1.23e-7"),
            (0.001, "0.001"),
        ];
        for (v, want) in cases {
            assert_eq!(format_go_f64(*v), *want, "value {v:?}");
        }
    }

    #[test]
    fn parses_what_go_parses() {
        let ok: &[(&str, f64)] = &[
            ("12.5", 12.5),
            ("-3", -3.0),
            ("+3", 3.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("1_000.5", 1000.5),
            ("0x1p3", 8.0),
            ("0X1.8P1", 3.0),
            ("0x_1p-2", 0.25),
            ("-0x10p0", -16.0),
            ("1e-400", 0.0),
            ("0e99999", 0.0),
            ("Inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("INFINITY", f64::INFINITY),
        ];
        for (s, want) in ok {
            assert_eq!(parse_go_float(s), Ok(*want), "input {s:?}");
        }
        assert!(parse_go_float("NaN").unwrap().is_nan());
        assert!(parse_go_float("nan").unwrap().is_nan());
    }

    #[test]
    fn rejects_what_go_rejects() {
        let syntax = [
            "", " 1", "1 ", "abc", "1e", "1e+", ".", "e5", "0x1", "0x", "-nan", "+NaN", "infin", "infx", "_1", "1_",
            "1__0", "1._5", "0x1p", "1.5.5", "--1", "1,5",
        ];
        for s in syntax {
            assert_eq!(parse_go_float(s), Err(ParseFloatError::Syntax), "input {s:?}");
        }
        assert_eq!(parse_go_float("1e400"), Err(ParseFloatError::Range));
        assert_eq!(parse_go_float("-1e400"), Err(ParseFloatError::Range));
        assert_eq!(parse_go_float("0x1p2000"), Err(ParseFloatError::Range));
    }

    #[test]
    fn hex_rounds_half_to_even() {
        // 2^53 + 1 is exactly halfway between two doubles: ties to the even one, 2^53.
        assert_eq!(parse_go_float("0x20000000000001p0"), Ok(9007199254740992.0));
        // 2^53 + 3 rounds up to 2^53 + 4.
        assert_eq!(parse_go_float("0x20000000000003p0"), Ok(9007199254740996.0));
        // Smallest subnormal.
        assert_eq!(parse_go_float("0x1p-1074"), Ok(5e-324));
        assert_eq!(parse_go_float("0x1p-1076"), Ok(0.0));
    }
}
