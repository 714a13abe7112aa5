//! piimask: an mTLS sidecar that masks personal data in HTTP bodies.
//!
//! The layers are described in DESIGN.md: `mask` is the engine (no HTTP, no
//! runtime), `patterns` the built-in detector definitions, `config` the
//! YAML configuration, `cli` the commands.

pub mod cli;
pub mod config;
pub mod mask;
pub mod patterns;
pub mod yaml;
