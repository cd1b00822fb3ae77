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
    /// Inside `true`, `false` or `null` ([`LITERALS`] index `word`), at the index of the next byte to match.
    Lit { word: u8, at: u8 },
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

/// The literals, by the index `St::Lit` keeps (a small state is copied on every byte).
const LITERALS: [&[u8]; 3] = [b"true", b"false", b"null"];

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

/// The end of the run of plain string bytes (not `"`, `\\`, or a control character) starting at `p`: eight
/// bytes at a time while none of them stops the run, then byte by byte.
fn plain_run(bytes: &[u8], mut p: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while p + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[p..p + 8]);
        let x = u64::from_le_bytes(word);
        let quote = x ^ (ONES * b'"' as u64);
        let backslash = x ^ (ONES * b'\\' as u64);
        // A byte below 0x20, or equal to either: the classic "has a zero byte" tests (false alarms only send us
        // to the byte loop).
        let hit = (x.wrapping_sub(ONES * 0x20) & !x)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
        if hit & HIGHS != 0 {
            break;
        }
        p += 8;
    }
    while p < bytes.len() && !STRING_STOP[bytes[p] as usize] {
        p += 1;
    }
    p
}

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

    /// The state a value starting with byte `b` (not whitespace) begins in; a container is pushed.
    fn begin(&mut self, b: u8) -> Result<St, &'static str> {
        Ok(match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err("exceeded max depth");
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
            b't' => St::Lit { word: 0, at: 1 },
            b'f' => St::Lit { word: 1, at: 1 },
            b'n' => St::Lit { word: 2, at: 1 },
            _ => return Err("looking for beginning of value"),
        })
    }

    /// The state after a value ended.
    fn after(&self) -> St {
        if self.stack.is_empty() {
            St::Done
        } else {
            St::After
        }
    }

    /// Closes the innermost container at offset `p` of the current piece; the state after it.
    fn close(&mut self, p: usize) -> St {
        self.stack.pop();
        if self.stack.len() == 1 && self.first_nested_end.is_none() {
            self.first_nested_end = Some(self.fed + p as u64 + 1 - self.value_start);
        }
        self.after()
    }

    /// Scans `bytes`; returns the offset just past the top-level value if it ended in them. Bytes after that
    /// are not looked at. Whitespace before the value is skipped. Call [`reset`](Self::reset) before the next.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<usize>, SyntaxError> {
        self.feed_from(bytes).map_err(|(context, p)| SyntaxError {
            context,
            byte: bytes.get(p).copied().unwrap_or(0),
            offset: self.fed + p as u64,
        })
    }

    /// [`feed`](Self::feed), with the state and position in locals (the hot loop of every JSON-RPC frame); an
    /// error carries the offending byte's position in `bytes`.
    fn feed_from(&mut self, bytes: &[u8]) -> Result<Option<usize>, (&'static str, usize)> {
        let n = bytes.len();
        let mut p = 0;
        let mut st = self.st;
        // Leaves the loop with an error at the current byte, keeping the state for a caller that looks.
        macro_rules! fail {
            ($ctx:expr) => {{
                self.st = st;
                return Err(($ctx, p));
            }};
        }
        macro_rules! begin {
            ($b:expr) => {
                match self.begin($b) {
                    Ok(next) => next,
                    Err(ctx) => fail!(ctx),
                }
            };
        }
        while p < n {
            let b = bytes[p];
            match st {
                St::Done => {
                    self.st = st;
                    self.fed += p as u64;
                    return Ok(Some(p));
                }
                St::Start => {
                    if is_ws(b) {
                        p += 1;
                        continue;
                    }
                    if self.top == Top::ObjectOrNull && b != b'{' && b != b'n' {
                        fail!("looking for beginning of object");
                    }
                    self.value_start = self.fed + p as u64;
                    st = begin!(b);
                }
                St::Value => {
                    if !is_ws(b) {
                        st = begin!(b);
                    }
                }
                St::ArrFirst => {
                    if b == b']' {
                        st = self.close(p);
                    } else if !is_ws(b) {
                        st = begin!(b);
                    }
                }
                St::ObjFirst => match b {
                    b'"' => st = St::Str { key: true },
                    b'}' => st = self.close(p),
                    _ if is_ws(b) => {}
                    _ => fail!("looking for beginning of object key string"),
                },
                St::ObjKey => match b {
                    b'"' => st = St::Str { key: true },
                    _ if is_ws(b) => {}
                    _ => fail!("looking for beginning of object key string"),
                },
                St::Colon => match b {
                    b':' => st = St::Value,
                    _ if is_ws(b) => {}
                    _ => fail!("after object key"),
                },
                St::After => {
                    let in_object = self.stack.last().copied().unwrap_or(false);
                    match (b, in_object) {
                        (b',', true) => st = St::ObjKey,
                        (b',', false) => st = St::Value,
                        (b'}', true) | (b']', false) => st = self.close(p),
                        _ if is_ws(b) => {}
                        (_, true) => fail!("after object key:value pair"),
                        (_, false) => fail!("after array element"),
                    }
                }
                St::Str { key } => {
                    p = plain_run(bytes, p);
                    if p == n {
                        break;
                    }
                    match bytes[p] {
                        b'"' => st = if key { St::Colon } else { self.after() },
                        b'\\' => st = St::Esc { key },
                        _ => fail!("in string literal"),
                    }
                }
                St::Esc { key } => match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => st = St::Str { key },
                    b'u' => st = St::Hex { key, left: 4 },
                    _ => fail!("in string escape code"),
                },
                St::Hex { key, left } => {
                    if !b.is_ascii_hexdigit() {
                        fail!("in \\u hexadecimal character escape");
                    }
                    st = if left == 1 { St::Str { key } } else { St::Hex { key, left: left - 1 } };
                }
                St::Lit { word, at } => {
                    let text = LITERALS[word as usize % LITERALS.len()];
                    if text.get(at as usize) != Some(&b) {
                        fail!(literal_context(text, at));
                    }
                    st = if at as usize + 1 == text.len() { self.after() } else { St::Lit { word, at: at + 1 } };
                }
                St::Neg => match b {
                    b'0' => st = St::Zero,
                    b'1'..=b'9' => st = St::Int,
                    _ => fail!("in numeric literal"),
                },
                St::Zero | St::Int | St::Frac | St::Exp => {
                    if st != St::Zero {
                        // A run of digits continues the number.
                        while p < n && bytes[p].is_ascii_digit() {
                            p += 1;
                        }
                        if p == n {
                            break;
                        }
                    }
                    match bytes[p] {
                        b'.' if st == St::Zero || st == St::Int => st = St::Dot,
                        b'e' | b'E' if st != St::Exp => st = St::E,
                        _ => {
                            // The number ended at the byte before: look at this one again after it.
                            st = self.after();
                            if st == St::Done {
                                self.st = st;
                                self.fed += p as u64;
                                return Ok(Some(p));
                            }
                            continue;
                        }
                    }
                }
                St::Dot => match b {
                    b'0'..=b'9' => st = St::Frac,
                    _ => fail!("after decimal point in numeric literal"),
                },
                St::E => match b {
                    b'+' | b'-' => st = St::ESign,
                    b'0'..=b'9' => st = St::Exp,
                    _ => fail!("in exponent of numeric literal"),
                },
                St::ESign => match b {
                    b'0'..=b'9' => st = St::Exp,
                    _ => fail!("in exponent of numeric literal"),
                },
            }
            p += 1;
            if st == St::Done {
                self.st = st;
                self.fed += p as u64;
                return Ok(Some(p));
            }
        }
        self.st = st;
        self.fed += n as u64;
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
