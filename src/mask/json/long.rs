//! Numbers longer than the token buffer ([`super::MAX_TOKEN`]): JSON puts
//! no bound on a number's length (Python writes a big integer's every
//! digit), so one is read in windows instead of being buffered whole.
//! The detectors scan it as they scan a long string (through the window,
//! under its key); a field rule acts on it as on a string, its output
//! quoted.
//!
//! Only the general state machine ([`super::general`]) comes here, and
//! only after a token outgrew its buffer: never on the hot path.

use super::{JsonMasker, Plan, State, Target};
use crate::mask::Masker;
use crate::mask::action::{Action, StreamingHash, StreamingMask};
use crate::mask::segment::{write_json_escaped, write_json_quoted};

/// Where a number's grammar, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE]
/// [+-]? [0-9]+)?`, has got to, one byte at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum NumberLexer {
    #[default]
    Start,
    Sign,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ExpSign,
    Exp,
}

impl NumberLexer {
    /// Steps over `b`; false, changing nothing, when `b` cannot come next.
    pub(super) fn step(&mut self, b: u8) -> bool {
        use NumberLexer::*;
        let next = match (*self, b) {
            (Start, b'-') => Sign,
            (Start | Sign, b'0') => Zero,
            (Start | Sign, b'1'..=b'9') => Int,
            (Int, b'0'..=b'9') => Int,
            (Zero | Int, b'.') => Dot,
            (Dot | Frac, b'0'..=b'9') => Frac,
            (Zero | Int | Frac, b'e' | b'E') => E,
            (E, b'+' | b'-') => ExpSign,
            (E | ExpSign | Exp, b'0'..=b'9') => Exp,
            _ => return false,
        };
        *self = next;
        true
    }

    /// Whether the bytes stepped over so far are a whole number.
    pub(super) fn is_complete(self) -> bool {
        matches!(self, NumberLexer::Zero | NumberLexer::Int | NumberLexer::Frac | NumberLexer::Exp)
    }

    /// Steps over `bytes`; the count of those that fit the grammar.
    pub(super) fn run(&mut self, bytes: &[u8]) -> usize {
        bytes.iter().position(|&b| !self.step(b)).unwrap_or(bytes.len())
    }
}

impl JsonMasker {
    /// The token buffer holds more than [`super::MAX_TOKEN`] bytes of a
    /// token: if they begin a number, it is read on in windows (state
    /// `InLongNumber`) and true is returned; otherwise false, changing
    /// nothing (the caller treats it as malformed).
    pub(super) fn begin_long_number(&mut self, masker: &Masker, out: &mut Vec<u8>) -> bool {
        let mut lexer = NumberLexer::default();
        if lexer.run(&self.token) < self.token.len() {
            return false;
        }
        self.long_number = lexer;
        self.target = match self.token_plan {
            Plan::Scan => Target::Scan,
            Plan::Rule(r) => match masker.rules.action(r) {
                Action::Keep => {
                    out.extend_from_slice(&self.token);
                    Target::Keep
                }
                Action::Drop => Target::Discard,
                Action::Redact { placeholder } => {
                    write_json_quoted(placeholder.as_bytes(), out);
                    Target::Discard
                }
                Action::Mask { keep_last } => {
                    out.push(b'"');
                    Target::Mask(StreamingMask::new(*keep_last))
                }
                Action::Hash { key, label } => Target::Hash(Box::new(StreamingHash::new(key.clone(), label.clone()))),
            },
        };
        let token = std::mem::take(&mut self.token);
        if !matches!(self.target, Target::Keep) {
            self.deliver(&token, out);
        }
        self.token = token;
        self.token.clear();
        self.state = State::InLongNumber;
        true
    }

    /// The run of a long number's bytes at the start of `input` that fit
    /// its grammar, delivered to its target. Returns how many were taken
    /// and whether the number goes on past them (they reach the end of
    /// `input`).
    pub(super) fn long_number_run(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let n = self.long_number.run(input);
        self.deliver(&input[..n], out);
        (n, n == input.len())
    }

    /// Ends a long number: what its target still holds is written (a
    /// masked or hashed number becomes a string); a scanned one's window
    /// the caller has completed. False when the bytes read were not a
    /// whole number (they were written all the same, through the
    /// detectors or the rule).
    pub(super) fn end_long_number(&mut self, out: &mut Vec<u8>) -> bool {
        let complete = self.long_number.is_complete();
        self.long_number = NumberLexer::default();
        match std::mem::replace(&mut self.target, Target::Scan) {
            Target::Hash(h) => {
                self.token_out.clear();
                h.finish(&mut self.token_out);
                write_json_quoted(&self.token_out, out);
            }
            Target::Mask(mk) => {
                self.token_out.clear();
                mk.finish(&mut self.token_out);
                write_json_escaped(&self.token_out, out);
                out.push(b'"');
            }
            _ => {}
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::NumberLexer;

    fn is_number(t: &str) -> bool {
        let mut l = NumberLexer::default();
        l.run(t.as_bytes()) == t.len() && l.is_complete()
    }

    #[test]
    fn number_lexer_reads_json_s_grammar() {
        for ok in ["0", "-0", "7", "-12", "1.5", "0.25", "1e5", "1E+5", "-1.5e-3", "1700000000123"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1.5.2", "12ab", "--1", "0x10", "1_000"] {
            assert!(!is_number(bad), "{bad}");
        }
    }
}
