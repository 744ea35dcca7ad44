//! Compiled address and port sets: sorted, disjoint, merged inclusive ranges.
//!
//! Suricata groups (`[10.0.0.0/8,!10.1.0.0/16]`, `![80,443]`, `$HOME_NET`)
//! are evaluated once at load time into these sets, so that the engine tests
//! membership with a binary search and never sees negation or variables.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

/// A set of values of an integer type, kept as sorted, disjoint, non-adjacent
/// inclusive ranges.
///
/// ```
/// use sensor_rules::ir::RangeSet;
/// let set = RangeSet::from_ranges([10u16..=20, 21..=30, 50..=50]);
/// assert_eq!(set.ranges(), &[10..=30, 50..=50]);
/// assert!(set.contains(25) && !set.contains(40));
/// assert!(set.complement().contains(40));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RangeSet<T> {
    ranges: Vec<RangeInclusive<T>>,
}

/// Integer types a [`RangeSet`] can hold.
pub trait Bound: Copy + Ord + std::fmt::Debug {
    /// The smallest value of the type.
    const MIN: Self;
    /// The largest value of the type.
    const MAX: Self;
    /// `self + 1`, or `None` at `MAX`.
    fn succ(self) -> Option<Self>;
    /// `self - 1`, or `None` at `MIN`.
    fn pred(self) -> Option<Self>;
}

macro_rules! impl_bound {
    ($($t:ty),*) => {$(
        impl Bound for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> { self.checked_add(1) }
            fn pred(self) -> Option<Self> { self.checked_sub(1) }
        }
    )*};
}
impl_bound!(u8, u16, u32, u64, u128);

impl<T: Bound> RangeSet<T> {
    /// The empty set.
    pub fn empty() -> Self {
        RangeSet { ranges: Vec::new() }
    }

    /// The set of every value of `T`.
    pub fn full() -> Self {
        RangeSet {
            ranges: vec![T::MIN..=T::MAX],
        }
    }

    /// Builds a set from ranges in any order, overlapping or not. Empty
    /// ranges (`start > end`) are ignored.
    pub fn from_ranges(ranges: impl IntoIterator<Item = RangeInclusive<T>>) -> Self {
        let mut v: Vec<RangeInclusive<T>> = ranges
            .into_iter()
            .filter(|r| r.start() <= r.end())
            .collect();
        v.sort_by_key(|r| *r.start());
        let mut out: Vec<RangeInclusive<T>> = Vec::with_capacity(v.len());
        for r in v {
            if let Some(last) = out.last_mut() {
                let touches = match last.end().succ() {
                    Some(next) => *r.start() <= next,
                    None => true,
                };
                if touches {
                    if r.end() > last.end() {
                        *last = *last.start()..=*r.end();
                    }
                    continue;
                }
            }
            out.push(r);
        }
        RangeSet { ranges: out }
    }

    /// The sorted, disjoint ranges of the set.
    pub fn ranges(&self) -> &[RangeInclusive<T>] {
        &self.ranges
    }

    /// Whether the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether the set holds every value of `T`.
    pub fn is_full(&self) -> bool {
        self.ranges.len() == 1
            && *self.ranges[0].start() == T::MIN
            && *self.ranges[0].end() == T::MAX
    }

    /// Membership test by binary search.
    pub fn contains(&self, value: T) -> bool {
        let i = self.ranges.partition_point(|r| *r.end() < value);
        self.ranges.get(i).is_some_and(|r| *r.start() <= value)
    }

    /// Every value not in `self`.
    pub fn complement(&self) -> Self {
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        let mut next = Some(T::MIN);
        for r in &self.ranges {
            if let Some(n) = next
                && n < *r.start()
            {
                out.push(n..=r.start().pred().expect("start > MIN"));
            }
            next = r.end().succ();
        }
        if let Some(n) = next {
            out.push(n..=T::MAX);
        }
        RangeSet { ranges: out }
    }

    /// Values in `self` or `other`.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_ranges(self.ranges.iter().chain(other.ranges.iter()).cloned())
    }

    /// Values in `self` and not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        self.intersection(&other.complement())
    }

    /// Values in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (&self.ranges[i], &other.ranges[j]);
            let lo = *a.start().max(b.start());
            let hi = *a.end().min(b.end());
            if lo <= hi {
                out.push(lo..=hi);
            }
            if a.end() < b.end() {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet { ranges: out }
    }
}

/// A set of IP addresses, IPv4 and IPv6 kept apart.
///
/// ```
/// use sensor_rules::ir::AddressSet;
/// let home = AddressSet::from_cidr("10.0.0.0".parse().unwrap(), 8).unwrap();
/// assert!(home.contains("10.1.2.3".parse().unwrap()));
/// assert!(!home.complement().contains("10.1.2.3".parse().unwrap()));
/// assert!(home.complement().contains("::1".parse().unwrap()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddressSet {
    /// IPv4 addresses as big-endian `u32`.
    pub v4: RangeSet<u32>,
    /// IPv6 addresses as big-endian `u128`.
    pub v6: RangeSet<u128>,
}

impl AddressSet {
    /// Every address (`any`).
    pub fn any() -> Self {
        AddressSet {
            v4: RangeSet::full(),
            v6: RangeSet::full(),
        }
    }

