//! The Kubernetes side of piimask: NetworkPolicy analysis (and, later,
//! injection and policy generation). Works on manifests as data; never
//! depends on `proxy`.

pub mod netpol;
