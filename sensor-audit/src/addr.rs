//! Addresses as fixed-width 16-byte blobs (IPv4 mapped into `::ffff:0:0/96`),
//! so that a CIDR is a contiguous blob range an index can scan.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use crate::error::Error;

/// The 16-byte key of an address.
pub fn to_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The address of a 16-byte key (mapped IPv4 comes back as IPv4).
pub fn from_key(key: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 16] = key.try_into().ok()?;
    let v6 = Ipv6Addr::from(octets);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// An address or a network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`,
/// or a bare address meaning a single host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network `addr/prefix`; the prefix is checked against the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, Error> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(Error::invalid(format!(
                "prefix /{prefix} too long for {addr}"
            )));
        }
        Ok(Cidr { addr, prefix })
    }

    /// The lowest and highest 16-byte keys inside the network.
    pub fn key_range(&self) -> ([u8; 16], [u8; 16]) {
        let key = u128::from_be_bytes(to_key(self.addr));
        let bits = if self.addr.is_ipv4() {
            96 + self.prefix as u32
        } else {
            self.prefix as u32
        };
        let host_mask = if bits >= 128 { 0 } else { u128::MAX >> bits };
        (
            (key & !host_mask).to_be_bytes(),
            (key | host_mask).to_be_bytes(),
        )
    }

    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (lo, hi) = self.key_range();
        let k = to_key(ip);
        lo <= k && k <= hi
    }
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Cidr, Error> {
        let bad = || Error::invalid(format!("not an address or CIDR: {s:?}"));
        match s.split_once('/') {
            None => {
                let addr: IpAddr = s.parse().map_err(|_| bad())?;
                Cidr::new(addr, if addr.is_ipv4() { 32 } else { 128 })
            }
            Some((a, p)) => Cidr::new(a.parse().map_err(|_| bad())?, p.parse().map_err(|_| bad())?),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let cases = [
            ("10.1.2.0/24", "10.1.2.0", "10.1.2.255"),
            ("10.1.2.3", "10.1.2.3", "10.1.2.3"),
            ("0.0.0.0/0", "0.0.0.0", "255.255.255.255"),
            (
                "2001:db8::/32",
                "2001:db8::",
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
        ];
        for (cidr, lo, hi) in cases {
            let (l, h) = cidr.parse::<Cidr>().unwrap().key_range();
            assert_eq!(from_key(&l).unwrap().to_string(), lo, "{cidr}");
            assert_eq!(from_key(&h).unwrap().to_string(), hi, "{cidr}");
        }
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let net: Cidr = "192.0.2.0/25".parse().unwrap();
        assert!(net.contains("192.0.2.127".parse().unwrap()));
        assert!(!net.contains("192.0.2.128".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
    }
}
