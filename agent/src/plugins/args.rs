//! Plugin arguments (`sys/x/60_x.sh(a,b\,c)`): `,` separates arguments and `\,` is a literal comma; each
//! argument is trimmed of spaces, then of `"`, then of `'`, as Go's `PluginArgsParse` does. Go's version
//! loses the escape when a segment holds a single piece (`a\,b` gives two arguments); here it never does.

/// Splits a plugin's argument text into argv (no arguments for an empty text).
pub fn parse_args(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    let clean = |a: &str| a.trim_matches(' ').trim_matches('"').trim_matches('\'').to_string();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                cur.push(',');
            }
            ',' => out.push(clean(&std::mem::take(&mut cur))),
            _ => cur.push(c),
        }
    }
    out.push(clean(&cur));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_examples_and_the_fixed_case() {
        assert_eq!(parse_args("a,b\\,c,d"), ["a", "b,c", "d"]);
        assert_eq!(parse_args("hello,world"), ["hello", "world"]);
        assert_eq!(parse_args(" \"x\" , 'y' "), ["x", "y"]);
        assert_eq!(parse_args("one"), ["one"]);
        assert_eq!(parse_args("a\\,b"), ["a,b"]);
        assert_eq!(parse_args("a\\b"), ["a\\b"]);
        assert!(parse_args("").is_empty());
    }
}
