//! Phone numbers, international and national, validated against the
//! numbering plan rather than guessed from digit counts.
//!
//! Precision comes from layers, cheapest first: the span's shape (digit
//! count, grouping, a date is not a phone), then context, then the plan.
//! - `+CC …` and `00 CC …` are validated internationally, no context needed.
//! - A formatted national number (several groups: `(0161) 496 0066`,
//!   `090-1234-5678`) is validated against the configured regions, unless
//!   words or the JSON key just before say it is an order, an id or a date.
//! - A bare run of digits (`4155552671`) is admitted only with context: a
//!   JSON key such as `phone` or `mobile`, or a word such as "call" or "tel"
//!   just before it. Nothing else admits it: epoch timestamps and order ids
//!   are bare digit runs too.

use super::digits::{MAX_GROUPS, Number, SEP_DOT, before};
use super::link::scheme_before;
use super::numbering_plan::{GroupingMasks, NumberingPlan, Region, any_in_mask, grouping_key, mask_bit};
use super::words::WordList;
use super::{DetectorId, Hay};

/// The most digits a phone number has (ITU E.164).
const MAX_PHONE_DIGITS: usize = 15;
/// How far back context words are looked for.
const CONTEXT_WINDOW: usize = 40;
/// How far back words that say "this is not a phone" are looked for; they
/// also stop at the end of the previous sentence or clause.
const NEGATIVE_WINDOW: usize = 24;

#[derive(Debug)]
pub struct PhoneDetector {
    pub id: DetectorId,
    plan: &'static NumberingPlan,
    context_keys: WordList,
    context_words: WordList,
    negative_keys: WordList,
    negative_words: WordList,
    /// The configured regions, and which of them write a national
    /// number in a given grouping: a candidate inside a run is refused
    /// from its group lengths alone unless one of them writes it so, and
    /// only those that do walk their plans.
    regions: Vec<&'static Region>,
    written: GroupingTable,
    /// `by_digits[d]`: the regions (bits, as in `written`) whose national
    /// numbers can have `d` digits as written.
    by_digits: [u64; MAX_PHONE_DIGITS + 1],
    /// `by_lead[c]`: the regions whose national numbers can start with
    /// the digit `c` as written (a region that prints its trunk prefix
    /// starts with the prefix: GB's, FR's and JP's with `0`).
    by_lead: [u64; 10],
}

/// What a phone detector is built from (read from `patterns/phone.yaml`,
/// possibly overridden by a profile).
#[derive(Clone, Debug, Default)]
pub struct PhoneSettings {
    pub regions: Vec<String>,
    pub context_keys: Vec<String>,
    pub context_words: Vec<String>,
    pub negative_keys: Vec<String>,
    pub negative_words: Vec<String>,
}

/// Which regions write a national number in a grouping (digits per
/// group, at most [`MAX_PHONE_DIGITS`] digits), as a mask of region bits
/// ([`mask_bit`]). Each such grouping's [`grouping_key`] is below 2^16,
/// and a bit per key says whether any region writes it, so most
/// groupings of a run of digit groups are refused with one load, and the
/// few that some region writes find their regions by a binary search.
#[derive(Debug)]
struct GroupingTable {
    any: Box<[u64]>,
    regions: GroupingMasks,
}

impl GroupingTable {
    const KEYS: usize = 1 << (MAX_PHONE_DIGITS + 1);

    fn new(regions: &[&Region]) -> GroupingTable {
        let regions = GroupingMasks::build(|add| {
            for (i, r) in regions.iter().enumerate() {
                r.each_written_grouping(MAX_PHONE_DIGITS, MAX_GROUPS, &mut |g| add(g, mask_bit(i)));
            }
        });
        let mut any = vec![0u64; Self::KEYS / 64].into_boxed_slice();
        for k in regions.keys() {
            any[k as usize / 64] |= 1 << (k % 64);
        }
        GroupingTable { any, regions }
    }

    /// The regions that write a number grouped as `groups`.
    #[inline(always)]
    fn regions(&self, groups: &[u8]) -> u64 {
        match grouping_key(groups) {
            Some(k) if (k as usize) < Self::KEYS && self.any[k as usize / 64] & (1 << (k % 64)) != 0 => {
                self.regions.get(k)
            }
            _ => 0,
        }
    }
}

