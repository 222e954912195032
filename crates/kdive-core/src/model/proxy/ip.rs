//! Lenient IP and CIDR parsing, as kube-proxy's `ParseIPSloppy`/`ParseCIDRSloppy` do:
//! IPv4 octets may carry leading zeros (`172.30.0.041` is `172.30.0.41`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address family one kube-proxy instance (one "proxier") handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum IpFamily {
    #[default]
    IPv4,
    IPv6,
}

impl IpFamily {
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => IpFamily::IPv4,
            IpAddr::V6(_) => IpFamily::IPv6,
        }
    }

    /// The `addressType` of EndpointSlices and the `ipFamilies` entry for this family.
    pub fn as_str(self) -> &'static str {
        match self {
            IpFamily::IPv4 => "IPv4",
            IpFamily::IPv6 => "IPv6",
        }
    }

    pub fn max_prefix(self) -> u8 {
        match self {
            IpFamily::IPv4 => 32,
            IpFamily::IPv6 => 128,
        }
    }
}

/// Parses an IP address, accepting leading zeros in IPv4 octets.
pub fn parse_ip_sloppy(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    parse_ipv4_sloppy(text).map(IpAddr::V4)
}

fn parse_ipv4_sloppy(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse::<u8>().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// A network in canonical form (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `addr/len` leniently (leading zeros in octets and in the length).
    pub fn parse_sloppy(text: &str) -> Option<Cidr> {
        let (addr, len) = text.split_once('/')?;
        let addr = parse_ip_sloppy(addr)?;
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u8 = len.parse().ok()?;
        if prefix > IpFamily::of(&addr).max_prefix() {
            return None;
        }
        Some(Cidr::new(addr, prefix))
    }

    /// A network from any address in it.
    pub fn new(addr: IpAddr, prefix: u8) -> Cidr {
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Cidr { addr, prefix }
    }

    pub fn family(&self) -> IpFamily {
        IpFamily::of(&self.addr)
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                Cidr::new(*ip, self.prefix).addr == self.addr
            }
            _ => false,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.prefix == 0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `ip:port`, or `[ip]:port` for IPv6 (Go's `net.JoinHostPort`).
pub fn join_host_port(ip: &IpAddr, port: i32) -> String {
    match ip {
        IpAddr::V4(a) => {
            // Hot path of large renders: avoid the formatting machinery.
            let mut s = String::with_capacity(21);
            push_ipv4(&mut s, a);
            s.push(':');
            push_int(&mut s, i64::from(port));
            s
        }
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The IP part of an endpoint string (`ip` of `ip:port`, without brackets for IPv6).
pub fn endpoint_host(endpoint: &str) -> &str {
    match endpoint.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(h, _)| h),
        None => endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h),
    }
}

/// The canonical text of an address.
pub fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let mut s = String::with_capacity(15);
            push_ipv4(&mut s, a);
            s
        }
        IpAddr::V6(a) => a.to_string(),
    }
}

fn push_ipv4(s: &mut String, a: &Ipv4Addr) {
    for (i, o) in a.octets().iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        push_int(s, i64::from(*o));
    }
}

/// Appends a decimal integer.
pub fn push_int(s: &mut String, v: i64) {
    if v < 0 {
        s.push('-');
    }
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always valid UTF-8.
    s.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_ipv4_and_cidr() {
        assert_eq!(
            parse_ip_sloppy("172.30.0.041").map(|i| i.to_string()),
            Some("172.30.0.41".to_string())
        );
        assert_eq!(
            Cidr::parse_sloppy("203.0.113.000/025").map(|c| c.to_string()),
            Some("203.0.113.0/25".to_string())
        );
        assert_eq!(
            Cidr::parse_sloppy("10.1.2.3/8").map(|c| c.to_string()),
            Some("10.0.0.0/8".to_string())
        );
        assert!(parse_ip_sloppy("1.2.3").is_none());
        assert!(parse_ip_sloppy("1.2.3.256").is_none());
        assert!(Cidr::parse_sloppy("10.0.0.0/33").is_none());
        let c = Cidr::parse_sloppy("fd00:10::/64").unwrap();
        assert!(c.contains(&"fd00:10::5".parse().unwrap()));
        assert!(!c.contains(&"10.0.0.1".parse().unwrap()));
        assert_eq!(
            join_host_port(&"fd00::1".parse().unwrap(), 80),
            "[fd00::1]:80"
        );
    }
}
