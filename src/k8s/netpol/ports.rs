//! Sets of connections: for each protocol (TCP, UDP, SCTP), a set of port
//! ranges kept sorted, disjoint and maximal. Printed the way np-guard
//! netpol-analyzer prints them (`All Connections`, `TCP 80,8080-8090`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    // Declared in the order the output sorts them (by name).
    Sctp,
    Tcp,
    Udp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sctp => "SCTP",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Inclusive port ranges, sorted, disjoint and not touching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet(Vec<(u16, u16)>);

impl PortSet {
    pub fn full() -> PortSet {
        PortSet(vec![(1, 65535)])
    }

    pub fn range(lo: u16, hi: u16) -> PortSet {
        if lo == 0 || hi < lo { PortSet::default() } else { PortSet(vec![(lo, hi)]) }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.0 == [(1, 65535)]
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        let mut all: Vec<(u16, u16)> = self.0.iter().chain(&other.0).copied().collect();
        all.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match out.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        PortSet(out)
    }

    /// The ports of this set not in `other`.
    pub fn minus(&self, other: &PortSet) -> PortSet {
        let mut complement = Vec::new();
        let mut next: u32 = 1;
        for &(lo, hi) in &other.0 {
            if u32::from(lo) > next {
                complement.push((next as u16, lo - 1));
            }
            next = u32::from(hi) + 1;
        }
        if next <= 65535 {
            complement.push((next as u16, 65535));
        }
        self.intersect(&PortSet(complement))
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 { i += 1 } else { j += 1 }
        }
        PortSet(out)
    }
}

/// What may flow from one peer to another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet {
    ports: [PortSet; 3],
}

impl ConnSet {
    pub fn none() -> ConnSet {
        ConnSet::default()
    }

    pub fn all() -> ConnSet {
        ConnSet { ports: [PortSet::full(), PortSet::full(), PortSet::full()] }
    }

    pub fn of(protocol: Protocol, ports: PortSet) -> ConnSet {
        let mut c = ConnSet::none();
        c.ports[protocol.index()] = ports;
        c
    }

    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(PortSet::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.ports.iter().all(PortSet::is_full)
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.ports[protocol.index()].contains(port)
    }

    pub fn union(&self, other: &ConnSet) -> ConnSet {
        ConnSet { ports: std::array::from_fn(|i| self.ports[i].union(&other.ports[i])) }
    }

    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        ConnSet { ports: std::array::from_fn(|i| self.ports[i].intersect(&other.ports[i])) }
    }

    pub fn minus(&self, other: &ConnSet) -> ConnSet {
        ConnSet { ports: std::array::from_fn(|i| self.ports[i].minus(&other.ports[i])) }
    }
}

impl fmt::Display for ConnSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut first = true;
        for p in Protocol::ALL {
            let set = &self.ports[p.index()];
            if set.is_empty() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{} ", p.name())?;
            for (k, (lo, hi)) in set.0.iter().enumerate() {
                if k > 0 {
                    f.write_str(",")?;
                }
                if lo == hi { write!(f, "{lo}")? } else { write!(f, "{lo}-{hi}")? }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_merge_intersect_and_print_like_netpol_analyzer() {
        let a = PortSet::range(80, 80).union(&PortSet::range(81, 90)).union(&PortSet::range(8080, 8080));
        assert_eq!(a, PortSet(vec![(80, 90), (8080, 8080)]));
        assert_eq!(a.intersect(&PortSet::range(85, 9000)), PortSet(vec![(85, 90), (8080, 8080)]));
        let c = ConnSet::of(Protocol::Tcp, a).union(&ConnSet::of(Protocol::Sctp, PortSet::range(9, 9)));
        assert_eq!(c.to_string(), "SCTP 9,TCP 80-90,8080");
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        assert!(ConnSet::all().intersect(&ConnSet::none()).is_empty());
        let hole = ConnSet::all().minus(&ConnSet::of(Protocol::Tcp, PortSet::range(8080, 8080)));
        assert_eq!(hole.to_string(), "SCTP 1-65535,TCP 1-8079,8081-65535,UDP 1-65535");
        assert!(hole.union(&ConnSet::of(Protocol::Tcp, PortSet::range(8080, 8080))).is_all());
    }
}
