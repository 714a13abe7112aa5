//! What happens to a value that a detector or field rule selected.
//!
//! `redact` writes a placeholder, `mask` keeps the last N letters/digits
//! and every separator, `hash` writes a keyed HMAC-SHA256 token carrying the
//! key id (the same value gives the same token wherever the key is shared;
//! there is no unkeyed hash), `drop` removes the value (a whole member in
//! JSON), `keep` leaves it as it is.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::json::strings::is_string_special;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of HMAC output shown in a token (96 bits).
const TOKEN_BYTES: usize = 12;

/// A secret for `hash`, with the id written into every token so keys can
/// rotate without ambiguity. The HMAC is keyed once, here; each value then
/// starts from a copy of that state (no key setup per value, no failure
/// possible in the data path). The secret itself is not kept.
#[derive(Clone)]
pub struct HashKey {
    pub id: String,
    keyed: HmacSha256,
}

/// The secret could not key an HMAC.
#[derive(Debug, thiserror::Error)]
#[error("hash key `{0}` cannot key HMAC-SHA256")]
pub struct HashKeyError(String);

impl HashKey {
    pub fn new(id: impl Into<String>, secret: &[u8]) -> Result<HashKey, HashKeyError> {
        let id = id.into();
        match <HmacSha256 as KeyInit>::new_from_slice(secret) {
            Ok(keyed) => Ok(HashKey { id, keyed }),
            Err(_) => Err(HashKeyError(id)),
        }
    }

    fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashKey").field("id", &self.id).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub enum Action {
    Redact { placeholder: String },
    Mask { keep_last: usize },
    Hash { key: Arc<HashKey>, label: String },
    Drop,
    Keep,
}

impl Action {
    /// The placeholder of a `redact` that needs no escaping inside a JSON
    /// string (no `"`, `\\` or control byte), and so is written the same
    /// in JSON and in text.
    pub fn plain_placeholder(&self) -> Option<Box<[u8]>> {
        match self {
            Action::Redact { placeholder } if !placeholder.bytes().any(is_string_special) => {
                Some(placeholder.as_bytes().into())
            }
            _ => None,
        }
    }

    /// Writes the replacement for a whole value (not yet escaped for its
    /// context: the caller encodes it).
    pub fn render(&self, value: &[u8], out: &mut Vec<u8>) {
        match self {
            Action::Redact { placeholder } => out.extend_from_slice(placeholder.as_bytes()),
            Action::Mask { keep_last } => {
                let mut masker = StreamingMask::new(*keep_last);
                masker.push(value, out);
                masker.finish(out);
            }
            Action::Hash { key, label } => {
                let mut h = StreamingHash::new(key.clone(), label.clone());
                h.push(value);
                h.finish(out);
            }
            Action::Drop => {}
            Action::Keep => out.extend_from_slice(value),
        }
    }
}

/// `hash` over a value that arrives in pieces.
#[derive(Clone)]
pub struct StreamingHash {
    mac: HmacSha256,
    key: Arc<HashKey>,
    label: String,
}

impl StreamingHash {
    pub fn new(key: Arc<HashKey>, label: String) -> StreamingHash {
        StreamingHash { mac: key.mac(), key, label }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.mac.update(bytes);
    }

    /// Writes `[LABEL:keyid:hex]`.
    pub fn finish(self, out: &mut Vec<u8>) {
        let tag = self.mac.finalize().into_bytes();
        out.push(b'[');
        out.extend_from_slice(self.label.as_bytes());
        out.push(b':');
        out.extend_from_slice(self.key.id.as_bytes());
        out.push(b':');
        for b in &tag[..TOKEN_BYTES] {
            out.extend_from_slice(&hex_byte(*b));
        }
        out.push(b']');
    }
}

impl fmt::Debug for StreamingHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingHash").field("key", &self.key.id).finish_non_exhaustive()
    }
}

fn hex_byte(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]
}

/// `mask` over a value that arrives in pieces: letters and digits become
/// `*` except the last `keep_last`, separators stay. Holds back only the
/// tail that might still be kept, so memory stays bounded.
#[derive(Debug)]
pub struct StreamingMask {
    keep_last: usize,
    pending: Vec<u8>,
}

/// Pending bytes past which the masked head is written out.
const MASK_FLUSH: usize = 256;

