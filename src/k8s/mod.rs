//! The Kubernetes side of piimask: sidecar injection, the admission
//! webhook's decisions, the cluster-side manifests, NetworkPolicy
//! generation and analysis, and the read-only API-server calls the webhook makes.
//! Works on manifests as data; uses `config` and `tls` types, never the
//! `proxy` machinery.

pub mod certs;
pub mod generate;
pub mod inject;
pub mod install;
pub mod kube_api;
pub mod netpol;
pub mod proxy_env;
pub mod takeover;
pub mod uninject;
pub mod webhook;
