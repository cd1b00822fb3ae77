//! An incremental JSON syntax scanner that fails at the byte where Go's `encoding/json` scanner does.
//!
//! Bytes are fed in whatever pieces the socket delivers; the scanner keeps its state between pieces and says
//! either "need more", "the value ended at offset n of this piece", or "syntax error at this byte". It checks
//! the whole grammar (object keys and colons, commas, literals, Go's number grammar, string escapes and control
//! characters, a nesting bound of 10,000 as Go's), so a client sending garbage is refused at its first bad
//! byte instead of being waited for until a timeout or a size bound.
//!
//! It does not build anything: the decoder runs on the finished frame.

/// Go's `maxNestingDepth`.
pub const MAX_DEPTH: usize = 10_000;

/// A syntax error: what was expected, and the offending byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// What the scanner was looking for, in Go's words (`looking for beginning of value`...).
    pub context: &'static str,
    /// The byte that does not fit.
    pub byte: u8,
    /// Its offset among the bytes fed since the last reset (Go's `SyntaxError.Offset` is this plus one).
    pub offset: u64,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid character {:?} {} (byte {})", self.byte as char, self.context, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// What a top-level value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// Any JSON value.
    Any,
    /// A JSON-RPC request: an object, or `null` (Go decodes it into an empty request).
    ObjectOrNull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Nothing seen yet (whitespace skipped).
    Start,
    /// A value must come.
    Value,
    /// Just after `[`: a value or `]`.
    ArrFirst,
    /// Just after `{`: a key or `}`.
    ObjFirst,
    /// After `,` in an object: a key.
    ObjKey,
    /// After a key: `:`.
    Colon,
    /// After a value: `,`, a closer, or the end at top level.
    After,
    /// Inside a string; `key` says whether a colon follows it.
    Str { key: bool },
    /// After a backslash.
    Esc { key: bool },
    /// Inside `\uXXXX`, with `left` hex digits to go.
    Hex { key: bool, left: u8 },
    /// Inside `true`, `false` or `null`: the word, and the index of the next byte to match.
    Lit { word: &'static [u8], at: u8 },
    /// After `-`.
    Neg,
    /// After a leading `0`.
    Zero,
    /// In the integer digits.
    Int,
    /// After `.`.
    Dot,
    /// In the fraction digits.
    Frac,
    /// After `e` or `E`.
    E,
    /// After the exponent's sign.
    ESign,
    /// In the exponent digits.
    Exp,
    /// The top-level value ended.
    Done,
}

/// The scanner's state between pieces of input.
#[derive(Debug, Clone)]
pub struct Scanner {
    st: St,
    top: Top,
    /// One entry per open container: true for an object.
    stack: Vec<bool>,
    /// Offset (from the value's first byte) just past the first container nested in the top-level one that
    /// closed, if any yet (the JSON-RPC envelope reader uses it).
    first_nested_end: Option<u64>,
    /// Bytes fed since the last reset, and where the value's first byte was among them.
    fed: u64,
    value_start: u64,
}

/// Go's words for a literal that goes wrong at byte `at` of `word`.
fn literal_context(word: &[u8], at: u8) -> &'static str {
    match (word.first(), at) {
        (Some(b't'), 1) => "in literal true (expecting 'r')",
        (Some(b't'), 2) => "in literal true (expecting 'u')",
        (Some(b't'), _) => "in literal true (expecting 'e')",
        (Some(b'f'), 1) => "in literal false (expecting 'a')",
        (Some(b'f'), 2) => "in literal false (expecting 'l')",
        (Some(b'f'), 3) => "in literal false (expecting 's')",
        (Some(b'f'), _) => "in literal false (expecting 'e')",
        (_, 1) => "in literal null (expecting 'u')",
        _ => "in literal null (expecting 'l')",
    }
}

