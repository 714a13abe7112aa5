//! Reading YAML into typed structs with errors that name the file, the
//! path inside it (`profiles.default.fields[0].path`) and the line.

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
#[error("{file}: {path}{location}: {message}")]
pub struct YamlError {
    pub file: String,
    /// Dotted path to the offending value, or empty at the top level.
    pub path: String,
    /// ` (line L, column C)` when known.
    pub location: String,
    pub message: String,
}

pub fn from_yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, YamlError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let location =
            inner.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
        let mut message = inner.to_string();
        // serde_yaml_ng appends its own "at line L column C"; we give it once.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        YamlError { file: file.to_string(), path: if path == "." { String::new() } else { path }, location, message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    #[test]
    fn errors_name_file_path_and_line() {
        let e = from_yaml::<Outer>("f.yaml", "inner:\n  - n: 1\n  - n: 300\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("f.yaml: inner[1].n (line 3, column 8): "), "{s}");
        let e = from_yaml::<Outer>("f.yaml", "inner: []\nextra: 1\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
    }
}
