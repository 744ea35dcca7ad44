//! Community ID flow hashing, version 1
//! (<https://github.com/corelight/community-id-spec>).
//!
//! `1:` + base64(SHA-1(seed ‖ ordered addresses ‖ protocol ‖ 0 ‖ ordered
//! ports)), where the endpoints are ordered so both directions hash alike.
//! For ICMP the "ports" are the type and the code mapped to its counterpart
//! type, so an echo request and its reply share an ID.

use std::net::IpAddr;

use sha1::{Digest, Sha1};

/// Computes the Community ID (v1) of a flow.
///
/// ```
/// use sensor_proto::community_id;
/// // A test vector of the reference implementations.
/// let id = community_id("1.2.3.4".parse()?, "5.6.7.8".parse()?, 6, 1122, 3344, 0);
/// assert_eq!(id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn community_id(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    seed: u16,
) -> String {
    let (mut sp, mut dp) = (src_port, dst_port);
    let mut one_way = false;
    if matches!(protocol, 1 | 58) {
        // Ports hold ICMP type and code.
        let (other, is_one_way) = icmp_counterpart(protocol, src_port as u8);
        one_way = is_one_way;
        sp = src_port;
        dp = if is_one_way {
            dst_port
        } else {
            u16::from(other)
        };
    }
    let src_b = addr_bytes(src);
    let dst_b = addr_bytes(dst);
    let ordered = one_way || (src_b.as_slice(), sp) < (dst_b.as_slice(), dp);
    let (a, ap, b, bp) = if ordered {
        (&src_b, sp, &dst_b, dp)
    } else {
        (&dst_b, dp, &src_b, sp)
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update([protocol, 0]);
    if matches!(protocol, 1 | 6 | 17 | 58 | 132) {
        h.update(ap.to_be_bytes());
        h.update(bp.to_be_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64_into(&digest, &mut out);
    out
}

fn addr_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The counterpart ICMP type of a request/reply pair, and whether the type is
/// one-way (no counterpart), from the spec's tables.
fn icmp_counterpart(protocol: u8, icmp_type: u8) -> (u8, bool) {
    let pair = if protocol == 1 {
        match icmp_type {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    } else {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            130 => Some(131),
            131 => Some(130),
            144 => Some(145),
            145 => Some(144),
            146 => Some(147),
            147 => Some(146),
            _ => None,
        }
    };
    match pair {
        Some(t) => (t, false),
        None => (0, true),
    }
}

/// Standard base64 with padding.
pub(crate) fn base64_into(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn reference_vectors() {
        // From the reference implementations' test suites (Zeek's
        // community-id btest, seed 0), checked in both directions.
        let v6a = "fe80:1:203:405:607:809:a0b:c0d";
        let v6b = "fe80:1011:1213:1415:1617:1819:1a1b:1c1d";
        let cases = [
            (
                "1.2.3.4",
                "5.6.7.8",
                6,
                1122,
                3344,
                0,
                "1:wCb3OG7yAFWelaUydu0D+125CLM=",
            ),
            (
                "1.2.3.4",
                "5.6.7.8",
                17,
                1122,
                3344,
                0,
                "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
            ),
            (
                "1.2.3.4",
                "5.6.7.8",
                1,
                8,
                0,
                0,
                "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
            ),
            (v6a, v6b, 58, 128, 0, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
            (
                "1.2.3.4",
                "5.6.7.8",
                6,
                1122,
                3344,
                1,
                "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
            ),
            (
                "1.2.3.4",
                "5.6.7.8",
                17,
                1122,
                3344,
                1,
                "1:OShq+iKDAMVouh/4bMxB9Sz4amw=",
            ),
            (
                "1.2.3.4",
                "5.6.7.8",
                1,
                8,
                0,
                1,
                "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=",
            ),
        ];
        for (s, d, proto, sp, dp, seed, want) in cases {
            assert_eq!(
                community_id(ip(s), ip(d), proto, sp, dp, seed),
                want,
                "{s} {proto}"
            );
            if !matches!(proto, 1 | 58) {
                assert_eq!(community_id(ip(d), ip(s), proto, dp, sp, seed), want);
            }
        }
    }

    #[test]
    fn icmp_request_and_reply_share_an_id() {
        let req = community_id(ip("1.2.3.4"), ip("5.6.7.8"), 1, 8, 0, 0);
        let rep = community_id(ip("5.6.7.8"), ip("1.2.3.4"), 1, 0, 0, 0);
        assert_eq!(req, rep);
    }

    #[test]
    fn base64_padding() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
        ] {
            let mut s = String::new();
            base64_into(input, &mut s);
            assert_eq!(s, want);
        }
    }
}
