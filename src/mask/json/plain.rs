//! The JSON masker's hot path: the structural loop of a profile without
//! field rules ([`JsonMasker::plain`]), which reads keys, whole strings,
//! numbers and punctuation with the state in a register, and hands every
//! byte it does not take to the general state machine ([`super::general`]).
//!
//! Built twice, for x86-64-v3 and for the x86-64 baseline. Must not depend
//! on field rules, held output or the general loop's states beyond the
//! [`State`] it returns in.

// Calls the x86-64-v3 build of the loop and of the member and string
// readers, on CPUs checked to have those features.
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use super::member::member_start_avx2;
use super::member::{MemberStart, MemberValue};
use super::scalar::Scalar;
#[cfg(target_arch = "x86_64")]
use super::strings::scan_string_avx2;
use super::strings::{StringRun, scan_string};
use super::{JsonMasker, MAX_DEPTH, State, context_key, is_whitespace, whole_key};
use crate::mask::decoded_view::mask_spelled;
use crate::mask::detect::{Hay, Prefilter};
use crate::mask::segment::{Encoding, ScanScratch, for_each_match};
use crate::mask::spelling::needs_decoding;
use crate::mask::{Counters, Masker};

/// [`member_start_avx2`] in the x86-64-v3 build (`V3`), else `None`.
#[inline(always)]
fn member_start<const V3: bool>(input: &[u8], from: usize) -> Option<MemberStart> {
    #[cfg(target_arch = "x86_64")]
    if V3 {
        // SAFETY: `V3` is true only in `plain_v3`, which runs only on CPUs
        // with the x86-64-v3 features (AVX2, BMI1, POPCNT among them).
        return unsafe { member_start_avx2(input, from) };
    }
    None
}

/// [`scan_string`], straight to its AVX2 build in the x86-64-v3 build
/// (`V3`): no feature test. LLVM keeps it a call; inlined (as a
/// profile-guided build did), it ran no faster through the proxy.
#[inline(always)]
fn scan_string_in<const V3: bool>(input: &[u8], from: usize) -> StringRun {
    #[cfg(target_arch = "x86_64")]
    if V3 {
        // SAFETY: as in `member_start`.
        return unsafe { scan_string_avx2(input, from) };
    }
    scan_string(input, from)
}
/// Runs the detectors over a whole string (content at `start`, `run`
/// ending at its closing quote) under `key`, writing pending input and
/// each replacement.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn scan_whole_string(
    masker: &Masker,
    input: &[u8],
    start: usize,
    run: &StringRun,
    key: &[u8],
    scratch: &mut ScanScratch,
    pending_from: &mut usize,
    out: &mut Vec<u8>,
    counters: &mut Counters,
) {
    let hay = Hay::whole(&input[start..run.end], key);
    let prefilter = run.prefilter();
    let enc = Encoding::JsonString;
    for_each_match(masker, &hay, 0, Some(prefilter), enc, counters, scratch, &mut |mt, replacement| {
        out.extend_from_slice(&input[*pending_from..start + mt.start]);
        out.extend_from_slice(replacement);
        *pending_from = start + mt.end;
    });
}

impl JsonMasker {
    /// The structural loop of a profile without field rules (the default,
    /// and most deployments): nothing is planned, held or dropped, so a
    /// key, a whole string, a number and the punctuation between them are
    /// handled here with the state in a register. Returns at the first
    /// byte it leaves to the general loop (a string or token the chunk
    /// cuts, an escape, malformed input), with `self.state` describing it.
    ///
    /// Built twice: for CPUs with AVX2, BMI and POPCNT (x86-64-v3, servers
    /// since 2013) and for the x86-64 baseline, picked at run time. The
    /// string scans inlined here count anchor bytes with `count_ones`,
    /// which baseline x86-64 turns into a dozen shifts and adds; the v3
    /// build uses `popcnt`, and BMI's shifts and bit tests. -3% instructions
    /// on dense records, -5% time (callgrind and `perf stat`, 20 MB). The
    /// whole binary built for v3 saved 1.5 points more, but would not run
    /// on the older CPUs that some virtual machines still present.
    #[inline(never)]
    pub(super) fn plain(
        &mut self,
        masker: &Masker,
        input: &[u8],
        i: usize,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.x86_64_v3 {
            // SAFETY: set only when the CPU has the features plain_v3 is
            // built for (`has_x86_64_v3`, when the stream was made).
            return unsafe { self.plain_v3(masker, input, i, pending_from, out, counters) };
        }
        self.plain_body::<false>(masker, input, i, pending_from, out, counters)
    }

