//! piimask: an mTLS sidecar that masks personal data in HTTP bodies.
//!
//! The layers are described in `docs/architecture.md`: `mask` is the engine
//! (no HTTP, no runtime), `patterns` the built-in detector definitions,
//! `policy` who may call what and which profile applies, `tls` certificates
//! and identities, `proxy` the hyper server and client, `config` the YAML
//! configuration, `k8s` injection, admission and NetworkPolicies,
//! `telemetry` the logs, `runtime` the tokio runtime the servers run on,
//! `cli` the commands. `devpki` makes throw-away certificates for the demo
//! and the tests.
//!
//! No `unsafe` but in the modules that say at their top why they need it:
//! the engine's SIMD scans and the allocator's idle trim.

#![deny(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod devpki;
pub mod k8s;
pub mod mask;
pub mod metrics;
pub mod patterns;
pub mod policy;
pub mod proxy;
pub mod runtime;
pub mod telemetry;
pub mod tls;
pub mod yaml;
