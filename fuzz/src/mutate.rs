//! Mutations: the classic byte-level havoc of AFL-style fuzzers, plus text-aware ones (numbers, repeated
//! tokens for deep nesting) and per-target dictionary tokens. Several are stacked per input.

use crate::rng::Rng;

/// Single bytes worth trying anywhere: the structure of JSON, text and binary length prefixes.
const INTERESTING: &[u8] = b"\x00\xff\"{}[],:\\0123456789\n\x80 -.eE+nNtf\r\t\x7f\x01/=_";

/// Numbers worth putting where a number is: bounds of every integer width, overflowing floats, specials.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"1",
    b"65536",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999999",
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"0.5",
    b"NaN",
    b"-0",
    b"0x1p-1074",
    b"1_000",
];

/// Integers worth writing in binary, either byte order: every width's edges.
const INTS: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    i64::MAX as u64,
    1 << 63,
    u64::MAX,
];

/// Mutates inputs of one target.
pub struct Mutator<'d> {
    /// The random source (shared with the engine so one seed drives everything).
    pub rng: Rng,
    dict: &'d [&'d [u8]],
    max_len: usize,
}

impl<'d> Mutator<'d> {
    /// A mutator with the target's dictionary and length bound.
    pub fn new(rng: Rng, dict: &'d [&'d [u8]], max_len: usize) -> Self {
        Mutator { rng, dict, max_len: max_len.max(1) }
    }

    /// Replaces `input` with a mutation of it; `others` (the corpus) feeds splicing.
    pub fn mutate(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let rounds = 1 << self.rng.below(4);
        for _ in 0..rounds {
            self.one(input, others);
        }
        input.truncate(self.max_len);
    }

    fn pos(&mut self, input: &[u8]) -> usize {
        self.rng.below(input.len() + 1)
    }

    /// A range inside `input`: (start, len), len >= 1 unless the input is empty. Short ranges are likelier.
    fn range(&mut self, input: &[u8]) -> (usize, usize) {
        if input.is_empty() {
            return (0, 0);
        }
        let start = self.rng.below(input.len());
        let room = input.len() - start;
        let cap = if self.rng.one_in(4) { room } else { room.min(16) };
        (start, 1 + self.rng.below(cap))
    }

    fn one(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        match self.rng.below(16) {
            0 if !input.is_empty() => {
                let i = self.rng.below(input.len());
                input[i] ^= 1 << self.rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = self.rng.below(input.len());
                input[i] = INTERESTING[self.rng.below(INTERESTING.len())];
            }
            2 if !input.is_empty() => {
                let i = self.rng.below(input.len());
                input[i] = self.rng.byte();
            }
            3 => {
                let at = self.pos(input);
                let n = 1 + self.rng.below(8);
                for k in 0..n {
                    let b = if self.rng.one_in(2) {
                        self.rng.byte()
                    } else {
                        INTERESTING[self.rng.below(INTERESTING.len())]
                    };
                    input.insert(at + k, b);
                }
            }
            4 if !input.is_empty() => {
                let (start, len) = self.range(input);
                input.drain(start..start + len);
            }
            5 if !input.is_empty() => {
                let (start, len) = self.range(input);
                let chunk = input[start..start + len].to_vec();
                let at = self.pos(input);
                input.splice(at..at, chunk);
            }
            6 => self.splice(input, others),
            7 | 8 => self.token(input),
            9 if !input.is_empty() => {
                let n = self.rng.below(input.len());
                input.truncate(n);
            }
            10 => self.number(input),
            11 => self.binary_int(input),
            12 => self.repeat(input),
            13 if input.len() >= 2 => {
                let (a, b) = (self.rng.below(input.len()), self.rng.below(input.len()));
                input.swap(a, b);
            }
            14 if !input.is_empty() => {
                // Overwrite a range with one byte value (runs of zeros, of 0xff, of spaces).
                let (start, len) = self.range(input);
                let b = INTERESTING[self.rng.below(INTERESTING.len())];
                input[start..start + len].fill(b);
            }
            _ => {
                let at = self.pos(input);
                input.insert(at, self.rng.byte());
            }
        }
    }

    /// Crossover with another corpus entry: its tail after ours, or a chunk of it inserted.
    fn splice(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let Some(other) = self.rng.pick(others) else { return };
        if other.is_empty() {
            return;
        }
        let from = self.rng.below(other.len());
        if self.rng.one_in(2) {
            let cut = self.pos(input);
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        } else {
            let len = 1 + self.rng.below((other.len() - from).min(64));
            let at = self.pos(input);
            input.splice(at..at, other[from..from + len].iter().copied());
        }
    }

    /// A dictionary token, inserted or written over what is there.
    fn token(&mut self, input: &mut Vec<u8>) {
        let tok: &[u8] = match self.rng.pick(self.dict) {
            Some(t) => t,
            None => NUMBERS[self.rng.below(NUMBERS.len())],
        };
        let at = self.pos(input);
        if self.rng.one_in(2) {
            input.splice(at..at, tok.iter().copied());
        } else {
            let end = (at + tok.len()).min(input.len());
            input.splice(at..end, tok.iter().copied());
        }
    }

    /// Replaces the decimal number around a random position (or inserts one) with an edge value.
    fn number(&mut self, input: &mut Vec<u8>) {
        let num = NUMBERS[self.rng.below(NUMBERS.len())];
        let digits: Vec<usize> = (0..input.len()).filter(|&i| input[i].is_ascii_digit()).collect();
        let Some(&i) = self.rng.pick(&digits) else {
            let at = self.pos(input);
            input.splice(at..at, num.iter().copied());
            return;
        };
        let mut start = i;
        while start > 0 && (input[start - 1].is_ascii_digit() || input[start - 1] == b'-') {
            start -= 1;
        }
        let mut end = i;
        while end < input.len() && (input[end].is_ascii_digit() || matches!(input[end], b'.' | b'e' | b'E')) {
            end += 1;
        }
        input.splice(start..end, num.iter().copied());
    }

    /// Writes an edge integer in binary (1, 2, 4 or 8 bytes, either order) over the input: length prefixes.
    fn binary_int(&mut self, input: &mut Vec<u8>) {
        let v = INTS[self.rng.below(INTS.len())];
        let width = 1 << self.rng.below(4);
        let bytes = if self.rng.one_in(2) { v.to_le_bytes() } else { v.to_be_bytes() };
        let chunk: &[u8] = if bytes[0] == 0 && width < 8 { &bytes[8 - width..] } else { &bytes[..width] };
        let at = self.pos(input);
        let end = (at + chunk.len()).min(input.len());
        input.splice(at..end, chunk.iter().copied());
    }

    /// A token or a short chunk repeated many times: deep nesting, long runs, many elements.
    fn repeat(&mut self, input: &mut Vec<u8>) {
        let unit: Vec<u8> = if !input.is_empty() && self.rng.one_in(2) {
            let (start, len) = self.range(input);
            input[start..start + len.min(8)].to_vec()
        } else {
            match self.rng.pick(self.dict) {
                Some(t) => t.to_vec(),
                None => vec![INTERESTING[self.rng.below(INTERESTING.len())]],
            }
        };
        let cap = if self.rng.one_in(4) { 4096 } else { 256 };
        let times = 1 + self.rng.below(cap);
        let room = self.max_len.saturating_sub(input.len()) / unit.len().max(1);
        let at = self.pos(input);
        let rep: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * times.min(room)).collect();
        input.splice(at..at, rep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_bounds_and_is_deterministic() {
        let dict: &[&[u8]] = &[b"\"metric\"", b"null"];
        let corpus = vec![b"{\"a\":[1,2,3]}".to_vec(), Vec::new()];
        let run = |seed| {
            let mut m = Mutator::new(Rng::new(seed), dict, 64);
            let mut x = corpus[0].clone();
            let mut seen = Vec::new();
            for _ in 0..2000 {
                m.mutate(&mut x, &corpus);
                assert!(x.len() <= 64);
                seen.push(x.clone());
                if x.is_empty() {
                    x = corpus[0].clone();
                }
            }
            seen
        };
        assert_eq!(run(5), run(5));
    }
}
