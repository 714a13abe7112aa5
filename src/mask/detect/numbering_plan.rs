//! Numbering-plan facts (country calling codes, national prefixes, lengths
//! and valid leading digits per region), derived once from Google's
//! libphonenumber metadata as the `phonenumber` crate embeds it; `build.rs`
//! extracts them into a static table, so start-up costs nothing.
//!
//! We do not call that crate's parser in the scan: it locks a shared regex
//! cache on every call. Instead each region's "general description" pattern
//! is compiled here, on first use, into a fully built DFA (these are small
//! digit patterns); after that, validation is a length check and one DFA walk
//! over at most 17 ASCII digits, with no lock and no allocation. (Through the
//! `regex` meta engine the same check cost ~2,000 instructions a call.)
//! Calling codes index a table, and a code's main region is tried first:
//! `1` has 25 regions and the US, sorted by id, came 22nd.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_automata::dfa::{Automaton, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use super::work;

/// One region as `build.rs` extracted it.
#[derive(Debug)]
pub struct RegionData {
    pub id: &'static str,
    pub code: u16,
    /// The region a calling code's numbers mostly belong to (the US for
    /// `1`, GB for `44`), tried first.
    pub main: bool,
    pub national_prefix: Option<&'static str>,
    /// National format prints the trunk prefix (`020 7946 0958`).
    pub prefix_printed: bool,
    pub lengths: &'static [u16],
    pub pattern: &'static str,
    /// Each national format's digit groups, (fewest, most) digits each
    /// (GB's `20 7946 0958` is `[(2, 2), (4, 4), (4, 4)]`), and the
    /// pattern a number's first digits match for it to apply (empty: any).
    pub groupings: &'static [(&'static [(u8, u8)], &'static str)],
}

include!(concat!(env!("OUT_DIR"), "/numbering_plan_data.rs"));

/// One region of the plan (`GB`, `US`, or `001` for non-geographic codes).
#[derive(Debug)]
pub struct Region {
    pub data: &'static RegionData,
    /// `data.pattern`, compiled on first use.
    pattern: OnceLock<Option<DigitDfa>>,
    /// `data.lengths` as a set (bit `n`: `n` digits; all bits when the
    /// metadata gives none).
    nsn_lengths: u64,
    /// Each of `data.groupings`, with what a grouping must satisfy to fit it.
    formats: Vec<Format>,
    /// Which formats each grouping of a national significant number fits
    /// (by [`grouping_key`], sorted; bit `i` for format `i`, the 64th for
    /// every format from there on), built on first use: [`Region::writes_as`]
    /// then looks its grouping up instead of testing every format.
    shapes: OnceLock<GroupingMasks>,
}

/// The most digits a grouping in [`Region`]'s shape table has (the
/// longest national significant number, 15 by ITU E.164, and a margin).
const MAX_SHAPE_DIGITS: usize = 17;

/// A grouping (digits per group) as a number: a leading 1, then each
/// group's length in bits, the last of them set (`[3, 3, 4]` is
/// `1_001_001_0001`). Distinct groupings give distinct keys; `None` past
/// 30 digits.
#[inline(always)]
pub fn grouping_key(groups: &[u8]) -> Option<u32> {
    // Tested once, after the loop (it runs on every candidate of a run):
    // up to 30 digits no shift loses a bit; past them the key is dropped.
    let (key, digits) = groups
        .iter()
        .fold((1u64, 0usize), |(key, digits), &g| (key.wrapping_shl(u32::from(g)) | 1, digits + g as usize));
    (digits <= 30).then_some(key as u32)
}

/// A bit mask per grouping (which formats, or which regions, write it),
/// sorted by [`grouping_key`] for a binary search.
#[derive(Debug, Default)]
pub struct GroupingMasks(Vec<(u32, u64)>);

impl GroupingMasks {
    /// The table of what `fill` adds: each grouping it is called with,
    /// its mask or-ed into that grouping's (a grouping past
    /// [`grouping_key`]'s 30 digits is left out).
    pub fn build(fill: impl FnOnce(&mut dyn FnMut(&[u8], u64))) -> GroupingMasks {
        let mut by_key = std::collections::BTreeMap::<u32, u64>::new();
        fill(&mut |groups, mask| {
            if let Some(k) = grouping_key(groups) {
                *by_key.entry(k).or_default() |= mask;
            }
        });
        GroupingMasks(by_key.into_iter().collect())
    }

