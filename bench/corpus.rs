//! Deterministic benchmark corpora: API-like JSON records (ids, UUIDs,
//! epoch and ISO timestamps, prices, SKUs, coordinates, free text) where
//! about 1% of the bytes are PII (emails and phone numbers in fields and in
//! notes). Shared by the criterion benches and the CLI comparison.

/// xorshift64*: fast, deterministic, good enough to vary records.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &["maria", "john", "aiko", "pierre", "fatima", "li", "olga", "diego", "amara", "noah"];
const LAST: &[&str] = &["garcia", "smith", "tanaka", "dubois", "khan", "wei", "ivanova", "lopez", "okafor", "brown"];
const CITY: &[&str] = &["Lyon", "Osaka", "Leeds", "Austin", "Porto", "Lagos", "Pune", "Graz", "Perth", "Quito"];
const STATUS: &[&str] = &["pending", "paid", "shipped", "delivered", "returned"];
const NOTES: &[&str] = &[
    "Leave the parcel at the front door",
    "Gift wrap, no invoice in the box",
    "Customer asked for delivery after 5pm",
    "Fragile: contains glassware",
    "Replacement for order shipped last week",
];
const PHONES: &[&str] =
    &["+44 20 7946 0958", "+1 (415) 555-2671", "+33 6 12 34 56 78", "+81 90-1234-5678", "06 12 34 56 78"];

