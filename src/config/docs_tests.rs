//! Keeps `docs/configuration.md` and the config structs from drifting: the
//! keys the structs accept (read from serde itself) must be exactly the
//! keys the reference documents.
//!
//! serde's derived `Deserialize` passes every struct's field names to
//! `Deserializer::deserialize_struct`. [`KeyRecorder`] is a deserializer that
//! follows one path into the structs (a field, a list element, a map entry
//! at each step) and, at its end, reports the shape it finds there: a
//! struct with its fields, a list, a map, or a plain value. Walking every
//! path gives every accepted key, as exactly as serde sees them.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// One step of a path into the config.
#[derive(Clone, Debug)]
enum Step {
    Field(&'static str),
    /// An element of a list: `[]` in the docs.
    Element,
    /// A value of a map keyed by names the operator picks: `*` in the docs.
    Entry,
}

/// What sits at the end of a path.
#[derive(Clone, Debug)]
enum Shape {
    Struct(&'static [&'static str]),
    List,
    Map,
    Value,
}

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Stop {
        Stop
    }
}

struct KeyRecorder<'a> {
    path: &'a [Step],
    found: &'a RefCell<Option<Shape>>,
}

impl KeyRecorder<'_> {
    /// Records `shape` if this is the end of the path; either way the
    /// walk stops here.
    fn stop(self, shape: Shape) -> Stop {
        if self.path.is_empty() {
            *self.found.borrow_mut() = Some(shape);
        }
        Stop
    }

    fn next(&self) -> KeyRecorder<'_> {
        KeyRecorder { path: &self.path[1..], found: self.found }
    }
}

/// A map of one entry (or a struct of one field) whose value leads on.
struct OneEntry<'a> {
    key: Option<&'static str>,
    value: Option<KeyRecorder<'a>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(self.value.take().ok_or(Stop)?)
    }
}

/// A list of one element that leads on.
struct OneElement<'a>(Option<KeyRecorder<'a>>);

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Stop> {
        self.0.take().map(|next| seed.deserialize(next)).transpose()
    }
}

macro_rules! plain_values {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(self.stop(Shape::Value))
        }
    )*};
}

impl<'de> Deserializer<'de> for KeyRecorder<'_> {
    type Error = Stop;

    plain_values! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, _: V) -> Result<V::Value, Stop> {
        Err(self.stop(Shape::Value))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Stop> {
        Err(self.stop(Shape::Value))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, _: V) -> Result<V::Value, Stop> {
        Err(self.stop(Shape::Value))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        Err(self.stop(Shape::Value))
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.first() {
            Some(Step::Element) => visitor.visit_seq(OneElement(Some(self.next()))),
            _ => Err(self.stop(Shape::List)),
        }
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.first() {
            Some(Step::Entry) => visitor.visit_map(OneEntry { key: Some("name"), value: Some(self.next()) }),
            _ => Err(self.stop(Shape::Map)),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.path.first() {
            Some(Step::Field(field)) => visitor.visit_map(OneEntry { key: Some(field), value: Some(self.next()) }),
            _ => Err(self.stop(Shape::Struct(fields))),
        }
    }
}

/// The shape at `path` inside `T`.
fn shape_at<'de, T: Deserialize<'de>>(path: &[Step]) -> Shape {
    let found = RefCell::new(None);
    let _ = T::deserialize(KeyRecorder { path, found: &found });
    found.into_inner().unwrap_or(Shape::Value)
}

/// Every key `T` accepts, as `section.key`, `list[].key` and `map.*.key`,
/// prefixed with `root`.
fn accepted_keys<'de, T: Deserialize<'de>>(root: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut pending: Vec<(Vec<Step>, String)> = vec![(Vec::new(), root.to_string())];
    while let Some((path, name)) = pending.pop() {
        let mut walk = |step: Step, name: String| {
            let mut longer = path.clone();
            longer.push(step);
            pending.push((longer, name));
        };
        match shape_at::<T>(&path) {
            Shape::Struct(fields) => {
                for field in fields {
                    let key = if name.is_empty() { field.to_string() } else { format!("{name}.{field}") };
                    keys.insert(key.clone());
                    walk(Step::Field(field), key);
                }
            }
            Shape::List => walk(Step::Element, format!("{name}[]")),
            Shape::Map => walk(Step::Entry, format!("{name}.*")),
            Shape::Value => {}
        }
    }
    keys
}

/// Every key the configuration accepts: the file's structs, plus the map
/// form of an action (`{ action: mask, keep_last: 4 }`), which is read
/// through a hand-written visitor and documented under `<action>`.
fn all_accepted_keys() -> BTreeSet<String> {
    let mut keys = accepted_keys::<super::ConfigFile>("");
    keys.extend(accepted_keys::<super::action::ActionMap>("<action>"));
    keys
}

/// The keys in the reference: first cells of table rows between the
/// `<!-- config-keys:begin -->` and `<!-- config-keys:end -->` markers, each
/// written as one code span: `` | `inbound.routes[].name` | ... ``.
fn documented_keys(markdown: &str) -> Result<BTreeSet<String>, String> {
    let begin = markdown.find("<!-- config-keys:begin -->").ok_or("no <!-- config-keys:begin --> marker")?;
    let end = markdown.find("<!-- config-keys:end -->").ok_or("no <!-- config-keys:end --> marker")?;
    let mut keys = BTreeSet::new();
    for line in markdown[begin..end].lines() {
        let Some(row) = line.trim().strip_prefix('|') else { continue };
        let first = row.split('|').next().unwrap_or("").trim();
        if first.is_empty() || first.starts_with('-') || first == "key" {
            continue;
        }
        let key = first
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .ok_or_else(|| format!("a key row's first cell is not one code span: {line}"))?;
        if !keys.insert(key.to_string()) {
            return Err(format!("`{key}` is documented twice"));
        }
    }
    Ok(keys)
}

#[test]
fn the_recorder_finds_nested_keys_lists_maps_and_options() {
    let keys = all_accepted_keys();
    for key in [
        "keys",
        "keys[].secret_env",
        "profiles.*.custom[].name",
        "profiles.*.fields[].path",
        "inbound.routes[].max_request_bytes",
        "egress.peers[].identity",
        "tls.ca",
        "limits.header_read_timeout_seconds",
        "<action>.keep_last",
    ] {
        assert!(keys.contains(key), "{key} not found in {keys:#?}");
    }
}

#[test]
fn docs_configuration_md_documents_exactly_the_accepted_keys() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let markdown = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let documented = documented_keys(&markdown).unwrap_or_else(|e| panic!("{path}: {e}"));
    let accepted = all_accepted_keys();
    let undocumented: Vec<_> = accepted.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "docs/configuration.md and src/config disagree\n\
         accepted but not documented (add a row): {undocumented:?}\n\
         documented but not accepted (remove or rename the row): {stale:?}"
    );
}
