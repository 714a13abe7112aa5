//! Streaming JSON (and NDJSON) masking.
//!
//! A byte-level lexer tracks the path of the current value and hands each
//! string value to the detectors (keys are kept as they are). Escapes are
//! decoded before detection, so `john\u0040example.com` is an email. Field
//! rules act on whole values (strings, numbers, objects, arrays). Output is
//! copied from the input in slices wherever nothing changes, so the common
//! case costs a SIMD scan to the end of each string and a few comparisons per
//! structural byte.
//!
//! Malformed input (bad syntax, raw control bytes in strings, lone
//! surrogates, too deep or too long tokens) switches to text scanning for the
//! rest of the body, or for NDJSON the rest of the line: never to
//! pass-through.

// Calls the x86-64-v3 builds of the plain loop and of the string and
// member readers, on CPUs checked to have those features.
#![allow(unsafe_code)]

pub mod escape;
mod member;
pub mod path;
pub mod strings;

use self::escape::{Escape, EscapeStatus};
#[cfg(target_arch = "x86_64")]
use self::member::member_start_avx2;
use self::member::{MemberStart, MemberValue};
use self::path::Segment;
#[cfg(target_arch = "x86_64")]
use self::strings::scan_string_avx2;
use self::strings::{StringRun, find_string_special, scan_string};
use super::action::{Action, StreamingHash, StreamingMask};
use super::bytes::has_x86_64_v3;
use super::detect::numeric::NumericDetector;
use super::detect::{Hay, KeyContexts, Prefilter};
use super::segment::{Encoding, ScanScratch, Window, for_each_match, write_json_escaped, write_json_quoted};
use super::{Counters, Masker};

/// Containers nested deeper than this are treated as malformed.
const MAX_DEPTH: usize = 512;
/// Decoded key bytes kept for rules and context; longer keys match no rule.
const MAX_KEY: usize = 256;
/// Numbers and literals longer than this are treated as malformed.
const MAX_TOKEN: usize = 256;
/// Tentative output (a member that a `drop` rule may remove) held at most.
const MAX_HELD: usize = 64 * 1024;
/// Stands for a key too long to match any rule (never valid UTF-8).
const OVERLONG_KEY: &[u8] = &[0xFF];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting a value.
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrClose,
    /// After a value: `,`, a closing bracket, or (at the root) another value.
    AfterValue,
    /// Just after `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object.
    Key,
    Colon,
    /// Inside a string (key or value), see `target`.
    InString,
    /// Inside `\…` within a string.
    InEscape,
    /// Inside a number or literal.
    InToken,
    /// Inside a container that a field rule took as a whole.
    Skip,
    /// Malformed: scanning as text.
    Text,
}

