//! Internet checksums (RFC 1071) for IPv4 headers and TCP/UDP/ICMP.

use std::net::IpAddr;

/// One's-complement sum of `data` as big-endian 16-bit words, added to
/// `acc` (itself a sum of big-endian words); fold the result with [`fold`].
///
/// The data is summed in native byte order, 16 bytes at a time into four
/// accumulators, and swapped once at the end: the one's-complement sum
/// commutes with byte swapping (RFC 1071 section 2(B)).
pub(crate) fn sum(data: &[u8], acc: u64) -> u64 {
    let mut lanes = [0u64; 4];
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        lanes[0] += u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
        lanes[1] += u64::from(u32::from_ne_bytes([c[4], c[5], c[6], c[7]]));
        lanes[2] += u64::from(u32::from_ne_bytes([c[8], c[9], c[10], c[11]]));
        lanes[3] += u64::from(u32::from_ne_bytes([c[12], c[13], c[14], c[15]]));
    }
    let mut native = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        native += u64::from(u16::from_ne_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        // The odd byte is the high byte of a big-endian word padded with 0.
        native += u64::from(u16::from_ne_bytes([*last, 0]));
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

/// The pseudo-header sum for TCP/UDP/ICMPv6 over IPv4 or IPv6.
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u64 {
    let mut acc = 0u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
        }
        (s, d) => {
            acc = sum(&ip6_octets(s), acc);
            acc = sum(&ip6_octets(d), acc);
        }
    }
    acc + u64::from(protocol) + u64::from(len >> 16) + u64::from(len & 0xffff)
}

fn ip6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
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
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56], 0)), 0x1234 + 0x5600);
    }
}