    /// The mask of the grouping whose key is `key` (0 when none).
    #[inline(always)]
    pub fn get(&self, key: u32) -> u64 {
        self.0.binary_search_by_key(&key, |&(k, _)| k).map_or(0, |i| self.0[i].1)
    }

    /// The keys that have a mask, in order.
    pub fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|&(k, _)| k)
    }
}

/// Item `i`'s bit in a mask of up to 64 items: the 64th stands for every
/// item from there on.
pub fn mask_bit(i: usize) -> u64 {
    1 << i.min(63)
}

/// Whether `test` holds for an item of `items` whose bit ([`mask_bit`])
/// is set in `mask`, tried in order; `test` is given the item's index.
#[inline(always)]
pub fn any_in_mask<T>(items: &[T], mut mask: u64, test: impl Fn(usize, &T) -> bool) -> bool {
    while mask != 0 {
        let i = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        let found = match i {
            63 => items.iter().enumerate().skip(63).any(|(i, item)| test(i, item)),
            _ => test(i, &items[i]),
        };
        if found {
            return true;
        }
    }
    false
}

/// One of a region's national formats, with the bounds any grouping that
/// [`coarsens`] it meets: at most as many groups, and a digit count in
/// range. Most formats fail them, without the recursive test (in a run of
/// digit groups, 40% of the instructions went to `coarsens` before).
#[derive(Debug)]
struct Format {
    groups: &'static [(u8, u8)],
    fewest_digits: usize,
    most_digits: usize,
    /// The leading-digit pattern, compiled on first use (most never are:
    /// only a format a number's grouping fits is asked).
    lead: &'static str,
    lead_dfa: OnceLock<Option<DigitDfa>>,
}

impl Format {
    fn new((groups, lead): &'static (&'static [(u8, u8)], &'static str)) -> Format {
        Format {
            groups,
            fewest_digits: groups.iter().map(|&(lo, _)| lo as usize).sum(),
            most_digits: groups.iter().map(|&(_, hi)| hi as usize).sum(),
            lead,
            lead_dfa: OnceLock::new(),
        }
    }

    /// Whether `groups` (of the national significant number `nsn`) is this
    /// format, or coarser, and `nsn` starts as the format requires.
    fn fits(&self, groups: &[u8], nsn: &[u8]) -> bool {
        self.shape_fits(groups, nsn.len()) && self.lead_fits(nsn)
    }

    /// Whether `nsn` starts as this format requires.
    fn lead_fits(&self, nsn: &[u8]) -> bool {
        self.lead.is_empty()
            || self.lead_dfa.get_or_init(|| digit_dfa(self.lead)).as_ref().is_some_and(|d| dfa_matches(d, nsn, false))
    }

    /// Calls `emit` with every grouping that [`coarsens`] this format, of
    /// at most `max_digits` digits in at most `max_groups` groups: its
    /// groups merged in every way, each merged group any length its parts
    /// allow.
    fn each_grouping(&self, max_digits: usize, max_groups: usize, emit: &mut dyn FnMut(&[u8])) {
        let parts = self.groups.len();
        if parts == 0 {
            return;
        }
        // Bit i of `merges`: part i+1 joins part i's group.
        for merges in 0..1u32 << (parts - 1) {
            let mut blocks: Vec<(u8, u8)> = vec![self.groups[0]];
            for (i, &(lo, hi)) in self.groups[1..].iter().enumerate() {
                match merges & (1 << i) {
                    0 => blocks.push((lo, hi)),
                    _ => {
                        let last = blocks.last_mut().expect("one block at least");
                        *last = (last.0 + lo, last.1 + hi);
                    }
                }
            }
            if blocks.len() <= max_groups {
                each_length_choice(&blocks, &mut Vec::new(), max_digits, emit);
            }
        }
    }