impl State {
    /// Between tokens: handled by the structural loop.
    fn is_structural(self) -> bool {
        matches!(
            self,
            State::Value | State::ValueOrClose | State::AfterValue | State::KeyOrClose | State::Key | State::Colon
        )
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    object: bool,
    /// Next element index (arrays).
    index: u64,
    /// This frame's key in `keys` (an array inherits its parent's).
    key_start: usize,
    key_len: usize,
    /// Members written so far (to know whether a held `,` is needed).
    written: u64,
}

/// Where the content of the current string goes.
#[derive(Debug)]
enum Target {
    Key,
    /// Detectors, through the window.
    Scan,
    /// Dropped or redacted: content goes nowhere.
    Discard,
    /// Passed through unscanned.
    Keep,
    Hash(Box<StreamingHash>),
    Mask(StreamingMask),
}

/// How a skipped container's bytes are treated.
#[derive(Debug)]
enum SkipMode {
    Discard,
    Keep,
    Hash(Box<StreamingHash>),
}

#[derive(Debug)]
struct Skip {
    mode: SkipMode,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

/// What becomes of a number or literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenOut {
    Unchanged,
    /// Replaced by `token_out` (a quoted JSON string).
    Replaced,
    Removed,
    Malformed,
}

/// What a field rule decided for the value that starts here.
#[derive(Clone, Copy, Debug)]
enum Plan {
    Scan,
    Rule(usize),
}

/// The JSON half of a [`super::MaskStream`].
#[derive(Debug)]
pub struct JsonMasker {
    ndjson: bool,
    /// Run the x86-64-v3 build of [`JsonMasker::plain`].
    x86_64_v3: bool,
    state: State,
    frames: Vec<Frame>,
    keys: Vec<u8>,
    /// NFA states per depth (`words` each; level 0 is the root).
    states: Vec<u64>,
    next_states: Vec<u64>,
    words: usize,
    key_buf: Vec<u8>,
    key_overlong: bool,
    target: Target,
    /// The current value is being dropped (its quotes too).
    dropping: bool,
    escape: Escape,
    window: Window,
    token: Vec<u8>,
    token_plan: Plan,
    skip: Option<Skip>,
    held: Vec<u8>,
    holding: bool,
    fallback: Window,
    scratch: ScanScratch,
    /// What recent keys say of numbers under them.
    key_contexts: KeyContexts,
    token_out: Vec<u8>,
    /// A rule's rendering of a number, before it is quoted into `token_out`.
    rendered: Vec<u8>,
}

/// Writes to the held buffer while a member is tentative, else to `out`.
fn dest<'a>(held: &'a mut Vec<u8>, holding: bool, out: &'a mut Vec<u8>) -> &'a mut Vec<u8> {
    if holding { held } else { out }
}

/// Fast path for a key whole in the chunk and without escapes (its content
/// starts at `start`): the key as it is kept for context, and the index past
/// its closing quote.
#[inline(always)]
fn whole_key(input: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let j = find_string_special(input, start).filter(|&j| input[j] == b'"')?;
    let key = &input[start..j];
    Some((if key.len() > MAX_KEY { OVERLONG_KEY } else { key }, j + 1))
}

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

/// [`JsonMasker::long_integer_may_match`] for a key not in the cache.
#[cold]
#[inline(never)]
fn integer_under_new_key(m: &Masker, contexts: &mut KeyContexts, digits: &[u8], key: &[u8]) -> bool {
    m.detectors.integer_may_match(digits, || contexts.fill(&m.detectors, key))
}

/// Runs the detectors over a whole string (content at `start`, `run`
/// ending at its closing quote) under `key`, writing pending input and
/// each replacement.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn scan_whole_string(
    m: &Masker,
    input: &[u8],
    start: usize,
    run: &StringRun,
    key: &[u8],
    scratch: &mut ScanScratch,
    cf: &mut usize,
    out: &mut Vec<u8>,
    c: &mut Counters,
) {
    let hay = Hay::whole(&input[start..run.end], key);
    let prefilter = run.prefilter();
    let enc = Encoding::JsonString;
    for_each_match(m, &hay, 0, Some(prefilter), enc, c, scratch, &mut |mt, replacement| {
        out.extend_from_slice(&input[*cf..start + mt.start]);
        out.extend_from_slice(replacement);
        *cf = start + mt.end;
    });
}

/// The key the current value belongs to (for arrays, the array's key).
fn context_key<'a>(frames: &[Frame], keys: &'a [u8]) -> &'a [u8] {
    match frames.last() {
        Some(f) => &keys[f.key_start..f.key_start + f.key_len],
        None => &[],
    }
}

impl JsonMasker {
    pub fn new(masker: &Masker, ndjson: bool) -> JsonMasker {
        let states = masker.rules.root();
        JsonMasker {
            ndjson,
            x86_64_v3: has_x86_64_v3(),
            state: State::Value,
            frames: Vec::new(),
            keys: Vec::new(),
            words: states.len(),
            states,
            next_states: Vec::new(),
            key_buf: Vec::new(),
            key_overlong: false,
            target: Target::Scan,
            dropping: false,
            escape: Escape::default(),
            window: Window::default(),
            token: Vec::new(),
            token_plan: Plan::Scan,
            skip: None,
            held: Vec::new(),
            holding: false,
            fallback: Window::default(),
            scratch: ScanScratch::default(),
            key_contexts: KeyContexts::default(),
            token_out: Vec::new(),
            rendered: Vec::new(),
        }
    }

    /// See [`super::MaskStream::use_baseline_build`].
    #[cfg(test)]
    pub fn use_baseline_build(&mut self) {
        self.x86_64_v3 = false;
    }

    /// Bytes held across calls (window, fallback, held output, key).
    pub fn held_bytes(&self) -> usize {
        self.window.held() + self.fallback.held() + self.held.len() + self.key_buf.len() + self.token.len()
    }

    /// Writes `input[*cf..to]` to the current destination.
    #[inline(always)]
    fn flush(&mut self, input: &[u8], cf: &mut usize, to: usize, out: &mut Vec<u8>) {
        if to > *cf {
            dest(&mut self.held, self.holding, out).extend_from_slice(&input[*cf..to]);
            *cf = to;
        }
    }

