//! Streaming masking of `application/x-www-form-urlencoded` bodies.
//!
//! A body is split on `&` (WHATWG forms have no other separator) and each
//! pair on its first `=`. Keys and values are percent-decoded (`+` is a
//! space) before detection, so `email=john.doe%40example.com` is an email.
//! The decoded key is the value's context, as a JSON member's key is: it
//! lets a bare national number under `phone=` be a phone, and a field rule
//! `$.email` or `$..email` acts on the value of the key `email`.
//!
//! Output keeps the input's bytes wherever nothing matched: only a match is
//! replaced, by its replacement percent-encoded as the `form_urlencoded`
//! serializer writes it (`[EMAIL]` becomes `%5BEMAIL%5D`). A value whose
//! decoding still holds `%XX` (encoded twice) is decoded once more and
//! scanned again; a match there masks its whole span in the input.
//!
//! A key or value is held whole up to [`MAX_HELD`] decoded bytes. Past
//! that it is scanned through a window with a bounded carry-over, like a
//! text body (a value that long is not decoded a second time), so memory
//! does not grow with the body.
//!
//! A form's `charset` parameter names the charset of its decoded bytes
//! (the body itself is ASCII, as serializers write it): Tomcat and
//! Jetty read `%82%81` under `charset=shift_jis` as `ａ`. Under such a
//! label keys and values are also read in that charset for detection,
//! and keys in it for rules.
//!
//! One concern per file: this file splits pairs and applies field rules;
//! [`field`] masks one key or value; [`codec`] decodes and encodes.

mod codec;
mod field;

pub use self::codec::{Decoder, write_form_encoded};
use self::codec::{find1, find2};
use self::field::{Field, Scratch, write_replacement};
use super::action::{Action, StreamingHash, StreamingMask};
use super::json::path::States;
use super::{Counters, Masker};

/// Decoded bytes of a key or value held whole; longer ones are scanned
/// through a window.
pub const MAX_HELD: usize = 64 * 1024;
/// Decoded key bytes kept as context and for rules; longer keys match none.
const MAX_KEY: usize = 256;
/// Stands for a key too long to match any rule (never valid UTF-8).
const OVERLONG_KEY: &[u8] = &[0xFF];

/// What becomes of the current value.
#[derive(Debug)]
enum Target {
    /// Detectors, under the key.
    Scan,
    Keep,
    /// Replaced already (redact): input goes nowhere.
    Discard,
    /// The whole pair is removed, and the `&` after it.
    Drop,
    Mask(StreamingMask, Decoder),
    Hash(Box<StreamingHash>, Decoder),
}

/// The form half of a [`super::MaskStream`].
#[derive(Debug)]
pub struct FormMasker {
    in_value: bool,
    key: Field,
    /// The decoded key, as context and for rules ([`OVERLONG_KEY`] when
    /// longer than [`MAX_KEY`]).
    key_context: Vec<u8>,
    value: Field,
    target: Target,
    root: States,
    next: States,
    scratch: Scratch,
}

impl FormMasker {
    pub fn new(masker: &Masker) -> FormMasker {
        FormMasker::in_charset(masker, None)
    }

    /// A form whose decoded bytes are in `charset` (UTF-8 when `None`).
    pub fn in_charset(masker: &Masker, charset: Option<&'static encoding_rs::Encoding>) -> FormMasker {
        let charset = charset.filter(|&c| c != encoding_rs::UTF_8);
        FormMasker {
            in_value: false,
            key: Field::default(),
            key_context: Vec::new(),
            value: Field::default(),
            target: Target::Scan,
            root: masker.rules.root(),
            next: States::new(),
            scratch: Scratch::in_charset(charset),
        }
    }

    /// Bytes held across calls.
    pub fn held_bytes(&self) -> usize {
        self.key.held() + self.value.held()
    }

