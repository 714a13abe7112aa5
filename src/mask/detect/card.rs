//! Payment card numbers: an issuer's prefix and length, card grouping
//! (`4111 1111 1111 1111`, Amex's `3782-822463-10005`), and the Luhn check
//! digit.
//!
//! Depends only on [`super::digits`] (the number as segmented there).

use super::digits::{Number, SEP_DASH, SEP_DOT, SEP_PAREN, SEP_SPACE};

/// Whether the number `s` is a payment card: 13 to 19 digits, grouped as
/// cards are printed, of a known brand, passing Luhn.
pub fn is_card(s: &Number) -> bool {
    let n = s.digits().len();
    if !(13..=19).contains(&n) || s.plus || s.seps & (SEP_DOT | SEP_PAREN) != 0 {
        return false;
    }
    if s.seps == SEP_SPACE | SEP_DASH {
        return false;
    }
    let g = s.groups();
    let grouped = g.len() == 1
        || (g[..g.len() - 1].iter().all(|&x| x == 4) && g[g.len() - 1] <= 4)
        || g == [4, 6, 5]
        || g == [4, 6, 4];
    grouped && card_brand_accepts(s.digits()) && luhn_valid(s.digits())
}

/// A card's brand prefix and Luhn check digit, out of line: the Luhn
/// loop's vector code made every caller save registers, and most long
/// numbers are not of a card's length.
#[inline(never)]
pub fn is_card_number(d: &[u8]) -> bool {
    card_brand_accepts(d) && luhn_valid(d)
}

/// Issuer prefixes and lengths of the major card brands.
///
/// Dispatched on the first digit: most long numbers that reach here are
/// not cards (epoch milliseconds start with 1), and computing every
/// prefix up front cost ~70 instructions per number.
fn card_brand_accepts(d: &[u8]) -> bool {
    let n = d.len();
    let (Some(&first), Some(&second)) = (d.first(), d.get(1)) else {
        return false;
    };
    let prefix = |k: usize| d.iter().take(k).fold(0u32, |a, &c| a * 10 + u32::from(c.wrapping_sub(b'0')));
    let long = (16..=19).contains(&n);
    match first {
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => (b'1'..=b'5').contains(&second) && n == 16,
        b'2' => (2221..=2720).contains(&prefix(4)) && n == 16,
        b'3' => match second {
            b'4' | b'7' => n == 15,
            b'5' => (3528..=3589).contains(&prefix(4)) && long,
            b'0' => (300..=305).contains(&prefix(3)) && (14..=19).contains(&n),
            b'6' | b'8' | b'9' => (14..=19).contains(&n),
            _ => false,
        },
        b'6' => long && (matches!(second, b'2' | b'5') || prefix(4) == 6011 || (644..=649).contains(&prefix(3))),
        _ => false,
    }
}

pub fn luhn_valid(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &c) in d.iter().rev().enumerate() {
        let mut v = (c - b'0') as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::numeric::NumericDetector;
    use crate::mask::detect::{Engine, testing::matches};

    fn found(text: &str) -> Vec<String> {
        matches(Engine::Numeric(Box::new(NumericDetector { card: Some(1), ..NumericDetector::default() })), text, "")
    }

    #[test]
    fn cards_need_a_brand_prefix_luhn_and_card_grouping() {
        assert_eq!(found("card 4111 1111 1111 1111."), ["4111 1111 1111 1111"]);
        assert_eq!(found("amex 3782-822463-10005"), ["3782-822463-10005"]);
        assert_eq!(found("5500005555555559"), ["5500005555555559"]);
        assert!(found("4111 1111 1111 1112").is_empty(), "Luhn");
        assert!(found("1700000000000").is_empty(), "epoch ms");
        assert!(found("41 1111 1111 1111 11").is_empty(), "grouping");
    }

    /// The brand table as first written (every prefix computed, one
    /// clause per brand): the dispatch on the first digit must agree with
    /// it for every four-digit prefix, the Chinese UnionPay range's six,
    /// and every length around the card lengths.
    #[test]
    fn card_brands_agree_with_the_issuer_table() {
        fn by_table(d: &[u8]) -> bool {
            let n = d.len();
            let prefix = |k: usize| d[..k].iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
            let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
            (p1 == 4 && matches!(n, 13 | 16 | 19))
                || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16)
                || (matches!(p2, 34 | 37) && n == 15)
                || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
                    && (16..=19).contains(&n))
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
                || (((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) && (14..=19).contains(&n))
                || (p2 == 62 && (16..=19).contains(&n))
        }
        let prefixes = (0..10_000).map(|p| format!("{p:04}00")).chain((621_000..624_000).map(|p| p.to_string()));
        let mut accepted = 0;
        for prefix in prefixes {
            for n in 12..=20 {
                let digits = format!("{prefix}{}", "7".repeat(n - 6));
                let expected = by_table(digits.as_bytes());
                assert_eq!(card_brand_accepts(digits.as_bytes()), expected, "{digits}");
                accepted += expected as usize;
            }
        }
        assert!(accepted > 10_000, "the table accepts cards: {accepted}");
    }
}