impl PhoneDetector {
    /// Fails with the first region id the numbering plan does not know.
    pub fn new(id: DetectorId, s: &PhoneSettings) -> Result<PhoneDetector, String> {
        let plan = NumberingPlan::get();
        let regions =
            s.regions.iter().map(|r| plan.region(r).ok_or_else(|| r.clone())).collect::<Result<Vec<_>, _>>()?;
        let written = GroupingTable::new(&regions);
        let by_digits = std::array::from_fn(|d| {
            regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.national_digit_counts() & (1 << d) != 0)
                .fold(0, |m, (i, _)| m | mask_bit(i))
        });
        let by_lead = std::array::from_fn(|c| {
            let lead = b'0' + c as u8;
            regions.iter().enumerate().filter(|(_, r)| r.may_start_with(lead)).fold(0, |m, (i, _)| m | mask_bit(i))
        });
        Ok(PhoneDetector {
            id,
            by_lead,
            regions,
            written,
            by_digits,
            plan,
            context_keys: WordList::new(&s.context_keys),
            context_words: WordList::new(&s.context_words),
            negative_keys: WordList::new(&s.negative_keys),
            negative_words: WordList::new(&s.negative_words),
        })
    }

    /// Whether `digits` is a valid national number of a region in `mask`
    /// ([`mask_bit`]), grouped as that region writes it where `strict`.
    /// Out of line: most candidates never get here, and inlined it made
    /// every caller save registers.
    #[inline(never)]
    fn valid_national_in(&self, mask: u64, digits: &[u8], g: &[u8], strict: bool) -> bool {
        any_in_mask(&self.regions, mask, |_, r| r.is_valid_national(digits) && (!strict || r.writes_as(digits, g)))
    }

    /// Whether a JSON key admits bare numbers as phones.
    pub fn has_key_context(&self, key: &[u8]) -> bool {
        self.context_keys.in_key(key)
    }

    /// Whether `s` is a phone number. `in_run`: other digit groups are
    /// joined to it by a space (`2021 020 7946 0958`, `415 555 2671 415 555
    /// 2672`), so only its grouping says where it starts and ends: written
    /// nationally, it must be grouped as its region writes numbers.
    pub fn accepts(&self, hay: &Hay, s: &Number, in_run: bool) -> bool {
        let digits = s.digits();
        if !(7..=MAX_PHONE_DIGITS).contains(&digits.len()) {
            return false;
        }
        if s.plus {
            return self.plan.is_valid_international(digits) || valid_without_bracketed_trunk(self, hay, s);
        }
        // Asked last: it reads furthest back, and in a run of digit groups
        // most candidates fail the plan first.
        self.accepts_written_without_plus(hay, s, in_run) && !inside_spaced_timestamp(hay, s)
    }

    /// [`PhoneDetector::accepts`] for a number without `+`, as if no
    /// spaced date and time came before it.
    fn accepts_written_without_plus(&self, hay: &Hay, s: &Number, in_run: bool) -> bool {
        let digits = s.digits();
        // Pairs and single digits (`37 72 59 21 53`) are scores, counts and
        // lottery draws as often as a French number; only the grouping
        // tells them apart.
        let g = s.groups();
        let strict = in_run || g.iter().all(|&g| g <= 2);
        let fitting = self.by_digits[digits.len()] & self.by_lead[(digits[0] - b'0') as usize];
        // `00 CC …` is the international form dialled from most countries:
        // validated like `+`, written with at least one separator, the `00`
        // inside the first group and a last group of two digits or more
        // (`0-05-345604-1` is an ISBN, not Cuba).
        if g.len() >= 2
            && g[0] >= 2
            && g[g.len() - 1] >= 2
            && digits.starts_with(b"00")
            && self.plan.is_valid_international(&digits[2..])
        {
            return true;
        }
        // The regions that may take it as a national number: by digit
        // count and lead, and in a run by grouping too (cheap tests,
        // before any plan is walked).
        let candidates = match fitting {
            0 => 0,
            _ if strict => self.written.regions(g) & fitting,
            _ => fitting,
        };
        let national = || candidates != 0 && self.valid_national_in(candidates, digits, g, strict);
        // Inside a run only a national number can match, and a run offers
        // a candidate for every group, most of which no region fits or
        // whose plan fails: test that before the words around, which cost
        // more.
        if in_run && !national() {
            return false;
        }
        let context = self.context_keys.in_key(hay.key)
            || scheme_before(hay.bytes, s.start)
            || self.context_words.in_text(before(hay.bytes, s.start, CONTEXT_WINDOW));
        let formatted = g.len() >= 2 && plausible_grouping(s);
        if !(formatted || context) || looks_like_date(s) {
            return false;
        }
        if !context
            && (self.negative_keys.in_key(hay.key)
                || self.negative_words.in_text(same_clause(before(hay.bytes, s.start, NEGATIVE_WINDOW))))
        {
            return false;
        }
        if in_run || national() {
            return true;
        }
        context && digits.len() >= 10 && self.plan.is_valid_international(digits)
    }
}

