//! The text of a [`super::segment::Window`] as a reader sees it, for a
//! window whose bytes hold other spellings ([`super::spelling`]): HTML
//! references, percent-escapes, Unicode spaces, fullwidth and invisible
//! characters. The detectors scan the decoded text; each match replaces
//! the whole original spelling it came from, and everything else is
//! written as it was, byte for byte.
//!
//! The view is decoded as bytes arrive, a spelling cut by a chunk waiting
//! for its end, so it is the same text however the segment is cut; it
//! keeps [`LOOKBEHIND`] decoded bytes before what it has written, as a
//! plain window keeps original ones. A character that shows as nothing
//! decodes to nothing, but only up to [`MAX_REMOVED`] in a row: each
//! decoded byte then stands for a bounded number of original bytes, which
//! keeps the original bytes a window holds bounded too.

use super::detect::{Hay, LOOKBEHIND};
use super::segment::{Encoding, ScanScratch, for_each_match, write_encoded};
use super::spelling::{Folded, Spelled, fold, may_start_spelling, spelled_at};
use super::{Counters, Masker};

/// Invisible characters in a row that decode to nothing; the next decodes
/// to a space, which ends any match.
pub const MAX_REMOVED: u8 = 8;

/// A window's decoded text. Offsets into the original are absolute (from
/// the segment's start), so they survive the window dropping bytes.
#[derive(Debug, Default)]
pub struct DecodedView {
    text: Vec<u8>,
    /// For each byte of `text`, the original bytes it was decoded from:
    /// the whole spelling (every byte of a decoded character has the same).
    from: Vec<u64>,
    to: Vec<u64>,
    /// Original bytes before this have been decoded.
    decoded_to: u64,
    /// `text[..emitted]` is written out (kept as context only).
    emitted: usize,
    /// Where the last match ended in `text` (see [`Hay::matched_to`]).
    matched_to: usize,
    /// Invisible characters just decoded to nothing.
    removed_run: u8,
    /// The end of the last original spelling that is not its own byte.
    last_spelled_end: u64,
}

/// Where a window's original bytes are: `buf[0]` is at `base` from the
/// segment's start; `buf[..emitted]` is written out.
pub struct Original<'a> {
    pub buf: &'a [u8],
    pub base: u64,
    pub emitted: usize,
}

impl DecodedView {
    /// A view of a plain window (no spelling in `buf[..plain_to]`) that
    /// takes over from it: its text is those bytes.
    pub fn from_plain(o: &Original, plain_to: usize, matched_to: usize) -> DecodedView {
        let plain = &o.buf[..plain_to];
        let mut view = DecodedView {
            emitted: o.emitted,
            matched_to,
            decoded_to: o.base + plain_to as u64,
            ..DecodedView::default()
        };
        view.push_plain(plain, o.base);
        view
    }

    fn push_plain(&mut self, bytes: &[u8], at: u64) {
        self.text.extend_from_slice(bytes);
        self.from.extend(at..at + bytes.len() as u64);
        self.to.extend(at + 1..at + 1 + bytes.len() as u64);
    }

    fn push_spelled(&mut self, bytes: &[u8], from: u64, to: u64) {
        self.text.extend_from_slice(bytes);
        for _ in bytes {
            self.from.push(from);
            self.to.push(to);
        }
        self.last_spelled_end = to;
    }

    /// Decodes the original bytes not decoded yet; with `complete`, all of
    /// them, else up to a spelling the bytes at hand may cut.
    fn decode(&mut self, o: &Original, complete: bool) {
        let buf = o.buf;
        let mut i = (self.decoded_to - o.base) as usize;
        while i < buf.len() {
            // The bytes up to the next spelling stand for themselves (a
            // byte that may start one but does not, a Hindi letter's lead,
            // is one of them).
            let mut run_end = i;
            let spelled = loop {
                match buf[run_end..].iter().position(|&b| may_start_spelling(b)) {
                    None => {
                        run_end = buf.len();
                        break Spelled::Plain;
                    }
                    Some(p) => run_end += p,
                }
                match spelled_at(buf, run_end, complete) {
                    Spelled::Plain => run_end += 1,
                    other => break other,
                }
            };
            if run_end > i {
                self.push_plain(&buf[i..run_end], o.base + i as u64);
                self.removed_run = 0;
                i = run_end;
            }
            let at = o.base + i as u64;
            match spelled {
                // `Plain`: the run reached the end of the bytes at hand.
                Spelled::NeedMore | Spelled::Plain => break,
                Spelled::Char { len, ch } => {
                    let end = at + len as u64;
                    match fold(ch) {
                        Folded::Removed if self.removed_run < MAX_REMOVED => {
                            self.removed_run += 1;
                            self.last_spelled_end = end;
                        }
                        Folded::Removed => {
                            self.push_spelled(b" ", at, end);
                            self.removed_run = 0;
                        }
                        Folded::Ascii(a) => {
                            self.push_spelled(&[a], at, end);
                            self.removed_run = 0;
                        }
                        Folded::Char(c) => {
                            let mut utf8 = [0; 4];
                            self.push_spelled(c.encode_utf8(&mut utf8).as_bytes(), at, end);
                            self.removed_run = 0;
                        }
                    }
                    i += len;
                }
            }
        }
        self.decoded_to = o.base + i as u64;
    }

