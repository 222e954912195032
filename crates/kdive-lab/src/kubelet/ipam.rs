//! Pod IPs from the node's podCIDR, as the CNI `host-local` IPAM plugin hands them out:
//! the range is the CIDR without its network and broadcast addresses, the first address is
//! the bridge's gateway, and allocation goes round-robin from the last address handed out
//! (a freed address is not reused at once).

use std::collections::HashMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The node has no usable spec.podCIDR (only IPv4 /8../30 are modelled).
    #[error("no IPv4 podCIDR is assigned to the node")]
    NoRange,
    /// host-local's own words when every address is taken.
    #[error(
        "failed to allocate for range 0: no IP addresses available in range set: {first}-{last}"
    )]
    Exhausted { first: Ipv4Addr, last: Ipv4Addr },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    /// The gateway (network + 1); pods start after it.
    gateway: u32,
    /// The last usable address (broadcast - 1).
    last: u32,
}

fn parse_cidr(cidr: &str) -> Option<Range> {
    let (addr, prefix) = cidr.trim().split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    if !(8..=30).contains(&prefix) {
        return None;
    }
    let mask = u32::MAX << (32 - prefix);
    let network = u32::from(addr) & mask;
    let broadcast = network | !mask;
    Some(Range {
        gateway: network + 1,
        last: broadcast - 1,
    })
}

/// One node's pod address allocator, keyed by pod uid.
#[derive(Debug, Clone, Default)]
pub struct Ipam {
    range: Option<Range>,
    by_uid: HashMap<String, u32>,
    taken: HashMap<u32, String>,
    last_handed: Option<u32>,
}

impl Ipam {
    pub fn new(pod_cidr: Option<&str>) -> Ipam {
        Ipam {
            range: pod_cidr.and_then(parse_cidr),
            ..Ipam::default()
        }
    }

    /// Adopts a podCIDR assigned later (a node object gains spec.podCIDR); an existing
    /// range is kept, as a real node's CIDR never changes under running pods.
    pub fn set_cidr(&mut self, pod_cidr: Option<&str>) {
        if self.range.is_none() {
            self.range = pod_cidr.and_then(parse_cidr);
        }
    }

    /// The pod's address: the one it already has, or the next free one.
    pub fn allocate(&mut self, uid: &str) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = self.by_uid.get(uid) {
            return Ok(Ipv4Addr::from(*ip));
        }
        let range = self.range.ok_or(IpamError::NoRange)?;
        let first = range.gateway + 1;
        let size = range.last.saturating_sub(first) + 1;
        let start = match self.last_handed {
            Some(l) if l >= first && l < range.last => l + 1,
            _ => first,
        };
        for i in 0..size {
            let candidate = first + (start - first + i) % size;
            if let std::collections::hash_map::Entry::Vacant(slot) = self.taken.entry(candidate) {
                slot.insert(uid.to_string());
                self.by_uid.insert(uid.to_string(), candidate);
                self.last_handed = Some(candidate);
                return Ok(Ipv4Addr::from(candidate));
            }
        }
        Err(IpamError::Exhausted {
            first: Ipv4Addr::from(range.gateway),
            last: Ipv4Addr::from(range.last),
        })
    }

    pub fn release(&mut self, uid: &str) {
        if let Some(ip) = self.by_uid.remove(uid) {
            self.taken.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_start_after_the_gateway_and_go_round_robin() {
        let mut ipam = Ipam::new(Some("10.244.1.0/24"));
        assert_eq!(ipam.allocate("a").unwrap().to_string(), "10.244.1.2");
        assert_eq!(ipam.allocate("b").unwrap().to_string(), "10.244.1.3");
        // Asking again for the same pod gives the same address.
        assert_eq!(ipam.allocate("a").unwrap().to_string(), "10.244.1.2");
        ipam.release("a");
        // .2 is free again but host-local moves on from the last one handed out.
        assert_eq!(ipam.allocate("c").unwrap().to_string(), "10.244.1.4");
    }

    #[test]
    fn a_full_range_is_an_error_naming_the_range_and_frees_make_room() {
        // /30: network .0, gateway .1, broadcast .3: exactly one pod address, .2.
        let mut ipam = Ipam::new(Some("10.244.7.0/30"));
        assert_eq!(ipam.allocate("a").unwrap().to_string(), "10.244.7.2");
        let err = ipam.allocate("b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to allocate for range 0: no IP addresses available in range set: 10.244.7.1-10.244.7.2"
        );
        ipam.release("a");
        assert_eq!(ipam.allocate("b").unwrap().to_string(), "10.244.7.2");
    }

    #[test]
    fn round_robin_wraps_to_the_start_of_the_range() {
        // /29 at .8: .9 is the gateway, pods get .10 to .14.
        let mut ipam = Ipam::new(Some("10.0.0.8/29"));
        let got: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|u| ipam.allocate(u).unwrap().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "10.0.0.10",
                "10.0.0.11",
                "10.0.0.12",
                "10.0.0.13",
                "10.0.0.14"
            ]
        );
        ipam.release("b");
        assert_eq!(ipam.allocate("f").unwrap().to_string(), "10.0.0.11");
    }

    #[test]
    fn missing_or_odd_cidrs_are_no_range_not_a_panic() {
        for cidr in [
            None,
            Some(""),
            Some("10.0.0.0"),
            Some("10.0.0.0/31"),
            Some("fd00::/64"),
            Some("x/24"),
        ] {
            let mut ipam = Ipam::new(cidr);
            assert_eq!(ipam.allocate("a"), Err(IpamError::NoRange), "{cidr:?}");
        }
        let mut ipam = Ipam::new(None);
        ipam.set_cidr(Some("10.244.2.0/24"));
        assert_eq!(ipam.allocate("a").unwrap().to_string(), "10.244.2.2");
    }
}