/// The part of `text` after the last sentence or clause end.
/// Whether `s`, written `+44 (0)20 7946 0958`, is valid without the
/// trunk prefix in parentheses, which a caller from abroad leaves out.
fn valid_without_bracketed_trunk(p: &PhoneDetector, hay: &Hay, s: &Number) -> bool {
    let Some(text) = hay.bytes.get(s.start..s.end) else { return false };
    let Some(at) = text.windows(3).position(|w| w == b"(0)") else { return false };
    let before = text[..at].iter().filter(|b| b.is_ascii_digit()).count();
    let digits = s.digits();
    if digits.get(before) != Some(&b'0') {
        return false;
    }
    let without: Vec<u8> = digits[..before].iter().chain(&digits[before + 1..]).copied().collect();
    p.plan.is_valid_international(&without)
}

fn same_clause(text: &[u8]) -> &[u8] {
    match text.iter().rposition(|&b| matches!(b, b'.' | b';' | b'!' | b'?' | b'\n')) {
        Some(i) => &text[i + 1..],
        None => text,
    }
}

/// Groups as people write phone numbers: a short first group (up to five
/// digits, six with a trunk `0` as in India's `074160 49642`; one digit
/// only for NANP's `1-800-…`), no group over eight digits, a last group of
/// two or more; dotted forms have at least three groups of at most four
/// (`415.555.2671`, `06.12.34.56.78`), which keeps decimals and coordinates
/// out.
fn plausible_grouping(s: &Number) -> bool {
    let g = s.groups();
    let d = s.digits();
    let last = g[g.len() - 1];
    let first_ok = match g[0] {
        1 => d[0] == b'1',
        2..=5 => true,
        6 => d[0] == b'0',
        _ => false,
    };
    if !first_ok || g.iter().any(|&x| x > 8) || last < 2 {
        return false;
    }
    if s.seps & SEP_DOT != 0 {
        return g.len() >= 3 && g.iter().all(|&x| x <= 4);
    }
    true
}

/// `2024-01-15`, `2024 01 15 10`, `15-01-2024`, `01.02.1999`: a year group
/// next to one- or two-digit groups, at the start or, joined by `-` or
/// `.`, anywhere (`0958 2024-01-15` is a number's tail and a date).
fn looks_like_date(s: &Number) -> bool {
    let g = s.groups();
    let d = s.digits();
    let is_year = |at: usize| matches!(&d[at..at + 2], b"19" | b"20");
    let mut at = 0;
    for i in 0..g.len().saturating_sub(2) {
        let year_first = g[i] == 4 && is_year(at) && g[i + 1] <= 2 && g[i + 2] <= 2;
        let year_third = g[i] <= 2 && g[i + 1] <= 2 && g[i + 2] == 4 && is_year(at + (g[i] + g[i + 1]) as usize);
        if (year_first || year_third) && (i == 0 || s.joined_by_marks(i, i + 2)) {
            return true;
        }
        at += g[i] as usize;
    }
    false
}

