//! Comments between a JSON document's tokens, `/* … */` and `// …` to the
//! end of the line, which JSON5 and JavaScript readers (and many lenient
//! parsers) skip. The reader skips them too and keeps its place in the
//! document, so a rule still takes the value after one
//! (`{"name": /* c */ "Ana"}`). A comment is written as it came, its text
//! scanned by the detectors like any text. A `/` that opens no comment is
//! malformed input, scanned as text from there.
//!
//! Where a `drop` rule holds a member back, a comment is not read: the
//! text scan takes over, where rules still apply by key name.

use super::general::Chunk;
use super::{JsonMasker, State};
use crate::mask::segment::Encoding;

/// Where the reader is in a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Comment {
    /// At the `/` that may open one.
    Open,
    /// After that `/`.
    Slash,
    /// In `/* … */`; `star` just after a `*`.
    Block { star: bool },
    /// In `// …`, up to the end of the line.
    Line,
}

impl JsonMasker {
    /// A `/` between tokens, at `cx.input[i]`.
    #[cold]
    pub(super) fn begin_comment(&mut self, cx: &mut Chunk, i: usize) -> usize {
        self.flush(cx, i);
        if self.holding {
            self.enter_text(cx);
            return i;
        }
        self.comment = Comment::Open;
        self.comment_return = self.state;
        self.state = State::InComment;
        i
    }

    /// Reads a comment on from `cx.input[i]`: its bytes go through the
    /// text window; the state it interrupted comes back at its end.
    pub(super) fn in_comment(&mut self, cx: &mut Chunk, mut i: usize) -> usize {
        let input = cx.input;
        let start = i;
        let mut done = false;
        while i < input.len() && !done {
            let b = input[i];
            self.comment = match (self.comment, b) {
                (Comment::Open, _) => Comment::Slash,
                (Comment::Slash, b'*') => Comment::Block { star: false },
                (Comment::Slash, b'/') => Comment::Line,
                (Comment::Slash, _) => {
                    // No comment: the text scan goes on from this byte,
                    // the `/` in its window already.
                    self.fallback.push(&input[start..i]);
                    cx.pending_from = i;
                    self.enter_text(cx);
                    return i;
                }
                (Comment::Block { star: true }, b'/') => {
                    done = true;
                    Comment::Open
                }
                (Comment::Block { .. }, _) => Comment::Block { star: b == b'*' },
                // The line's end is the reader's again (it ends an NDJSON
                // record).
                (Comment::Line, b'\n') => {
                    done = true;
                    break;
                }
                (Comment::Line, _) => Comment::Line,
            };
            i += 1;
        }
        self.fallback.push(&input[start..i]);
        cx.pending_from = i;
        self.fallback.process(cx.masker, &[], done, Encoding::Raw, cx.out, cx.counters, &mut self.scratch);
        if done {
            self.state = self.comment_return;
        }
        i
    }

    /// The body ends inside a comment: its text is written.
    pub(super) fn end_comment(&mut self, cx: &mut Chunk) {
        self.fallback.process(cx.masker, &[], true, Encoding::Raw, cx.out, cx.counters, &mut self.scratch);
    }
}
