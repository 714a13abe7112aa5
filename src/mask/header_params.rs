//! RFC 2231 parameter continuations in header values:
//! `filename*0="ana.lopez@ex"; filename*1="ample.com"` is one file name to
//! every receiver that reads them (browsers, Python's `email`, Go's
//! `mime`), so a value split across sections is read joined. Quoted
//! sections are read without their quotes, a quoted-pair as the character
//! it escapes; the sections' own `%XX` escapes (`filename*0*=`) are left
//! to the percent-decoding reading of [`super::value`].

/// The sections of each continued parameter joined, and for each byte the
/// span of the header value it came from.
#[derive(Debug)]
pub struct Joined {
    pub bytes: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
}

/// One section: the parameter's name, its number, and its value's bytes
/// with their spans.
struct Section<'a> {
    name: &'a [u8],
    number: u32,
    value: Vec<(u8, (usize, usize))>,
}

/// The continued parameters of `value` read joined, each after the
/// other; `None` when no parameter has two sections or more.
pub fn join_continuations(value: &[u8]) -> Option<Joined> {
    let mut sections = Vec::new();
    let mut i = 0;
    while i < value.len() {
        match section_at(value, i) {
            Some((section, end)) => {
                sections.push(section);
                i = end;
            }
            None => i += 1,
        }
    }
    // Sections of one name, in order of their numbers (receivers sort
    // them; a sender may write them in any order).
    sections
        .sort_by(|a, b| a.name.to_ascii_lowercase().cmp(&b.name.to_ascii_lowercase()).then(a.number.cmp(&b.number)));
    let mut joined = Joined { bytes: Vec::new(), spans: Vec::new() };
    let mut continued = false;
    for (k, section) in sections.iter().enumerate() {
        let same_name = |other: &Section| other.name.eq_ignore_ascii_case(section.name);
        let first_of_name = k == 0 || !same_name(&sections[k - 1]);
        if first_of_name {
            continued |= sections.get(k + 1).is_some_and(same_name);
            if let Some(&last) = joined.spans.last() {
                joined.bytes.push(b' ');
                joined.spans.push(last);
            }
        }
        for &(b, span) in &section.value {
            joined.bytes.push(b);
            joined.spans.push(span);
        }
    }
    continued.then_some(joined)
}

/// A section `name*N=value` or `name*N*=value` starting at `value[at]`
/// (at the start or after `;` and white space), and where it ends.
fn section_at(v: &[u8], at: usize) -> Option<(Section<'_>, usize)> {
    let before = v[..at].iter().rev().find(|b| !matches!(b, b' ' | b'\t'));
    if !matches!(before, None | Some(b';')) || !is_token(v[at]) {
        return None;
    }
    let name_end = at + v[at..].iter().take_while(|&&b| is_token(b) && b != b'*').count();
    let mut i = name_end;
    if v.get(i) != Some(&b'*') {
        return None;
    }
    i += 1;
    let digits = v[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let number = std::str::from_utf8(&v[i..i + digits]).ok()?.parse().ok()?;
    i += digits;
    if v.get(i) == Some(&b'*') {
        i += 1;
    }
    while matches!(v.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if v.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while matches!(v.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let mut value = Vec::new();
    if v.get(i) == Some(&b'"') {
        i += 1;
        while i < v.len() && v[i] != b'"' {
            match (v[i], v.get(i + 1)) {
                (b'\\', Some(&c)) => {
                    value.push((c, (i, i + 2)));
                    i += 2;
                }
                (c, _) => {
                    value.push((c, (i, i + 1)));
                    i += 1;
                }
            }
        }
        i = (i + 1).min(v.len());
    } else {
        while i < v.len() && !matches!(v[i], b';' | b' ' | b'\t') {
            value.push((v[i], (i, i + 1)));
            i += 1;
        }
    }
    Some((Section { name: &v[at..name_end], number, value }, i))
}

/// A byte of an RFC 9110 token.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(s: &str) -> Option<String> {
        join_continuations(s.as_bytes()).map(|j| String::from_utf8_lossy(&j.bytes).into_owned())
    }

    #[test]
    fn sections_are_read_joined_in_their_order() {
        assert_eq!(
            joined("attachment; filename*0=\"ana.lopez@ex\"; filename*1=\"ample.com\"").as_deref(),
            Some("ana.lopez@example.com")
        );
        assert_eq!(
            joined("attachment; filename*1*=ample.com; filename*0*=utf-8''ana.lopez%40ex").as_deref(),
            Some("utf-8''ana.lopez%40example.com")
        );
        assert_eq!(joined("x; a*0=\"ana\\@ex\"; a*1=ample.com; b*0=1; b*1=2").as_deref(), Some("ana@example.com 12"));
    }

    #[test]
    fn spans_point_into_the_value() {
        let raw = "a; n*0=\"ab\"; n*1=cd";
        let j = join_continuations(raw.as_bytes()).expect("continued");
        assert_eq!(j.bytes, b"abcd");
        assert_eq!(&raw[j.spans[0].0..j.spans[3].1], "ab\"; n*1=cd");
    }

    #[test]
    fn a_value_without_continuations_has_no_joined_reading() {
        for s in ["attachment; filename=\"x@y.com\"", "a; n*0=x", "a; n*=utf-8''x", "a=1*2; b*x=3", "n*0=\"x\"; m*0=y"]
        {
            assert_eq!(joined(s), None, "{s:?}");
        }
    }
}
