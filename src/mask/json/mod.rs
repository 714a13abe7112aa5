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
//! What lenient writers emit is read as JSON, on the error path only:
//! `NaN` and `Infinity` ([`scalar`]), trailing commas, lone surrogates
//! ([`escape`]), raw control bytes and single quotes in strings, numbers of
//! any length ([`long`]), nesting below the path's bound ([`deep`]),
//! comments ([`comment`]), and the guards and callbacks servers put
//! before a document ([`prefix`]).
//! Other malformed input switches to text scanning for the rest of the
//! body, or for NDJSON the rest of the line, where rules that end in a key
//! still apply to `"key": value` pairs ([`fallback`]): never to
//! pass-through.

//!
//! One concern per file:
//! - this file: the [`JsonMasker`]'s state (frames, keys, targets) and
//!   the bookkeeping both loops share;
//! - [`plain`]: the hot path, a structural loop for profiles without
//!   field rules, with the x86-64-v3 member and string readers;
//! - [`general`]: the general state machine (field rules, held output,
//!   strings and tokens cut by a chunk, escapes, malformed input);
//! - [`scalar`]: numbers and literals (their grammar, whether a detector
//!   could match one, what becomes of one);
//! - [`strings`], [`member`]: SIMD readers of string content and of an
//!   object member; [`escape`]: `\…` decoding; [`path`]: field rules;
//! - [`long`], [`deep`], [`fallback`]: numbers too long to buffer, nesting
//!   below the path's bound, rules in the text scan;
//! - [`prefix`], [`comment`]: XSSI guards and JSONP callbacks before the
//!   document, comments between its tokens.
//!
//! Must not depend on anything above `mask`.

mod comment;
mod deep;
pub mod escape;
mod fallback;
mod general;
mod long;
mod member;
pub mod path;
mod plain;
mod prefix;
mod scalar;
pub mod strings;

use self::escape::Escape;
use self::strings::find_string_special;
use super::Masker;
use super::action::{StreamingHash, StreamingMask};
use super::bytes::has_x86_64_v3;
use super::detect::KeyContexts;
use super::segment::{ScanScratch, Window};

/// Containers are tracked with their whole path to this depth; deeper
/// ones share one frame ([`deep`]), where rules apply by their last
/// segment.
const MAX_DEPTH: usize = 512;
/// Levels the deep frame tracks (one bit each): containers nested deeper
/// than `MAX_DEPTH + MAX_DEEP` are treated as malformed.
const MAX_DEEP: usize = 65_536;
/// Decoded key bytes kept for rules and context; longer keys match no rule.
const MAX_KEY: usize = 256;
/// Numbers and literals are buffered whole up to this length; a longer
/// number is read in windows ([`long`]), a longer literal is malformed.
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
    /// Inside a number longer than [`MAX_TOKEN`] (see [`long`]).
    InLongNumber,
    /// Inside a container that a field rule took as a whole.
    Skip,
    /// Malformed: scanning as text.
    Text,
    /// The body's first bytes, held until they show whether a guard or a
    /// JSONP callback comes before the document (see [`prefix`]).
    Prefix,
    /// Inside a `/* … */` or `// …` comment between tokens (see
    /// [`comment`]).
    InComment,
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
    /// The quote that ends the string it is in (`"`, or `'` as lenient
    /// writers emit).
    quote: u8,
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
    /// Levels below `MAX_DEPTH` (in the deep frame, see [`deep`]), and
    /// whether each is an object, one bit a level.
    deep: usize,
    deep_kinds: Vec<u64>,
    /// NFA states per depth (`words` each; level 0 is the root).
    states: Vec<u64>,
    next_states: Vec<u64>,
    words: usize,
    key_buf: Vec<u8>,
    key_overlong: bool,
    target: Target,
    /// The current value is being dropped (its quotes too).
    dropping: bool,
    /// The quote the current string ends at: `"`, or `'` (lenient).
    quote: u8,
    escape: Escape,
    window: Window,
    token: Vec<u8>,
    token_plan: Plan,
    /// How far a number too long for `token` has got (see [`long`]).
    long_number: long::NumberLexer,
    skip: Option<Skip>,
    held: Vec<u8>,
    holding: bool,
    fallback: Window,
    /// The key text scanning runs under (a multipart part's name; empty
    /// for a body).
    text_key: Vec<u8>,
    /// Finds `"key": value` pairs in the text scan (see [`fallback`]).
    key_finder: fallback::KeyFinder,
    /// The current string is a value a rule took in the text scan.
    text_value: bool,
    scratch: ScanScratch,
    /// What recent keys say of numbers under them.
    key_contexts: KeyContexts,
    token_out: Vec<u8>,
    /// A rule's rendering of a number, before it is quoted into `token_out`.
    rendered: Vec<u8>,
    /// The body's first bytes while [`State::Prefix`] holds them.
    prefix: Vec<u8>,
    /// The document is a JSONP call's argument: its `)` may follow it.
    jsonp: bool,
    /// Where a comment is, and the state it returns to.
    comment: comment::Comment,
    comment_return: State,
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
            state: State::Prefix,
            frames: Vec::new(),
            keys: Vec::new(),
            deep: 0,
            deep_kinds: Vec::new(),
            words: states.len(),
            states,
            next_states: Vec::new(),
            key_buf: Vec::new(),
            key_overlong: false,
            target: Target::Scan,
            dropping: false,
            quote: b'"',
            escape: Escape::default(),
            window: Window::default(),
            token: Vec::new(),
            token_plan: Plan::Scan,
            long_number: long::NumberLexer::default(),
            skip: None,
            held: Vec::new(),
            holding: false,
            fallback: Window::default(),
            text_key: Vec::new(),
            key_finder: fallback::KeyFinder::default(),
            text_value: false,
            scratch: ScanScratch::default(),
            key_contexts: KeyContexts::default(),
            token_out: Vec::new(),
            rendered: Vec::new(),
            prefix: Vec::new(),
            jsonp: false,
            comment: comment::Comment::Slash,
            comment_return: State::Value,
        }
    }

    /// A masker that reads its whole input as text with the `"key": value`
    /// finder ([`fallback`]): for text bodies under rules that end in a key.
    pub fn for_text(masker: &Masker) -> JsonMasker {
        let mut text = JsonMasker::new(masker, false);
        text.key_finder.reset(false, b'"');
        text.state = State::Text;
        text
    }

    /// [`JsonMasker::for_text`] for text under `key` (a multipart part's
    /// name), which detectors read as its context.
    pub fn for_text_under(masker: &Masker, key: &[u8]) -> JsonMasker {
        JsonMasker { text_key: key.to_vec(), ..JsonMasker::for_text(masker) }
    }

    /// See [`super::MaskStream::use_baseline_build`].
    #[cfg(test)]
    pub fn use_baseline_build(&mut self) {
        self.x86_64_v3 = false;
    }

    /// Bytes held across calls (window, fallback, held output, key).
    pub fn held_bytes(&self) -> usize {
        self.window.held()
            + self.fallback.held()
            + self.held.len()
            + self.key_buf.len()
            + self.token.len()
            + self.key_finder.held()
            + self.prefix.len()
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
}

#[inline(always)]
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

#[cfg(test)]
mod tests;
