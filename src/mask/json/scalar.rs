//! Numbers and literals in JSON: their grammar, whether a detector could
//! match one (most are decided without a scan), and what becomes of one
//! under the detectors or a field rule.
//!
//! Must not depend on the loops' states: both the plain loop and the
//! general state machine ask it.

use super::{JsonMasker, MAX_TOKEN, Plan, context_key};
use crate::mask::action::Action;
use crate::mask::detect::numeric::NumericDetector;
use crate::mask::detect::{Hay, KeyContexts};
use crate::mask::segment::{Encoding, for_each_match, write_json_escaped, write_json_quoted};
use crate::mask::{Counters, Masker};

/// What becomes of a number or literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenOut {
    Unchanged,
    /// Replaced by `token_out` (a quoted JSON string).
    Replaced,
    Removed,
    Malformed,
}

/// What a well-formed number or literal is, for [`JsonMasker::scalar_may_match`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scalar {
    /// `true`, `false`, `null`.
    Literal,
    /// Digits, perhaps after a minus.
    Integer,
    /// A number with a fraction or an exponent.
    Fraction,
}
#[inline(always)]
pub(super) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}
/// Where the JSON number that starts at `i` ends (its grammar, `-? (0 |
/// [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as far as it goes)
/// and which kind it is, or `None` when no number starts there.
///
/// Tried: the digit runs found with one SSE2 compare instead of a byte
/// loop (no loop exit to mispredict): -1% instructions and -15% of
/// callgrind's simulated mispredicts, but no faster on dense records
/// (+4..9% time in two alternated runs, even in a third); the CPU
/// predicts the byte loop's exits better than that model.
#[inline]
fn number_end(t: &[u8], mut i: usize) -> Option<(usize, Scalar)> {
    /// Index past the digits starting at `i`, and whether there were any.
    #[inline(always)]
    fn digits(t: &[u8], mut i: usize) -> (usize, bool) {
        let start = i;
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
        (i, i > start)
    }
    i += (t.get(i) == Some(&b'-')) as usize;
    match t.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(t, i).0,
        _ => return None,
    }
    let mut kind = Scalar::Integer;
    if t.get(i) == Some(&b'.') {
        let (next, any) = digits(t, i + 1);
        if !any {
            return None;
        }
        i = next;
        kind = Scalar::Fraction;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (next, any) = digits(t, i);
        if !any {
            return None;
        }
        i = next;
        kind = Scalar::Fraction;
    }
    Some((i, kind))
}

/// The longest integer part [`integral`] writes: longer runs of digits
/// hold no card or phone number.
const MAX_INTEGRAL: usize = 40;

/// The integer a number with a fraction or an exponent stands for, as a
/// reader writes it (`4111111111111111.0`, `4.111111111111111e15` and
/// `41111111111111110e-1` are all `4111111111111111`): its sign and the
/// digits before the point, in `buf`; `None` when that is shorter than
/// [`NumericDetector::MIN_DIGITS`] (no detector matches it) or longer than
/// [`MAX_INTEGRAL`]. The fraction is dropped: a card written
/// `4111111111111111.5` is still a card to a reader.
fn integral<'b>(token: &[u8], buf: &'b mut [u8; MAX_INTEGRAL + 1]) -> Option<&'b [u8]> {
    let negative = token.first() == Some(&b'-');
    let body = &token[negative as usize..];
    let mantissa_end = body.iter().position(|&b| matches!(b, b'e' | b'E')).unwrap_or(body.len());
    let (mantissa, exponent) = body.split_at(mantissa_end);
    let exponent: i64 = match exponent.get(1..) {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.first() {
                Some(b'-') => (-1, &e[1..]),
                Some(b'+') => (1, &e[1..]),
                _ => (1, e),
            };
            // Past this the number is far too long or too small.
            if digits.len() > 4 {
                return None;
            }
            sign * digits.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'))
        }
    };
    let point = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len());
    let digits = mantissa.iter().filter(|b| b.is_ascii_digit());
    // The integer part has `point + exponent` digits, leading zeros
    // included; they are dropped as they come.
    let int_len = point as i64 + exponent;
    if int_len < NumericDetector::MIN_DIGITS as i64 {
        return None;
    }
    let mut n = 0;
    if negative {
        buf[0] = b'-';
        n = 1;
    }
    for &d in digits.chain(std::iter::repeat(&b'0')).take(int_len as usize) {
        if d == b'0' && n == negative as usize {
            continue;
        }
        if n > MAX_INTEGRAL {
            return None;
        }
        buf[n] = d;
        n += 1;
    }
    (n - negative as usize >= NumericDetector::MIN_DIGITS).then_some(&buf[..n])
}

/// The non-finite numbers lenient writers emit (JavaScript's and
/// Python's spelling): read as literals, which no detector matches.
#[cold]
pub(super) fn is_lenient_literal(token: &[u8]) -> bool {
    matches!(token, b"NaN" | b"Infinity" | b"-Infinity" | b"+Infinity")
}