    /// No address.
    pub fn none() -> Self {
        AddressSet::default()
    }

    /// Whether this is `any`.
    pub fn is_any(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }

    /// Whether no address matches.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// The network `addr/prefix`; `None` if the prefix is longer than the
    /// address.
    pub fn from_cidr(addr: IpAddr, prefix: u8) -> Option<Self> {
        match addr {
            IpAddr::V4(a) => {
                if prefix > 32 {
                    return None;
                }
                let mask = if prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - prefix)
                };
                let lo = u32::from(a) & mask;
                Some(AddressSet {
                    v4: RangeSet::from_ranges([lo..=lo | !mask]),
                    v6: RangeSet::empty(),
                })
            }
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return None;
                }
                let mask = if prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - prefix)
                };
                let lo = u128::from(a) & mask;
                Some(AddressSet {
                    v4: RangeSet::empty(),
                    v6: RangeSet::from_ranges([lo..=lo | !mask]),
                })
            }
        }
    }

    /// The addresses from `lo` to `hi` inclusive; `None` when the families
    /// differ.
    pub fn from_range(lo: IpAddr, hi: IpAddr) -> Option<Self> {
        match (lo, hi) {
            (IpAddr::V4(a), IpAddr::V4(b)) => Some(AddressSet {
                v4: RangeSet::from_ranges([u32::from(a)..=u32::from(b)]),
                v6: RangeSet::empty(),
            }),
            (IpAddr::V6(a), IpAddr::V6(b)) => Some(AddressSet {
                v4: RangeSet::empty(),
                v6: RangeSet::from_ranges([u128::from(a)..=u128::from(b)]),
            }),
            _ => None,
        }
    }

    /// Membership test.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// Every address not in `self`, in both families.
    pub fn complement(&self) -> Self {
        AddressSet {
            v4: self.v4.complement(),
            v6: self.v6.complement(),
        }
    }

    /// Addresses in either set.
    pub fn union(&self, other: &Self) -> Self {
        AddressSet {
            v4: self.v4.union(&other.v4),
            v6: self.v6.union(&other.v6),
        }
    }

    /// Addresses in `self` and not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        AddressSet {
            v4: self.v4.difference(&other.v4),
            v6: self.v6.difference(&other.v6),
        }
    }

    /// The IPv4 ranges as addresses, for display.
    pub fn v4_ranges(&self) -> impl Iterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.v4
            .ranges()
            .iter()
            .map(|r| (Ipv4Addr::from(*r.start()), Ipv4Addr::from(*r.end())))
    }

    /// The IPv6 ranges as addresses, for display.
    pub fn v6_ranges(&self) -> impl Iterator<Item = (Ipv6Addr, Ipv6Addr)> + '_ {
        self.v6
            .ranges()
            .iter()
            .map(|r| (Ipv6Addr::from(*r.start()), Ipv6Addr::from(*r.end())))
    }
}

/// A set of TCP/UDP ports.
pub type PortSet = RangeSet<u16>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_ranges_merges_overlapping_and_adjacent() {
        for (input, expected) in [
            (vec![5u8..=9, 1..=3], vec![1..=3, 5..=9]),
            (vec![1..=3, 4..=6], vec![1..=6]),
            (vec![1..=10, 2..=3], vec![1..=10]),
            (vec![250..=255, 0..=0], vec![0..=0, 250..=255]),
        ] {
            assert_eq!(RangeSet::from_ranges(input).ranges(), expected.as_slice());
        }
    }

    #[test]
    fn algebra_matches_brute_force() {
        let a = RangeSet::from_ranges([3u8..=7, 20..=30, 250..=255]);
        let b = RangeSet::from_ranges([0u8..=4, 25..=40]);
        let (u, d, i, c) = (
            a.union(&b),
            a.difference(&b),
            a.intersection(&b),
            a.complement(),
        );
        for x in 0..=255u8 {
            let (ia, ib) = (a.contains(x), b.contains(x));
            assert_eq!(u.contains(x), ia || ib, "union {x}");
            assert_eq!(d.contains(x), ia && !ib, "difference {x}");
            assert_eq!(i.contains(x), ia && ib, "intersection {x}");
            assert_eq!(c.contains(x), !ia, "complement {x}");
        }
        // An empty range (start above end) is ignored.
        let (lo, hi) = (9u8, 8u8);
        assert!(RangeSet::from_ranges([lo..=hi]).is_empty());
        assert!(RangeSet::<u8>::full().complement().is_empty());
        assert!(RangeSet::<u8>::empty().complement().is_full());
    }

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let s = AddressSet::from_cidr(ip("192.168.1.77"), 24).unwrap();
        assert!(s.contains(ip("192.168.1.0")) && s.contains(ip("192.168.1.255")));
        assert!(!s.contains(ip("192.168.2.0")) && !s.contains(ip("::1")));
        assert!(
            AddressSet::from_cidr(ip("0.0.0.0"), 0)
                .unwrap()
                .v4
                .is_full()
        );
        assert!(AddressSet::from_cidr(ip("::"), 129).is_none());
        let v6 = AddressSet::from_cidr(ip("2001:db8::"), 32).unwrap();
        assert_eq!(v6.v6_ranges().count(), 1);
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::")));
    }
}