/// Bytes that end a fast string run: the quote, the backslash, and the control characters Go refuses.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Scanner {
    /// A scanner for one top-level value of kind `top`.
    pub fn new(top: Top) -> Self {
        Scanner { st: St::Start, top, stack: Vec::new(), first_nested_end: None, fed: 0, value_start: 0 }
    }

    /// Ready for the next value.
    pub fn reset(&mut self) {
        self.st = St::Start;
        self.stack.clear();
        self.first_nested_end = None;
        self.fed = 0;
        self.value_start = 0;
    }

    /// Whether the scanner is between values (nothing but whitespace seen since the last one).
    pub fn idle(&self) -> bool {
        self.st == St::Start
    }

    /// Where the first nested container of the top-level value ended, from the value's first byte.
    pub fn first_nested_end(&self) -> Option<u64> {
        self.first_nested_end
    }

    /// At the end of input: whether the value is complete (a top-level number ends there).
    pub fn finish(&mut self) -> Result<bool, SyntaxError> {
        match self.st {
            St::Done => Ok(true),
            St::Zero | St::Int | St::Frac | St::Exp if self.stack.is_empty() => {
                self.st = St::Done;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn err(context: &'static str, byte: u8) -> SyntaxError {
        SyntaxError { context, byte, offset: 0 }
    }

    /// Starts a value at byte `b` (not whitespace).
    fn begin_value(&mut self, b: u8) -> Result<(), SyntaxError> {
        self.st = match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(Self::err("exceeded max depth", b));
                }
                self.stack.push(b == b'{');
                if b == b'{' {
                    St::ObjFirst
                } else {
                    St::ArrFirst
                }
            }
            b'"' => St::Str { key: false },
            b'-' => St::Neg,
            b'0' => St::Zero,
            b'1'..=b'9' => St::Int,
            b't' => St::Lit { word: b"true", at: 1 },
            b'f' => St::Lit { word: b"false", at: 1 },
            b'n' => St::Lit { word: b"null", at: 1 },
            _ => return Err(Self::err("looking for beginning of value", b)),
        };
        Ok(())
    }

    /// A value ended (the byte after it is handled by the caller in `After`).
    fn end_value(&mut self) {
        self.st = if self.stack.is_empty() { St::Done } else { St::After };
    }

    /// Scans `bytes`; returns the offset just past the top-level value if it ended in them. Bytes after that
    /// are not looked at. Whitespace before the value is skipped. Call [`reset`](Self::reset) before the next.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<usize>, SyntaxError> {
        let mut i = 0;
        self.feed_at(bytes, &mut i).map_err(|mut e| {
            e.offset = self.fed + i as u64;
            e
        })
    }

    /// [`feed`](Self::feed) with the position kept in `i`, so that an error can say where it is.
    fn feed_at(&mut self, bytes: &[u8], i: &mut usize) -> Result<Option<usize>, SyntaxError> {
        let n = bytes.len();
        while *i < n {
            let b = bytes[*i];
            match self.st {
                St::Done => return Ok(Some(*i)),
                St::Start => {
                    if is_ws(b) {
                        *i += 1;
                        continue;
                    }
                    if self.top == Top::ObjectOrNull && b != b'{' && b != b'n' {
                        return Err(Self::err("looking for beginning of object", b));
                    }
                    self.value_start = self.fed + *i as u64;
                    self.begin_value(b)?;
                }
                St::Value => {
                    if !is_ws(b) {
                        self.begin_value(b)?;
                    }
                }
                St::ArrFirst => {
                    if b == b']' {
                        self.close(*i);
                    } else if !is_ws(b) {
                        self.begin_value(b)?;
                    }
                }
                St::ObjFirst => match b {
                    b'"' => self.st = St::Str { key: true },
                    b'}' => self.close(*i),
                    _ if is_ws(b) => {}
                    _ => return Err(Self::err("looking for beginning of object key string", b)),
                },
                St::ObjKey => match b {
                    b'"' => self.st = St::Str { key: true },
                    _ if is_ws(b) => {}
                    _ => return Err(Self::err("looking for beginning of object key string", b)),
                },
                St::Colon => match b {
                    b':' => self.st = St::Value,
                    _ if is_ws(b) => {}
                    _ => return Err(Self::err("after object key", b)),
                },
                St::After => {
                    let in_object = self.stack.last().copied().unwrap_or(false);
                    match (b, in_object) {
                        (b',', true) => self.st = St::ObjKey,
                        (b',', false) => self.st = St::Value,
                        (b'}', true) | (b']', false) => self.close(*i),
                        _ if is_ws(b) => {}
                        (_, true) => return Err(Self::err("after object key:value pair", b)),
                        (_, false) => return Err(Self::err("after array element", b)),
                    }
                }
                St::Str { key } => {
                    // The common case: a run of plain bytes.
                    let run = bytes[*i..].iter().position(|&c| STRING_STOP[c as usize]).unwrap_or(n - *i);
                    *i += run;
                    if *i == n {
                        break;
                    }
                    match bytes[*i] {
                        b'"' => {
                            if key {
                                self.st = St::Colon;
                            } else {
                                self.end_value();
                            }
                        }
                        b'\\' => self.st = St::Esc { key },
                        c => return Err(Self::err("in string literal", c)),
                    }
                }
                St::Esc { key } => match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.st = St::Str { key },
                    b'u' => self.st = St::Hex { key, left: 4 },
                    _ => return Err(Self::err("in string escape code", b)),
                },
                St::Hex { key, left } => {
                    if !b.is_ascii_hexdigit() {
                        return Err(Self::err("in \\u hexadecimal character escape", b));
                    }
                    self.st = if left == 1 { St::Str { key } } else { St::Hex { key, left: left - 1 } };
                }
                St::Lit { word, at } => {
                    if word.get(at as usize) != Some(&b) {
                        return Err(Self::err(literal_context(word, at), b));
                    }
                    if at as usize + 1 == word.len() {
                        self.end_value();
                    } else {
                        self.st = St::Lit { word, at: at + 1 };
                    }
                }
                St::Neg => match b {
                    b'0' => self.st = St::Zero,
                    b'1'..=b'9' => self.st = St::Int,
                    _ => return Err(Self::err("in numeric literal", b)),
                },
                St::Zero | St::Int | St::Frac | St::Exp => {
                    let st = self.st;
                    match b {
                        b'0'..=b'9' if st != St::Zero => {}
                        b'.' if st == St::Zero || st == St::Int => self.st = St::Dot,
                        b'e' | b'E' if st != St::Exp => self.st = St::E,
                        _ => {
                            // The number ended at the byte before: look at this one again after it.
                            self.end_value();
                            if self.st == St::Done {
                                self.fed += *i as u64;
                                return Ok(Some(*i));
                            }
                            continue;
                        }
                    }
                }
                St::Dot => match b {
                    b'0'..=b'9' => self.st = St::Frac,
                    _ => return Err(Self::err("after decimal point in numeric literal", b)),
                },
                St::E => match b {
                    b'+' | b'-' => self.st = St::ESign,
                    b'0'..=b'9' => self.st = St::Exp,
                    _ => return Err(Self::err("in exponent of numeric literal", b)),
                },
                St::ESign => match b {
                    b'0'..=b'9' => self.st = St::Exp,
                    _ => return Err(Self::err("in exponent of numeric literal", b)),
                },
            }
            *i += 1;
            if self.st == St::Done {
                self.fed += *i as u64;
                return Ok(Some(*i));
            }
        }
        self.fed += n as u64;
        Ok(None)
    }

    /// Closes the innermost container at offset `i` of the current piece.
    fn close(&mut self, i: usize) {
        self.stack.pop();
        if self.stack.len() == 1 && self.first_nested_end.is_none() {
            self.first_nested_end = Some(self.fed + i as u64 + 1 - self.value_start);
        }
        self.end_value();
    }
}

#[cfg(test)]
mod tests;
