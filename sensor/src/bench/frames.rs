//! Synthetic frames and pattern sets for timing the classifier with
//! `BPF_PROG_TEST_RUN` (`KernelCapture::test_run`).

use crate::enforce::Pattern;

/// The benign request the load client sends (this is page 12345): the
/// headers of a browser's page load, 369 bytes.
pub const BENIGN_REQUEST: &str = "GET /catalog/items?page=12345&sort=price HTTP/1.1\r\n\
Host: shop.lab.example\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\n\
Cookie: session=4f2a9c1e7b3d5a60; theme=dark\r\n\
Connection: keep-alive\r\n\r\n";

/// The benign request for `page`.
pub fn benign_request(page: u64) -> String {
    BENIGN_REQUEST.replace("page=12345", &format!("page={page}"))
}

/// `n` distinct attack-like literals of 10 to 17 bytes over the characters
/// of injection payloads, from a fixed seed (the same set on every run).
pub fn attack_patterns(n: usize) -> Vec<Pattern> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789${}()/.:;=-_%";
    let mut rng = Lcg(0x5eed_1234_abcd_0001);
    (0..n)
        .map(|i| {
            let len = 10 + rng.below(8);
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            Pattern::new(bytes, 10_000 + i as u32)
        })
        .collect()
}

/// A small deterministic generator (a linear congruential one): synthetic
/// inputs and the tests built on them must replay the same cases on every
/// run.
///
/// ```
/// use vigil::bench::frames::Lcg;
///
/// let (mut a, mut b) = (Lcg(7), Lcg(7));
/// assert_eq!(a.next(), b.next());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value, 31 bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    /// The next value below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.next() % n
    }
}

/// An Ethernet/IPv4/TCP frame from the lab client (10.77.0.1:40000) to the
/// server's `port` carrying `payload` (PSH|ACK, or a bare ACK when empty).
/// Checksums are left zero: the classifier does not verify them.
pub fn tcp_frame(port: u16, payload: &[u8]) -> Vec<u8> {
    tcp_frame_seq(port, 1_000_000, payload)
}

/// As [`tcp_frame`], with sequence number `seq`.
pub fn tcp_frame_seq(port: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0x12, 0x34, 0x40, 0]);
    f.extend_from_slice(&[64, 6, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&2_000_000u32.to_be_bytes());
    let flags = if payload.is_empty() { 0x10 } else { 0x18 };
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_and_request() {
        assert_eq!(BENIGN_REQUEST.len(), 369);
        assert_eq!(benign_request(12345), BENIGN_REQUEST);
        let f = tcp_frame(80, b"abc");
        assert_eq!(f.len(), 54 + 3);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 43);
        assert_eq!(u16::from_be_bytes([f[36], f[37]]), 80);
        let patterns = attack_patterns(50);
        assert_eq!(patterns, attack_patterns(50));
        assert!(patterns.iter().all(|p| (10..18).contains(&p.bytes.len())));
    }
}
