//! Seeded alerts for the audit tests.
#![allow(dead_code)]

use std::net::IpAddr;

use sensor_output::{Action, Alert, Proto};
use time::Duration;
use time::macros::datetime;

/// A small deterministic generator (no external crate needed).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` alerts spread over ten days from 2026-01-01, in time order, from a
/// few networks (one IPv6), with varied sids, ports, protocols, actions and
/// severities.
pub fn seeded(n: usize, seed: u64) -> Vec<Alert> {
    let mut rng = Lcg(seed);
    let start = datetime!(2026-01-01 00:00 UTC);
    let step = Duration::days(10) / n as i32;
    (0..n)
        .map(|i| {
            let src: IpAddr = match rng.below(4) {
                0 => format!("10.1.{}.{}", rng.below(4), rng.below(256))
                    .parse()
                    .unwrap(),
                1 => format!("10.2.0.{}", rng.below(256)).parse().unwrap(),
                2 => format!("192.168.{}.{}", rng.below(256), rng.below(256))
                    .parse()
                    .unwrap(),
                _ => format!("2001:db8::{:x}", rng.below(65536)).parse().unwrap(),
            };
            let dst: IpAddr = if src.is_ipv4() {
                format!("203.0.113.{}", rng.below(16)).parse().unwrap()
            } else {
                "2001:db8:1::1".parse().unwrap()
            };
            let proto = [Proto::Tcp, Proto::Udp, Proto::Icmp][rng.below(3) as usize];
            let sid = 1000 + rng.below(20) as u32;
            let mut a = Alert::new(
                start + step * i as i32,
                src,
                dst,
                proto,
                sid,
                format!("VIGIL test rule {sid}"),
            );
            if proto != Proto::Icmp {
                a.src_port = Some(1024 + rng.below(60000) as u16);
                a.dst_port = Some([80, 443, 53, 22][rng.below(4) as usize]);
            }
            a.flow_id = rng.next();
            a.action = if rng.below(5) == 0 {
                Action::Blocked
            } else {
                Action::Allowed
            };
            a.severity = 1 + rng.below(4) as u8;
            a.category = [
                "Attempted Administrator Privilege Gain",
                "Misc activity",
                "Web Application Attack",
            ][rng.below(3) as usize]
                .to_string();
            if sid == 1007 {
                a.signature = "VIGIL 100% literal_match".to_string();
            }
            a
        })
        .collect()
}
