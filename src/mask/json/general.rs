//! The JSON masker's general state machine: every state and byte the
//! plain loop ([`super::plain`]) leaves to it. Field rules (planning a
//! value, skipping or holding it), strings and tokens cut by a chunk,
//! escapes, and the switch to text scanning on malformed input.
//!
//! Must not depend on the x86-64-v3 builds: it runs on every CPU as built.

use super::escape::{EscapeStatus, REPLACEMENT, Recovered};
use super::fallback::TextStop;
use super::path::Segment;
use super::scalar::{TokenOut, is_token_byte};
use super::strings::find_string_special;
use super::{
    JsonMasker, MAX_DEPTH, MAX_HELD, MAX_KEY, MAX_TOKEN, OVERLONG_KEY, Plan, Skip, SkipMode, State, Target,
    context_key, dest, is_whitespace, whole_key,
};
use crate::mask::action::{Action, StreamingHash, StreamingMask};
use crate::mask::segment::{Encoding, write_json_escaped, write_json_quoted};
use crate::mask::{Counters, Masker};

/// What the general state machine's steps share while they read one chunk:
/// the masker, the chunk, how much of it is written, and where output and
/// counts go.
///
/// The plain loop ([`super::plain`]) takes these one by one. Tried: the
/// plain loop and its string path taking a `Chunk` too (masker and input
/// copied to locals for the loop, the context passed to the calls that
/// write), which removed the last four `too_many_arguments`: +7.7%
/// instructions on 50 x 64 KB order bodies (30.37 M -> 32.70 M), +0.6% on
/// the eval records, so it stays out of the hot path.
pub(super) struct Chunk<'a> {
    pub(super) masker: &'a Masker,
    pub(super) input: &'a [u8],
    /// Input before this index has been written out, replaced or dropped;
    /// from it on it is pending, and unchanged input is copied in one
    /// slice when something is written after it ([`JsonMasker::flush`]).
    pub(super) pending_from: usize,
    pub(super) out: &'a mut Vec<u8>,
    pub(super) counters: &'a mut Counters,
}

impl JsonMasker {
    /// Writes the pending input up to `to` to the current destination.
    #[inline(always)]
    pub(super) fn flush(&mut self, cx: &mut Chunk, to: usize) {
        if to > cx.pending_from {
            dest(&mut self.held, self.holding, cx.out).extend_from_slice(&cx.input[cx.pending_from..to]);
            cx.pending_from = to;
        }
    }