    /// [`JsonMasker::plain`] compiled for x86-64-v3.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
    unsafe fn plain_v3(
        &mut self,
        masker: &Masker,
        input: &[u8],
        i: usize,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> usize {
        self.plain_body::<true>(masker, input, i, pending_from, out, counters)
    }

    /// [`JsonMasker::plain`]'s loop, inlined into each build of it;
    /// `V3` is true in the x86-64-v3 build, which reads each member's
    /// start with [`member_start`].
    #[inline(always)]
    fn plain_body<const V3: bool>(
        &mut self,
        masker: &Masker,
        input: &[u8],
        mut i: usize,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> usize {
        let mut state = self.state;
        // The innermost object's current key, read from the input while
        // only this loop asks for it, and saved into `self.keys` (a copy
        // per key, 7% of the instructions on order records) only when a
        // container opens or the loop returns: from then on something
        // else may ask. A container that closes takes it along.
        let mut unsaved_key: Option<&[u8]> = None;
        // Dispatched on the byte first: one jump table, then a state test.
        'scan: while i < input.len() {
            let b = input[i];
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                // An object's members, one after another while they keep
                // the common compact shape (`"key":value,"key":{…},…}`):
                // each step then expects the next, a conditional branch
                // that predicts well, instead of going back through the
                // jump table, whose indirect jump mispredicts on mixed
                // records (-10% instructions, -5..9% time on order
                // records). Any other byte goes back to the dispatch, in
                // the state it found.
                b'"' if matches!(state, State::KeyOrClose | State::Key) => 'member: loop {
                    let (key, end, value) = match member_start::<V3>(input, i + 1) {
                        Some(s) => (&input[i + 1..s.key_end], s.key_end + 1, s.value),
                        None => match whole_key(input, i + 1) {
                            Some((key, end)) => (key, end, MemberValue::Other),
                            None => break 'scan,
                        },
                    };
                    unsaved_key = Some(key);
                    state = State::Colon;
                    i = end;
                    // `"key":value` with the value read with the key.
                    match value {
                        // No anchor byte: the gate, asked of an empty
                        // summary, opens only for user-defined detectors
                        // (it folds to that one flag here; left to
                        // `take_scanned_string` with an empty run, it did
                        // not fold: +0.4% instructions on dense records).
                        MemberValue::PlainString { end: string_end }
                            if !masker.detectors.may_match(&Prefilter::default()) =>
                        {
                            i = string_end + 1;
                        }
                        MemberValue::PlainString { end: string_end } => {
                            let run = StringRun { end: string_end, ..StringRun::default() };
                            i = self.take_scanned_string(
                                masker,
                                input,
                                end + 2,
                                &run,
                                unsaved_key,
                                pending_from,
                                out,
                                counters,
                            );
                        }
                        MemberValue::String(run) => {
                            i = self.take_scanned_string(
                                masker,
                                input,
                                end + 2,
                                &run,
                                unsaved_key,
                                pending_from,
                                out,
                                counters,
                            );
                        }
                        MemberValue::Number { end: number_end, fraction } => {
                            let kind = if fraction { Scalar::Fraction } else { Scalar::Integer };
                            if self.scalar_may_match(masker, &input[end + 1..number_end], kind, unsaved_key) {
                                state = State::Value;
                                i = end + 1;
                                break 'scan;
                            }
                            i = number_end;
                        }
                        MemberValue::Other => {
                            // The colon follows, perhaps after a space.
                            if input.get(i) != Some(&b':') {
                                i += input[i..].iter().take(2).take_while(|&&b| is_whitespace(b)).count();
                                if input.get(i) != Some(&b':') {
                                    break;
                                }
                            }
                            state = State::Value;
                            i += 1;
                            match input.get(i) {
                                Some(b'"') => {
                                    let Some(end) = self.take_whole_string::<V3>(
                                        masker,
                                        input,
                                        i + 1,
                                        unsaved_key,
                                        pending_from,
                                        out,
                                        counters,
                                    ) else {
                                        break 'scan;
                                    };
                                    i = end;
                                }
                                Some(b'{') if self.frames.len() < MAX_DEPTH => {
                                    self.open_container(true, unsaved_key.take());
                                    state = State::KeyOrClose;
                                    i += 1;
                                    if input.get(i) == Some(&b'"') {
                                        continue;
                                    }
                                    break;
                                }
                                Some(&b) if b == b'-' || b.is_ascii_alphanumeric() => {
                                    let Some(end) = self.take_inert_scalar(masker, input, i, unsaved_key) else {
                                        break 'scan;
                                    };
                                    i = end;
                                }
                                // An array of objects (`"items":[{…`): both open
                                // here, its first member read next.
                                Some(b'[') if input.get(i + 1) == Some(&b'{') && self.frames.len() + 1 < MAX_DEPTH => {
                                    self.open_container(false, unsaved_key.take());
                                    self.open_container(true, None);
                                    state = State::KeyOrClose;
                                    i += 2;
                                    if input.get(i) == Some(&b'"') {
                                        continue;
                                    }
                                    break;
                                }
                                _ => break,
                            }
                        }
                    }
                    state = State::AfterValue;
                    // The next member, or the object's end; after that the
                    // parent's next member or element (an object), or the
                    // parent's end (an object, or an array of objects).
                    loop {
                        match input.get(i) {
                            Some(b',') if input.get(i + 1) == Some(&b'"') => {
                                state = State::Key;
                                i += 1;
                                continue 'member;
                            }
                            // The open container's end: an object's after
                            // a member, an array's after its last object
                            // (`…}]`). The dispatch reports a mismatch,
                            // should one ever reach this.
                            Some(&b @ (b'}' | b']')) if self.pop_frame(b == b'}') => {
                                unsaved_key = None;
                                i += 1;
                            }
                            _ => break 'member,
                        }
                        let parent_is_object = match self.frames.last() {
                            Some(f) => f.object,
                            None => break 'member,
                        };
                        match input.get(i) {
                            Some(b'}' | b',') if parent_is_object => {}
                            // The array ends (`"items":[{…}]`): closed at
                            // the top, then its parent's next member.
                            Some(b']') if !parent_is_object => {}
                            // The array's next object, perhaps on a line
                            // of its own (`},\n{`).
                            Some(b',') if self.frames.len() < MAX_DEPTH => {
                                let next =
                                    i + 1 + input[i + 1..].iter().take(2).take_while(|&&b| is_whitespace(b)).count();
                                if input.get(next) != Some(&b'{') {
                                    break 'member;
                                }
                                self.open_container(true, None);
                                state = State::KeyOrClose;
                                i = next + 1;
                                if input.get(i) == Some(&b'"') {
                                    continue 'member;
                                }
                                break 'member;
                            }
                            _ => break 'member,
                        }
                    }
                },
                b'"' if matches!(state, State::Value | State::ValueOrClose) => {
                    let Some(end) =
                        self.take_whole_string::<V3>(masker, input, i + 1, unsaved_key, pending_from, out, counters)
                    else {
                        break 'scan;
                    };
                    state = State::AfterValue;
                    i = end;
                }
                b':' if state == State::Colon => {
                    state = State::Value;
                    i += 1;
                }
                b',' if state == State::AfterValue => match self.frames.last() {
                    Some(f) => {
                        state = if f.object { State::Key } else { State::Value };
                        i += 1;
                    }
                    None => break,
                },
                b'}' | b']'
                    if state == State::AfterValue
                        || state == if b == b'}' { State::KeyOrClose } else { State::ValueOrClose } =>
                {
                    if !self.pop_frame(b == b'}') {
                        break;
                    }
                    unsaved_key = None;
                    state = State::AfterValue;
                    i += 1;
                }
                b'{' | b'[' if matches!(state, State::Value | State::ValueOrClose) && self.frames.len() < MAX_DEPTH => {
                    let object = b == b'{';
                    self.open_container(object, unsaved_key.take());
                    state = if object { State::KeyOrClose } else { State::ValueOrClose };
                    i += 1;
                }
                _ if matches!(state, State::Value | State::ValueOrClose) => {
                    match self.take_inert_scalar(masker, input, i, unsaved_key) {
                        Some(end) => {
                            state = State::AfterValue;
                            i = end;
                        }
                        None => break,
                    }
                }
                // Another document (NDJSON, concatenated JSON).
                _ if state == State::AfterValue && self.frames.is_empty() => state = State::Value,
                _ => break,
            }
        }
        if let Some(key) = unsaved_key {
            self.set_key(key);
        }
        self.state = state;
        i
    }

    /// [`JsonMasker::push_frame`] for [`JsonMasker::plain`], which saves
    /// the key the container is the value of first, if it has not yet.
    #[inline(always)]
    fn open_container(&mut self, object: bool, unsaved_key: Option<&[u8]>) {
        if let Some(key) = unsaved_key {
            self.set_key(key);
        }
        self.push_frame(object);
    }

    /// Fast path for a string value whole in the chunk and without escapes
    /// (its content starts at `start`): runs the detectors over it,
    /// writing pending input and each replacement, and returns the index
    /// past its closing quote. An unmatched string stays pending raw input.
    /// Most strings hold no anchor byte: that test is inlined into the
    /// loops. `unsaved_key` is the key when it is not yet in `self.keys`
    /// (see [`JsonMasker::plain`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn take_whole_string<const V3: bool>(
        &mut self,
        masker: &Masker,
        input: &[u8],
        start: usize,
        unsaved_key: Option<&[u8]>,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> Option<usize> {
        let run = scan_string_in::<V3>(input, start);
        if !(run.end < input.len() && input[run.end] == b'"') {
            return None;
        }
        Some(self.take_scanned_string(masker, input, start, &run, unsaved_key, pending_from, out, counters))
    }

    /// [`JsonMasker::take_whole_string`] for a string already scanned:
    /// `run` ends at its closing quote.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn take_scanned_string(
        &mut self,
        masker: &Masker,
        input: &[u8],
        start: usize,
        run: &StringRun,
        unsaved_key: Option<&[u8]>,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) -> usize {
        // A string with `&`, `%` or non-ASCII bytes may spell an anchor
        // another way (`&#64;`, `%40`, `＠`).
        if masker.detectors.may_match(&run.prefilter()) || (run.spelled != 0 && !masker.detectors.is_empty()) {
            self.detect_in_whole_string(masker, input, start, run, unsaved_key, pending_from, out, counters);
        }
        run.end + 1
    }

    /// [`JsonMasker::take_whole_string`] past the prefilter. Most strings
    /// that get here are ids, timestamps and digit strings that no
    /// detector can match (three in every order record of the proxy
    /// benchmark's body): they are decided here, and only the rest pay
    /// for the scan's larger frame ([`scan_whole_string`]; −0.5% of the
    /// instructions on order records).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn detect_in_whole_string(
        &mut self,
        masker: &Masker,
        input: &[u8],
        start: usize,
        run: &StringRun,
        unsaved_key: Option<&[u8]>,
        pending_from: &mut usize,
        out: &mut Vec<u8>,
        counters: &mut Counters,
    ) {
        let content = &input[start..run.end];
        if run.spelled != 0 {
            if needs_decoding(content) {
                let key = unsaved_key.unwrap_or_else(|| context_key(&self.frames, &self.keys));
                // Plain content (no escape, quote or control byte) is the
                // same written inside a JSON string: the view writes it.
                out.extend_from_slice(&input[*pending_from..start]);
                mask_spelled(masker, content, key, Encoding::JsonString, out, counters, &mut self.scratch);
                *pending_from = run.end;
                return;
            }
            if !masker.detectors.may_match(&run.prefilter()) {
                return;
            }
        }
        let key = unsaved_key.unwrap_or_else(|| context_key(&self.frames, &self.keys));
        let all_digits = run.digits as usize == content.len();
        let contexts = &mut self.key_contexts;
        if masker.detectors.whole_may_match(content, all_digits, || contexts.get(&masker.detectors, key)) {
            scan_whole_string(masker, input, start, run, key, &mut self.scratch, pending_from, out, counters);
        }
    }
}
