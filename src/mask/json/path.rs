//! Field rules: JSONPath-like selectors compiled into one small NFA that is
//! stepped once per path segment as the lexer enters values.
//!
//! Supported: `$` root, `.name` and `['name']` children, `.*` and `[*]` any
//! child, `[N]` array index, `..name` and `..*` any depth.

use super::super::{Action, FieldRuleConfig};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("path `{path}` must start with `$`")]
    NoRoot { path: String },
    #[error("path `{path}`, at byte {at}: {what}")]
    Syntax { path: String, at: usize, what: &'static str },
    #[error("path `{path}` selects the whole document; give at least one step")]
    RootOnly { path: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Child(Vec<u8>),
    AnyChild,
    Index(u64),
    /// `..name` / `..*`: any number of segments, then this one.
    Descendant(Option<Vec<u8>>),
}

/// One segment of the current path.
#[derive(Clone, Copy, Debug)]
pub enum Segment<'a> {
    Key(&'a [u8]),
    Index(u64),
}

impl Step {
    fn accepts(&self, seg: Segment) -> bool {
        match (self, seg) {
            (Step::Child(n), Segment::Key(k)) => n == k,
            (Step::AnyChild, _) | (Step::Descendant(None), _) => true,
            (Step::Index(i), Segment::Index(j)) => *i == j,
            (Step::Descendant(Some(n)), Segment::Key(k)) => n == k,
            _ => false,
        }
    }
}

fn parse(path: &str) -> Result<Vec<Step>, PathError> {
    let err = |at, what| PathError::Syntax { path: path.to_string(), at, what };
    let b = path.as_bytes();
    if b.first() != Some(&b'$') {
        return Err(PathError::NoRoot { path: path.to_string() });
    }
    let name_end = |from: usize| (from..b.len()).find(|&i| matches!(b[i], b'.' | b'[')).unwrap_or(b.len());
    let mut steps = Vec::new();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'.' if b.get(i + 1) == Some(&b'.') => {
                let s = i + 2;
                if b.get(s) == Some(&b'*') {
                    steps.push(Step::Descendant(None));
                    i = s + 1;
                } else {
                    let e = name_end(s);
                    if e == s {
                        return Err(err(s, "expected a name or `*` after `..`"));
                    }
                    steps.push(Step::Descendant(Some(b[s..e].to_vec())));
                    i = e;
                }
            }
            b'.' => {
                let s = i + 1;
                if b.get(s) == Some(&b'*') {
                    steps.push(Step::AnyChild);
                    i = s + 1;
                } else {
                    let e = name_end(s);
                    if e == s {
                        return Err(err(s, "expected a name or `*` after `.`"));
                    }
                    steps.push(Step::Child(b[s..e].to_vec()));
                    i = e;
                }
            }
            b'[' => {
                let close = path[i..].find(']').map(|c| i + c).ok_or_else(|| err(i, "unclosed `[`"))?;
                let inner = &path[i + 1..close];
                if inner == "*" {
                    steps.push(Step::AnyChild);
                } else if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    steps.push(Step::Child(q.as_bytes().to_vec()));
                } else if let Ok(n) = inner.parse::<u64>() {
                    steps.push(Step::Index(n));
                } else {
                    return Err(err(i + 1, "expected `*`, an index or a quoted name inside `[]`"));
                }
                i = close + 1;
            }
            _ => return Err(err(i, "expected `.`, `..` or `[`")),
        }
    }
    if steps.is_empty() {
        return Err(PathError::RootOnly { path: path.to_string() });
    }
    Ok(steps)
}

/// All rules of a profile, as one NFA whose states are bits: state
/// `offset[r] + k` means "rule r has matched its first k steps".
#[derive(Debug, Default)]
pub struct FieldRules {
    rules: Vec<(Vec<Step>, Action)>,
    offsets: Vec<usize>,
    words: usize,
    /// Asked at every comma and value: computed once.
    has_drop: bool,
    /// The rules whose last step names a key (`$.a.name`, `$..name`), in
    /// config order, but for `keep` (which, by key alone, would let a value
    /// pass unscanned that its path would not): what applies where the
    /// path is not tracked.
    last_keys: Vec<(Vec<u8>, usize)>,
}

/// The active NFA states at one depth.
pub type States = Vec<u64>;