    /// Whether `groups`, of `nsn_len` digits in all, is this format or
    /// coarser: the bounds first, then [`coarsens`].
    fn shape_fits(&self, groups: &[u8], nsn_len: usize) -> bool {
        groups.len() <= self.groups.len()
            && (self.fewest_digits..=self.most_digits).contains(&nsn_len)
            && coarsens(groups, self.groups)
    }
}

/// A metadata digit pattern compiled to a DFA (these use `x` mode
/// whitespace), with its anchored start state: every walk starts at the
/// start of its digits, so the state is the same for all, and is looked
/// up once instead of on every call (~30 instructions).
#[derive(Debug)]
struct DigitDfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

fn digit_dfa(pattern: &str) -> Option<DigitDfa> {
    let dfa = dense::Builder::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false).ignore_whitespace(true))
        .build(pattern)
        .ok()?;
    let start = dfa.start_state_forward(&Input::new(&[]).anchored(Anchored::Yes)).ok()?;
    Some(DigitDfa { dfa, start })
}

/// Whether `d` (anchored) matches `digits` from their start: the whole
/// of them, or (`whole` false) any prefix. A walk of its transitions, a
/// few instructions a digit, without the setup of a general search (~100
/// instructions a call, and a code such as `1` asks up to 25 regions).
fn dfa_matches(d: &DigitDfa, digits: &[u8], whole: bool) -> bool {
    let dfa = &d.dfa;
    let mut state = d.start;
    for &b in digits {
        state = dfa.next_state(state, b);
        // A DFA reports a match one byte late: here, one that ended
        // before `b`, which is a prefix.
        if dfa.is_dead_state(state) || (!whole && dfa.is_match_state(state)) {
            return dfa.is_match_state(state);
        }
    }
    dfa.is_match_state(dfa.next_eoi_state(state))
}

impl Region {
    /// Whether `nsn` (national significant number, digits only) is a valid
    /// number of this region.
    pub fn is_valid(&self, nsn: &[u8]) -> bool {
        work::charge(nsn.len());
        if self.nsn_lengths & bit(nsn.len()) == 0 {
            return false;
        }
        let dfa = self.pattern.get_or_init(|| digit_dfa(&format!("^(?:{})$", self.data.pattern)));
        dfa.as_ref().is_some_and(|d| dfa_matches(d, nsn, true))
    }

    /// Whether `digits`, written nationally, is a valid number of this
    /// region. Where national format prints the trunk prefix (`0` in GB, FR,
    /// DE, JP) it is required: `1700000000` is not a GB number as written,
    /// `01700 000000` is. Where it does not (the US, Brazil), the prefix is
    /// optional.
    pub fn is_valid_national(&self, digits: &[u8]) -> bool {
        let printed = self.data.prefix_printed;
        match self.data.national_prefix {
            Some(prefix) if starts_with_prefix(digits, prefix) => {
                self.is_valid(&digits[prefix.len()..]) || (!printed && self.is_valid(digits))
            }
            Some(_) if printed => false,
            _ => self.is_valid(digits),
        }
    }
}

impl Region {
    /// Whether a number written nationally in `groups` (digits per group,
    /// the trunk prefix included as written) is grouped as this region
    /// writes its numbers: the trunk prefix leads the first group or stands
    /// alone, and each group is one or more whole groups of one of the
    /// region's formats (`020 79460958` is GB's `20 7946 0958`, coarser).
    pub fn writes_as(&self, digits: &[u8], groups: &[u8]) -> bool {
        let mut national = [0u8; 16];
        let Some((groups, nsn)) = self.national_significant(digits, groups, &mut national) else {
            return false;
        };
        let Some(key) = grouping_key(groups).filter(|_| nsn.len() <= MAX_SHAPE_DIGITS) else {
            // Longer than the shape table holds: every format.
            work::charge(self.formats.len());
            return self.formats.iter().any(|f| f.fits(groups, nsn));
        };
        let shapes = self.shapes.get_or_init(|| {
            GroupingMasks::build(|add| {
                for (i, f) in self.formats.iter().enumerate() {
                    f.each_grouping(MAX_SHAPE_DIGITS, usize::MAX, &mut |g| add(g, mask_bit(i)));
                }
            })
        });
        any_in_mask(&self.formats, shapes.get(key), |i, f| {
            work::charge(1);
            // The table says the shape fits, but for the formats from the
            // 64th on, which share a bit.
            (i < 63 || f.shape_fits(groups, nsn.len())) && f.lead_fits(nsn)
        })
    }

