//! The Kubernetes side of piimask: NetworkPolicy analysis and generation
//! (injection comes next). Works on manifests as data; uses `config` types,
//! never the `proxy` machinery.

pub mod certs;
pub mod generate;
pub mod inject;
pub mod install;
pub mod netpol;
pub mod webhook;