    pub fn feed(&mut self, m: &Masker, input: &[u8], out: &mut Vec<u8>, c: &mut Counters) {
        let mut i = 0;
        let mut cf = 0;
        while i < input.len() {
            match self.state {
                State::Value
                | State::ValueOrClose
                | State::AfterValue
                | State::KeyOrClose
                | State::Key
                | State::Colon => {
                    i = self.structural(m, input, i, &mut cf, out, c);
                }
                State::InString => i = self.in_string(m, input, i, &mut cf, out, c),
                State::InEscape => i = self.in_escape(m, input, i, &mut cf, out, c),
                State::InToken => {
                    let start = i;
                    while i < input.len() && is_token_byte(input[i]) {
                        i += 1;
                    }
                    self.token.extend_from_slice(&input[start..i]);
                    cf = i;
                    if self.token.len() > MAX_TOKEN {
                        self.enter_text(m, out, c);
                        continue;
                    }
                    if i < input.len() {
                        self.end_token(m, out, c);
                    }
                }
                State::Skip => i = self.in_skip(input, i, &mut cf, out),
                State::Text => {
                    self.flush(input, &mut cf, i, out);
                    i = self.text(m, input, i, out, c);
                    cf = i;
                }
            }
            if self.holding && self.held.len() > MAX_HELD {
                self.flush(input, &mut cf, i, out);
                self.enter_text(m, out, c);
            }
        }
        self.flush(input, &mut cf, input.len(), out);
        if self.state == State::InString
            && let Target::Scan = self.target
        {
            let key = context_key(&self.frames, &self.keys);
            self.window.process(m, key, false, Encoding::JsonString, out, c, &mut self.scratch);
        }
    }

    pub fn finish(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        match self.state {
            State::InString | State::InEscape => {
                if let Target::Scan = self.target {
                    let key = context_key(&self.frames, &self.keys);
                    self.window.process(m, key, true, Encoding::JsonString, out, c, &mut self.scratch);
                }
            }
            State::InToken => self.end_token(m, out, c),
            State::Text => {
                self.fallback.process(m, &[], true, Encoding::Raw, out, c, &mut self.scratch);
            }
            _ => {}
        }
        if self.holding {
            out.append(&mut self.held);
            self.holding = false;
        }
    }