    /// The grouping and digits of the national significant number in a
    /// number written nationally as `digits` in `groups`: the trunk prefix
    /// taken off where the digits start with it and the first group holds
    /// it (`None` for more groups than `buf` holds).
    fn national_significant<'d, 'b>(
        &self,
        digits: &'d [u8],
        groups: &[u8],
        buf: &'b mut [u8; 16],
    ) -> Option<(&'b [u8], &'d [u8])> {
        let national = buf.get_mut(..groups.len())?;
        national.copy_from_slice(groups);
        match self.data.national_prefix {
            Some(prefix)
                if starts_with_prefix(digits, prefix)
                    && national.first().is_some_and(|&g| g as usize >= prefix.len()) =>
            {
                national[0] -= prefix.len() as u8;
                let national = if national[0] == 0 { &national[1..] } else { &national[..] };
                Some((national, &digits[prefix.len()..]))
            }
            _ => Some((national, digits)),
        }
    }
}

impl Region {
    /// The digit counts a valid national number of this region can have,
    /// as written (trunk prefix included where printed): bit `n` is set
    /// for `n` digits. A cheap first test for [`Region::is_valid_national`].
    pub fn national_digit_counts(&self) -> u64 {
        let lengths = self.data.lengths;
        if lengths.is_empty() {
            return u64::MAX;
        }
        let prefix = self.data.national_prefix.map_or(0, str::len);
        let without_prefix = prefix == 0 || !self.data.prefix_printed;
        lengths.iter().map(|&n| n as usize).fold(0, |counts, n| {
            let with = if prefix > 0 { bit(n + prefix) } else { 0 };
            counts | with | if without_prefix { bit(n) } else { 0 }
        })
    }

    /// Whether a number written nationally that starts with the digit
    /// `lead` may be valid ([`Region::is_valid_national`]): where the
    /// trunk prefix is printed, only one that starts with it is.
    pub fn may_start_with(&self, lead: u8) -> bool {
        match self.data.national_prefix {
            Some(prefix) if self.data.prefix_printed => prefix.as_bytes().first().is_none_or(|&p| p == lead),
            _ => true,
        }
    }
}

impl Region {
    /// Calls `emit` with every grouping (digits per group) in which a
    /// national number of at most `max_digits` digits, in at most
    /// `max_groups` groups, can be written so that [`Region::writes_as`]
    /// holds for it: each format's groups merged in every way, each merged
    /// group any length its parts allow, with the trunk prefix leading the
    /// first group, standing alone, or left out. A superset of what
    /// `writes_as` accepts for any digits, so a grouping not emitted is
    /// refused without reading them.
    pub fn each_written_grouping(&self, max_digits: usize, max_groups: usize, emit: &mut dyn FnMut(&[u8])) {
        let prefix = self.data.national_prefix.map_or(0, str::len) as u8;
        for f in &self.formats {
            f.each_grouping(max_digits, max_groups, &mut |groups| {
                let mut written = |g: &[u8]| {
                    let digits: usize = g.iter().map(|&n| n as usize).sum();
                    if g.len() <= max_groups && digits <= max_digits {
                        emit(g)
                    }
                };
                written(groups);
                if prefix > 0 {
                    let mut leading = groups.to_vec();
                    leading[0] += prefix;
                    written(&leading);
                    written(&[&[prefix][..], groups].concat());
                }
            });
        }
    }
}

/// Calls `emit` with each choice of one length per block, within its
/// bounds, of at most `max_digits` digits in all.
fn each_length_choice(blocks: &[(u8, u8)], chosen: &mut Vec<u8>, max_digits: usize, emit: &mut dyn FnMut(&[u8])) {
    let Some((&(lo, hi), rest)) = blocks.split_first() else {
        return emit(chosen);
    };
    let used: usize = chosen.iter().map(|&n| n as usize).sum();
    for len in lo.max(1)..=hi {
        if used + len as usize > max_digits {
            break;
        }
        chosen.push(len);
        each_length_choice(rest, chosen, max_digits, emit);
        chosen.pop();
    }
}

