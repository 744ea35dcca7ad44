//! Internet checksums (RFC 1071) for IPv4 headers and TCP/UDP/ICMP.

use std::net::IpAddr;

/// One's-complement sum of `data` as big-endian 16-bit words, added to
/// `acc` (itself a sum of big-endian words); fold the result with [`fold`].
///
/// Every byte of every packet goes through here when checksums are
/// verified, so on x86-64 CPUs with AVX2 the same loop is compiled for
/// 256-bit vectors (chosen at run time: the baseline target has only SSE2,
/// half the width).
pub(crate) fn sum(data: &[u8], acc: u64) -> u64 {
    if let Ok(header) = <&[u8; 20]>::try_from(data) {
        // An IPv4 header without options, or a TCP segment that is a bare
        // header (an ACK): about every packet has one or both, and the
        // vector loop's set-up costs more than these five words.
        let w = |i: usize| {
            u64::from(u32::from_ne_bytes([
                header[i],
                header[i + 1],
                header[i + 2],
                header[i + 3],
            ]))
        };
        let native = w(0) + w(4) + w(8) + w(12) + w(16);
        return acc + u64::from(u16::from_be(fold(native)));
    }
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { sum_avx2(data, acc) };
    }
    sum_lanes(data, acc)
}

/// [`sum_lanes`] compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(data: &[u8], acc: u64) -> u64 {
    sum_lanes(data, acc)
}

/// The sum in native byte order, as 32-bit words into one 64-bit sum (a
/// plain reduction, which the compiler vectorizes: widen, add, several
/// accumulators), swapped once at the end: the one's-complement sum
/// commutes with byte swapping (RFC 1071 section 2(B)). 64 bits hold the
/// sum of any IP packet's words. Inlined into each caller so that it is
/// compiled with the caller's target features.
#[inline(always)]
fn sum_lanes(data: &[u8], acc: u64) -> u64 {
    let mut words = data.chunks_exact(4);
    let mut native: u64 = (&mut words)
        .map(|c| u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
        .sum();
    let rest = words.remainder();
    if rest.len() >= 2 {
        native += u64::from(u16::from_ne_bytes([rest[0], rest[1]]));
    }
    if rest.len() % 2 == 1 {
        // The odd byte is the high byte of a big-endian word padded with 0.
        native += u64::from(u16::from_ne_bytes([rest[rest.len() - 1], 0]));
    }
    acc + u64::from(u16::from_be(fold(native)))
}

/// Folds a sum to 16 bits.
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// True if the data (checksum field included) sums to 0xffff.
pub(crate) fn verify(data: &[u8], initial: u64) -> bool {
    fold(sum(data, initial)) == 0xffff
}

/// The pseudo-header sum for TCP/UDP/ICMPv6 over IPv4 or IPv6: the
/// addresses' 16-bit words added as numbers (once per packet: no byte
/// arrays, no general [`sum`]); congruent to the byte-wise sum modulo
/// 0xffff, which is all [`fold`] keeps.
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u64 {
    let addresses = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => v4_words(s.to_bits()) + v4_words(d.to_bits()),
        (s, d) => v6_words(s) + v6_words(d),
    };
    addresses + u64::from(protocol) + u64::from(len >> 16) + u64::from(len & 0xffff)
}

fn v4_words(a: u32) -> u64 {
    u64::from(a >> 16) + u64::from(a & 0xffff)
}

/// The words of an IPv6 address (IPv4 ones mapped, as when the other
/// address of the pair is IPv6).
fn v6_words(a: IpAddr) -> u64 {
    let bits = match a {
        IpAddr::V6(a) => a.to_bits(),
        IpAddr::V4(a) => a.to_ipv6_mapped().to_bits(),
    };
    (0..8).map(|i| u64::from((bits >> (16 * i)) as u16)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // The worked example of RFC 1071 section 3: sum 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data, 0)), 0xddf2);
    }

    #[test]
    fn wide_sum_matches_word_by_word() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let d = &data[..len];
            let mut slow = 0u64;
            for w in d.chunks(2) {
                slow += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
            }
            assert_eq!(fold(sum(d, 5)), fold(slow + 5), "len {len}");
        }
    }

    #[test]
    fn dispatched_sum_matches_the_portable_one() {
        // Lengths around the vector paths' chunk sizes, at every alignment.
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 131 + i / 7) as u8).collect();
        for start in 0..32 {
            for len in (0..300).chain([1447, 1448, 1449, 1500, 1960]) {
                let d = &data[start..start + len];
                assert_eq!(
                    fold(sum(d, 3)),
                    fold(sum_lanes(d, 3)),
                    "start {start} len {len}"
                );
            }
        }
        let ones = vec![0xffu8; 65535];
        assert_eq!(fold(sum(&ones, 0)), fold(sum_lanes(&ones, 0)));
    }

    #[test]
    fn pseudo_header_folds_like_the_byte_wise_sum() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        fn octets(a: IpAddr) -> Vec<u8> {
            match a {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            }
        }
        let addrs = [
            IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0xffff, 1)),
            IpAddr::V6(Ipv6Addr::new(
                0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
            )),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ];
        for s in addrs {
            for d in addrs {
                for (proto, len) in [(6u8, 20u32), (17, 65535), (58, 70000), (6, 0)] {
                    let mixed = s.is_ipv4() != d.is_ipv4();
                    let (sb, db) = if mixed {
                        (ip6_bytes(s), ip6_bytes(d))
                    } else {
                        (octets(s), octets(d))
                    };
                    let bytes = sum(&db, sum(&sb, 0));
                    let want =
                        bytes + u64::from(proto) + u64::from(len >> 16) + u64::from(len & 0xffff);
                    assert_eq!(
                        fold(pseudo_header(s, d, proto, len)),
                        fold(want),
                        "{s} {d} {proto} {len}"
                    );
                }
            }
        }
    }

    fn ip6_bytes(a: IpAddr) -> Vec<u8> {
        match a {
            IpAddr::V6(a) => a.octets().to_vec(),
            IpAddr::V4(a) => a.to_ipv6_mapped().octets().to_vec(),
        }
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56], 0)), 0x1234 + 0x5600);
    }
}
