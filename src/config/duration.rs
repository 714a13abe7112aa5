//! Durations as operators write them: `30s`, `500ms`, `2m`, `1h`, or a bare
//! number of seconds (`30`, `0.5`), on the command line and in the file.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Why a duration was refused; each message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}`: expected a duration such as 30s, 500ms, 2m or 1h (a bare number is seconds)")]
    Malformed(String),
    #[error("`{value}`: unknown unit `{unit}`; use ms, s, m or h")]
    UnknownUnit { value: String, unit: String },
    #[error("`{0}`: no spaces inside a duration; write it as 30s or 500ms")]
    Whitespace(String),
    #[error("`{0}`: a duration cannot be negative")]
    Negative(String),
    #[error("`{0}`: must be more than zero (at least 1ns)")]
    NotPositive(String),
    #[error("`{0}`: too large; at most 87600h (10 years)")]
    TooLarge(String),
}

/// Parses `30s`, `500ms`, `2m`, `1h`, `1.5s` or a bare number of seconds.
/// Zero is refused: every duration piimask takes is a timeout or an
/// interval, where zero would mean "never" or "spin".
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.chars().any(char::is_whitespace) {
        return Err(DurationError::Whitespace(text.to_string()));
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    let unit_at = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let well_formed =
        !number.is_empty() && number.matches('.').count() <= 1 && number.split('.').all(|part| !part.is_empty());
    if !well_formed {
        return Err(DurationError::Malformed(text.to_string()));
    }
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(DurationError::UnknownUnit { value: text.to_string(), unit: unit.to_string() }),
    };
    let number: f64 = number.parse().map_err(|_| DurationError::Malformed(text.to_string()))?;
    checked_seconds(text, number * seconds_per_unit)
}

/// The longest duration taken: far past any useful timeout, and far from
/// where adding it to a clock reading (`Instant + Duration`, which panics
/// on overflow) could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A number of seconds (as YAML numbers are): positive, finite, and at
/// most [`MAX_DURATION`]. `shown` is the value as the operator wrote it.
pub fn checked_seconds(shown: &str, seconds: f64) -> Result<Duration, DurationError> {
    if seconds.is_nan() {
        return Err(DurationError::Malformed(shown.to_string()));
    }
    if seconds < 0.0 {
        return Err(DurationError::Negative(shown.to_string()));
    }
    // `try_from_secs_f64` refuses infinity and anything past u64::MAX
    // seconds; a positive value below a nanosecond rounds to zero.
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if d.is_zero() => Err(DurationError::NotPositive(shown.to_string())),
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(DurationError::TooLarge(shown.to_string())),
    }
}

/// The clap value parser for duration flags.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// A duration as it appears in the file: a string with a unit or a number
/// of seconds; checked by [`DurationSetting::to_duration`] so the error
/// can name the key.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationSetting {
    Seconds(f64),
    Text(String),
}

impl DurationSetting {
    pub fn to_duration(&self) -> Result<Duration, DurationError> {
        match self {
            DurationSetting::Seconds(s) => checked_seconds(&number_as_written(*s), *s),
            DurationSetting::Text(t) => parse_duration(t),
        }
    }
}

/// `15`, `0.5`, `1e300`, `NaN`: close to how YAML wrote it (`Display`
/// spells huge numbers out digit by digit, `Debug` adds `.0` to integers).
fn number_as_written(seconds: f64) -> String {
    if seconds.fract() == 0.0 && seconds.abs() < 1e16 { format!("{seconds}") } else { format!("{seconds:?}") }
}

impl<'de> Deserialize<'de> for DurationSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"500ms\", \"2m\", \"1h\", or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationSetting, E> {
                Ok(DurationSetting::Seconds(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationSetting, E> {
                Ok(DurationSetting::Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationSetting, E> {
                Ok(DurationSetting::Seconds(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationSetting, E> {
                Ok(DurationSetting::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("30", Duration::from_secs(30)),
            ("0.5", Duration::from_millis(500)),
            ("500ms", Duration::from_millis(500)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1ms", Duration::from_millis(1)),
            ("87600h", MAX_DURATION),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn each_refusal_is_clear_and_quotes_the_value() {
        let four_hundred_digits = "1".repeat(400);
        let cases = [
            ("0", "`0`: must be more than zero"),
            ("0s", "`0s`: must be more than zero"),
            ("0.0000000001", "`0.0000000001`: must be more than zero"),
            ("-5s", "`-5s`: a duration cannot be negative"),
            ("99999999999999999999999h", "`99999999999999999999999h`: too large; at most 87600h"),
            (four_hundred_digits.as_str(), "too large"),
            ("87601h", "`87601h`: too large"),
            ("nan", "`nan`: expected a duration such as 30s"),
            ("inf", "`inf`: expected a duration"),
            ("30x", "`30x`: unknown unit `x`; use ms, s, m or h"),
            ("1e3", "unknown unit `e3`"),
            ("30sec", "unknown unit `sec`"),
            ("30 s", "`30 s`: no spaces inside a duration"),
            (" 30s", "no spaces inside a duration"),
            ("", "``: expected a duration"),
            ("s", "`s`: expected a duration"),
            (".5s", "expected a duration"),
            ("1.2.3s", "expected a duration"),
            ("+5s", "expected a duration"),
        ];
        for (text, want) in cases {
            let got = parse_duration(text).expect_err(text).to_string();
            assert!(got.contains(want), "for {text:?}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn numbers_from_the_file_are_checked_like_text() {
        assert_eq!(DurationSetting::Seconds(15.0).to_duration(), Ok(Duration::from_secs(15)));
        let refused = [
            (f64::NAN, "expected a duration"),
            (-1.0, "cannot be negative"),
            (-0.0, "must be more than zero"),
            (0.0, "must be more than zero"),
            (f64::INFINITY, "too large"),
            (1e20, "too large"),
        ];
        for (seconds, want) in refused {
            let got = DurationSetting::Seconds(seconds).to_duration().unwrap_err().to_string();
            assert!(got.contains(want), "for {seconds}: {got}");
        }
    }
}