    /// Decodes what arrived, masks what can be decided, and writes the
    /// original bytes up to there, each match's whole spelling replaced.
    /// Returns the new `emitted` of the original.
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        masker: &Masker,
        o: &Original,
        key: &[u8],
        complete: bool,
        enc: Encoding,
        out: &mut Vec<u8>,
        counters: &mut Counters,
        scratch: &mut ScanScratch,
    ) -> usize {
        self.decode(o, complete);
        let hay = Hay { bytes: &self.text, complete, key, matched_to: self.matched_to };
        let (buf, base) = (o.buf, o.base);
        let mut written = base + o.emitted as u64;
        let (from, to) = (&self.from, &self.to);
        let mut matched_to = self.matched_to;
        let resolved =
            for_each_match(masker, &hay, self.emitted, None, enc, counters, scratch, &mut |m, replacement| {
                let start = from[m.start].max(written);
                write_encoded(enc, &buf[(written - base) as usize..(start - base) as usize], out);
                out.extend_from_slice(replacement);
                written = to[m.end - 1].max(written);
                matched_to = m.end;
            });
        let upto = match self.from.get(resolved) {
            Some(&at) => at,
            None if complete => base + buf.len() as u64,
            None => self.decoded_to,
        }
        .max(written);
        write_encoded(enc, &buf[(written - base) as usize..(upto - base) as usize], out);
        self.emitted = resolved;
        self.matched_to = matched_to;
        if self.emitted > 2 * LOOKBEHIND + 4096 {
            let drop = self.emitted - LOOKBEHIND;
            self.text.drain(..drop);
            self.from.drain(..drop);
            self.to.drain(..drop);
            self.emitted -= drop;
            self.matched_to = self.matched_to.saturating_sub(drop);
        }
        (upto - base) as usize
    }

    /// When the original bytes a window holds (`buf`, at `base`) are all
    /// decoded and each stands for itself, the text is those bytes and a
    /// plain window can take over: where its last match ended, in `buf`.
    pub fn plain_again(&self, buf_len: usize, base: u64) -> Option<usize> {
        let plain = self.decoded_to == base + buf_len as u64 && self.last_spelled_end <= base && self.removed_run == 0;
        plain.then(|| match self.matched_to {
            0 => 0,
            m => self.to[m - 1].saturating_sub(base) as usize,
        })
    }

    /// Bytes held, the offsets beside the text included (for tests of
    /// the memory bound).
    pub fn held(&self) -> usize {
        self.text.len() + (self.from.len() + self.to.len()) * size_of::<u64>()
    }
}

