//! Rates: `threshold` (limit, threshold, both), `detection_filter` and the
//! native language's rate conditions, with bounded memory.
//!
//! Counters live in a capped table of tracked keys (rule × tracked address,
//! flow or nothing), sharded behind mutexes so workers rarely contend. Time
//! is the packets' own timestamps, so a replay gives the same alerts. When
//! the table is full, expired windows are dropped first, then the
//! least recently seen eighth; evictions are counted. The table is keyed by
//! (gid, sid), so it can be handed to the next engine on reload.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sensor_rules::ir::{Measure, Rate, RateKind, Track};

use crate::input::PacketMeta;

const SHARDS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    gid: u32,
    sid: u32,
    a: u128,
    b: u128,
}

struct Entry {
    start: u64,
    last: u64,
    window_ns: u64,
    count: u64,
    distinct: Vec<u64>,
    /// A `Both` rate already alerted in this window.
    fired: bool,
}

struct Table {
    map: HashMap<Key, Entry, BuildHasherDefault<DefaultHasher>>,
    capacity: usize,
    lasts: Vec<u64>,
}

/// Counters of rates, shared by every worker (and across reloads).
pub struct Rates {
    shards: Box<[Mutex<Table>]>,
    evictions: AtomicU64,
    capacity: usize,
}

impl std::fmt::Debug for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rates")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What the rate table holds and has dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateStats {
    /// Keys tracked now.
    pub tracked: usize,
    /// Most keys tracked at once.
    pub capacity: usize,
    /// Keys dropped because the table was full (while their window was
    /// still open).
    pub evictions: u64,
}

fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)) | 1 << 127,
        IpAddr::V6(v) => u128::from(v),
    }
}

impl Rates {
    /// A table tracking at most `capacity` keys (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        let per = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Table {
                    map: HashMap::with_capacity_and_hasher(per, Default::default()),
                    capacity: per,
                    lasts: Vec::with_capacity(per),
                })
            })
            .collect();
        Rates {
            shards,
            evictions: AtomicU64::new(0),
            capacity: per * SHARDS,
        }
    }

    /// Current figures.
    pub fn stats(&self) -> RateStats {
        RateStats {
            tracked: self
                .shards
                .iter()
                .map(|s| s.lock().map_or(0, |t| t.map.len()))
                .sum(),
            capacity: self.capacity,
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }

    /// Counts one event of rule `(gid, sid)` and says whether it passes
    /// the rate (see [`RateKind`]). `distinct` is the value of the counted
    /// field for [`Measure::Distinct`].
    pub fn check(
        &self,
        rate: &Rate,
        gid: u32,
        sid: u32,
        meta: &PacketMeta,
        distinct: Option<u64>,
    ) -> bool {
        let (a, b) = match rate.track {
            Track::BySrc => (addr_bits(meta.src), 0),
            Track::ByDst => (addr_bits(meta.dst), 0),
            Track::ByBoth => (addr_bits(meta.src), addr_bits(meta.dst)),
            Track::ByRule => (0, 0),
            Track::ByFlow => (u128::from(meta.flow_id), 0),
        };
        let key = Key { gid, sid, a, b };
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let shard = &self.shards[(h.finish() as usize) % SHARDS];
        let mut table = shard.lock().unwrap_or_else(|e| e.into_inner());
        let now = meta.timestamp_ns;
        let window_ns = u64::from(rate.seconds) * 1_000_000_000;
        if !table.map.contains_key(&key) && table.map.len() >= table.capacity {
            let evicted = table.make_room(now);
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        let e = table.map.entry(key).or_insert(Entry {
            start: now,
            last: now,
            window_ns,
            count: 0,
            distinct: Vec::new(),
            fired: false,
        });
        if now < e.start || now - e.start >= window_ns {
            e.start = now;
            e.count = 0;
            e.distinct.clear();
            e.fired = false;
        }
        e.last = now;
        let n = match (&rate.measure, distinct) {
            (Measure::Distinct(_), Some(v)) => {
                // Only "more than count" matters: keep count + 1 values.
                if !e.distinct.contains(&v) && (e.distinct.len() as u64) <= rate.count {
                    e.distinct.push(v);
                }
                e.distinct.len() as u64
            }
            (Measure::Distinct(_), None) => e.distinct.len() as u64,
            (Measure::Count, _) => {
                e.count += 1;
                e.count
            }
        };
        match rate.kind {
            RateKind::Limit => n <= rate.count,
            // Once per window, the first time the count is reached. A flag,
            // not `n == count`: a distinct count stays at `count` while
            // already-seen values repeat, and must not alert again.
            RateKind::Both => {
                let first = n >= rate.count && !e.fired;
                e.fired |= first;
                first
            }
            RateKind::DetectionFilter => n > rate.count,
            RateKind::Threshold => {
                if n >= rate.count {
                    e.count = 0;
                    e.distinct.clear();
                    true
                } else {
                    false
                }
            }
        }
    }
}

impl Table {
    /// Frees at least one slot; returns how many live keys were evicted.
    fn make_room(&mut self, now: u64) -> u64 {
        self.map
            .retain(|_, e| now >= e.start && now - e.start < e.window_ns);
        if self.map.len() < self.capacity {
            return 0;
        }
        let before = self.map.len();
        self.lasts.clear();
        self.lasts.extend(self.map.values().map(|e| e.last));
        let nth = (self.lasts.len() / 8).max(1) - 1;
        let (_, &mut cutoff, _) = self.lasts.select_nth_unstable(nth);
        self.map.retain(|_, e| e.last > cutoff);
        (before - self.map.len()) as u64
    }
}