impl StreamingMask {
    pub fn new(keep_last: usize) -> StreamingMask {
        StreamingMask { keep_last, pending: Vec::new() }
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() > self.keep_last * 4 + MASK_FLUSH {
            let cut = self.split_for_kept_tail();
            // Never cut inside a UTF-8 scalar.
            let mut cut = cut;
            while cut > 0 && cut < self.pending.len() && self.pending[cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            mask_into(&self.pending[..cut], usize::MAX, out);
            self.pending.drain(..cut);
        }
    }

    pub fn finish(self, out: &mut Vec<u8>) {
        let kept_from = self.split_for_kept_tail();
        mask_into(&self.pending, kept_from, out);
    }

    /// Index in `pending` where the kept tail (the last `keep_last`
    /// maskable characters) starts.
    fn split_for_kept_tail(&self) -> usize {
        let text = String::from_utf8_lossy(&self.pending);
        if text.len() != self.pending.len() {
            // Not UTF-8: count bytes.
            return count_back(
                self.pending.iter().rev().map(|&b| (b.is_ascii_alphanumeric(), 1)),
                self.keep_last,
                self.pending.len(),
            );
        }
        count_back(text.chars().rev().map(|c| (c.is_alphanumeric(), c.len_utf8())), self.keep_last, self.pending.len())
    }
}

fn count_back(rev: impl Iterator<Item = (bool, usize)>, keep: usize, len: usize) -> usize {
    let mut pos = len;
    let mut kept = 0;
    for (maskable, n) in rev {
        if kept == keep {
            break;
        }
        kept += maskable as usize;
        pos -= n;
    }
    pos
}

/// Writes `bytes` with letters and digits before `kept_from` as `*`.
fn mask_into(bytes: &[u8], kept_from: usize, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < bytes.len() {
        if i >= kept_from {
            out.extend_from_slice(&bytes[i..]);
            return;
        }
        let b = bytes[i];
        if b < 0x80 {
            out.push(if b.is_ascii_alphanumeric() { b'*' } else { b });
            i += 1;
        } else {
            match crate::mask::bytes::char_at(bytes, i) {
                Some((c, n)) => {
                    if c.is_alphanumeric() {
                        out.push(b'*');
                    } else {
                        out.extend_from_slice(&bytes[i..i + n]);
                    }
                    i += n;
                }
                None => {
                    out.push(b'*');
                    i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(a: &Action, v: &str) -> String {
        let mut out = Vec::new();
        a.render(v.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn mask_keeps_separators_and_the_last_n() {
        let a = Action::Mask { keep_last: 4 };
        assert_eq!(render(&a, "4111-1111-1111-1234"), "****-****-****-1234");
        assert_eq!(render(&a, "+44 20 7946 0958"), "+** ** **** 0958");
        assert_eq!(render(&a, "桃子.阿部@ex.jp"), "**.**@ex.jp");
        assert_eq!(render(&Action::Mask { keep_last: 0 }, "ab-c"), "**-*");
    }

    #[test]
    fn streaming_mask_equals_whole_value_mask_for_any_split() {
        let v = "x".repeat(700) + "-桃子-1234";
        let whole = render(&Action::Mask { keep_last: 3 }, &v);
        for split in [1, 300, 699, 701, 703] {
            let mut m = StreamingMask::new(3);
            let mut out = Vec::new();
            m.push(&v.as_bytes()[..split], &mut out);
            m.push(&v.as_bytes()[split..], &mut out);
            m.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), whole, "split {split}");
        }
    }

    #[test]
    fn hash_tokens_are_keyed_stable_and_carry_the_key_id() {
        let k1 = Arc::new(HashKey::new("k1", b"secret-one").unwrap());
        let k2 = Arc::new(HashKey::new("k2", b"secret-two").unwrap());
        let a1 = Action::Hash { key: k1.clone(), label: "EMAIL".into() };
        let t = render(&a1, "a@b.io");
        assert_eq!(t, render(&Action::Hash { key: k1, label: "EMAIL".into() }, "a@b.io"));
        assert!(t.starts_with("[EMAIL:k1:") && t.len() == "[EMAIL:k1:]".len() + 24, "{t}");
        assert_ne!(t[10..], render(&Action::Hash { key: k2, label: "EMAIL".into() }, "a@b.io")[10..]);
        assert_ne!(t, render(&a1, "a@b.iO"));
    }

    #[test]
    fn key_debug_never_shows_the_secret() {
        let k = HashKey::new("k1", b"hunter2").unwrap();
        assert!(!format!("{k:?}").contains("hunter2"));
    }
}
