//! `action:` in YAML: a bare name (`redact`) or a map
//! (`{ action: mask, keep_last: 4 }`, `{ action: hash, key: k1 }`).

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::Keys;
use crate::mask::Action;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    Redact,
    Mask,
    Hash,
    Drop,
    Keep,
}

/// The map form, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionMap {
    action: ActionName,
    #[serde(default)]
    placeholder: Option<String>,
    #[serde(default)]
    keep_last: Option<usize>,
    #[serde(default)]
    key: Option<String>,
}

#[derive(Debug)]
pub struct ActionSpec {
    pub action: ActionName,
    pub placeholder: Option<String>,
    pub keep_last: Option<usize>,
    pub key: Option<String>,
}

impl<'de> Deserialize<'de> for ActionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ActionSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an action (redact, mask, hash, drop, keep) or a map with `action:`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ActionSpec, E> {
                let action = ActionName::deserialize(de::value::StrDeserializer::<E>::new(s))?;
                Ok(ActionSpec { action, placeholder: None, keep_last: None, key: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ActionSpec, A::Error> {
                let m = ActionMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ActionSpec { action: m.action, placeholder: m.placeholder, keep_last: m.keep_last, key: m.key })
            }
        }
        d.deserialize_any(V)
    }
}

impl ActionSpec {
    /// The runtime action; `label` is the default placeholder (`[EMAIL]`),
    /// whose inner text also labels hash tokens.
    pub fn build(&self, label: &str, keys: &Keys) -> Result<Action, String> {
        let only = |field: &str, given: bool, owner: ActionName, name: &str| {
            if given && self.action != owner {
                Err(format!("`{field}` only applies to the `{name}` action"))
            } else {
                Ok(())
            }
        };
        only("placeholder", self.placeholder.is_some(), ActionName::Redact, "redact")?;
        only("keep_last", self.keep_last.is_some(), ActionName::Mask, "mask")?;
        only("key", self.key.is_some(), ActionName::Hash, "hash")?;
        Ok(match self.action {
            ActionName::Redact => {
                Action::Redact { placeholder: self.placeholder.clone().unwrap_or_else(|| label.to_string()) }
            }
            ActionName::Mask => Action::Mask { keep_last: self.keep_last.unwrap_or(0) },
            ActionName::Hash => {
                let id = self.key.as_ref().ok_or(
                    "`hash` needs `key:` naming one of the top-level `keys` (piimask never writes an unkeyed hash)",
                )?;
                let key =
                    keys.get(id).ok_or_else(|| format!("unknown key `{id}`; define it under top-level `keys`"))?;
                Action::Hash { key: key.clone(), label: label.trim_matches(|c| c == '[' || c == ']').to_string() }
            }
            ActionName::Drop => Action::Drop,
            ActionName::Keep => Action::Keep,
        })
    }
}