/// Masks a whole segment that holds spellings (`bytes`, under `key`)
/// through a decoded view, writing it to `out` in `enc` with each
/// match's spelling replaced: what a window gives for the same segment.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn mask_spelled(
    masker: &Masker,
    bytes: &[u8],
    key: &[u8],
    enc: Encoding,
    out: &mut Vec<u8>,
    counters: &mut Counters,
    scratch: &mut ScanScratch,
) {
    let o = Original { buf: bytes, base: 0, emitted: 0 };
    DecodedView::default().process(masker, &o, key, true, enc, out, counters, scratch);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::mask::{ContentKind, MaskStream, Masker};

    fn masker() -> Arc<Masker> {
        Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile"))
    }

    /// `text` masked as a text body, after checking it comes out the same
    /// cut at every point and fed a byte at a time.
    fn masked(m: &Arc<Masker>, text: &str) -> String {
        let body = text.as_bytes();
        let (whole, _) = MaskStream::mask_all(m.clone(), ContentKind::Text, body);
        for cut in 0..=body.len() {
            let (cut_out, _) = MaskStream::mask_in_chunks(m.clone(), ContentKind::Text, body, &[cut]);
            assert_eq!(cut_out, whole, "{text:?} cut at {cut}");
        }
        let bytes: Vec<usize> = (0..=body.len()).collect();
        assert_eq!(MaskStream::mask_in_chunks(m.clone(), ContentKind::Text, body, &bytes).0, whole, "{text:?}");
        String::from_utf8(whole).expect("utf-8 in, utf-8 out")
    }

    #[test]
    fn every_spelling_of_an_email_is_masked_and_the_markup_kept() {
        let m = masker();
        for email in [
            "john.doe&#64;example.com",
            "john.doe&#x40;example.com",
            "john.doe&#X40;example.com",
            "john.doe&commat;example.com",
            "john&period;doe&commat;example&period;com",
            "john.doe%40example.com",
            "john.doe%40example%2Ecom",
            "john.doe＠example.com",
            "ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "john.doe%EF%BC%A0example.com",
            "john.d\u{200B}oe@exa\u{AD}mple.com",
            "john.doe\u{2060}@\u{FEFF}example.com",
            "john.doe&#64example.com",
        ] {
            for (before, after) in
                [("<p>Write to ", " today &amp; tomorrow</p>"), ("<a href=\"mailto:", "\">mail</a>"), ("", "")]
            {
                let text = format!("{before}{email}{after}");
                assert_eq!(masked(&m, &text), format!("{before}[EMAIL]{after}"), "{text:?}");
            }
        }
    }

    #[test]
    fn every_spelling_of_a_phone_or_card_is_masked() {
        let m = masker();
        for (text, expected) in [
            ("<a href=\"tel:+14155552671\">Call</a>", "<a href=\"tel:[PHONE]\">Call</a>"),
            ("<a href=\"tel:14155552671\">Call</a>", "<a href=\"tel:[PHONE]\">Call</a>"),
            ("<a href=\"tel:%2B14155552671\">x</a>", "<a href=\"tel:[PHONE]\">x</a>"),
            ("<a href=\"https://wa.me/14155552671?text=hi\">x</a>", "<a href=\"https://wa.me/[PHONE]?text=hi\">x</a>"),
            ("whatsapp://send?phone=14155552671", "whatsapp://send?phone=[PHONE]"),
            ("https://t.me/+14155552671", "https://t.me/[PHONE]"),
            ("callto:+14155552671", "callto:[PHONE]"),
            ("sms:14155552671", "sms:[PHONE]"),
            ("Tél. +33&nbsp;6&nbsp;12&nbsp;34&nbsp;56&nbsp;78.", "Tél. [PHONE]."),
            ("Tél. +33\u{A0}6\u{A0}12\u{A0}34\u{A0}56\u{A0}78.", "Tél. [PHONE]."),
            ("Tél. +33\u{202F}6\u{202F}12\u{202F}34\u{202F}56\u{202F}78.", "Tél. [PHONE]."),
            ("Tél. +33\u{2009}6\u{2009}12\u{2009}34\u{2009}56\u{2009}78.", "Tél. [PHONE]."),
            ("ring ＋１ ４１５ ５５５ ２６７１ now", "ring [PHONE] now"),
            ("ring +1&#32;415&#x20;555&#8209;2671 now", "ring [PHONE] now"),
            ("ring +1 415\u{2011}555\u{2011}2671 now", "ring [PHONE] now"),
            ("ring +1415\u{200B}555\u{200B}2671 now", "ring [PHONE] now"),
            ("call %2B1%20415%20555%202671 now", "call [PHONE] now"),
            ("card 4111&nbsp;1111&nbsp;1111&nbsp;1111 ok", "card [CARD] ok"),
            ("card 4111\u{A0}1111\u{A0}1111\u{A0}1111 ok", "card [CARD] ok"),
            ("card ４１１１ １１１１ １１１１ １１１１ ok", "card [CARD] ok"),
            ("card 4111\u{AD}1111\u{AD}1111\u{AD}1111 ok", "card [CARD] ok"),
            ("card 4111%201111%201111%201111 ok", "card [CARD] ok"),
        ] {
            assert_eq!(masked(&m, text), expected, "{text:?}");
        }
    }

    /// Digits of other scripts and forms, and lookalikes of `@` and `.`,
    /// are read as a reader reads them; each whole spelling is replaced.
    #[test]
    fn digits_of_other_scripts_and_lookalikes_are_read() {
        let m = masker();
        for (text, expected) in [
            ("call +٤٤ ٧٤٠٠ ١٢٣٤٥٦ now", "call [PHONE] now"),
            ("card ٤١١١ ١١١١ ١١١١ ١١١١ ok", "card [CARD] ok"),
            ("card ٤١١١٬١١١١٬١١١١٬١١١١ ok", "card [CARD] ok"),
            ("card \u{200F}٤١١١ ١١١١ ١١١١ ١١١١\u{200F} ok", "card \u{200F}[CARD]\u{200F} ok"),
            ("تلفن ۰۷۴۰۰ ۱۲۳۴۵۶ برای", "تلفن [PHONE] برای"),
            ("card ४१११ ११११ ११११ ११११ ok", "card [CARD] ok"),
            ("card ৪১১১ ১১১১ ১১১১ ১১১১ ok", "card [CARD] ok"),
            ("card ๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๑ ok", "card [CARD] ok"),
            ("card 𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 ok", "card [CARD] ok"),
            ("card ④①①① ①①①① ①①①① ①①①① ok", "card [CARD] ok"),
            ("card 4111 1111 ¹¹¹¹ 1111 ok", "card [CARD] ok"),
            ("mail ana.lopez\u{FE6B}example.com now", "mail [EMAIL] now"),
            ("mail ana.lopez@example\u{3002}com now", "mail [EMAIL] now"),
            ("mail ana.lopez@example\u{FF61}com now", "mail [EMAIL] now"),
            ("mail ana.lopez@example\u{2024}com now", "mail [EMAIL] now"),
            ("mail ana.lopez@example\u{FE52}com now", "mail [EMAIL] now"),
            ("メール taro@example.co.jp。よろしく", "メール [EMAIL]。よろしく"),
        ] {
            assert_eq!(masked(&m, text), expected, "{text:?}");
        }
        for text in ["٢٠٢٤/١١/٠٣ ٣٫٥ كغ", "第①章 ②節", "हिन्दी पाठ १२३", "x² + y² = z²", "ภาษาไทย ๑๒"]
        {
            assert_eq!(masked(&m, text), text, "{text:?}");
        }
    }

    /// Script and style escapes, and markup between the characters of a
    /// value: the whole spelled span is replaced, markup inside it too.
    #[test]
    fn script_escapes_and_markup_between_characters_are_read() {
        let m = masker();
        for (text, expected) in [
            ("var e='ana.lopez\\u0040example.com';", "var e='[EMAIL]';"),
            ("<script>var e='ana.lopez\\x40example.com'</script>", "<script>var e='[EMAIL]'</script>"),
            ("var e=\"ana.lopez\\u{40}example\\u{2e}com\";", "var e=\"[EMAIL]\";"),
            ("a::after{content:'ana.lopez\\40 example.com'}", "a::after{content:'[EMAIL]'}"),
            ("a::after{content:'ana.lopez\\000040example.com'}", "a::after{content:'[EMAIL]'}"),
            ("<p>ana.lopez<wbr>@example.com</p>", "<p>[EMAIL]</p>"),
            ("<p>4111 <span>1111</span> 1111 1111</p>", "<p>[CARD]</p>"),
            ("<p>4111<b>1111</b>1111<i>1111</i></p>", "<p>[CARD]</i></p>"),
            ("ana.lopez<!-- -->@example.com", "[EMAIL]"),
            ("<td>ana.lopez@<span class=\"d\">example.com</span></td>", "<td>[EMAIL]</span></td>"),
            ("<a href=\"mailto:ana@example.com\">x</a>", "<a href=\"mailto:[EMAIL]\">x</a>"),
            ("<!-- ana@example.com -->", "<!-- [EMAIL] -->"),
        ] {
            assert_eq!(masked(&m, text), expected, "{text:?}");
        }
        for text in [
            "<p>Tom <b>and</b> Jerry</p><br><span class=\"x\">100</span>",
            "if (a < b && c > d) { s = '\\n\\u00e9\\x41'; }",
            "C:\\data\\4111 and \\1234 5678",
            "<ul><li>2024</li><li>11</li></ul>",
        ] {
            assert_eq!(masked(&m, text), text, "{text:?}");
        }
    }

    #[test]
    fn markup_and_urls_without_pii_are_unchanged() {
        let m = masker();
        for text in [
            "<p>Tom &amp; Jerry &lt;3 &nbsp; 100% &#64; &commat; alone</p>",
            "&#64;",
            "john&#64;",
            "https://example.com/search?q=%E6%97%A5%E6%9C%AC&x=%2F%2F%40%40&page=2&amp;sort=desc%20asc",
            "width: 100%; height: 50%; content: '\u{A0}'",
            "price 12\u{A0}345,67\u{202F}€ and 1\u{2009}000",
            "&#xZZ; &#; &nosuch; %zz %C2x %",
            "\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}",
            "order 415&#8209;555&#8209;2671",
        ] {
            assert_eq!(masked(&m, text), text, "{text:?}");
        }
    }

    #[test]
    fn a_long_run_of_invisible_characters_ends_a_match() {
        let m = masker();
        let zw = "\u{200B}".repeat(40);
        let text = format!("john{zw}.doe@example.com");
        // The local part before the run is cut off; what is after it is
        // an address of its own (a local part does not start with `.`).
        assert_eq!(masked(&m, &text), format!("john{zw}.[EMAIL]"));
    }

    /// Bodies that switch between plain and spelled text many times, with
    /// matches on both sides of each switch, come out the same however cut.
    #[test]
    fn plain_and_spelled_stretches_alternate() {
        let m = masker();
        let filler = "lorem ipsum dolor sit amet ".repeat(200);
        let text = format!(
            "{filler}a@example.com {filler}b&#64;example.com {filler}+44 20 7946 0958 {filler}+33\u{A0}6\u{A0}12\u{A0}34\u{A0}56\u{A0}78 {filler}c@example.org"
        );
        let body = text.as_bytes();
        let (whole, _) = MaskStream::mask_all(m.clone(), ContentKind::Text, body);
        for step in [1, 7, 100, 4096, 5000] {
            let cuts: Vec<usize> = (0..body.len()).step_by(step).collect();
            assert_eq!(MaskStream::mask_in_chunks(m.clone(), ContentKind::Text, body, &cuts).0, whole, "step {step}");
        }
        let out = String::from_utf8(whole).expect("utf-8");
        assert_eq!(out.matches("[EMAIL]").count(), 3);
        assert_eq!(out.matches("[PHONE]").count(), 2);
        assert_eq!(
            out.len() - out.matches("[EMAIL]").count() * 7 - out.matches("[PHONE]").count() * 7,
            filler.len() * 5 + 4
        );
    }

    /// Spellings inside JSON string values are read through, in values
    /// the plain loop scans whole and in values cut by a chunk or holding
    /// JSON escapes alike.
    #[test]
    fn json_string_values_are_read_through_under_any_cut() {
        let m = masker();
        for (body, expected) in [
            (
                r#"{"a":"john.doe&#64;example.com \u00a0 x@example.com","b":"+1&nbsp;415 555 2671"}"#,
                "{\"a\":\"[EMAIL] \u{a0} [EMAIL]\",\"b\":\"[PHONE]\"}",
            ),
            (r#"["mail john.doe%40example.com now","ok"]"#, r#"["mail [EMAIL] now","ok"]"#),
            (r#"{"n":"ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"}"#, r#"{"n":"[EMAIL]"}"#),
            (r#"{"t":"tel: +33\u00a06\u00a012\u00a034\u00a056\u00a078","c":"é"}"#, r#"{"t":"tel: [PHONE]","c":"é"}"#),
            (
                r#"{"h":"<a href=\"tel:+14155552671\">x</a> &amp; 100%"}"#,
                r#"{"h":"<a href=\"tel:[PHONE]\">x</a> &amp; 100%"}"#,
            ),
            (r#"{"u":"\u0026#64; alone, 5 &amp; 6 % é"}"#, r#"{"u":"&#64; alone, 5 &amp; 6 % é"}"#),
        ] {
            let body = body.as_bytes();
            let (whole, _) = MaskStream::mask_all(m.clone(), ContentKind::Json, body);
            assert_eq!(String::from_utf8_lossy(&whole), expected);
            for cut in 0..=body.len() {
                assert_eq!(
                    MaskStream::mask_in_chunks(m.clone(), ContentKind::Json, body, &[cut]).0,
                    whole,
                    "cut at {cut}"
                );
            }
        }
    }

    /// Memory stays bounded by the carry-over, not the body: a long page
    /// full of spellings, and long runs of invisible characters (which
    /// decode to nothing but every ninth), fed in small chunks.
    #[test]
    fn a_spelled_body_is_held_in_bounded_memory() {
        let m = masker();
        let page = "<p>Tom &amp; Jerry&nbsp;&#64; x&#64;example.com +33\u{A0}6\u{A0}12\u{A0}34\u{A0}56\u{A0}78</p>\n";
        let zw = "\u{200B}".repeat(5000);
        for body in [page.repeat(20_000), zw.repeat(20)] {
            let mut stream = MaskStream::new(m.clone(), ContentKind::Text);
            let mut out = Vec::new();
            let mut peak = 0;
            for chunk in body.as_bytes().chunks(1000) {
                stream.feed(chunk, &mut out);
                peak = peak.max(stream.held_bytes());
            }
            stream.finish(&mut out);
            assert!(peak < 128 * 1024, "held {peak} bytes of a {} byte body", body.len());
        }
    }
}
