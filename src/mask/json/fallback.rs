//! Field rules in the text scan of malformed JSON. Where the grammar is
//! lost the path is too, but `"key": value` pairs can still be found by
//! their look: a quoted key (`"…"` or `'…'`), a colon, and a string or a
//! bare token (number, literal, unquoted word), with `/* … */` and
//! `// …` comments skipped between them. A rule whose last step
//! names that key ([`super::path::FieldRules::by_last_key`]: `$..name`,
//! `$.user.name`) acts on the value as it would in the tree: redact, mask
//! and hash write a JSON string, drop writes `null` (the member cannot be
//! removed from text). `keep` does not apply here: the detectors run. A
//! container value is left to the detectors too.
//!
//! The finder is a small state machine over the text's bytes, so it reads
//! the same however chunks cut them; the text window is completed where a
//! value a rule takes starts, and the value is read by the general state
//! machine's string path (or, for a token, here), then text again.

use super::scalar::is_token_byte;
use super::{JsonMasker, MAX_KEY, MAX_TOKEN, is_whitespace};
use crate::mask::action::Action;
use crate::mask::segment::{Encoding, write_json_quoted};
use crate::mask::{Counters, Masker};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Look {
    /// Between pairs.
    #[default]
    Out,
    /// In a quoted key candidate.
    Key,
    KeyEscape,
    /// After a key's closing quote.
    AfterKey,
    /// After `"key":`.
    Colon,
    /// In a string that is no key or whose key no rule names.
    Skip,
    SkipEscape,
    /// In a bare token value that rule `.0` takes (bytes in `token`).
    Token(usize),
    /// A `/` after a key (`colon`: after its colon too), which may open a
    /// comment, as JSON5 and JavaScript readers take between tokens.
    Slash {
        colon: bool,
    },
    /// In a `/* … */` comment (`star`: just after a `*`).
    Block {
        colon: bool,
        star: bool,
    },
    /// In a `// …` comment, to the end of the line.
    Line {
        colon: bool,
    },
}

impl Look {
    /// Where a comment after a key goes back to.
    fn after_comment(colon: bool) -> Look {
        if colon { Look::Colon } else { Look::AfterKey }
    }
}

/// The `"key": value` finder's state.
#[derive(Debug, Default)]
pub(super) struct KeyFinder {
    look: Look,
    quote: u8,
    key: Vec<u8>,
    overlong: bool,
    token: Vec<u8>,
}

/// What the finder found in a run of text.
enum Found {
    /// Nothing more up to the end given.
    Nothing,
    /// A string value that rule `.0` takes starts where the read stopped
    /// (at its quote).
    String(usize),
    /// A bare token value that a rule takes starts where the read
    /// stopped (read on by [`KeyFinder::take_token`]).
    Token,
}

/// Where [`JsonMasker::text_with_keys`] stopped.
pub(super) enum TextStop {
    /// At the end given.
    End,
    /// At the opening quote of a string value that rule `rule` takes.
    String { at: usize, rule: usize },
}

impl KeyFinder {
    /// Forgets any pair begun; `in_string` when the text starts inside a
    /// string (the grammar broke there), whose rest is no key.
    pub(super) fn reset(&mut self, in_string: bool, quote: u8) {
        self.look = if in_string { Look::Skip } else { Look::Out };
        self.quote = quote;
        self.key.clear();
        self.overlong = false;
        self.token.clear();
    }

    /// Whether a token value is being read (its bytes held here).
    pub(super) fn in_token(&self) -> bool {
        matches!(self.look, Look::Token(_))
    }

    pub(super) fn held(&self) -> usize {
        self.key.len() + self.token.len()
    }

    /// Reads `input[i..end]` until a value a rule takes starts.
    fn find(&mut self, masker: &Masker, input: &[u8], mut i: usize, end: usize) -> (usize, Found) {
        while i < end {
            let b = input[i];
            match self.look {
                Look::Out => match memchr::memchr2(b'"', b'\'', &input[i..end]) {
                    Some(p) => {
                        self.quote = input[i + p];
                        self.key.clear();
                        self.overlong = false;
                        self.look = Look::Key;
                        i += p + 1;
                        continue;
                    }
                    None => return (end, Found::Nothing),
                },
                Look::Key if b == self.quote => self.look = Look::AfterKey,
                Look::Key | Look::Skip if b == b'\n' => self.look = Look::Out,
                Look::Key => {
                    if b == b'\\' {
                        self.look = Look::KeyEscape;
                    }
                    if self.key.len() < MAX_KEY {
                        self.key.push(b);
                    } else {
                        self.overlong = true;
                    }
                }
                Look::KeyEscape => {
                    self.look = Look::Key;
                    if self.key.len() < MAX_KEY {
                        self.key.push(b);
                    } else {
                        self.overlong = true;
                    }
                }
                Look::AfterKey | Look::Colon if is_whitespace(b) => {}
                Look::AfterKey if b == b':' => self.look = Look::Colon,
                Look::AfterKey | Look::Colon if b == b'/' => {
                    self.look = Look::Slash { colon: self.look == Look::Colon };
                }
                Look::Slash { colon } => {
                    self.look = match b {
                        b'*' => Look::Block { colon, star: false },
                        b'/' => Look::Line { colon },
                        _ => Look::Out,
                    }
                }
                Look::Block { colon, star } => {
                    self.look = match b {
                        b'/' if star => Look::after_comment(colon),
                        _ => Look::Block { colon, star: b == b'*' },
                    }
                }
                Look::Line { colon } => {
                    if b == b'\n' {
                        self.look = Look::after_comment(colon);
                    }
                }
                // The quote that ended a string starts the next key.
                Look::AfterKey if b == b'"' || b == b'\'' => {
                    self.quote = b;
                    self.key.clear();
                    self.overlong = false;
                    self.look = Look::Key;
                }
                Look::AfterKey => self.look = Look::Out,
                Look::Colon => {
                    let rule = match self.overlong {
                        true => None,
                        false => masker.rules.by_last_key(&self.key),
                    };
                    let string = b == b'"' || b == b'\'';
                    match rule {
                        Some(r) if string => {
                            self.look = Look::Out;
                            return (i, Found::String(r));
                        }
                        Some(r) if is_token_byte(b) => {
                            self.look = Look::Token(r);
                            self.token.clear();
                            return (i, Found::Token);
                        }
                        _ if string => {
                            self.quote = b;
                            self.look = Look::Skip;
                        }
                        _ => self.look = Look::Out,
                    }
                }
                Look::Skip if b == self.quote => self.look = Look::Out,
                Look::Skip if b == b'\\' => self.look = Look::SkipEscape,
                Look::Skip => {}
                Look::SkipEscape => self.look = Look::Skip,
                Look::Token(_) => unreachable!("tokens are read by take_token"),
            }
            i += 1;
        }
        (end, Found::Nothing)
    }