/// Where the number or literal starting at `i` ends, and its kind, when it
/// is whole and well formed in `input`: followed by a byte that cannot
/// continue a token, at most [`MAX_TOKEN`] long. `None` leaves it to the
/// general token path (malformed, or cut by the chunk).
#[inline(always)]
pub(super) fn scalar_end(input: &[u8], i: usize) -> Option<(usize, Scalar)> {
    let rest = &input[i..];
    let (end, kind) = match rest.first_chunk::<4>() {
        Some(b"true" | b"null") => (i + 4, Scalar::Literal),
        Some(b"fals") if rest.get(4) == Some(&b'e') => (i + 5, Scalar::Literal),
        _ => number_end(input, i)?,
    };
    (end < input.len() && !is_token_byte(input[end]) && end - i <= MAX_TOKEN).then_some((end, kind))
}
/// [`JsonMasker::long_integer_may_match`] for a key not in the cache.
#[cold]
#[inline(never)]
fn integer_under_new_key(masker: &Masker, contexts: &mut KeyContexts, digits: &[u8], key: &[u8]) -> bool {
    masker.detectors.integer_may_match(digits, || contexts.fill(&masker.detectors, key))
}
impl JsonMasker {
    /// Whether a scalar can hold a match at all. Literals never do.
    /// Built-in detectors only match integers of seven digits or more (a
    /// card, or a phone or SSN under a key that says so): prices,
    /// coordinates, timestamps under other keys and small ids are decided
    /// here without a scan. User-defined detectors may match any number.
    #[inline(always)]
    pub(super) fn scalar_may_match(
        &mut self,
        masker: &Masker,
        token: &[u8],
        kind: Scalar,
        unsaved_key: Option<&[u8]>,
    ) -> bool {
        match kind {
            Scalar::Literal => false,
            _ if masker.detectors.has_custom() => true,
            // Shorter, it has fewer digits before its point than a match.
            Scalar::Fraction if token.len() <= NumericDetector::MIN_DIGITS => false,
            Scalar::Fraction => {
                let mut buf = [0; MAX_INTEGRAL + 1];
                match integral(token, &mut buf) {
                    Some(int) => {
                        let digits = int.strip_prefix(b"-").unwrap_or(int);
                        self.long_integer_may_match(masker, digits, unsaved_key)
                    }
                    None => false,
                }
            }
            Scalar::Integer => {
                // Cheapest first: most integers are short (ids, counts).
                let digits = token.strip_prefix(b"-").unwrap_or(token);
                digits.len() >= NumericDetector::MIN_DIGITS && self.long_integer_may_match(masker, digits, unsaved_key)
            }
        }
    }

    /// [`JsonMasker::scalar_may_match`] for an integer of seven digits or
    /// more.
    #[inline(never)]
    fn long_integer_may_match(&mut self, masker: &Masker, digits: &[u8], unsaved_key: Option<&[u8]>) -> bool {
        let key = unsaved_key.unwrap_or_else(|| context_key(&self.frames, &self.keys));
        match self.key_contexts.cached(key) {
            Some(context) => masker.detectors.integer_may_match(digits, || context),
            None => integer_under_new_key(masker, &mut self.key_contexts, digits, key),
        }
    }

    /// Fast path for a literal, or a number no detector can match, whole
    /// in the chunk at `i` (see [`scalar_end`]): returns where it ends, so
    /// it is left in place.
    #[inline(always)]
    pub(super) fn take_inert_scalar(
        &mut self,
        masker: &Masker,
        input: &[u8],
        i: usize,
        unsaved_key: Option<&[u8]>,
    ) -> Option<usize> {
        let (end, kind) = scalar_end(input, i)?;
        (!self.scalar_may_match(masker, &input[i..end], kind, unsaved_key)).then_some(end)
    }

    /// Decides what becomes of a whole number or literal; a replacement is
    /// left in `token_out`, quoted (a masked number becomes a string so the
    /// JSON stays valid).
    pub(super) fn judge_token(&mut self, masker: &Masker, token: &[u8], counters: &mut Counters) -> TokenOut {
        let kind = if matches!(token, b"true" | b"false" | b"null") {
            Scalar::Literal
        } else {
            match number_end(token, 0) {
                Some((end, kind)) if end == token.len() => kind,
                _ if is_lenient_literal(token) => Scalar::Literal,
                _ => return TokenOut::Malformed,
            }
        };
        self.token_out.clear();
        let plan = self.token_plan;
        match plan {
            Plan::Scan if !self.scalar_may_match(masker, token, kind, None) => TokenOut::Unchanged,
            Plan::Scan => {
                let mut buf = [0; MAX_INTEGRAL + 1];
                // A fraction is read as the integer it stands for; a match
                // there replaces the whole number.
                let read = match kind {
                    Scalar::Fraction => integral(token, &mut buf),
                    _ => None,
                };
                if let Some(int) = read
                    && self.replace_read_number(masker, int, counters)
                {
                    return TokenOut::Replaced;
                }
                let key = context_key(&self.frames, &self.keys);
                let hay = Hay::whole(token, key);
                let out = &mut self.token_out;
                let mut emitted = 0;
                out.push(b'"');
                let enc = Encoding::JsonString;
                for_each_match(masker, &hay, 0, None, enc, counters, &mut self.scratch, &mut |mt, replacement| {
                    write_json_escaped(&token[emitted..mt.start], out);
                    out.extend_from_slice(replacement);
                    emitted = mt.end;
                });
                if emitted == 0 {
                    return TokenOut::Unchanged;
                }
                write_json_escaped(&token[emitted..], out);
                out.push(b'"');
                TokenOut::Replaced
            }
            Plan::Rule(r) => match masker.rules.action(r) {
                Action::Keep => TokenOut::Unchanged,
                Action::Drop => TokenOut::Removed,
                action => {
                    self.rendered.clear();
                    action.render(token, &mut self.rendered);
                    write_json_quoted(&self.rendered, &mut self.token_out);
                    TokenOut::Replaced
                }
            },
        }
    }
}

