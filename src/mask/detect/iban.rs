//! IBANs: a country code with its registered length, and the ISO 7064
//! mod-97 check. Printed form (groups of four separated by single spaces)
//! and electronic form are both accepted.

use std::collections::HashMap;

use super::{DetectorId, work};
use crate::mask::bytes::byte_before;

#[derive(Debug)]
pub struct IbanDetector {
    pub id: DetectorId,
    /// IBAN length per country code, from the SWIFT IBAN registry.
    lengths: HashMap<[u8; 2], u8>,
}

impl IbanDetector {
    pub fn new(id: DetectorId, lengths: &HashMap<String, u8>) -> IbanDetector {
        let lengths = lengths
            .iter()
            .filter_map(|(cc, &n)| {
                let b = cc.as_bytes();
                (b.len() == 2).then(|| ([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()], n))
            })
            .collect();
        IbanDetector { id, lengths }
    }

    /// The end of a valid IBAN starting at `s`, if there is one.
    pub fn match_at(&self, b: &[u8], s: usize) -> Option<usize> {
        let cc = [*b.get(s)?, *b.get(s + 1)?];
        if !cc.iter().all(u8::is_ascii_uppercase)
            || matches!(byte_before(b, s), Some(c) if c.is_ascii_alphanumeric() || c >= 0x80)
        {
            return None;
        }
        let want = *self.lengths.get(&cc)? as usize;
        work::charge(want);
        let mut chars = [0u8; 34];
        let mut n = 0;
        let mut i = s;
        // Printed form puts one space between groups of four; electronic
        // form none. The first group boundary decides which this is.
        let mut spaced: Option<bool> = None;
        while n < want {
            if n > 0 && n % 4 == 0 {
                let space = b.get(i) == Some(&b' ');
                if *spaced.get_or_insert(space) != space {
                    return None;
                }
                i += space as usize;
            }
            let c = *b.get(i)?;
            let ok = match n {
                0 | 1 => c.is_ascii_uppercase(),
                2 | 3 => c.is_ascii_digit(),
                _ => c.is_ascii_digit() || c.is_ascii_uppercase(),
            };
            if !ok {
                return None;
            }
            chars[n] = c;
            n += 1;
            i += 1;
        }
        if matches!(b.get(i), Some(c) if c.is_ascii_alphanumeric()) {
            return None;
        }
        mod97(&chars[..n]).then_some(i)
    }
}

/// ISO 7064 MOD 97-10 over the rearranged IBAN (first four moved to the
/// end, letters as 10..35): valid when the remainder is 1.
fn mod97(iban: &[u8]) -> bool {
    let mut r = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        if c.is_ascii_digit() {
            r = (r * 10 + (c - b'0') as u32) % 97;
        } else {
            r = (r * 100 + (c - b'A' + 10) as u32) % 97;
        }
    }
    r == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det() -> IbanDetector {
        let lengths = [("DE".to_string(), 22u8), ("GB".to_string(), 22)].into_iter().collect();
        IbanDetector::new(0, &lengths)
    }

    #[test]
    fn accepts_printed_and_electronic_forms() {
        let s = b"DE89 3704 0044 0532 0130 00 ok";
        assert_eq!(det().match_at(s, 0), Some(27));
        let s = b"GB82WEST12345698765432";
        assert_eq!(det().match_at(s, 0), Some(22));
    }

    #[test]
    fn rejects_bad_checksums_lengths_and_mixed_spacing() {
        assert_eq!(det().match_at(b"DE89370400440532013001", 0), None);
        assert_eq!(det().match_at(b"DE8937040044053201300", 0), None);
        assert_eq!(det().match_at(b"DE89 370400440532013000", 0), None);
        assert_eq!(det().match_at(b"XDE89370400440532013000", 1), None);
    }
}