/// Whether `digits` start with the trunk prefix `prefix` (a digit or
/// two), compared inline: `starts_with` called `memcmp`, ~30
/// instructions for every region a candidate number is tried against.
#[inline(always)]
fn starts_with_prefix(digits: &[u8], prefix: &str) -> bool {
    let prefix = prefix.as_bytes();
    digits.len() >= prefix.len() && digits.iter().zip(prefix).all(|(d, p)| d == p)
}

/// Every grouping of at most `max_digits` digits in at most `max_groups`
/// groups, for tests that walk them all.
#[cfg(test)]
pub(super) fn every_grouping(max_digits: usize, max_groups: usize) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut stack: Vec<Vec<u8>> = (1..=max_digits as u8).map(|g| vec![g]).collect();
    while let Some(groups) = stack.pop() {
        let n: usize = groups.iter().map(|&g| g as usize).sum();
        if groups.len() < max_groups {
            stack.extend((1..=(max_digits - n) as u8).map(|g| [&groups[..], &[g]].concat()));
        }
        all.push(groups);
    }
    all
}

/// Bit `n` of a digit-count set (none past 63 digits).
fn bit(n: usize) -> u64 {
    1u64.checked_shl(n as u32).unwrap_or(0)
}

/// Whether each of `groups` is the digits of one or more consecutive
/// groups of `format`, in order, using them all.
fn coarsens(groups: &[u8], format: &[(u8, u8)]) -> bool {
    let Some((&first, rest)) = groups.split_first() else {
        return format.is_empty();
    };
    let (mut fewest, mut most) = (0u32, 0u32);
    for (i, &(lo, hi)) in format.iter().enumerate() {
        fewest += lo as u32;
        most += hi as u32;
        if fewest > first as u32 {
            return false;
        }
        if most >= first as u32 && coarsens(rest, &format[i + 1..]) {
            return true;
        }
    }
    false
}

/// The whole plan, indexed by calling code and by region id.
#[derive(Debug)]
pub struct NumberingPlan {
    regions: Vec<Region>,
    /// The regions of each calling code (1 to 3 digits, so below 1000),
    /// the main one first.
    by_code: Vec<Vec<usize>>,
    by_id: HashMap<&'static str, usize>,
}

/// Calling codes have at most three digits.
const CALLING_CODES: usize = 1000;

static PLAN: LazyLock<NumberingPlan> = LazyLock::new(NumberingPlan::from_metadata);

