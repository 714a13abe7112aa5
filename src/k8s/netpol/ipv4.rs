//! Sets of IPv4 addresses as sorted, disjoint inclusive ranges: an
//! `ipBlock` is its CIDR minus its exceptions. IPv6 blocks are not
//! analysed yet (they never match an IPv4 range).

use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv4Set(Vec<(u32, u32)>);

/// `a.b.c.d/n` as an inclusive range.
pub fn cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = s.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let lo = u32::from(addr) & mask;
    Some((lo, lo | !mask))
}

impl Ipv4Set {
    /// An `ipBlock` object; `None` for IPv6 or malformed blocks.
    pub fn cidr_except(block: &Value) -> Option<Ipv4Set> {
        let (lo, hi) = cidr(block.get("cidr")?.as_str()?)?;
        let mut set = vec![(lo, hi)];
        for e in block.get("except").and_then(Value::as_array).into_iter().flatten() {
            if let Some((elo, ehi)) = e.as_str().and_then(cidr) {
                set = set
                    .into_iter()
                    .flat_map(|(a, b)| {
                        let mut parts = Vec::new();
                        if elo > a {
                            parts.push((a, (elo - 1).min(b)));
                        }
                        if ehi < b {
                            parts.push(((ehi + 1).max(a), b));
                        }
                        if ehi < a || elo > b { vec![(a, b)] } else { parts }
                    })
                    .collect();
            }
        }
        Some(Ipv4Set(set))
    }

    pub fn contains_range(&self, lo: u32, hi: u32) -> bool {
        self.0.iter().any(|&(a, b)| a <= lo && hi <= b)
    }

    /// Where ranges start or end, as cut points (`hi + 1` for ends).
    pub fn boundaries(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().flat_map(|&(a, b)| [u64::from(a), u64::from(b) + 1])
    }
}

pub fn format_range(lo: u32, hi: u32) -> String {
    format!("{}-{}", std::net::Ipv4Addr::from(lo), std::net::Ipv4Addr::from(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn except_cuts_holes() {
        let block = serde_json::json!({"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]});
        let set = Ipv4Set::cidr_except(&block).unwrap();
        assert!(set.contains_range(u32::from_be_bytes([10, 0, 0, 0]), u32::from_be_bytes([10, 0, 255, 255])));
        assert!(!set.contains_range(u32::from_be_bytes([10, 1, 0, 0]), u32::from_be_bytes([10, 1, 0, 0])));
        assert!(set.contains_range(u32::from_be_bytes([10, 2, 0, 0]), u32::from_be_bytes([10, 255, 255, 255])));
        assert_eq!(cidr("0.0.0.0/0"), Some((0, u32::MAX)));
    }
}