    pub(super) fn feed_json(&mut self, masker: &Masker, input: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        let cx = &mut Chunk { masker, input, pending_from: 0, out, counters };
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Value
                | State::ValueOrClose
                | State::AfterValue
                | State::KeyOrClose
                | State::Key
                | State::Colon => {
                    i = self.structural(cx, i);
                }
                State::InString => i = self.in_string(cx, i),
                State::InEscape => i = self.in_escape(cx, i),
                State::InToken => {
                    let start = i;
                    // At most one byte past the buffer's bound.
                    let limit = input.len().min(i + (MAX_TOKEN + 1).saturating_sub(self.token.len()));
                    while i < limit && is_token_byte(input[i]) {
                        i += 1;
                    }
                    self.token.extend_from_slice(&input[start..i]);
                    cx.pending_from = i;
                    if self.token.len() > MAX_TOKEN {
                        if !self.begin_long_number(cx.masker, cx.out) {
                            self.enter_text(cx);
                        }
                        continue;
                    }
                    if i < input.len() {
                        self.end_token(cx);
                    }
                }
                State::InLongNumber => i = self.in_long_number(cx, i),
                State::Skip => i = self.in_skip(cx, i),
                State::InComment => i = self.in_comment(cx, i),
                // Settled before the JSON reader is fed (see `prefix`).
                State::Prefix => self.state = State::Value,
                State::Text => {
                    self.flush(cx, i);
                    i = self.text(cx, i);
                    cx.pending_from = i;
                }
            }
            if self.holding && self.held.len() > MAX_HELD {
                self.flush(cx, i);
                self.enter_text(cx);
            }
        }
        self.flush(cx, input.len());
        if self.state == State::InString
            && let Target::Scan = self.target
        {
            self.scan_string_window(cx, false);
        }
    }

    pub(super) fn finish_json(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        let cx = &mut Chunk { masker, input: &[], pending_from: 0, out, counters };
        match self.state {
            State::InString | State::InEscape => {
                if let Target::Scan = self.target {
                    self.scan_string_window(cx, true);
                }
            }
            State::InToken => self.end_token(cx),
            State::InLongNumber => {
                self.finish_long_number(cx);
            }
            State::Text => self.end_text(cx),
            State::InComment => self.end_comment(cx),
            _ => {}
        }
        if self.holding {
            cx.out.append(&mut self.held);
            self.holding = false;
        }
    }

    /// Runs the detectors over the string value read so far, under the key
    /// it belongs to; `last` when the string ends (or can be read no
    /// further), so nothing stays held in the window.
    fn scan_string_window(&mut self, cx: &mut Chunk, last: bool) {
        let key = context_key(&self.frames, &self.keys);
        self.window.process(cx.masker, key, last, Encoding::JsonString, cx.out, cx.counters, &mut self.scratch);
    }

    /// Whitespace, punctuation and the starts of keys and values. Stays in
    /// this loop while the lexer is between tokens (keys and values that
    /// are whole in the chunk are handled without leaving it); returns when
    /// a string, token or skipped value continues past the chunk, or on
    /// malformed input.
    fn structural(&mut self, cx: &mut Chunk, mut i: usize) -> usize {
        let input = cx.input;
        let plain = cx.masker.rules.is_empty() && self.words == 0 && !self.holding;
        while i < input.len() {
            if plain && !self.is_deep() {
                i = self.plain(cx.masker, input, i, &mut cx.pending_from, cx.out, cx.counters);
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
                (State::ValueOrClose, b']') => self.close(cx, i),
                (State::Value | State::ValueOrClose, _) => self.begin_value(cx, i),
                (State::AfterValue, b',') => match self.frames.last() {
                    None => return self.malformed_at(cx, i),
                    Some(f) => {
                        self.state = if f.object { State::Key } else { State::Value };
                        if cx.masker.rules.has_drop() {
                            self.flush(cx, i);
                            self.holding = true;
                        }
                        i + 1
                    }
                },
                (State::AfterValue, b'}' | b']') | (State::KeyOrClose, b'}') => self.close(cx, i),
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
                _ => self.unexpected(cx, i),
            };
            if !self.state.is_structural() {
                return i;
            }
        }
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

    /// A key in single quotes, which lenient writers emit: read by the
    /// string path, which ends it at the next `'`.
    #[cold]
    fn begin_single_quoted_key(&mut self, i: usize) -> usize {
        self.dropping = false;
        self.quote = b'\'';
        self.key_buf.clear();
        self.key_overlong = false;
        self.target = Target::Key;
        self.state = State::InString;
        i + 1
    }

    /// What the structural loop's table does not take: a trailing comma
    /// in an object (`{"a":1,}`), a key in single quotes, or malformed
    /// input. Off the loop's table so that well-formed input pays nothing
    /// for them.
    #[cold]
    #[inline(never)]
    fn unexpected(&mut self, cx: &mut Chunk, i: usize) -> usize {
        match (self.state, cx.input[i]) {
            // `Key` comes only after a comma.
            (State::Key, b'}') => self.close(cx, i),
            (State::KeyOrClose | State::Key, b'\'') => self.begin_single_quoted_key(i),
            (_, b'/') => self.begin_comment(cx, i),
            _ => self.malformed_at(cx, i),
        }
    }

    /// A byte that starts no value in the strict grammar: a trailing
    /// comma in an array (`[1,2,]`), or malformed input.
    #[cold]
    #[inline(never)]
    fn not_a_value(&mut self, cx: &mut Chunk, i: usize) -> usize {
        // `Value` in an array comes only after a comma.
        if cx.input[i] == b']' && self.state == State::Value && self.frames.last().is_some_and(|f| !f.object) {
            return self.close(cx, i);
        }
        match cx.input[i] {
            b'/' => self.begin_comment(cx, i),
            // RFC 7464's record separator, before each JSON text.
            0x1E if self.ndjson && self.frames.is_empty() => i + 1,
            // The end of a JSONP call around the document: what follows
            // (`;`, whitespace) is text.
            b')' if self.jsonp && self.frames.is_empty() => {
                self.jsonp = false;
                self.malformed_at(cx, i + 1)
            }
            _ => self.malformed_at(cx, i),
        }
    }

    /// Decides what a field rule says of the value starting now, steps the
    /// path states, and settles any held (tentative) output.
    fn plan_value(&mut self, cx: &mut Chunk) -> Plan {
        // No rules and nothing held: only the element index moves.
        if cx.masker.rules.is_empty() && !self.holding {
            if let Some(f) = self.frames.last_mut() {
                f.index += 1;
            }
            self.dropping = false;
            return Plan::Scan;
        }
        let plan = match self.frames.last() {
            // Below the path's bound: by the last segment alone.
            Some(f) if self.frames.len() > MAX_DEPTH => match f.object {
                true => cx.masker.rules.by_last_key(&self.keys[f.key_start..f.key_start + f.key_len]),
                false => None,
            }
            .map_or(Plan::Scan, Plan::Rule),
            Some(f) if !cx.masker.rules.is_empty() => {
                let depth = self.frames.len() - 1;
                let parent = &self.states[depth * self.words..(depth + 1) * self.words];
                let seg = if f.object {
                    Segment::Key(&self.keys[f.key_start..f.key_start + f.key_len])
                } else {
                    Segment::Index(f.index)
                };
                match cx.masker.rules.step(parent, seg, &mut self.next_states) {
                    Some(r) => Plan::Rule(r),
                    None => Plan::Scan,
                }
            }
            _ => Plan::Scan,
        };
        if let Plan::Rule(r) = plan {
            cx.counters.rules[r] += 1;
        }
        let drop = matches!(plan, Plan::Rule(r) if matches!(cx.masker.rules.action(r), Action::Drop));
        self.dropping = drop;
        let holding = std::mem::replace(&mut self.holding, false);
        if let Some(f) = self.frames.last_mut() {
            f.index += 1;
            if holding && !drop {
                let skip_comma = f.written == 0 && self.held.first() == Some(&b',');
                cx.out.extend_from_slice(&self.held[skip_comma as usize..]);
            }
            f.written += !drop as u64;
        }
        self.held.clear();
        plan
    }

    fn begin_value(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        let b = input[i];
        // Also `NaN`, `Infinity` and `+Infinity`, which lenient writers emit
        // (Python's `json.dumps` by default); `judge_token` reads them.
        if !(matches!(b, b'"' | b'{' | b'[' | b'-' | b't' | b'f' | b'n' | b'N' | b'I' | b'+' | b'\'')
            || b.is_ascii_digit())
        {
            return self.not_a_value(cx, i);
        }
        // Tentative output must be settled before the plan; otherwise raw
        // bytes stay pending, so unchanged values cost no copy.
        if self.holding {
            self.flush(cx, i);
        }
        let plan = self.plan_value(cx);
        if self.dropping && self.frames.is_empty() {
            self.flush(cx, i);
            cx.out.extend_from_slice(b"null");
        }
        match b {
            b'"' => self.begin_string::<false>(cx, plan, i),
            b'\'' => self.begin_string::<true>(cx, plan, i),
            b'{' | b'[' => {
                self.flush(cx, i);
                self.begin_container(cx, plan, i)
            }
            _ => {
                // Fastest path: a literal, or a number no detector can
                // match, that ends in this chunk and no rule applies to:
                // lexed once and left in place.
                if let Plan::Scan = plan
                    && let Some(end) = self.take_inert_scalar(cx.masker, input, i, None)
                {
                    self.state = State::AfterValue;
                    return end;
                }
                self.token_plan = plan;
                let end = input[i..].iter().position(|&b| !is_token_byte(b)).map(|p| i + p);
                let Some(end) = end.filter(|&e| e - i <= MAX_TOKEN) else {
                    // The token continues in the next chunk: buffer it.
                    self.flush(cx, i);
                    self.token.clear();
                    self.state = State::InToken;
                    return i;
                };
                // Fast path: the whole token is here; judge it in place.
                match self.judge_token(cx.masker, &input[i..end], cx.counters) {
                    TokenOut::Unchanged => {}
                    TokenOut::Replaced => {
                        self.flush(cx, i);
                        cx.out.extend_from_slice(&self.token_out);
                        cx.pending_from = end;
                    }
                    TokenOut::Removed => {
                        self.flush(cx, i);
                        cx.pending_from = end;
                    }
                    TokenOut::Malformed => return self.malformed_at(cx, i),
                }
                self.state = State::AfterValue;
                end
            }
        }
    }

    /// A string value; `SINGLE` when it is in single quotes (lenient), so
    /// the string path ends it at the next `'` (`quote` is `"` otherwise:
    /// a single-quoted string sets it back when it ends).
    ///
    /// Inlined: left to LLVM once the lenient paths made it larger, it
    /// became a call (+0.6% instructions on 2,500 user records under two
    /// name rules; inlined, -1.0% against the strict lexer).
    #[inline(always)]
    fn begin_string<const SINGLE: bool>(&mut self, cx: &mut Chunk, plan: Plan, i: usize) -> usize {
        let input = cx.input;
        let start = i + 1;
        if SINGLE {
            self.quote = b'\'';
        }
        self.target = match plan {
            Plan::Scan => {
                if !SINGLE
                    && let Some(end) = self.take_whole_string::<false>(
                        cx.masker,
                        input,
                        start,
                        None,
                        &mut cx.pending_from,
                        cx.out,
                        cx.counters,
                    )
                {
                    self.state = State::AfterValue;
                    return end;
                }
                self.flush(cx, start);
                Target::Scan
            }
            Plan::Rule(r) => {
                // Raw input before the string goes out before anything the
                // rule writes in its place.
                self.flush(cx, i);
                match cx.masker.rules.action(r) {
                    Action::Keep => Target::Keep,
                    Action::Drop => Target::Discard,
                    Action::Redact { placeholder } => {
                        cx.out.push(b'"');
                        write_json_escaped(placeholder.as_bytes(), cx.out);
                        Target::Discard
                    }
                    Action::Mask { keep_last } => {
                        cx.out.push(b'"');
                        Target::Mask(StreamingMask::new(*keep_last))
                    }
                    Action::Hash { key, label } => {
                        cx.out.push(b'"');
                        Target::Hash(Box::new(StreamingHash::new(key.clone(), label.clone())))
                    }
                }
            }
        };
        match self.target {
            Target::Scan | Target::Keep => self.flush(cx, start),
            _ => cx.pending_from = start,
        }
        self.state = State::InString;
        start
    }

    fn begin_container(&mut self, cx: &mut Chunk, plan: Plan, i: usize) -> usize {
        let input = cx.input;
        let object = input[i] == b'{';
        let Plan::Rule(r) = plan else {
            if self.frames.len() >= MAX_DEPTH {
                if !self.open_deep(object) {
                    return self.malformed_at(cx, i);
                }
            } else {
                if self.words > 0 && !self.frames.is_empty() {
                    self.states.truncate(self.frames.len() * self.words);
                    self.states.extend_from_slice(&self.next_states);
                }
                self.push_frame(object);
            }
            self.state = if object { State::KeyOrClose } else { State::ValueOrClose };
            // Without drop rules nothing is held, so the raw input stays
            // pending across the bracket: one copy per changed value, not
            // one per container (-4.4% instructions on order records).
            if cx.masker.rules.has_drop() {
                self.flush(cx, i + 1);
                self.holding = true;
            }
            return i + 1;
        };
        let mode = match cx.masker.rules.action(r) {
            Action::Keep => SkipMode::Keep,
            Action::Drop => SkipMode::Discard,
            Action::Redact { placeholder } => {
                write_json_quoted(placeholder.as_bytes(), cx.out);
                SkipMode::Discard
            }
            // A container has no characters to keep: mask is redact.
            Action::Mask { .. } => {
                write_json_quoted(b"[REDACTED]", cx.out);
                SkipMode::Discard
            }
            Action::Hash { key, label } => {
                let mut h = StreamingHash::new(key.clone(), label.clone());
                h.push(&input[i..i + 1]);
                SkipMode::Hash(Box::new(h))
            }
        };
        match mode {
            SkipMode::Keep => self.flush(cx, i + 1),
            _ => cx.pending_from = i + 1,
        }
        self.skip = Some(Skip { mode, depth: 1, in_string: false, escaped: false, quote: b'"' });
        self.state = State::Skip;
        i + 1
    }

    fn close(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        let object = input[i] == b'}';
        if self.frames.last().map(|f| f.object) != Some(object) {
            return self.malformed_at(cx, i);
        }
        if std::mem::replace(&mut self.holding, false) {
            self.flush(cx, i);
            cx.out.append(&mut self.held);
        }
        if self.is_deep() {
            self.close_deep();
        } else {
            self.pop_frame(object);
        }
        self.state = State::AfterValue;
        i + 1
    }

    /// A run of string content, then the quote, backslash or control byte
    /// that ends it.
    fn in_string(&mut self, cx: &mut Chunk, i: usize) -> usize {
        if self.quote != b'"' {
            return self.in_single_quoted(cx, i);
        }
        let input = cx.input;
        let j = find_string_special(input, i).unwrap_or(input.len());
        self.deliver(&input[i..j], cx.out);
        if !matches!(self.target, Target::Key | Target::Keep) {
            cx.pending_from = j;
        }
        let Some(&b) = input.get(j) else {
            return j;
        };
        match b {
            b'"' => {
                self.end_string(cx);
                if self.dropping {
                    cx.pending_from = j + 1;
                }
                j + 1
            }
            b'\\' => {
                self.escape.start();
                self.state = State::InEscape;
                j
            }
            // A line ends an NDJSON record, whatever the string says.
            b'\n' if self.ndjson => self.malformed_at(cx, j),
            // A raw control byte, which lenient writers leave unescaped:
            // content (a scanned string writes it escaped).
            _ => {
                self.deliver(&input[j..j + 1], cx.out);
                if !matches!(self.target, Target::Key | Target::Keep) {
                    cx.pending_from = j + 1;
                }
                j + 1
            }
        }
    }

    /// [`JsonMasker::in_string`] for a single-quoted string, which lenient
    /// writers emit (keys and values): it ends at a `'`, and holds `"`
    /// as content. A rule that writes the value writes it double-quoted.
    /// An escaped `\'` is malformed: a scanned string could not write it
    /// back.
    #[cold]
    #[inline(never)]
    fn in_single_quoted(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        let ndjson = self.ndjson;
        let j = input[i..]
            .iter()
            .position(|&b| b == b'\'' || b == b'\\' || (ndjson && b == b'\n'))
            .map_or(input.len(), |p| i + p);
        self.deliver(&input[i..j], cx.out);
        if !matches!(self.target, Target::Key | Target::Keep) {
            cx.pending_from = j;
        }
        let Some(&b) = input.get(j) else {
            return j;
        };
        match b {
            b'\'' => {
                // Redact, mask and hash wrote an opening `"`.
                let own_quote = !matches!(self.target, Target::Key | Target::Keep | Target::Scan) && !self.dropping;
                self.quote = b'"';
                self.end_string(cx);
                if own_quote {
                    cx.out.push(b'"');
                }
                if own_quote || self.dropping {
                    cx.pending_from = j + 1;
                }
                j + 1
            }
            b'\\' => {
                self.escape.start();
                self.state = State::InEscape;
                j
            }
            _ => self.malformed_at(cx, j),
        }
    }

    fn in_escape(&mut self, cx: &mut Chunk, mut i: usize) -> usize {
        let input = cx.input;
        let passes_raw = matches!(self.target, Target::Key | Target::Keep);
        while i < input.len() {
            let status = self.escape.push(input[i]);
            i += 1;
            match status {
                EscapeStatus::NeedMore => {}
                EscapeStatus::Done(bytes, n) => {
                    self.deliver(&bytes[..n], cx.out);
                    if !passes_raw {
                        cx.pending_from = i;
                    }
                    self.state = State::InString;
                    return i;
                }
                EscapeStatus::Invalid => {
                    if !passes_raw {
                        cx.pending_from = i;
                    }
                    match self.recover_escape(cx) {
                        Some(0) => {}
                        Some(unread) => {
                            // The byte after a lone surrogate is content.
                            if !passes_raw {
                                cx.pending_from = i - unread;
                            }
                            return i - unread;
                        }
                        None => {
                            self.enter_text(cx);
                            return i;
                        }
                    }
                    if self.state == State::InString {
                        return i;
                    }
                }
            }
        }
        if !passes_raw {
            cx.pending_from = i;
        }
        i
    }

    /// A refused escape that a lenient writer emits: a lone surrogate,
    /// delivered as U+FFFD, and the escape after it read on. Returns how
    /// many bytes already read must be read again as content (0 or 1), or
    /// `None` when the escape is malformed. Leaves the state `InString`
    /// when the escape is done, `InEscape` when one continues.
    #[cold]
    #[inline(never)]
    fn recover_escape(&mut self, cx: &mut Chunk) -> Option<usize> {
        loop {
            match self.escape.recover() {
                Recovered::No => return None,
                Recovered::Lone => {
                    self.deliver(&REPLACEMENT, cx.out);
                    self.state = State::InString;
                    return Some(0);
                }
                Recovered::Unread => {
                    self.deliver(&REPLACEMENT, cx.out);
                    self.state = State::InString;
                    return Some(1);
                }
                Recovered::Then(status) => {
                    self.deliver(&REPLACEMENT, cx.out);
                    match status {
                        EscapeStatus::NeedMore => {
                            self.state = State::InEscape;
                            return Some(0);
                        }
                        EscapeStatus::Done(bytes, n) => {
                            self.deliver(&bytes[..n], cx.out);
                            self.state = State::InString;
                            return Some(0);
                        }
                        EscapeStatus::Invalid => {}
                    }
                }
            }
        }
    }

    /// Hands decoded string content to the current target.
    pub(super) fn deliver(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
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

    #[inline(always)]
    fn end_string(&mut self, cx: &mut Chunk) {
        self.state = State::AfterValue;
        match std::mem::replace(&mut self.target, Target::Scan) {
            Target::Key => {
                let key = std::mem::take(&mut self.key_buf);
                self.set_key(if self.key_overlong { OVERLONG_KEY } else { &key });
                self.key_buf = key;
                self.state = State::Colon;
            }
            Target::Scan => self.scan_string_window(cx, true),
            target => self.end_rule_string(cx, target),
        }
    }

    /// [`JsonMasker::end_string`] for a string a rule took.
    #[inline(never)]
    fn end_rule_string(&mut self, cx: &mut Chunk, target: Target) {
        match target {
            Target::Key | Target::Scan | Target::Discard | Target::Keep => {}
            Target::Hash(h) => {
                self.token_out.clear();
                h.finish(&mut self.token_out);
                write_json_escaped(&self.token_out, cx.out);
            }
            Target::Mask(mk) => {
                self.token_out.clear();
                mk.finish(&mut self.token_out);
                write_json_escaped(&self.token_out, cx.out);
            }
        }
        // A value a rule took in the text scan: text again.
        if self.text_value {
            self.text_value = false;
            self.state = State::Text;
        }
    }

    /// A number or literal that was buffered across chunks.
    fn end_token(&mut self, cx: &mut Chunk) {
        let token = std::mem::take(&mut self.token);
        let verdict = self.judge_token(cx.masker, &token, cx.counters);
        self.token = token;
        match verdict {
            TokenOut::Unchanged => cx.out.extend_from_slice(&self.token),
            TokenOut::Replaced => cx.out.extend_from_slice(&self.token_out),
            TokenOut::Removed => {}
            TokenOut::Malformed => {
                self.enter_text(cx);
                return;
            }
        }
        self.token.clear();
        self.state = State::AfterValue;
    }

    /// More of a number too long for the token buffer (see
    /// [`super::long`]).
    fn in_long_number(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        let (n, goes_on) = self.long_number_run(&input[i..], cx.out);
        let end = i + n;
        if !matches!(self.target, Target::Keep) {
            cx.pending_from = end;
        }
        if goes_on {
            if let Target::Scan = self.target {
                self.scan_string_window(cx, false);
            }
            return end;
        }
        self.flush(cx, end);
        if self.finish_long_number(cx) && !is_token_byte(input[end]) {
            return end;
        }
        // Not a number after all (`1…1x`, `1…1e,`): what was read is
        // written; text from here on.
        self.enter_text(cx);
        end
    }

    /// Ends a long number; false when what was read is no whole number.
    fn finish_long_number(&mut self, cx: &mut Chunk) -> bool {
        if let Target::Scan = self.target {
            self.scan_string_window(cx, true);
        }
        self.state = State::AfterValue;
        self.end_long_number(cx.out)
    }

    fn in_skip(&mut self, cx: &mut Chunk, mut i: usize) -> usize {
        let input = cx.input;
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
                } else if b == skip.quote {
                    skip.in_string = false;
                }
            } else {
                match b {
                    b'"' | b'\'' => {
                        skip.in_string = true;
                        skip.quote = b;
                    }
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
            SkipMode::Discard => cx.pending_from = i,
            SkipMode::Hash(h) => {
                h.push(&input[start..i]);
                cx.pending_from = i;
            }
        }
        if done {
            if let Some(Skip { mode: SkipMode::Hash(h), .. }) = self.skip.take() {
                self.token_out.clear();
                h.finish(&mut self.token_out);
                write_json_quoted(&self.token_out, cx.out);
            }
            self.state = State::AfterValue;
        }
        i
    }

    fn malformed_at(&mut self, cx: &mut Chunk, i: usize) -> usize {
        self.flush(cx, i);
        self.enter_text(cx);
        i
    }

    /// Switches to text scanning. What was tentative or half-read goes into
    /// the text window first, so it is scanned too; nothing passes through.
    pub(super) fn enter_text(&mut self, cx: &mut Chunk) {
        if std::mem::replace(&mut self.holding, false) {
            self.fallback.push(&self.held);
            self.held.clear();
        }
        match self.state {
            State::InString | State::InEscape => {
                if let Target::Scan = self.target {
                    self.scan_string_window(cx, true);
                }
                if self.state == State::InEscape && !matches!(self.target, Target::Key | Target::Keep) {
                    self.fallback.push(self.escape.raw());
                }
            }
            State::InToken => self.fallback.push(&self.token),
            _ => {}
        }
        let in_string = matches!(self.state, State::InString | State::InEscape);
        self.key_finder.reset(in_string, self.quote);
        self.quote = b'"';
        self.text_value = false;
        self.token.clear();
        self.target = Target::Scan;
        self.skip = None;
        self.state = State::Text;
    }

    /// Text scanning after malformed input: to the end of the body, or for
    /// NDJSON to the end of the line (then JSON again).
    fn text(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        if cx.masker.rules.has_last_keys() {
            return self.text_and_keys(cx, i);
        }
        if self.ndjson
            && let Some(nl) = memchr::memchr(b'\n', &input[i..])
        {
            let nl = i + nl;
            self.fallback.push(&input[i..nl]);
            self.fallback.process(
                cx.masker,
                &self.text_key,
                true,
                Encoding::Raw,
                cx.out,
                cx.counters,
                &mut self.scratch,
            );
            cx.out.push(b'\n');
            self.frames.clear();
            self.keys.clear();
            self.clear_deep();
            self.states.truncate(self.words);
            self.state = State::Value;
            return nl + 1;
        }
        self.fallback.push(&input[i..]);
        self.fallback.process(cx.masker, &self.text_key, false, Encoding::Raw, cx.out, cx.counters, &mut self.scratch);
        input.len()
    }

    /// [`JsonMasker::text`] with rules that apply by key name (see
    /// [`super::fallback`]).
    #[cold]
    #[inline(never)]
    fn text_and_keys(&mut self, cx: &mut Chunk, i: usize) -> usize {
        let input = cx.input;
        let nl = if self.ndjson { memchr::memchr(b'\n', &input[i..]).map(|p| i + p) } else { None };
        let end = nl.unwrap_or(input.len());
        if let TextStop::String { at, rule } = self.text_with_keys(cx.masker, input, i, end, cx.out, cx.counters) {
            cx.pending_from = at;
            self.begin_text_string(cx.masker, rule, cx.counters, cx.out);
            return match input[at] {
                b'\'' => self.begin_string::<true>(cx, Plan::Rule(rule), at),
                _ => self.begin_string::<false>(cx, Plan::Rule(rule), at),
            };
        }
        let Some(nl) = nl else {
            self.fallback.process(
                cx.masker,
                &self.text_key,
                false,
                Encoding::Raw,
                cx.out,
                cx.counters,
                &mut self.scratch,
            );
            return input.len();
        };
        self.end_text(cx);
        cx.out.push(b'\n');
        self.frames.clear();
        self.keys.clear();
        self.clear_deep();
        self.states.truncate(self.words);
        self.state = State::Value;
        nl + 1
    }

    /// Ends the text scan (the body or an NDJSON line ends): a token value
    /// a rule takes is written, then the rest of the text.
    fn end_text(&mut self, cx: &mut Chunk) {
        if let Some(r) = self.key_finder.token_rule() {
            self.key_finder.end_token(cx.masker, r, cx.out, cx.counters);
        }
        self.key_finder.reset(false, b'"');
        self.fallback.process(cx.masker, &self.text_key, true, Encoding::Raw, cx.out, cx.counters, &mut self.scratch);
    }
}