impl NumberingPlan {
    /// The process-wide plan (built on first use, shared by every masker).
    pub fn get() -> &'static NumberingPlan {
        &PLAN
    }

    fn from_metadata() -> NumberingPlan {
        let regions: Vec<Region> = REGIONS
            .iter()
            .map(|data| Region {
                data,
                pattern: OnceLock::new(),
                nsn_lengths: match data.lengths {
                    [] => u64::MAX,
                    lengths => lengths.iter().fold(0, |set, &n| set | bit(n as usize)),
                },
                formats: data.groupings.iter().map(Format::new).collect(),
                shapes: OnceLock::new(),
            })
            .collect();
        let mut by_code: Vec<Vec<usize>> = vec![Vec::new(); CALLING_CODES];
        let mut by_id = HashMap::new();
        for (i, r) in regions.iter().enumerate() {
            if let Some(code) = by_code.get_mut(r.data.code as usize) {
                code.push(i);
            }
            by_id.insert(r.data.id, i);
        }
        for code in &mut by_code {
            code.sort_by_key(|&i| !regions[i].data.main);
        }
        NumberingPlan { regions, by_code, by_id }
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.by_id.get(id.to_ascii_uppercase().as_str()).map(|&i| &self.regions[i])
    }

    /// Splits `digits` (written internationally, without `+` or `00`) into
    /// a calling code and the rest. Calling codes are prefix-free, so at most
    /// one split exists.
    pub fn split_country_code<'d>(&self, digits: &'d [u8]) -> Option<(u16, &'d [u8])> {
        (1..=3).filter(|&n| digits.len() > n).find_map(|n| {
            let code = digits[..n].iter().fold(0u16, |acc, d| acc * 10 + (d - b'0') as u16);
            self.by_code.get(code as usize).is_some_and(|rs| !rs.is_empty()).then(|| (code, &digits[n..]))
        })
    }

    /// Whether `digits` written internationally is a valid number.
    pub fn is_valid_international(&self, digits: &[u8]) -> bool {
        let Some((code, nsn)) = self.split_country_code(digits) else {
            return false;
        };
        self.by_code.get(code as usize).is_some_and(|rs| rs.iter().any(|&i| self.regions[i].is_valid(nsn)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_pattern_compiles() {
        let plan = NumberingPlan::get();
        assert!(plan.regions.len() > 240, "{} regions", plan.regions.len());
        for r in &plan.regions {
            assert!(!r.data.lengths.is_empty(), "region {} has no lengths", r.data.id);
            let probe = vec![b'0'; r.data.lengths[0] as usize];
            r.is_valid(&probe);
            assert!(r.pattern.get().is_some_and(Option::is_some), "region {} pattern", r.data.id);
            for (_, lead) in r.data.groupings {
                assert!(lead.is_empty() || digit_dfa(lead).is_some(), "region {} leading digits {lead}", r.data.id);
            }
        }
    }

    /// The hand-written DFA walk answers as regex-automata's own search
    /// does, whole and prefix, on every region's pattern and leading-digit
    /// patterns, for digit strings of the region's lengths and around them.
    #[test]
    fn the_dfa_walk_agrees_with_the_dfa_search() {
        let plan = NumberingPlan::get();
        let search = |d: &DigitDfa, digits: &[u8], whole: bool| {
            let dfa = &d.dfa;
            let input = Input::new(digits).anchored(Anchored::Yes);
            dfa.try_search_fwd(&input).ok().flatten().is_some_and(|m| !whole || m.offset() == digits.len())
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut digit = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            b'0' + (seed >> 33) as u8 % 10
        };
        let (mut matched, mut asked) = (0, 0);
        for r in &plan.regions {
            let whole = digit_dfa(&format!("^(?:{})$", r.data.pattern)).expect("compiles");
            let leads: Vec<_> = r.data.groupings.iter().filter_map(|(_, lead)| digit_dfa(lead)).collect();
            for &len in r.data.lengths {
                for n in [len.saturating_sub(1), len, len + 1] {
                    for _ in 0..40 {
                        let digits: Vec<u8> = (0..n).map(|_| digit()).collect();
                        let answer = search(&whole, &digits, true);
                        assert_eq!(dfa_matches(&whole, &digits, true), answer, "{} {digits:?}", r.data.id);
                        matched += answer as usize;
                        asked += 1;
                        for lead in &leads {
                            assert_eq!(dfa_matches(lead, &digits, false), search(lead, &digits, false));
                        }
                    }
                }
            }
        }
        // Random digits of the right length are often valid numbers: the
        // comparison covered both answers.
        assert!(matched > asked / 20 && matched < asked, "{matched} of {asked}");
    }

    #[test]
    fn a_calling_codes_main_region_comes_first() {
        let plan = NumberingPlan::get();
        for (code, id) in [(1, "US"), (44, "GB"), (7, "RU"), (39, "IT")] {
            assert_eq!(plan.regions[plan.by_code[code][0]].data.id, id);
        }
        assert!(plan.by_code[1].len() > 20, "the NANP's regions share code 1");
        // Numbers of the code's other regions are still valid: Canada
        // (Toronto, 416) and Jamaica (876).
        assert!(plan.is_valid_international(b"14165550123") && plan.is_valid_international(b"18765550123"));
    }

    #[test]
    fn validates_international_numbers_against_the_metadata() {
        let plan = NumberingPlan::get();
        assert!(plan.is_valid_international(b"442079460958"));
        assert!(plan.is_valid_international(b"14155552671"));
        assert!(plan.is_valid_international(b"819012345678"));
        // A UK number one digit short, and a US number with area code 123.
        assert!(!plan.is_valid_international(b"44207946095"));
        assert!(!plan.is_valid_international(b"11235552671"));
    }

    #[test]
    fn validates_national_numbers_with_trunk_prefixes() {
        let plan = NumberingPlan::get();
        let gb = plan.region("GB").expect("GB in metadata");
        assert!(gb.is_valid_national(b"01614960066"));
        assert!(!gb.is_valid_national(b"1700000000"));
        let br = plan.region("BR").expect("BR in metadata");
        assert!(br.is_valid_national(b"11969585190"), "BR national format has no trunk 0");
        let us = plan.region("US").expect("US in metadata");
        assert!(us.is_valid_national(b"4155552671") && us.is_valid_national(b"14155552671"));
        let fr = plan.region("fr").expect("FR in metadata");
        assert!(fr.is_valid_national(b"0612345678"));
        let jp = plan.region("JP").expect("JP in metadata");
        assert!(jp.is_valid_national(b"09012345678"));
    }

    #[test]
    fn groupings_follow_each_regions_national_formats() {
        let plan = NumberingPlan::get();
        let region = |id| plan.region(id).expect("in metadata");
        let (gb, fr, us, ca, br) = (region("GB"), region("FR"), region("US"), region("CA"), region("BR"));
        assert!(gb.writes_as(b"02079460958", &[3, 4, 4]));
        assert!(gb.writes_as(b"02079460958", &[3, 8]), "coarser: groups merged");
        assert!(gb.writes_as(b"02079460958", &[11]));
        assert!(gb.writes_as(b"07700900123", &[5, 6]));
        assert!(!gb.writes_as(b"02079460958", &[3, 3, 5]));
        assert!(fr.writes_as(b"0612345678", &[2, 2, 2, 2, 2]));
        assert!(!fr.writes_as(b"4050607080", &[2, 2, 2, 2, 2]), "no trunk 0: not a French grouping");
        assert!(us.writes_as(b"4155552671", &[3, 3, 4]));
        assert!(us.writes_as(b"18005550199", &[1, 3, 3, 4]), "trunk 1 on its own");
        assert!(ca.writes_as(b"4165552671", &[3, 3, 4]), "CA uses the US formats");
        assert!(!us.writes_as(b"4155552671", &[2, 2, 2, 4]));
        assert!(br.writes_as(b"11969585190", &[2, 5, 4]));
        assert!(!br.writes_as(b"21103045020", &[2, 2, 2, 2, 3]));
    }

    /// Every grouping of a format's digits that a region writes: each
    /// group its lowest, highest or a middle length, consecutive groups
    /// merged in every way.
    fn groupings_of(format: &[(u8, u8)]) -> Vec<Vec<u8>> {
        let mut lengths: Vec<Vec<u8>> = vec![vec![]];
        for &(lo, hi) in format {
            let choices = [lo, lo + (hi - lo) / 2, hi];
            lengths = lengths.iter().flat_map(|l| choices.map(|c| [&l[..], &[c]].concat())).collect();
        }
        lengths.dedup();
        let mut out = Vec::new();
        for l in lengths.iter().filter(|l| !l.is_empty()) {
            // Bit i of `merges`: group i+1 joins group i.
            for merges in 0..1u32 << (l.len() - 1) {
                let mut groups = vec![l[0]];
                for (i, &g) in l[1..].iter().enumerate() {
                    match merges & (1 << i) {
                        0 => groups.push(g),
                        _ => *groups.last_mut().expect("one group at least") += g,
                    }
                }
                out.push(groups);
            }
        }
        out
    }

    /// The format bounds and the groupings a region says it writes (the
    /// phone detector's table) are shortcuts: neither may turn away a
    /// grouping a region writes, with its trunk prefix leading the first
    /// group, standing alone, or left out.
    #[test]
    fn the_grouping_shortcuts_admit_every_grouping_a_region_writes() {
        let plan = NumberingPlan::get();
        let mut checked = 0;
        for id in ["US", "CA", "GB", "FR", "DE", "JP", "IN", "AU", "ES", "NL", "BR", "MX"] {
            let r = plan.region(id).expect("in metadata");
            let mut written = std::collections::HashSet::new();
            r.each_written_grouping(15, 8, &mut |g| {
                written.insert(g.to_vec());
            });
            let prefix = r.data.national_prefix.map_or(0, str::len) as u8;
            for f in &r.formats {
                for groups in groupings_of(f.groups) {
                    let nsn: usize = groups.iter().map(|&g| g as usize).sum();
                    assert!(coarsens(&groups, f.groups), "{id} {groups:?} of {:?}", f.groups);
                    assert!(f.shape_fits(&groups, nsn), "{id}: {groups:?} of {:?}", f.groups);
                    let mut forms = vec![groups.clone()];
                    if prefix > 0 {
                        let mut leading = groups.clone();
                        leading[0] += prefix;
                        forms.push(leading);
                        forms.push([&[prefix][..], &groups].concat());
                    }
                    for form in
                        forms.iter().filter(|g| g.len() <= 8 && g.iter().map(|&n| n as usize).sum::<usize>() <= 15)
                    {
                        assert!(written.contains(form), "{id}: {form:?} (from {groups:?})");
                    }
                    checked += 1;
                }
            }
            // And they turn some away: no region writes eight groups of one digit.
            assert!(!written.contains(&vec![1; 8]), "{id}");
        }
        assert!(checked > 1000, "{checked} groupings");
    }

    /// `writes_as` looks a grouping up in the region's shape table; for
    /// every grouping of up to 13 digits in up to 8 groups, written with
    /// and without the trunk prefix, it must answer as testing every
    /// format does.
    #[test]
    fn the_shape_table_answers_as_every_format_does() {
        let plan = NumberingPlan::get();
        let (mut asked, mut written) = (0, 0);
        for groups in every_grouping(13, 8) {
            let n: usize = groups.iter().map(|&g| g as usize).sum();
            for id in ["US", "GB", "FR", "DE", "JP", "IN", "AU", "BR", "MX"] {
                let r = plan.region(id).expect("in metadata");
                for lead in [b'0', b'1', b'2', b'7', b'9'] {
                    let digits: Vec<u8> =
                        std::iter::once(lead).chain((1..n).map(|i| b'0' + (i * 7 % 10) as u8)).collect();
                    let mut buf = [0; 16];
                    let (national, nsn) = r.national_significant(&digits, &groups, &mut buf).expect("8 groups fit");
                    let every_format = r.formats.iter().any(|f| f.fits(national, nsn));
                    assert_eq!(r.writes_as(&digits, &groups), every_format, "{id} {groups:?} {digits:?}");
                    asked += 1;
                    written += every_format as usize;
                }
            }
        }
        assert!(asked > 100_000 && written > 300, "{asked} asked, {written} written");
    }

    #[test]
    fn digit_counts_admit_every_valid_national_number() {
        let plan = NumberingPlan::get();
        let counts = |id| plan.region(id).expect("in metadata").national_digit_counts();
        let has = |c: u64, n: usize| c & (1 << n) != 0;
        let (gb, us, fr) = (counts("GB"), counts("US"), counts("FR"));
        assert!(has(gb, 11) && has(gb, 10) && !has(gb, 12), "GB: 0 + 9 or 10 digits");
        assert!(has(us, 10) && has(us, 11) && !has(us, 9), "US: trunk 1 optional");
        assert!(has(fr, 10) && !has(fr, 9), "FR: the 0 is printed");
        // Random digit strings, with and without a leading trunk 0 or 1:
        // none the plan accepts may fall outside its region's counts.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut valid = 0;
        for id in ["US", "CA", "GB", "FR", "DE", "JP", "IN", "AU", "ES", "NL", "BR", "MX"] {
            let r = plan.region(id).expect("in metadata");
            let c = r.national_digit_counts();
            for n in 4..=17 {
                for lead in [b'0', b'1', b'2', b'5', b'9'] {
                    for _ in 0..40 {
                        let mut digits = vec![lead];
                        digits.extend((1..n).map(|_| {
                            state =
                                state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                            b'0' + (state >> 59) as u8 % 10
                        }));
                        if r.is_valid_national(&digits) {
                            valid += 1;
                            assert!(has(c, n), "region {id} accepts {n} digits");
                        }
                    }
                }
            }
        }
        assert!(valid > 1000, "only {valid} valid numbers drawn");
    }
}