/// Whether the number `s` would start inside a date and time written
/// with spaces (`2025 02 02 22 54 39 …`): its first group has one or two
/// digits, and a year that begins the run comes before it with fewer than
/// five such groups (month, day, hours, minutes, seconds) between. A number
/// in parentheses (`(02) 1005 7545`) starts where it says.
///
/// Read from the bytes alone, whatever matched before (the windowing
/// contract in [`super`]): a year that ends a longer run (`+44 20 7946
/// 2001 06 12 34 56 78`) is a number's tail, not a date.
fn inside_spaced_timestamp(hay: &Hay, s: &Number) -> bool {
    if s.groups()[0] > 2 || s.keeps_head() {
        return false;
    }
    let b = hay.bytes;
    let mut next = s.start;
    for small in 0..=5 {
        if next < 2 || b[next - 1] != b' ' {
            return false;
        }
        let end = next - 1;
        let len = b[..end].iter().rev().take(5).take_while(|c| c.is_ascii_digit()).count();
        let group = end - len;
        match len {
            4 => {
                let starts_run = match group.checked_sub(1).map(|i| b[i]) {
                    None => true,
                    Some(b' ') => !(group >= 2 && matches!(b[group - 2], b'0'..=b'9' | b')')),
                    Some(c) => !matches!(c, b'0'..=b'9' | b'-' | b'.' | b'(' | b')' | b'/' | b':'),
                };
                return small < 5 && matches!(&b[group..group + 2], b"19" | b"20") && starts_run;
            }
            1 | 2 => next = group,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::numeric::NumericDetector;
    use crate::mask::detect::{Engine, testing::matches};

    fn phones(text: &str, key: &str) -> Vec<String> {
        let settings = PhoneSettings {
            regions: ["US", "GB", "FR", "DE", "JP"].map(String::from).to_vec(),
            context_keys: vec!["phone".into(), "tel".into(), "mobile".into()],
            context_words: vec!["call".into(), "tel".into(), "phone".into()],
            negative_keys: vec!["id".into(), "order".into()],
            negative_words: vec!["order".into(), "invoice".into()],
        };
        let det = NumericDetector { phone: Some(PhoneDetector::new(0, &settings).unwrap()), ..Default::default() };
        matches(Engine::Numeric(Box::new(det)), text, key)
    }

    /// Every grouping of up to 15 digits in up to 8 groups, with digits
    /// drawn to start with each lead: wherever a region accepts a number
    /// so written, the shortcuts (grouping table, digit count, lead) name
    /// that region. They only refuse what no region would accept.
    #[test]
    fn the_grouping_table_names_every_region_that_writes_a_number_so() {
        use crate::mask::detect::numbering_plan::every_grouping;
        let regions = ["US", "CA", "GB", "FR", "DE", "JP", "IN", "AU", "ES", "NL", "BR", "MX"];
        let settings = PhoneSettings { regions: regions.map(String::from).to_vec(), ..Default::default() };
        let p = PhoneDetector::new(0, &settings).expect("known regions");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut digit = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'0' + (state % 10) as u8
        };
        let (mut groupings, mut accepted) = (0, 0);
        for groups in every_grouping(MAX_PHONE_DIGITS, MAX_GROUPS) {
            let n: usize = groups.iter().map(|&g| g as usize).sum();
            if n < 7 {
                continue;
            }
            groupings += 1;
            for lead in [b'0', b'1', b'2', b'5', b'9'] {
                let digits: Vec<u8> = std::iter::once(lead).chain((1..n).map(|_| digit())).collect();
                let named = p.written.regions(&groups) & p.by_digits[n] & p.by_lead[(lead - b'0') as usize];
                for (i, r) in p.regions.iter().enumerate() {
                    if r.is_valid_national(&digits) && r.writes_as(&digits, &groups) {
                        accepted += 1;
                        assert!(named & mask_bit(i) != 0, "{} {groups:?} {:?}", regions[i], digits);
                    }
                }
            }
        }
        assert!(groupings > 10_000 && accepted > 100, "{groupings} groupings, {accepted} accepted");
        // And they refuse most: eight groups of one digit, no region writes.
        assert_eq!(p.written.regions(&[1; 8]), 0);
    }

    #[test]
    fn a_trunk_prefix_in_parentheses_after_the_country_code_is_read_through() {
        for text in ["tel +44 (0)7400 123456", "tel +44 (0)20 7946 0958", "Tel. +44 (0) 20 7946 0958"] {
            assert_eq!(phones(text, "").len(), 1, "{text}");
        }
        assert!(phones("tel +44 (0)1234", "").is_empty());
    }

    #[test]
    fn international_forms_are_found_without_context() {
        assert_eq!(phones("ring +44 20 7946 0958 now", ""), ["+44 20 7946 0958"]);
        assert_eq!(phones("+441414960077", ""), ["+441414960077"]);
        assert_eq!(phones("us: +1 (415) 555-2671.", ""), ["+1 (415) 555-2671"]);
        assert_eq!(phones("0044 20 7946 0958", ""), ["0044 20 7946 0958"]);
    }

    #[test]
    fn formatted_national_numbers_of_configured_regions_are_found() {
        assert_eq!(phones("(0161) 496 0066", ""), ["(0161) 496 0066"]);
        assert_eq!(phones("06 12 34 56 78", ""), ["06 12 34 56 78"]);
        assert_eq!(phones("090-1234-5678", ""), ["090-1234-5678"]);
        assert_eq!(phones("(415) 555-2671", ""), ["(415) 555-2671"]);
    }

    #[test]
    fn bare_digits_need_a_key_or_a_word() {
        assert!(phones("4155552671", "").is_empty());
        assert_eq!(phones("4155552671", "phone"), ["4155552671"]);
        assert_eq!(phones("please call 4155552671", ""), ["4155552671"]);
        assert!(phones("4155552671", "order_id").is_empty());
    }

    #[test]
    fn numbers_in_a_run_of_digit_groups() {
        // A suffix of the run is tried.
        assert_eq!(phones("2021 020 7946 0958", ""), ["020 7946 0958"]);
        // A match ends the run: the next number starts after it.
        assert_eq!(phones("+44 20 7946 0958 020 7946 0958", ""), ["+44 20 7946 0958", "020 7946 0958"]);
        // The leftmost, then longest, number: `020 7946` alone passes DE's
        // plan and grouping, and would leave `0958` in clear. A date is no
        // number's tail.
        assert_eq!(phones("tel 020 7946 0958 07700 900123", ""), ["020 7946 0958", "07700 900123"]);
        assert_eq!(phones("020 7946 0958 2024-01-15", ""), ["020 7946 0958"]);
        // The span from the epoch stops short of the number (19 digits at
        // most), so the number starts a run of its own.
        assert_eq!(phones("1700000000123 (0161) 496 0066", ""), ["(0161) 496 0066"]);
        // Numbers side by side, and after dates and ids: each whole.
        assert_eq!(phones("415 555 2671 415 555 2672", ""), ["415 555 2671", "415 555 2672"]);
        assert_eq!(phones("06 12 34 56 78 06 12 34 56 78", ""), ["06 12 34 56 78", "06 12 34 56 78"]);
        assert_eq!(phones("2024 11 21 10 30 45 020 7946 0958", ""), ["020 7946 0958"]);
        assert_eq!(phones("ids 1 2 3 4 5 6 7 8 020 7946 0958", ""), ["020 7946 0958"]);
        // A date and time written with spaces is read through first: its
        // `02 02 22 54 39` is a valid French number, its `00` no `00 CC`.
        assert_eq!(phones("2025 02 02 22 54 39 01 23 59 72 67", ""), ["01 23 59 72 67"]);
        assert_eq!(phones("2026 12 22 00 35 58 020 7946 0958", ""), ["020 7946 0958"]);
        // A year-like group that ends a number is no date.
        assert_eq!(phones("+44 20 7946 2001 06 12 34 56 78", ""), ["+44 20 7946 2001", "06 12 34 56 78"]);
        assert_eq!(phones("(201) 719-2027 06 15 00 60 36", ""), ["(201) 719-2027", "06 15 00 60 36"]);
        // Inside a run, a national number is grouped as its region writes
        // them: `40 50 60 70 80` is no French number without its `0`.
        assert!(phones("10 20 30 40 50 60 70 80 90", "").is_empty());
        // Groups inside a run are not numbers of their own, wherever a
        // scan enters it.
        assert!(phones("5555555 5555555 55 5555555 5555555 55 5", "").is_empty());
    }

    #[test]
    fn timestamps_dates_ids_and_invalid_numbers_survive() {
        for s in [
            "1700000000",
            "1700000000123",
            "2024-01-15",
            "2024-01-15 10:30:00",
            "15/01/2024",
            "+44 20 7946 09581",
            "+1 123 555 2671",
            "978-3-16-148410-0",
            "order 415-555-2671",
            "37.7749295",
            "-122.4194155",
            "v10.0.19041.1234",
            "550e8400-e29b-41d4-a716-446655440000",
        ] {
            assert!(phones(s, "").is_empty(), "{s}");
        }
    }
}
