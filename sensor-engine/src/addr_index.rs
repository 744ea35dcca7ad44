//! Rules without a fast pattern but with a small address set (ET Open's IP
//! reputation lists: `alert ip $HOME_NET any -> [1.2.3.4,...] any`) are
//! found by address instead of being checked on every packet: their sets
//! are cut into elementary intervals, each listing the rules whose set
//! holds it, and a packet looks its address up with one binary search.

use std::net::IpAddr;

use sensor_rules::ir::AddressSet;

/// At most this many IPv4 addresses for a set to be indexed (a /8): wider
/// sets ($EXTERNAL_NET) would be listed in most intervals.
const MAX_V4: u64 = 1 << 24;
/// At most this many IPv6 addresses (a /32).
const MAX_V6_BITS: u32 = 96;

/// Whether a set is narrow enough to index.
pub(crate) fn indexable(s: &AddressSet) -> bool {
    let v4: u64 =
        s.v4.ranges()
            .iter()
            .map(|r| u64::from(r.end() - r.start()) + 1)
            .sum();
    let v6_ok =
        s.v6.ranges()
            .iter()
            .all(|r| (r.end() - r.start()).checked_shr(MAX_V6_BITS).unwrap_or(0) == 0);
    !s.is_empty() && v4 <= MAX_V4 && v6_ok && s.v6.ranges().len() < 4096
}

/// Elementary intervals of one address family.
#[derive(Debug, Default)]
struct Family<T> {
    /// Sorted starts; interval `i` is `starts[i]..starts[i + 1]`.
    starts: Box<[T]>,
    /// Rules of interval `i`: `ids[spans[i].0..spans[i].1]`.
    spans: Box<[(u32, u32)]>,
}

fn build<T: Copy + Ord + sensor_rules::ir::Bound>(
    sets: &[(u32, &[std::ops::RangeInclusive<T>])],
    ids: &mut Vec<u32>,
) -> Family<T> {
    let mut starts: Vec<T> = vec![T::MIN];
    for (_, ranges) in sets {
        for r in ranges.iter() {
            starts.push(*r.start());
            if let Some(next) = r.end().succ() {
                starts.push(next);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut per: Vec<Vec<u32>> = vec![Vec::new(); starts.len()];
    for (rule, ranges) in sets {
        for r in ranges.iter() {
            let lo = starts.partition_point(|s| s < r.start());
            let hi = starts.partition_point(|s| s <= r.end());
            for list in &mut per[lo..hi] {
                if list.last() != Some(rule) {
                    list.push(*rule);
                }
            }
        }
    }
    let spans = per
        .into_iter()
        .map(|list| {
            let start = ids.len() as u32;
            ids.extend(list);
            (start, ids.len() as u32)
        })
        .collect();
    Family {
        starts: starts.into(),
        spans,
    }
}

impl<T: Copy + Ord> Family<T> {
    fn lookup(&self, a: T) -> (u32, u32) {
        match self.starts.partition_point(|s| *s <= a).checked_sub(1) {
            Some(i) => self.spans[i],
            None => (0, 0),
        }
    }
}

/// Rules by the intervals of one of their address sets.
#[derive(Debug, Default)]
pub(crate) struct AddrIndex {
    v4: Family<u32>,
    v6: Family<u128>,
    ids: Box<[u32]>,
    len: usize,
}

impl AddrIndex {
    /// Indexes `(rule, set)` pairs (sets must be [`indexable`]).
    pub(crate) fn new(entries: &[(u32, &AddressSet)]) -> Self {
        let mut ids = Vec::new();
        let v4: Vec<_> = entries.iter().map(|(r, s)| (*r, s.v4.ranges())).collect();
        let v6: Vec<_> = entries.iter().map(|(r, s)| (*r, s.v6.ranges())).collect();
        let v4 = build(&v4, &mut ids);
        let v6 = build(&v6, &mut ids);
        AddrIndex {
            v4,
            v6,
            ids: ids.into(),
            len: entries.len(),
        }
    }

    /// The rules whose set holds `a`.
    pub(crate) fn lookup(&self, a: IpAddr) -> &[u32] {
        if self.len == 0 {
            return &[];
        }
        let (lo, hi) = match a {
            IpAddr::V4(v) => self.v4.lookup(u32::from(v)),
            IpAddr::V6(v) => self.v6.lookup(u128::from(v)),
        };
        &self.ids[lo as usize..hi as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_equals_membership() {
        let cidr = |s: &str, p| AddressSet::from_cidr(s.parse().unwrap(), p).unwrap();
        let sets = [
            cidr("1.2.3.4", 32),
            cidr("1.2.3.0", 24).union(&cidr("9.9.9.9", 32)),
            cidr("2001:db8::1", 128),
            cidr("1.2.0.0", 16),
        ];
        let entries: Vec<(u32, &AddressSet)> = sets
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32, s))
            .collect();
        assert!(sets.iter().all(indexable));
        let index = AddrIndex::new(&entries);
        for a in [
            "1.2.3.4",
            "1.2.3.5",
            "1.2.4.1",
            "9.9.9.9",
            "9.9.9.8",
            "0.0.0.0",
            "2001:db8::1",
            "::",
        ] {
            let a: IpAddr = a.parse().unwrap();
            let got: Vec<u32> = index.lookup(a).to_vec();
            let want: Vec<u32> = (0..sets.len() as u32)
                .filter(|&i| sets[i as usize].contains(a))
                .collect();
            assert_eq!(got, want, "{a}");
        }
        assert!(!indexable(&AddressSet::any()));
        assert!(!indexable(&cidr("10.0.0.0", 8).complement()));
    }
}