    /// Whitespace, punctuation and the starts of keys and values. Stays in
    /// this loop while the lexer is between tokens (keys and values that
    /// are whole in the chunk are handled without leaving it); returns when
    /// a string, token or skipped value continues past the chunk, or on
    /// malformed input.
    fn structural(
        &mut self,
        m: &Masker,
        input: &[u8],
        mut i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let plain = m.rules.is_empty() && self.words == 0 && !self.holding;
        while i < input.len() {
            if plain {
                i = self.plain(m, input, i, cf, out, c);
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            if is_whitespace(b) {
                i += 1;
                continue;
            }
            i = match (self.state, b) {
                (State::ValueOrClose, b']') => self.close(m, input, i, cf, out, c),
                (State::Value | State::ValueOrClose, _) => self.begin_value(m, input, i, cf, out, c),
                (State::AfterValue, b',') => match self.frames.last() {
                    None => return self.malformed_at(m, input, i, cf, out, c),
                    Some(f) => {
                        self.state = if f.object { State::Key } else { State::Value };
                        if m.rules.has_drop() {
                            self.flush(input, cf, i, out);
                            self.holding = true;
                        }
                        i + 1
                    }
                },
                (State::AfterValue, b'}' | b']') | (State::KeyOrClose, b'}') => self.close(m, input, i, cf, out, c),
                // Another document (NDJSON, concatenated JSON).
                (State::AfterValue, _) if self.frames.is_empty() => {
                    self.state = State::Value;
                    i
                }
                (State::KeyOrClose | State::Key, b'"') => self.begin_key(input, i),
                (State::Colon, b':') => {
                    self.state = State::Value;
                    i + 1
                }
                _ => return self.malformed_at(m, input, i, cf, out, c),
            };
            if !self.state.is_structural() {
                return i;
            }
        }
        i
    }

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
    fn plain(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.x86_64_v3 {
            // SAFETY: set only when the CPU has the features plain_v3 is
            // built for (`has_x86_64_v3`, when the stream was made).
            return unsafe { self.plain_v3(m, input, i, cf, out, c) };
        }
        self.plain_body::<false>(m, input, i, cf, out, c)
    }

    /// [`JsonMasker::plain`] compiled for x86-64-v3.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
    unsafe fn plain_v3(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        self.plain_body::<true>(m, input, i, cf, out, c)
    }

    /// [`JsonMasker::plain`]'s loop, inlined into each build of it;
    /// `V3` is true in the x86-64-v3 build, which reads each member's
    /// start with [`member_start`].
    #[inline(always)]
    fn plain_body<const V3: bool>(
        &mut self,
        m: &Masker,
        input: &[u8],
        mut i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
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
                            if !m.detectors.may_match(&Prefilter::default()) =>
                        {
                            i = string_end + 1;
                        }
                        MemberValue::PlainString { end: string_end } => {
                            let run = StringRun { end: string_end, ..StringRun::default() };
                            i = self.take_scanned_string(m, input, end + 2, &run, unsaved_key, cf, out, c);
                        }
                        MemberValue::String(run) => {
                            i = self.take_scanned_string(m, input, end + 2, &run, unsaved_key, cf, out, c);
                        }
                        MemberValue::Number { end: number_end, fraction } => {
                            let kind = if fraction { Scalar::Fraction } else { Scalar::Integer };
                            if self.scalar_may_match(m, &input[end + 1..number_end], kind, unsaved_key) {
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
                                    let Some(end) =
                                        self.take_whole_string::<V3>(m, input, i + 1, unsaved_key, cf, out, c)
                                    else {
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
                                    let Some(end) = self.take_inert_scalar(m, input, i, unsaved_key) else {
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
                    let Some(end) = self.take_whole_string::<V3>(m, input, i + 1, unsaved_key, cf, out, c) else {
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
                    match self.take_inert_scalar(m, input, i, unsaved_key) {
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

    fn begin_key(&mut self, input: &[u8], i: usize) -> usize {
        // `dropping` describes a value; a key is never dropped on its own.
        self.dropping = false;
        let start = i + 1;
        if let Some((key, end)) = whole_key(input, start) {
            self.set_key(key);
            self.state = State::Colon;
            return end;
        }
        self.key_buf.clear();
        self.key_overlong = false;
        self.target = Target::Key;
        self.state = State::InString;
        start
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

    /// Opens an object or array. An array's values belong to its key (for
    /// context), an object's members to their own.
    #[inline(always)]
    fn push_frame(&mut self, object: bool) {
        let (key_start, key_len) = match (object, self.frames.last()) {
            (false, Some(p)) => (p.key_start, p.key_len),
            _ => (self.keys.len(), 0),
        };
        self.frames.push(Frame { object, index: 0, key_start, key_len, written: 0 });
    }

    /// Closes the open object (`object`) or array, with its keys; false,
    /// changing nothing, when the open container is not of that kind.
    #[inline(always)]
    fn pop_frame(&mut self, object: bool) -> bool {
        match self.frames.last() {
            Some(f) if f.object == object => {
                if object {
                    self.keys.truncate(f.key_start);
                }
                self.frames.pop();
                true
            }
            _ => false,
        }
    }

    fn set_key(&mut self, key: &[u8]) {
        if let Some(f) = self.frames.last_mut() {
            self.keys.truncate(f.key_start);
            self.keys.extend_from_slice(key);
            f.key_len = key.len();
        }
    }

    /// Decides what a field rule says of the value starting now, steps the
    /// path states, and settles any held (tentative) output.
    fn plan_value(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) -> Plan {
        // No rules and nothing held: only the element index moves.
        if m.rules.is_empty() && !self.holding {
            if let Some(f) = self.frames.last_mut() {
                f.index += 1;
            }
            self.dropping = false;
            return Plan::Scan;
        }
        let plan = match self.frames.last() {
            Some(f) if !m.rules.is_empty() => {
                let depth = self.frames.len() - 1;
                let parent = &self.states[depth * self.words..(depth + 1) * self.words];
                let seg = if f.object {
                    Segment::Key(&self.keys[f.key_start..f.key_start + f.key_len])
                } else {
                    Segment::Index(f.index)
                };
                match m.rules.step(parent, seg, &mut self.next_states) {
                    Some(r) => Plan::Rule(r),
                    None => Plan::Scan,
                }
            }
            _ => Plan::Scan,
        };
        if let Plan::Rule(r) = plan {
            c.rules[r] += 1;
        }
        let drop = matches!(plan, Plan::Rule(r) if matches!(m.rules.action(r), Action::Drop));
        self.dropping = drop;
        let holding = std::mem::replace(&mut self.holding, false);
        if let Some(f) = self.frames.last_mut() {
            f.index += 1;
            if holding && !drop {
                let skip_comma = f.written == 0 && self.held.first() == Some(&b',');
                out.extend_from_slice(&self.held[skip_comma as usize..]);
            }
            f.written += !drop as u64;
        }
        self.held.clear();
        plan
    }

    fn begin_value(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let b = input[i];
        if !(matches!(b, b'"' | b'{' | b'[' | b'-' | b't' | b'f' | b'n') || b.is_ascii_digit()) {
            return self.malformed_at(m, input, i, cf, out, c);
        }
        // Tentative output must be settled before the plan; otherwise raw
        // bytes stay pending, so unchanged values cost no copy.
        if self.holding {
            self.flush(input, cf, i, out);
        }
        let plan = self.plan_value(m, out, c);
        if self.dropping && self.frames.is_empty() {
            self.flush(input, cf, i, out);
            out.extend_from_slice(b"null");
        }
        match b {
            b'"' => self.begin_string(m, plan, input, i, cf, out, c),
            b'{' | b'[' => {
                self.flush(input, cf, i, out);
                self.begin_container(m, plan, input, i, cf, out, c)
            }
            _ => {
                // Fastest path: a literal, or a number no detector can
                // match, that ends in this chunk and no rule applies to:
                // lexed once and left in place.
                if let Plan::Scan = plan
                    && let Some(end) = self.take_inert_scalar(m, input, i, None)
                {
                    self.state = State::AfterValue;
                    return end;
                }
                self.token_plan = plan;
                let end = input[i..].iter().position(|&b| !is_token_byte(b)).map(|p| i + p);
                let Some(end) = end.filter(|&e| e - i <= MAX_TOKEN) else {
                    // The token continues in the next chunk: buffer it.
                    self.flush(input, cf, i, out);
                    self.token.clear();
                    self.state = State::InToken;
                    return i;
                };
                // Fast path: the whole token is here; judge it in place.
                match self.judge_token(m, &input[i..end], c) {
                    TokenOut::Unchanged => {}
                    TokenOut::Replaced => {
                        self.flush(input, cf, i, out);
                        out.extend_from_slice(&self.token_out);
                        *cf = end;
                    }
                    TokenOut::Removed => {
                        self.flush(input, cf, i, out);
                        *cf = end;
                    }
                    TokenOut::Malformed => return self.malformed_at(m, input, i, cf, out, c),
                }
                self.state = State::AfterValue;
                end
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_string(
        &mut self,
        m: &Masker,
        plan: Plan,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let start = i + 1;
        self.target = match plan {
            Plan::Scan => {
                if let Some(end) = self.take_whole_string::<false>(m, input, start, None, cf, out, c) {
                    self.state = State::AfterValue;
                    return end;
                }
                self.flush(input, cf, start, out);
                Target::Scan
            }
            Plan::Rule(r) => {
                // Raw input before the string goes out before anything the
                // rule writes in its place.
                self.flush(input, cf, i, out);
                match m.rules.action(r) {
                    Action::Keep => Target::Keep,
                    Action::Drop => Target::Discard,
                    Action::Redact { placeholder } => {
                        out.push(b'"');
                        write_json_escaped(placeholder.as_bytes(), out);
                        Target::Discard
                    }
                    Action::Mask { keep_last } => {
                        out.push(b'"');
                        Target::Mask(StreamingMask::new(*keep_last))
                    }
                    Action::Hash { key, label } => {
                        out.push(b'"');
                        Target::Hash(Box::new(StreamingHash::new(key.clone(), label.clone())))
                    }
                }
            }
        };
        match self.target {
            Target::Scan | Target::Keep => self.flush(input, cf, start, out),
            _ => *cf = start,
        }
        self.state = State::InString;
        start
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
    fn take_whole_string<const V3: bool>(
        &mut self,
        m: &Masker,
        input: &[u8],
        start: usize,
        unsaved_key: Option<&[u8]>,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> Option<usize> {
        let run = scan_string_in::<V3>(input, start);
        if !(run.end < input.len() && input[run.end] == b'"') {
            return None;
        }
        Some(self.take_scanned_string(m, input, start, &run, unsaved_key, cf, out, c))
    }

    /// [`JsonMasker::take_whole_string`] for a string already scanned:
    /// `run` ends at its closing quote.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn take_scanned_string(
        &mut self,
        m: &Masker,
        input: &[u8],
        start: usize,
        run: &StringRun,
        unsaved_key: Option<&[u8]>,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        if m.detectors.may_match(&run.prefilter()) {
            self.detect_in_whole_string(m, input, start, run, unsaved_key, cf, out, c);
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
        m: &Masker,
        input: &[u8],
        start: usize,
        run: &StringRun,
        unsaved_key: Option<&[u8]>,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) {
        let key = unsaved_key.unwrap_or_else(|| context_key(&self.frames, &self.keys));
        let content = &input[start..run.end];
        let all_digits = run.digits as usize == content.len();
        let contexts = &mut self.key_contexts;
        if m.detectors.whole_may_match(content, all_digits, || contexts.get(&m.detectors, key)) {
            scan_whole_string(m, input, start, run, key, &mut self.scratch, cf, out, c);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_container(
        &mut self,
        m: &Masker,
        plan: Plan,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let object = input[i] == b'{';
        let Plan::Rule(r) = plan else {
            if self.frames.len() >= MAX_DEPTH {
                return self.malformed_at(m, input, i, cf, out, c);
            }
            if self.words > 0 && !self.frames.is_empty() {
                self.states.truncate(self.frames.len() * self.words);
                self.states.extend_from_slice(&self.next_states);
            }
            self.push_frame(object);
            self.state = if object { State::KeyOrClose } else { State::ValueOrClose };
            // Without drop rules nothing is held, so the raw input stays
            // pending across the bracket: one copy per changed value, not
            // one per container (-4.4% instructions on order records).
            if m.rules.has_drop() {
                self.flush(input, cf, i + 1, out);
                self.holding = true;
            }
            return i + 1;
        };
        let mode = match m.rules.action(r) {
            Action::Keep => SkipMode::Keep,
            Action::Drop => SkipMode::Discard,
            Action::Redact { placeholder } => {
                write_json_quoted(placeholder.as_bytes(), out);
                SkipMode::Discard
            }
            // A container has no characters to keep: mask is redact.
            Action::Mask { .. } => {
                write_json_quoted(b"[REDACTED]", out);
                SkipMode::Discard
            }
            Action::Hash { key, label } => {
                let mut h = StreamingHash::new(key.clone(), label.clone());
                h.push(&input[i..i + 1]);
                SkipMode::Hash(Box::new(h))
            }
        };
        match mode {
            SkipMode::Keep => self.flush(input, cf, i + 1, out),
            _ => *cf = i + 1,
        }
        self.skip = Some(Skip { mode, depth: 1, in_string: false, escaped: false });
        self.state = State::Skip;
        i + 1
    }

    fn close(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let object = input[i] == b'}';
        if self.frames.last().map(|f| f.object) != Some(object) {
            return self.malformed_at(m, input, i, cf, out, c);
        }
        if std::mem::replace(&mut self.holding, false) {
            self.flush(input, cf, i, out);
            out.append(&mut self.held);
        }
        self.pop_frame(object);
        self.state = State::AfterValue;
        i + 1
    }

    /// A run of string content, then the quote, backslash or control byte
    /// that ends it.
    fn in_string(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let j = find_string_special(input, i).unwrap_or(input.len());
        self.deliver(&input[i..j], out);
        if !matches!(self.target, Target::Key | Target::Keep) {
            *cf = j;
        }
        let Some(&b) = input.get(j) else {
            return j;
        };
        match b {
            b'"' => {
                self.end_string(m, out, c);
                if self.dropping {
                    *cf = j + 1;
                }
                j + 1
            }
            b'\\' => {
                self.escape.start();
                self.state = State::InEscape;
                j
            }
            _ => self.malformed_at(m, input, j, cf, out, c),
        }
    }

    fn in_escape(
        &mut self,
        m: &Masker,
        input: &[u8],
        mut i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        let passes_raw = matches!(self.target, Target::Key | Target::Keep);
        while i < input.len() {
            let status = self.escape.push(input[i]);
            i += 1;
            match status {
                EscapeStatus::NeedMore => {}
                EscapeStatus::Done(bytes, n) => {
                    self.deliver(&bytes[..n], out);
                    if !passes_raw {
                        *cf = i;
                    }
                    self.state = State::InString;
                    return i;
                }
                EscapeStatus::Invalid => {
                    if !passes_raw {
                        *cf = i;
                    }
                    self.enter_text(m, out, c);
                    return i;
                }
            }
        }
        if !passes_raw {
            *cf = i;
        }
        i
    }

    /// Hands decoded string content to the current target.
    fn deliver(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match &mut self.target {
            Target::Key => {
                if self.key_buf.len() + bytes.len() > MAX_KEY {
                    self.key_overlong = true;
                } else {
                    self.key_buf.extend_from_slice(bytes);
                }
            }
            Target::Scan => self.window.push(bytes),
            Target::Discard | Target::Keep => {}
            Target::Hash(h) => h.push(bytes),
            Target::Mask(mk) => {
                self.token_out.clear();
                mk.push(bytes, &mut self.token_out);
                write_json_escaped(&self.token_out, out);
            }
        }
    }

    fn end_string(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        self.state = State::AfterValue;
        match std::mem::replace(&mut self.target, Target::Scan) {
            Target::Key => {
                let key = std::mem::take(&mut self.key_buf);
                self.set_key(if self.key_overlong { OVERLONG_KEY } else { &key });
                self.key_buf = key;
                self.state = State::Colon;
            }
            Target::Scan => {
                let key = context_key(&self.frames, &self.keys);
                self.window.process(m, key, true, Encoding::JsonString, out, c, &mut self.scratch);
            }
            Target::Discard | Target::Keep => {}
            Target::Hash(h) => {
                self.token_out.clear();
                h.finish(&mut self.token_out);
                write_json_escaped(&self.token_out, out);
            }
            Target::Mask(mk) => {
                self.token_out.clear();
                mk.finish(&mut self.token_out);
                write_json_escaped(&self.token_out, out);
            }
        }
    }

    /// A number or literal that was buffered across chunks.
    fn end_token(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        let token = std::mem::take(&mut self.token);
        let verdict = self.judge_token(m, &token, c);
        self.token = token;
        match verdict {
            TokenOut::Unchanged => out.extend_from_slice(&self.token),
            TokenOut::Replaced => out.extend_from_slice(&self.token_out),
            TokenOut::Removed => {}
            TokenOut::Malformed => {
                self.enter_text(m, out, c);
                return;
            }
        }
        self.token.clear();
        self.state = State::AfterValue;
    }

    /// Whether a scalar can hold a match at all. Literals never do.
    /// Built-in detectors only match integers of seven digits or more (a
    /// card, or a phone or SSN under a key that says so): prices,
    /// coordinates, timestamps under other keys and small ids are decided
    /// here without a scan. User-defined detectors may match any number.
    #[inline(always)]
    fn scalar_may_match(&mut self, m: &Masker, token: &[u8], kind: Scalar, unsaved_key: Option<&[u8]>) -> bool {
        match kind {
            Scalar::Literal => false,
            _ if m.detectors.has_custom() => true,
            Scalar::Fraction => false,
            Scalar::Integer => {
                // Cheapest first: most integers are short (ids, counts).
                let digits = token.strip_prefix(b"-").unwrap_or(token);
                digits.len() >= NumericDetector::MIN_DIGITS && self.long_integer_may_match(m, digits, unsaved_key)
            }
        }
    }

    /// [`JsonMasker::scalar_may_match`] for an integer of seven digits or
    /// more.
    #[inline(never)]
    fn long_integer_may_match(&mut self, m: &Masker, digits: &[u8], unsaved_key: Option<&[u8]>) -> bool {
        let key = unsaved_key.unwrap_or_else(|| context_key(&self.frames, &self.keys));
        match self.key_contexts.cached(key) {
            Some(context) => m.detectors.integer_may_match(digits, || context),
            None => integer_under_new_key(m, &mut self.key_contexts, digits, key),
        }
    }

    /// Fast path for a literal, or a number no detector can match, whole
    /// in the chunk at `i` (see [`scalar_end`]): returns where it ends, so
    /// it is left in place.
    #[inline(always)]
    fn take_inert_scalar(&mut self, m: &Masker, input: &[u8], i: usize, unsaved_key: Option<&[u8]>) -> Option<usize> {
        let (end, kind) = scalar_end(input, i)?;
        (!self.scalar_may_match(m, &input[i..end], kind, unsaved_key)).then_some(end)
    }

    /// Decides what becomes of a whole number or literal; a replacement is
    /// left in `token_out`, quoted (a masked number becomes a string so the
    /// JSON stays valid).
    fn judge_token(&mut self, m: &Masker, token: &[u8], c: &mut Counters) -> TokenOut {
        let kind = if matches!(token, b"true" | b"false" | b"null") {
            Scalar::Literal
        } else {
            match number_end(token, 0) {
                Some((end, kind)) if end == token.len() => kind,
                _ => return TokenOut::Malformed,
            }
        };
        self.token_out.clear();
        let plan = self.token_plan;
        match plan {
            Plan::Scan if !self.scalar_may_match(m, token, kind, None) => TokenOut::Unchanged,
            Plan::Scan => {
                let key = context_key(&self.frames, &self.keys);
                let hay = Hay::whole(token, key);
                let out = &mut self.token_out;
                let mut emitted = 0;
                out.push(b'"');
                let enc = Encoding::JsonString;
                for_each_match(m, &hay, 0, None, enc, c, &mut self.scratch, &mut |mt, replacement| {
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
            Plan::Rule(r) => match m.rules.action(r) {
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

    fn in_skip(&mut self, input: &[u8], mut i: usize, cf: &mut usize, out: &mut Vec<u8>) -> usize {
        let Some(skip) = self.skip.as_mut() else {
            self.state = State::AfterValue;
            return i;
        };
        let start = i;
        let mut done = false;
        while i < input.len() {
            let b = input[i];
            i += 1;
            if skip.in_string {
                if skip.escaped {
                    skip.escaped = false;
                } else if b == b'\\' {
                    skip.escaped = true;
                } else if b == b'"' {
                    skip.in_string = false;
                }
            } else {
                match b {
                    b'"' => skip.in_string = true,
                    b'{' | b'[' => skip.depth += 1,
                    b'}' | b']' => {
                        skip.depth -= 1;
                        if skip.depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        match &mut skip.mode {
            SkipMode::Keep => {}
            SkipMode::Discard => *cf = i,
            SkipMode::Hash(h) => {
                h.push(&input[start..i]);
                *cf = i;
            }
        }
        if done {
            if let Some(Skip { mode: SkipMode::Hash(h), .. }) = self.skip.take() {
                self.token_out.clear();
                h.finish(&mut self.token_out);
                write_json_quoted(&self.token_out, out);
            }
            self.state = State::AfterValue;
        }
        i
    }

    fn malformed_at(
        &mut self,
        m: &Masker,
        input: &[u8],
        i: usize,
        cf: &mut usize,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> usize {
        self.flush(input, cf, i, out);
        self.enter_text(m, out, c);
        i
    }

    /// Switches to text scanning. What was tentative or half-read goes into
    /// the text window first, so it is scanned too; nothing passes through.
    fn enter_text(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        if std::mem::replace(&mut self.holding, false) {
            self.fallback.push(&self.held);
            self.held.clear();
        }
        match self.state {
            State::InString | State::InEscape => {
                if let Target::Scan = self.target {
                    let key = context_key(&self.frames, &self.keys);
                    self.window.process(m, key, true, Encoding::JsonString, out, c, &mut self.scratch);
                }
                if self.state == State::InEscape && !matches!(self.target, Target::Key | Target::Keep) {
                    self.fallback.push(self.escape.raw());
                }
            }
            State::InToken => self.fallback.push(&self.token),
            _ => {}
        }
        self.token.clear();
        self.target = Target::Scan;
        self.skip = None;
        self.state = State::Text;
    }

    /// Text scanning after malformed input: to the end of the body, or for
    /// NDJSON to the end of the line (then JSON again).
    fn text(&mut self, m: &Masker, input: &[u8], i: usize, out: &mut Vec<u8>, c: &mut Counters) -> usize {
        if self.ndjson
            && let Some(nl) = memchr::memchr(b'\n', &input[i..])
        {
            let nl = i + nl;
            self.fallback.push(&input[i..nl]);
            self.fallback.process(m, &[], true, Encoding::Raw, out, c, &mut self.scratch);
            out.push(b'\n');
            self.frames.clear();
            self.keys.clear();
            self.states.truncate(self.words);
            self.state = State::Value;
            return nl + 1;
        }
        self.fallback.push(&input[i..]);
        self.fallback.process(m, &[], false, Encoding::Raw, out, c, &mut self.scratch);
        input.len()
    }
}

#[inline(always)]
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

#[inline(always)]
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

/// What a well-formed number or literal is, for [`JsonMasker::scalar_may_match`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    /// `true`, `false`, `null`.
    Literal,
    /// Digits, perhaps after a minus.
    Integer,
    /// A number with a fraction or an exponent.
    Fraction,
}

/// Whether `t` is a JSON number.
#[cfg(test)]
fn is_number(t: &[u8]) -> bool {
    number_end(t, 0).map(|(end, _)| end) == Some(t.len())
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

/// Where the number or literal starting at `i` ends, and its kind, when it
/// is whole and well formed in `input`: followed by a byte that cannot
/// continue a token, at most [`MAX_TOKEN`] long. `None` leaves it to the
/// general token path (malformed, or cut by the chunk).
#[inline(always)]
fn scalar_end(input: &[u8], i: usize) -> Option<(usize, Scalar)> {
    let rest = &input[i..];
    let (end, kind) = match rest.first_chunk::<4>() {
        Some(b"true" | b"null") => (i + 4, Scalar::Literal),
        Some(b"fals") if rest.get(4) == Some(&b'e') => (i + 5, Scalar::Literal),
        _ => number_end(input, i)?,
    };
    (end < input.len() && !is_token_byte(input[end]) && end - i <= MAX_TOKEN).then_some((end, kind))
}

#[cfg(test)]
mod tests;