/// One JSON record (no trailing newline).
pub fn record(rng: &mut Rng, i: u64, out: &mut String) {
    use std::fmt::Write;
    let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
    let ts = 1_700_000_000 + rng.below(40_000_000);
    let _ = write!(
        out,
        r#"{{"id":{i},"uuid":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","created_at":"2024-{:02}-{:02}T{:02}:{:02}:{:02}Z","updated_ms":{}{:03},"status":"{}","customer":{{"name":"{} {}","city":"{}","tier":"gold","lat":{}.{:04},"lon":-{}.{:04}}}"#,
        rng.next() as u32,
        rng.below(0xffff),
        rng.below(0xfff),
        rng.below(0xfff),
        rng.next() & 0xffff_ffff_ffff,
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        ts,
        rng.below(1000),
        rng.pick(STATUS),
        first,
        last,
        rng.pick(CITY),
        rng.below(90),
        rng.below(10000),
        rng.below(180),
        rng.below(10000),
    );
    // PII in about one record in eight, as a field or inside the note.
    match rng.below(16) {
        0 => {
            let _ = write!(out, r#","email":"{first}.{last}{}@example.com""#, rng.below(100));
        }
        1 => {
            let _ = write!(out, r#","phone":"{}""#, rng.pick(PHONES));
        }
        _ => {}
    }
    let _ = write!(out, r#","items":["#);
    for k in 0..1 + rng.below(3) {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"sku":"SKU-{}-{}","qty":{},"price":{}.{:02}}}"#,
            rng.below(100000),
            (b'A' + rng.below(26) as u8) as char,
            1 + rng.below(5),
            rng.below(500),
            rng.below(100)
        );
    }
    let note = rng.pick(NOTES);
    let _ = match rng.below(16) {
        0 => write!(out, r#"],"note":"{note}; contact {first}@mail.example.org""#),
        1 => write!(out, r#"],"note":"{note}; call {}""#, rng.pick(PHONES)),
        _ => write!(out, r#"],"note":"{note}""#),
    };
    let _ = write!(out, r#","total":{}.{:02},"currency":"EUR","tags":["web","v2"]}}"#, rng.below(2000), rng.below(100));
}

/// Writes a JSON array of records, about `bytes` long, to `w` (a file for
/// the CLI comparison, memory for criterion).
pub fn write_json(w: &mut impl std::io::Write, bytes: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut line = String::new();
    let mut written = 1;
    w.write_all(b"[")?;
    let mut i = 0;
    while written < bytes {
        line.clear();
        if i > 0 {
            line.push_str(",\n");
        }
        record(&mut rng, i, &mut line);
        w.write_all(line.as_bytes())?;
        written += line.len();
        i += 1;
    }
    w.write_all(b"]\n")
}

/// A JSON array of records, about `bytes` long.
pub fn json(bytes: usize, seed: u64) -> String {
    let mut out = Vec::with_capacity(bytes + 1024);
    // Writing to a Vec cannot fail, and the records are UTF-8.
    let _ = write_json(&mut out, bytes, seed);
    String::from_utf8(out).unwrap_or_default()
}

const WORDS: &[&str] = &[
    "the",
    "order",
    "arrived",
    "late",
    "and",
    "the",
    "box",
    "was",
    "damaged",
    "please",
    "send",
    "a",
    "replacement",
    "thanks",
    "for",
    "your",
    "help",
    "we",
    "have",
    "updated",
    "account",
    "settings",
    "invoice",
    "attached",
    "shipping",
    "address",
    "changed",
    "yesterday",
    "customer",
    "support",
    "ticket",
    "resolved",
    "after",
    "second",
    "contact",
];

/// A JSON array of about `bytes`, one record a line, each written by
/// `record` (given the generator and the record's index).
fn json_array(bytes: usize, seed: u64, mut record: impl FnMut(&mut Rng, u64, &mut String)) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 4096);
    out.push('[');
    let mut i = 0u64;
    while out.len() < bytes {
        if i > 0 {
            out.push_str(",\n");
        }
        record(&mut rng, i, &mut out);
        i += 1;
    }
    out.push_str("]\n");
    out
}

/// Prose-heavy JSON: support tickets whose messages are a few hundred bytes
/// of text, with the same ~1% of PII bytes (an address or number in a
/// message, a contact field).
pub fn json_prose(bytes: usize, seed: u64) -> String {
    use std::fmt::Write;
    json_array(bytes, seed, |rng, i, out| {
        let mut body = String::new();
        for _ in 0..(60 + rng.below(80)) {
            body.push_str(rng.pick(WORDS));
            body.push(' ');
        }
        match rng.below(5) {
            0 => {
                let _ = write!(body, "reach me at {}.{}@example.org", rng.pick(FIRST), rng.pick(LAST));
            }
            1 => {
                let _ = write!(body, "call {}", rng.pick(PHONES));
            }
            _ => body.push_str("regards"),
        }
        let _ = write!(
            out,
            r#"{{"id":{i},"created_at":"2024-{:02}-{:02}T10:00:00Z","subject":"Ticket about {} {}","status":"{}","author":{{"name":"{} {}","city":"{}"}},"message":"{}","tags":["support","{}"]}}"#,
            1 + rng.below(12),
            1 + rng.below(28),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(STATUS),
            rng.pick(FIRST),
            rng.pick(LAST),
            rng.pick(CITY),
            body,
            rng.pick(STATUS),
        );
    })
}

/// Phone numbers in the formats people type them, `#` for a random digit.
const PHONE_TEMPLATES: &[&str] = &[
    "+44 20 7946 0###",
    "+1 (415) 555-####",
    "+33 6 12 34 ## ##",
    "+81 90-1234-####",
    "06 12 34 ## ##",
    "+4915123456###",
    "(0161) 496 0###",
];
const DOMAINS: &[&str] = &["example.com", "mail.example.org", "corp.example.co.uk"];

/// PII-dense JSON: a user directory, as a service that holds personal data
/// returns it. Every record has a name, an email address and a phone
/// number (about a fifth of the bytes are PII).
pub fn json_people(bytes: usize, seed: u64) -> String {
    use std::fmt::Write;
    json_array(bytes, seed, |rng, i, out| {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let phone: String = rng
            .pick(PHONE_TEMPLATES)
            .chars()
            .map(|c| if c == '#' { (b'0' + rng.below(10) as u8) as char } else { c })
            .collect();
        let _ = write!(
            out,
            r#"{{"id":{i},"name":"{first} {last}","email":"{first}.{last}{}@{}","phone":"{phone}","city":"{}","created_at":"2024-{:02}-{:02}T10:00:00Z","plan":"{}","active":{}}}"#,
            rng.below(100),
            rng.pick(DOMAINS),
            rng.pick(CITY),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.pick(&["free", "pro", "team"]),
            rng.below(2) == 0,
        );
    })
}

/// Log-like text lines with the same PII density.
pub fn text(bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 1024);
    let mut line = String::new();
    let mut i = 0;
    while out.len() < bytes {
        line.clear();
        record(&mut rng, i, &mut line);
        out.push_str("2024-05-01T10:00:00Z INFO handled request ");
        out.push_str(&line.replace(['{', '}', '"'], " "));
        out.push('\n');
        i += 1;
    }
    out
}

/// The engine's worst case: lines of space-separated digit groups (score
/// lists, counts, spaced dates), where every group can start a number and
/// each must be tried against the numbering plan; a phone number among
/// them now and then.
pub fn digit_runs(bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 1024);
    while out.len() < bytes {
        out.push_str("scores");
        for _ in 0..40 {
            match rng.below(20) {
                0 => out.push_str(&format!(
                    " 0{} {:02} {:02} {:02} {:02}",
                    1 + rng.below(9),
                    rng.below(100),
                    rng.below(100),
                    rng.below(100),
                    rng.below(100)
                )),
                1..=9 => out.push_str(&format!(" {:02}", rng.below(100))),
                10..=16 => out.push_str(&format!(" {:03}", rng.below(1000))),
                _ => out.push_str(&format!(" {}", rng.below(10_000))),
            }
        }
        out.push('\n');
    }
    out
}

