//! Address blocks: an address and a prefix length, as the LPM tries key them.

use std::{fmt, net::IpAddr, str::FromStr};

use sensor_common::enforce::{CIDR_KEY_PREFIX_BITS, CidrKey};

use super::{EnforceError, EnforceErrorKind};

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `fd00::/8`, or a bare address for
/// one host). Host bits are cleared on construction, so equal networks are
/// equal values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// The network of `addr` with `prefix_len` bits (at most 32 for IPv4,
    /// 128 for IPv6).
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<Cidr, EnforceError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(EnforceError::new(
                EnforceErrorKind::Invalid,
                format!("prefix length {prefix_len} exceeds {max} for {addr}"),
            ));
        }
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Ok(Cidr { addr, prefix_len })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The LPM-trie key of this block in `generation` (see
    /// `sensor_common::enforce::CidrKey`).
    pub(crate) fn trie_key(&self, generation: u32) -> aya::maps::lpm_trie::Key<CidrKey> {
        let mut addr = [0u8; 16];
        let family = match self.addr {
            IpAddr::V4(a) => {
                addr[..4].copy_from_slice(&a.octets());
                4
            }
            IpAddr::V6(a) => {
                addr = a.octets();
                6
            }
        };
        aya::maps::lpm_trie::Key::new(
            CIDR_KEY_PREFIX_BITS + u32::from(self.prefix_len),
            CidrKey {
                generation: generation.to_be_bytes(),
                family,
                addr,
            },
        )
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl From<IpAddr> for Cidr {
    /// The single-host network of `addr`.
    fn from(addr: IpAddr) -> Cidr {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        Cidr { addr, prefix_len }
    }
}

impl FromStr for Cidr {
    type Err = EnforceError;

    fn from_str(s: &str) -> Result<Cidr, EnforceError> {
        let invalid = || {
            EnforceError::new(
                EnforceErrorKind::Invalid,
                format!("{s:?} is not an address or CIDR"),
            )
        };
        match s.split_once('/') {
            None => Ok(Cidr::from(s.parse::<IpAddr>().map_err(|_| invalid())?)),
            Some((addr, len)) => Cidr::new(
                addr.parse().map_err(|_| invalid())?,
                len.parse().map_err(|_| invalid())?,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_clears_host_bits() {
        let c: Cidr = "10.77.0.9/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.77.0.0/24");
        let c: Cidr = "fd77::1".parse().unwrap();
        assert_eq!(c.to_string(), "fd77::1/128");
        let c: Cidr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(c.prefix_len(), 0);
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn keys_carry_the_generation_and_the_family() {
        let key = "10.77.0.0/16".parse::<Cidr>().unwrap().trie_key(7);
        assert_eq!(key.prefix_len(), 32 + 8 + 16);
        let data = key.data();
        assert_eq!(data.generation, [0, 0, 0, 7]);
        assert_eq!(data.family, 4);
        assert_eq!(&data.addr[..4], &[10, 77, 0, 0]);
        let key = "::/0".parse::<Cidr>().unwrap().trie_key(7);
        assert_eq!(key.prefix_len(), 32 + 8, "covers IPv6 only");
        assert_eq!(key.data().family, 6);
    }
}