    pub fn feed(&mut self, masker: &Masker, input: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        let mut i = 0;
        while i < input.len() {
            if self.in_value {
                let end = find1(b'&', &input[i..]).map(|p| i + p);
                let j = end.unwrap_or(input.len());
                self.value_bytes(masker, &input[i..j], out, counters);
                let Some(j) = end else { break };
                // A dropped pair takes its `&` with it.
                if !self.end_value(masker, out, counters) {
                    out.push(b'&');
                }
                self.in_value = false;
                i = j + 1;
            } else {
                let end = find2(b'=', b'&', &input[i..]).map(|p| i + p);
                let j = end.unwrap_or(input.len());
                self.key.push(&input[i..j]);
                if self.key.windowed {
                    self.key.process(masker, b"", false, out, counters, &mut self.scratch);
                }
                let Some(j) = end else { break };
                if input[j] == b'&' {
                    self.key.process(masker, b"", true, out, counters, &mut self.scratch);
                    out.push(b'&');
                } else {
                    self.begin_value(masker, out, counters);
                }
                i = j + 1;
            }
        }
    }

    pub fn finish(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        if self.in_value {
            self.end_value(masker, out, counters);
            self.in_value = false;
        } else {
            self.key.process(masker, b"", true, out, counters, &mut self.scratch);
        }
    }

    /// At a pair's `=`: the key is decided, written (unless a rule drops
    /// the pair), and the value's treatment planned.
    fn begin_value(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        self.key.seal();
        self.key_context.clear();
        if self.key.windowed || self.key.dec.len() > MAX_KEY {
            self.key_context.extend_from_slice(OVERLONG_KEY);
        } else if let Some(charset) = self.scratch.charset
            && let (key, false) = charset.decode_without_bom_handling(&self.key.dec)
        {
            self.key_context.extend_from_slice(key.as_bytes());
        } else {
            self.key_context.extend_from_slice(&self.key.dec);
        }
        let rule = (!masker.rules.is_empty() && self.key_context != OVERLONG_KEY)
            .then(|| masker.rules.step_field_name(&self.root, &self.key_context, &mut self.next))
            .flatten();
        if let Some(r) = rule {
            counters.rules[r] += 1;
        }
        let action = rule.map(|r| masker.rules.action(r));
        if let Some(Action::Drop) = action {
            self.key.clear();
            self.target = Target::Drop;
            self.in_value = true;
            return;
        }
        self.key.process(masker, b"", true, out, counters, &mut self.scratch);
        out.push(b'=');
        self.target = match action {
            None => Target::Scan,
            Some(Action::Keep) => Target::Keep,
            Some(Action::Drop) => Target::Drop,
            Some(Action::Redact { placeholder }) => {
                write_replacement(placeholder.as_bytes(), self.scratch.charset, out);
                Target::Discard
            }
            Some(Action::Mask { keep_last }) => Target::Mask(StreamingMask::new(*keep_last), Decoder::default()),
            Some(Action::Hash { key, label }) => {
                Target::Hash(Box::new(StreamingHash::new(key.clone(), label.clone())), Decoder::default())
            }
        };
        self.in_value = true;
    }

    fn value_bytes(&mut self, masker: &Masker, bytes: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        let s = &mut self.scratch;
        match &mut self.target {
            Target::Scan => {
                self.value.push(bytes);
                if self.value.windowed {
                    self.value.process(masker, &self.key_context, false, out, counters, s);
                }
            }
            Target::Keep => out.extend_from_slice(bytes),
            Target::Discard | Target::Drop => {}
            Target::Mask(mk, d) => {
                s.decoded.clear();
                d.push(bytes, &mut s.decoded);
                s.rendered.clear();
                mk.push(&s.decoded, &mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Hash(h, d) => {
                s.decoded.clear();
                d.push(bytes, &mut s.decoded);
                h.push(&s.decoded);
            }
        }
    }

    /// Ends the value (and the pair); true when a rule dropped the pair.
    fn end_value(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) -> bool {
        let s = &mut self.scratch;
        match std::mem::replace(&mut self.target, Target::Scan) {
            Target::Scan => self.value.process(masker, &self.key_context, true, out, counters, s),
            Target::Mask(mut mk, mut d) => {
                s.decoded.clear();
                d.finish(&mut s.decoded);
                s.rendered.clear();
                mk.push(&s.decoded, &mut s.rendered);
                mk.finish(&mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Hash(mut h, mut d) => {
                s.decoded.clear();
                d.finish(&mut s.decoded);
                h.push(&s.decoded);
                s.rendered.clear();
                h.finish(&mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Drop => return true,
            Target::Keep | Target::Discard => {}
        }
        false
    }
}

#[cfg(test)]
mod tests;
