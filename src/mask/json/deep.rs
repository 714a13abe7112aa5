//! Nesting below the path's bound ([`super::MAX_DEPTH`] containers): the
//! levels deeper than it share one frame, the deep frame, which keeps
//! only what the grammar needs (whether each level is an object or an
//! array, one bit each, up to [`super::MAX_DEEP`] levels) and the
//! innermost key. Field rules apply there by their last segment alone
//! ([`super::path::FieldRules::by_last_key`]); detectors run as anywhere,
//! under the innermost key.
//!
//! Only the general state machine ([`super::general`]) comes here: the
//! plain loop stops at the bound.

use super::{Frame, JsonMasker, MAX_DEEP, MAX_DEPTH, context_key};

impl JsonMasker {
    /// Whether the deep frame is open.
    #[inline(always)]
    pub(super) fn is_deep(&self) -> bool {
        self.frames.len() > MAX_DEPTH
    }

    /// Opens a level below the path's bound; false, changing nothing,
    /// past [`MAX_DEEP`] levels.
    #[cold]
    pub(super) fn open_deep(&mut self, object: bool) -> bool {
        if self.deep >= MAX_DEEP {
            return false;
        }
        if self.deep == 0 {
            // The deep frame's key is its own, starting as the key of the
            // value that opens it (an array's elements' context).
            let key = context_key(&self.frames, &self.keys).to_vec();
            let key_start = self.keys.len();
            self.keys.extend_from_slice(&key);
            self.frames.push(Frame { object, index: 0, key_start, key_len: key.len(), written: 0 });
        }
        let (word, bit) = (self.deep / 64, self.deep % 64);
        if self.deep_kinds.len() <= word {
            self.deep_kinds.push(0);
        }
        if object {
            self.deep_kinds[word] |= 1 << bit;
        } else {
            self.deep_kinds[word] &= !(1 << bit);
        }
        self.deep += 1;
        if let Some(f) = self.frames.last_mut() {
            f.object = object;
            f.index = 0;
            f.written = 0;
        }
        true
    }

    /// Closes the innermost deep level (the caller checked its kind); the
    /// deep frame itself with the last one.
    #[cold]
    pub(super) fn close_deep(&mut self) {
        self.deep -= 1;
        if self.deep == 0 {
            if let Some(f) = self.frames.pop() {
                self.keys.truncate(f.key_start);
            }
            self.deep_kinds.clear();
            return;
        }
        let level = self.deep - 1;
        let object = self.deep_kinds[level / 64] & (1 << (level % 64)) != 0;
        if let Some(f) = self.frames.last_mut() {
            f.object = object;
            // The level just closed was a value written in this one.
            f.written = 1;
        }
    }

    /// Forgets every deep level (a new NDJSON record).
    pub(super) fn clear_deep(&mut self) {
        self.deep = 0;
        self.deep_kinds.clear();
    }
}