    /// Reads a bare token value on from `input[i..end]`: returns where
    /// the read stopped, and whether the token is done (its rule's
    /// replacement written to `out`). A token longer than [`MAX_TOKEN`]
    /// is given back to the detectors: its bytes are appended to `spill`.
    #[allow(clippy::too_many_arguments)]
    fn take_token(
        &mut self,
        masker: &Masker,
        input: &[u8],
        i: usize,
        end: usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
        spill: &mut Vec<u8>,
    ) -> (usize, bool) {
        let Look::Token(r) = self.look else {
            return (i, true);
        };
        let run = input[i..end].iter().position(|&b| !is_token_byte(b)).unwrap_or(end - i);
        self.token.extend_from_slice(&input[i..i + run]);
        if self.token.len() > MAX_TOKEN {
            spill.append(&mut self.token);
            self.look = Look::Out;
            return (i + run, true);
        }
        if i + run == end {
            return (end, false);
        }
        self.end_token(masker, r, out, counters);
        (i + run, true)
    }

    /// Writes a token value's replacement (the body or line ended, or a
    /// byte that ends tokens came).
    pub(super) fn end_token(&mut self, masker: &Masker, r: usize, out: &mut Vec<u8>, counters: &mut Counters) {
        counters.rules[r] += 1;
        match masker.rules.action(r) {
            Action::Drop => out.extend_from_slice(b"null"),
            action => {
                let mut rendered = Vec::new();
                action.render(&self.token, &mut rendered);
                write_json_quoted(&rendered, out);
            }
        }
        self.token.clear();
        self.look = Look::Out;
    }

    /// The rule of the token value being read.
    pub(super) fn token_rule(&self) -> Option<usize> {
        match self.look {
            Look::Token(r) => Some(r),
            _ => None,
        }
    }
}

impl JsonMasker {
    /// The text scan of `input[i..end]` (the rest of a malformed body, or
    /// of an NDJSON line) with the `"key": value` finder: text goes to the
    /// fallback window (processed by the caller); a value a rule takes is
    /// written by the rule, a string one by the caller.
    pub(super) fn text_with_keys(
        &mut self,
        masker: &Masker,
        input: &[u8],
        mut i: usize,
        end: usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> TextStop {
        let mut from = i;
        while i < end {
            if self.key_finder.in_token() {
                let mut spill = Vec::new();
                let (next, done) = self.key_finder.take_token(masker, input, i, end, out, counters, &mut spill);
                // An overlong token: the detectors scan it with what follows.
                self.fallback.push(&spill);
                i = next;
                from = i;
                if !done {
                    return TextStop::End;
                }
                continue;
            }
            let (at, found) = self.key_finder.find(masker, input, i, end);
            let rule = match found {
                Found::String(r) => Some(r),
                Found::Nothing | Found::Token => None,
            };
            if !matches!(found, Found::Nothing) {
                // The value starts: the text before it is decided first.
                self.fallback.push(&input[from..at]);
                self.fallback.process(masker, &self.text_key, true, Encoding::Raw, out, counters, &mut self.scratch);
                from = at;
            }
            if let Some(rule) = rule {
                return TextStop::String { at, rule };
            }
            i = at;
        }
        self.fallback.push(&input[from..end]);
        TextStop::End
    }

    /// Starts a string value that rule `r` takes in the text scan, at its
    /// quote `input[at]`: drop writes `null`; the string path writes the
    /// rest and comes back to the text scan when the string ends.
    pub(super) fn begin_text_string(&mut self, masker: &Masker, r: usize, counters: &mut Counters, out: &mut Vec<u8>) {
        counters.rules[r] += 1;
        self.dropping = matches!(masker.rules.action(r), Action::Drop);
        if self.dropping {
            out.extend_from_slice(b"null");
        }
        self.text_value = true;
    }
}
