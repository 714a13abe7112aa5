//! The config parser and validator on arbitrary text: an error or a
//! config, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = piimask::config::Config::parse("fuzz.yaml", text, std::path::Path::new("/nonexistent"));
});