impl FieldRules {
    pub fn new(configs: &[FieldRuleConfig]) -> Result<FieldRules, super::super::BuildError> {
        let mut rules = Vec::new();
        let mut offsets = Vec::new();
        let mut total = 0;
        for c in configs {
            let steps = parse(&c.path).map_err(|source| super::super::BuildError::Path { id: c.id.clone(), source })?;
            offsets.push(total);
            total += steps.len() + 1;
            rules.push((steps, c.action.clone()));
        }
        let has_drop = rules.iter().any(|(_, a)| matches!(a, Action::Drop));
        let last_keys = rules
            .iter()
            .enumerate()
            .filter_map(|(r, (steps, action))| match (steps.last(), action) {
                (_, Action::Keep) => None,
                (Some(Step::Child(name) | Step::Descendant(Some(name))), _) => Some((name.clone(), r)),
                _ => None,
            })
            .collect();
        Ok(FieldRules { rules, offsets, words: total.div_ceil(64), has_drop, last_keys })
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    #[inline(always)]
    pub fn has_drop(&self) -> bool {
        self.has_drop
    }

    /// The first rule (in config order) whose last step names `key`, not
    /// a `keep`, for a value whose path is not tracked: below the depth
    /// bound, and in the text scan of malformed JSON. Such a rule applies
    /// there by its last segment alone (`$.user.name` to any `name`),
    /// which may mask more than the path would, never less.
    pub fn by_last_key(&self, key: &[u8]) -> Option<usize> {
        self.last_keys.iter().find(|(name, _)| name == key).map(|&(_, r)| r)
    }

    /// Whether any rule's last step names a key.
    pub fn has_last_keys(&self) -> bool {
        !self.last_keys.is_empty()
    }

    pub fn action(&self, rule: usize) -> &Action {
        &self.rules[rule].1
    }

    /// The states at the document root: every rule at step 0.
    pub fn root(&self) -> States {
        let mut s = vec![0; self.words];
        for &o in &self.offsets {
            s[o / 64] |= 1 << (o % 64);
        }
        s
    }

    /// Steps `from` over `seg` into `to`; returns the first rule (in
    /// config order) that now matches the whole path.
    pub fn step(&self, from: &[u64], seg: Segment, to: &mut States) -> Option<usize> {
        to.clear();
        to.resize(self.words, 0);
        let mut accepted = None;
        for (r, (steps, _)) in self.rules.iter().enumerate() {
            let o = self.offsets[r];
            for (k, step) in steps.iter().enumerate() {
                let bit = o + k;
                if from[bit / 64] & (1 << (bit % 64)) == 0 {
                    continue;
                }
                if let Step::Descendant(_) = step {
                    to[bit / 64] |= 1 << (bit % 64);
                }
                if step.accepts(seg) {
                    let next = bit + 1;
                    to[next / 64] |= 1 << (next % 64);
                    if k + 1 == steps.len() && accepted.is_none() {
                        accepted = Some(r);
                    }
                }
            }
        }
        accepted
    }

    /// The rule a form field or multipart part named `key` falls under:
    /// the key as it is, else as the frameworks that nest such names read
    /// it (PHP, Rails, `qs`, Spring): `user[name]` is `user` then `name`,
    /// `tags[]` is `tags`, `items[0][sku]` and `items[0].sku` are `items`,
    /// index 0, `sku`. `to` is scratch space.
    pub fn step_field_name(&self, root: &[u64], key: &[u8], to: &mut States) -> Option<usize> {
        if let Some(rule) = self.step(root, Segment::Key(key), to) {
            return Some(rule);
        }
        let segments = nested_name(key)?;
        let mut states = root.to_vec();
        let mut rule = None;
        for seg in segments {
            rule = self.step(&states, seg, to);
            states.clone_from(to);
        }
        rule
    }
}

/// A field name read as a path (see [`FieldRules::step_field_name`]), or
/// `None` when it has no brackets or dots, or they do not nest.
fn nested_name(key: &[u8]) -> Option<Vec<Segment<'_>>> {
    let first = key.iter().position(|&b| b == b'[' || b == b'.')?;
    if first == 0 {
        return None;
    }
    let mut segments = vec![Segment::Key(&key[..first])];
    let mut i = first;
    while i < key.len() {
        let (name, next) = match key[i] {
            b'[' => {
                let close = i + 1 + key[i + 1..].iter().position(|&b| b == b']')?;
                (&key[i + 1..close], close + 1)
            }
            b'.' => {
                let end = key[i + 1..].iter().position(|&b| b == b'[' || b == b'.').map_or(key.len(), |p| i + 1 + p);
                (&key[i + 1..end], end)
            }
            _ => return None,
        };
        match std::str::from_utf8(name).ok().and_then(|n| n.parse::<u64>().ok()) {
            Some(index) => segments.push(Segment::Index(index)),
            // `tags[]`: the next element of the list.
            None if name.is_empty() && key[i] == b'[' => {}
            None if name.is_empty() => return None,
            None => segments.push(Segment::Key(name)),
        }
        i = next;
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(paths: &[&str]) -> FieldRules {
        let cfg: Vec<_> = paths
            .iter()
            .map(|p| FieldRuleConfig { id: p.to_string(), path: p.to_string(), action: Action::Keep })
            .collect();
        FieldRules::new(&cfg).unwrap()
    }

    #[test]
    fn nested_field_names_are_read_as_paths() {
        let r = rules(&["$..name", "$.items[*].sku", "$.card"]);
        let mut next = Vec::new();
        let hit = |key: &str, next: &mut States| r.step_field_name(&r.root(), key.as_bytes(), next);
        for (key, rule) in [
            ("name", Some(0)),
            ("user[name]", Some(0)),
            ("user.name", Some(0)),
            ("name[]", Some(0)),
            ("a[b][name]", Some(0)),
            ("items[0][sku]", Some(1)),
            ("items[0].sku", Some(1)),
            ("card", Some(2)),
            ("user[card]", None),
            ("username", None),
            ("user[name", None),
            ("[name]", None),
            ("user..name", None),
        ] {
            assert_eq!(hit(key, &mut next), rule, "{key}");
        }
    }

    fn walk(r: &FieldRules, path: &[Segment]) -> Option<usize> {
        let mut states = r.root();
        let mut next = Vec::new();
        let mut hit = None;
        for seg in path {
            hit = r.step(&states, *seg, &mut next);
            std::mem::swap(&mut states, &mut next);
        }
        hit
    }

    #[test]
    fn child_descendant_wildcard_and_index_steps() {
        let r = rules(&["$.email", "$..phone", "$.items[*].card", "$.a[1]", "$['odd key']"]);
        use Segment::*;
        assert_eq!(walk(&r, &[Key(b"email")]), Some(0));
        assert_eq!(walk(&r, &[Key(b"user"), Key(b"email")]), None);
        assert_eq!(walk(&r, &[Key(b"x"), Index(3), Key(b"phone")]), Some(1));
        assert_eq!(walk(&r, &[Key(b"phone")]), Some(1));
        assert_eq!(walk(&r, &[Key(b"items"), Index(7), Key(b"card")]), Some(2));
        assert_eq!(walk(&r, &[Key(b"items"), Key(b"card")]), None);
        assert_eq!(walk(&r, &[Key(b"a"), Index(1)]), Some(3));
        assert_eq!(walk(&r, &[Key(b"a"), Index(2)]), None);
        assert_eq!(walk(&r, &[Key(b"odd key")]), Some(4));
    }

    #[test]
    fn rules_by_last_key_skip_keep_and_non_key_steps() {
        let cfg: Vec<_> = [
            ("$.public.name", Action::Keep),
            ("$.items[*]", Action::Drop),
            ("$..*", Action::Drop),
            ("$.user.name", Action::Drop),
            ("$..name", Action::Drop),
            ("$['date of birth']", Action::Drop),
        ]
        .into_iter()
        .map(|(p, action)| FieldRuleConfig { id: p.to_string(), path: p.to_string(), action })
        .collect();
        let r = FieldRules::new(&cfg).unwrap();
        assert_eq!(r.by_last_key(b"name"), Some(3));
        assert_eq!(r.by_last_key(b"date of birth"), Some(5));
        assert_eq!(r.by_last_key(b"items"), None);
        assert_eq!(r.by_last_key(b"public"), None);
        assert!(r.has_last_keys() && !rules(&["$.a[0]", "$..*"]).has_last_keys());
    }

    #[test]
    fn bad_paths_name_the_problem() {
        assert!(matches!(parse("email"), Err(PathError::NoRoot { .. })));
        assert!(matches!(parse("$"), Err(PathError::RootOnly { .. })));
        assert!(matches!(parse("$.a[x]"), Err(PathError::Syntax { at: 4, .. })));
        assert!(matches!(parse("$.items[*"), Err(PathError::Syntax { .. })));
        assert!(matches!(parse("$.."), Err(PathError::Syntax { .. })));
    }
}
