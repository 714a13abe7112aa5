//! Writes the adversarial shapes of `corpus::ADVERSARIAL` to files, for
//! `bench/worst_case.sh`, which counts the instructions piimask spends on
//! each.
//!
//! `cargo run --example adversarial_corpus -- DIR BYTES`

use std::path::PathBuf;

#[path = "corpus.rs"]
#[allow(dead_code)]
mod corpus;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(bytes)) = (args.next(), args.next()) else {
        eprintln!("usage: adversarial_corpus DIR BYTES");
        std::process::exit(2);
    };
    let Ok(bytes) = bytes.parse::<usize>() else {
        eprintln!("adversarial_corpus: BYTES must be a number of bytes, not {bytes:?}");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    for (name, generate) in corpus::ADVERSARIAL {
        std::fs::write(dir.join(format!("{name}.txt")), generate(bytes, 7))?;
    }
    Ok(())
}