/// A corpus generator: about `bytes` bytes from a seed.
pub type Generator = fn(usize, u64) -> String;

/// The adversarial shapes: text built to cost the detectors the most per
/// byte, each a name, and a generator of about `bytes` bytes. The
/// worst-case benchmark and `bench/worst_case.sh` both read them from
/// here.
pub const ADVERSARIAL: &[(&str, Generator)] = &[
    ("digit_runs", digit_runs),
    ("digit_groups", digit_groups),
    ("single_digits", single_digits),
    ("dotted_numbers", dotted_numbers),
    ("at_runs", at_runs),
    ("at_pairs", at_pairs),
    ("found_digit_groupings", found_digit_groupings),
];

/// An input the slow-input fuzz target found (`bench/slow_inputs/`),
/// read as UTF-8 (a stray byte as U+FFFD) and repeated to `bytes`.
fn repeated(found: &[u8], bytes: usize) -> String {
    let text = String::from_utf8_lossy(found);
    let mut out = String::with_capacity(bytes + text.len());
    while out.len() < bytes {
        out.push_str(&text);
    }
    out
}

/// Groups that many regions' formats fit (`8 025 8 025 888 8888 8 888`),
/// found by the slow-input fuzz target: 1.5 times the bytes read again
/// of any shape above when it was found.
pub fn found_digit_groupings(bytes: usize, _seed: u64) -> String {
    repeated(include_bytes!("slow_inputs/digit_groupings.txt"), bytes)
}

/// Lines of `count` pieces from `piece`, separated by `sep`, to `bytes`.
fn lines_of(bytes: usize, seed: u64, count: usize, sep: &str, piece: impl Fn(&mut Rng) -> String) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 1024);
    while out.len() < bytes {
        for i in 0..count {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&piece(&mut rng));
        }
        out.push('\n');
    }
    out
}

/// Space-separated groups of one to four digits, zero-padded at random
/// (`0079 16 03 021`): every group can start a number, and many
/// groupings are ones a region writes.
pub fn digit_groups(bytes: usize, seed: u64) -> String {
    lines_of(bytes, seed, 40, " ", |rng| {
        let width = 1 + rng.below(4) as usize;
        let digits = 1 + rng.below(4) as u32;
        let value = rng.below(10u64.pow(digits));
        format!("{value:0width$}")
    })
}

/// `1 1 1 1 …`: the most candidates a byte can start.
pub fn single_digits(bytes: usize, seed: u64) -> String {
    lines_of(bytes, seed, 300, " ", |_| "1".into())
}

/// Dotted numbers (`248.11.9180 901.74.7963 …`): spans that join across
/// dots and spaces, shaped like SSNs, IPv4 addresses and phones.
pub fn dotted_numbers(bytes: usize, seed: u64) -> String {
    lines_of(bytes, seed, 20, " ", |rng| format!("{}.{}.{}", rng.below(1000), rng.below(100), rng.below(10_000)))
}

/// Runs of `@` between short words of word characters and dots
/// (`xa.@-@.z_xz1@-y@…`): every `@` is an email candidate.
pub fn at_runs(bytes: usize, seed: u64) -> String {
    const CHARS: &[u8] = b"abcxyz019._-";
    lines_of(bytes, seed, 30, "@", |rng| {
        (0..1 + rng.below(6)).map(|_| CHARS[rng.below(CHARS.len() as u64) as usize] as char).collect()
    })
}

/// `a@a@a@…`: an `@` every other byte.
pub fn at_pairs(bytes: usize, seed: u64) -> String {
    lines_of(bytes, seed, 200, "@", |_| "a".into())
}
