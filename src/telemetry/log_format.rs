//! JSON log lines written straight into one buffer.
//!
//! The same shape as tracing-subscriber's JSON format (`timestamp`,
//! `level`, `fields`, `target`; the tests and the audit tooling read it),
//! at a fraction of the cost: that formatter serialises through serde_json
//! into an `io::Write` adaptor that re-validates every piece as UTF-8, ~20k
//! instructions for one audit event, which the proxy writes for every
//! response it masks (callgrind: 17% of a 1 KB request). Here each field is
//! escaped once into a byte buffer. piimask records no spans, so none are
//! written.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::mask::segment::write_json_quoted;

/// The event formatter: one JSON object per line.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Vec::with_capacity(256);
        line.extend_from_slice(b"{\"timestamp\":\"");
        write_timestamp(std::time::SystemTime::now(), &mut line);
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(meta.level().as_str().as_bytes());
        line.extend_from_slice(b"\",\"fields\":{");
        let mut fields = Fields { line, first: true, scratch: String::new() };
        event.record(&mut fields);
        let mut line = fields.line;
        line.extend_from_slice(b"},\"target\":");
        write_json_quoted(meta.target().as_bytes(), &mut line);
        line.extend_from_slice(b"}\n");
        // Built from `&str`s and ASCII: always UTF-8.
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// Writes `at` as tracing-subscriber's `SystemTime` timer does: RFC 3339
/// in UTC with microseconds (`2026-12-05T08:40:01.123456Z`). Its `Display`
/// through `fmt`, padding each number, cost ~2,400 instructions an event;
/// this is integer arithmetic (the civil date from the day number, after
/// Howard Hinnant's `civil_from_days`) and a digit per byte. Instants
/// before 1970 are written as 1970's first.
fn write_timestamp(at: std::time::SystemTime, line: &mut Vec<u8>) {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    // Days since 0000-03-01 in 400-year eras (146,097 days each), so a
    // leap day ends each year.
    let z = days + 719_468;
    let (era, day_of_era) = (z / 146_097, z % 146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    let digits = |line: &mut Vec<u8>, value: u64, width: u32| {
        for k in (0..width).rev() {
            line.push(b'0' + (value / 10u64.pow(k) % 10) as u8);
        }
    };
    digits(line, year, 4);
    line.push(b'-');
    digits(line, month, 2);
    line.push(b'-');
    digits(line, day, 2);
    line.push(b'T');
    digits(line, of_day / 3_600, 2);
    line.push(b':');
    digits(line, of_day / 60 % 60, 2);
    line.push(b':');
    digits(line, of_day % 60, 2);
    line.push(b'.');
    digits(line, u64::from(since.subsec_micros()), 6);
    line.push(b'Z');
}

/// Writes an event's fields as the members of a JSON object.
struct Fields {
    line: Vec<u8>,
    first: bool,
    /// A `Debug` or `Display` value's text, before it is escaped.
    scratch: String,
}

impl Fields {
    fn key(&mut self, field: &Field) {
        if !self.first {
            self.line.push(b',');
        }
        self.first = false;
        write_json_quoted(field.name().as_bytes(), &mut self.line);
        self.line.push(b':');
    }

    /// A number or literal, written as it is.
    fn raw(&mut self, field: &Field, value: impl fmt::Display) {
        self.key(field);
        // Writing into a Vec cannot fail.
        let _ = write!(self.line, "{value}");
    }

    /// A `Debug` or `Display` value's text, as a JSON string.
    fn text(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        self.key(field);
        self.scratch.clear();
        // Writing into a String cannot fail.
        let _ = self.scratch.write_fmt(value);
        write_json_quoted(self.scratch.as_bytes(), &mut self.line);
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        write_json_quoted(value.as_bytes(), &mut self.line);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, format_args!("{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, format_args!("{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity; serde_json writes null for them.
        match serde_json::Number::from_f64(value) {
            Some(n) => self.raw(field, n),
            None => self.raw(field, "null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// Events with every kind of field, as the lines of `subscriber`.
    fn log_with(subscriber: impl Subscriber + Send + Sync + 'static, buffer: &Buffer) -> Vec<serde_json::Value> {
        tracing::subscriber::with_default(subscriber, || {
            let error = io::Error::other("upstream \"down\"\n");
            tracing::info!(target: "piimask::audit", event = "masked", listener = "inbound", total = 3u64, "values masked");
            tracing::warn!(
                delta = -7i64,
                ok = true,
                ratio = 0.25f64,
                nan = f64::NAN,
                route = %"a \"quoted\" name\twith\u{1}control",
                peer = ?"spiffe://x/ns/é",
                error = &error as &(dyn std::error::Error + 'static),
                "a message with {} and \"quotes\"",
                42
            );
            tracing::error!(target: "other", "");
        });
        let text = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("UTF-8");
        assert!(text.ends_with('\n'));
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
    }

    /// Instants from 1970 to 2200 (every leap day and year end among
    /// them), as the `time` crate writes them in RFC 3339 and as
    /// tracing-subscriber's timer writes now.
    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let written = |at: SystemTime| {
            let mut line = Vec::new();
            write_timestamp(at, &mut line);
            String::from_utf8(line).expect("ASCII")
        };
        let leap_days = [951_782_400, 1_709_164_800, 4_107_542_400 - 86_400, 4_107_542_400];
        let sweep = (0..7_257_600_000u64).step_by(86_399 * 7 + 13).chain(leap_days);
        for (n, secs) in sweep.enumerate() {
            let micros = (n as u64 * 7_919) % 1_000_000;
            let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            let expected = time::OffsetDateTime::from_unix_timestamp(secs as i64).expect("in range");
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
                expected.year(),
                expected.month() as u8,
                expected.day(),
                expected.hour(),
                expected.minute(),
                expected.second()
            );
            assert_eq!(written(at), expected, "{secs}");
        }
        assert_eq!(written(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00.000000Z");
        let mut theirs = String::new();
        let before = written(SystemTime::now());
        tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut Writer::new(&mut theirs),
        )
        .expect("formats");
        let after = written(SystemTime::now());
        assert!(before <= theirs && theirs <= after, "{before} {theirs} {after}");
    }

    #[test]
    fn lines_are_what_tracing_subscribers_json_format_writes() {
        let (ours, theirs) = (Buffer::default(), Buffer::default());
        let ours_lines =
            log_with(tracing_subscriber::fmt().event_format(JsonLines).with_writer(ours.clone()).finish(), &ours);
        let theirs_lines = log_with(tracing_subscriber::fmt().json().with_writer(theirs.clone()).finish(), &theirs);
        assert_eq!(ours_lines.len(), 3);
        for (mut a, mut b) in ours_lines.into_iter().zip(theirs_lines) {
            // Written a moment apart: same shape, not the same instant.
            for line in [&mut a, &mut b] {
                let stamp = line["timestamp"].take();
                let stamp = stamp.as_str().expect("a timestamp");
                assert!(stamp.len() == 27 && stamp.ends_with('Z'), "{stamp}");
            }
            assert_eq!(a, b);
        }
    }
}
