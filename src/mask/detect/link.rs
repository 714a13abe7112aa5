//! Link schemes that say the number after them is a phone number:
//! `tel:`, `sms:`, `callto:`, `wa.me/`, `whatsapp://send?phone=`,
//! `t.me/+`. A number right after one starts there (a `:`, `/` or `=`
//! before a number otherwise joins it to a time, a path or a query), and
//! counts as a number in context, as after the word "call".

/// The schemes, lowercase, as they end right before the number (or its
/// `+`). `phone=` covers `whatsapp://send?phone=` and the like.
const SCHEMES: &[&[u8]] = &[b"tel:", b"tel://", b"sms:", b"smsto:", b"callto:", b"wa.me/", b"phone=", b"t.me/"];

/// How far back of a number the longest scheme reaches.
pub const MAX_SCHEME: usize = 7;

/// Whether a link scheme ends at `start` (ASCII case ignored), where the
/// bytes before it do not make it part of a longer word (`hotel:`).
#[inline(always)]
pub fn scheme_before(b: &[u8], start: usize) -> bool {
    // Every scheme ends in a letter and `:`, `/` or `=`, or in `//`: a
    // time (`10:30`) or a path of numbers (`/2024/01`) is none.
    start >= 2
        && matches!(b[start - 1], b':' | b'/' | b'=')
        && (b[start - 2].is_ascii_alphabetic() || b[start - 2] == b'/')
        && listed_scheme_before(b, start)
}

#[inline(never)]
fn listed_scheme_before(b: &[u8], start: usize) -> bool {
    SCHEMES.iter().any(|s| {
        start >= s.len()
            && b[start - s.len()..start].eq_ignore_ascii_case(s)
            && !(start > s.len() && b[start - s.len() - 1].is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_end_right_before_the_number() {
        for s in [
            "tel:",
            "href=\"TEL:",
            "sms:",
            "callto:",
            "https://wa.me/",
            "whatsapp://send?phone=",
            "https://t.me/",
            "tel://",
        ] {
            assert!(scheme_before(s.as_bytes(), s.len()), "{s:?}");
        }
        for s in ["hotel:", "at 10:", "/api/v1/", "id=", "tel: ", "wa.mex/", "untel:"] {
            assert!(!scheme_before(s.as_bytes(), s.len()), "{s:?}");
        }
    }
}