impl JsonMasker {
    /// Scans `read`, the integer a number stands for; with a match,
    /// leaves it masked in `token_out` as a quoted string.
    #[cold]
    fn replace_read_number(&mut self, masker: &Masker, read: &[u8], counters: &mut Counters) -> bool {
        let key = context_key(&self.frames, &self.keys);
        let hay = Hay::whole(read, key);
        let out = &mut self.token_out;
        out.clear();
        out.push(b'"');
        let mut emitted = 0;
        let mut any = false;
        let enc = Encoding::JsonString;
        for_each_match(masker, &hay, 0, None, enc, counters, &mut self.scratch, &mut |mt, replacement| {
            write_json_escaped(&read[emitted..mt.start], out);
            out.extend_from_slice(replacement);
            emitted = mt.end;
            any = true;
        });
        if !any {
            out.clear();
            return false;
        }
        write_json_escaped(&read[emitted..], out);
        out.push(b'"');
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `t` is a JSON number.
    #[cfg(test)]
    fn is_number(t: &[u8]) -> bool {
        number_end(t, 0).map(|(end, _)| end) == Some(t.len())
    }

    #[test]
    fn number_grammar_is_json_s() {
        for ok in ["0", "-0", "7", "-12", "1.5", "0.25", "1e5", "1E+5", "-1.5e-3", "1700000000123"] {
            assert!(is_number(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1.5.2", "12ab", "--1", "0x10", "1_000"] {
            assert!(!is_number(bad.as_bytes()), "{bad}");
        }
    }

    /// The in-place path takes only whole, well-formed scalars; anything cut
    /// by the chunk, run on into letters or overlong is left to the general
    /// token path.
    #[test]
    fn scalars_are_taken_in_place_only_when_whole() {
        for (text, want) in [
            ("12,", Some((2, Scalar::Integer))),
            ("-1700000000,", Some((11, Scalar::Integer))),
            ("-1.5e3}", Some((6, Scalar::Fraction))),
            ("1E5]", Some((3, Scalar::Fraction))),
            ("0]", Some((1, Scalar::Integer))),
            ("true,", Some((4, Scalar::Literal))),
            ("null ", Some((4, Scalar::Literal))),
            ("false}", Some((5, Scalar::Literal))),
            ("12", None),
            ("true", None),
            ("01,", None),
            ("12ab,", None),
            ("1.5.2,", None),
            ("truex,", None),
            ("nul,", None),
            ("fals,", None),
            ("-,", None),
        ] {
            assert_eq!(scalar_end(text.as_bytes(), 0), want, "{text}");
        }
        let overlong = format!("{},", "7".repeat(MAX_TOKEN + 1));
        assert_eq!(scalar_end(overlong.as_bytes(), 0), None);
    }

    fn read(t: &str) -> Option<String> {
        let mut buf = [0; MAX_INTEGRAL + 1];
        integral(t.as_bytes(), &mut buf).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    #[test]
    fn a_fraction_or_exponent_reads_as_its_integer() {
        for (t, want) in [
            ("4111111111111111.0", "4111111111111111"),
            ("4.111111111111111e15", "4111111111111111"),
            ("4111111111111111E0", "4111111111111111"),
            ("41111111111111110e-1", "4111111111111111"),
            ("4111111111111111.5", "4111111111111111"),
            ("0.4111111111111111e16", "4111111111111111"),
            ("4.1111111111111e15", "4111111111111100"),
            ("-1.4155552671e10", "-14155552671"),
            ("1e21", "1000000000000000000000"),
        ] {
            assert_eq!(read(t).as_deref(), Some(want), "{t}");
        }
        for t in ["1.5", "96.18", "52.520008", "1e5", "1.7e-3", "0.0", "1e99999", "1e50", "123456.7"] {
            assert_eq!(read(t), None, "{t}");
        }
    }
}
