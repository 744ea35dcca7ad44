//! TLS ClientHello: SNI, versions, ALPN and the JA3 and JA4 fingerprints.
//!
//! Only the client's first flight is parsed. Once the ClientHello is complete
//! (or cannot be parsed), both directions are skipped to the end of the
//! connection: the rest is encrypted.

use std::fmt::Write as _;

use md5::Md5;
use sha2::{Digest, Sha256};

/// Why a ClientHello could not be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsAnomaly {
    /// A record that is not a handshake record where the ClientHello should be.
    UnexpectedRecord,
    /// The first handshake message is not a ClientHello.
    NotClientHello,
    /// A length field points past its container.
    Malformed,
    /// The ClientHello is larger than the buffer limit.
    TooLarge,
    /// Data was lost before the ClientHello completed.
    Gap,
}

impl TlsAnomaly {
    /// A stable lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            TlsAnomaly::UnexpectedRecord => "unexpected_record",
            TlsAnomaly::NotClientHello => "not_client_hello",
            TlsAnomaly::Malformed => "malformed_client_hello",
            TlsAnomaly::TooLarge => "client_hello_too_large",
            TlsAnomaly::Gap => "gap_in_client_hello",
        }
    }
}

/// A parsed ClientHello with its fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Version in the record header.
    pub record_version: u16,
    /// `legacy_version` (client_version) of the hello.
    pub legacy_version: u16,
    /// The supported_versions extension, in order (GREASE included).
    pub supported_versions: Vec<u16>,
    /// Cipher suites, in order (GREASE included).
    pub ciphers: Vec<u16>,
    /// Extension types, in order (GREASE included).
    pub extensions: Vec<u16>,
    /// Supported groups (elliptic curves), in order.
    pub groups: Vec<u16>,
    /// EC point formats.
    pub point_formats: Vec<u8>,
    /// Signature algorithms, in order.
    pub signature_algorithms: Vec<u16>,
    /// Server name (host_name entry of server_name).
    pub sni: Option<Vec<u8>>,
    /// ALPN protocol names, in order.
    pub alpn: Vec<Vec<u8>>,
    /// The JA3 string.
    pub ja3: String,
    /// MD5 of the JA3 string, lowercase hex.
    pub ja3_hash: String,
    /// The JA4 fingerprint (`t13d1516h2_8daaf6152771_b186095e22b6` form).
    pub ja4: String,
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A cursor over big-endian fields that turns overruns into errors.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, TlsAnomaly> {
        let v = *self.data.get(self.at).ok_or(TlsAnomaly::Malformed)?;
        self.at += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, TlsAnomaly> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], TlsAnomaly> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(TlsAnomaly::Malformed)?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn vec8(&mut self) -> Result<&'a [u8], TlsAnomaly> {
        let n = usize::from(self.u8()?);
        self.bytes(n)
    }
    fn vec16(&mut self) -> Result<&'a [u8], TlsAnomaly> {
        let n = usize::from(self.u16()?);
        self.bytes(n)
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

impl ClientHello {
    /// Parses the body of a ClientHello handshake message (after the 4-byte
    /// handshake header).
    pub fn parse(record_version: u16, body: &[u8]) -> Result<ClientHello, TlsAnomaly> {
        let mut r = Reader { data: body, at: 0 };
        let legacy_version = r.u16()?;
        r.bytes(32)?; // random
        r.vec8()?; // session id
        let ciphers = u16_list(r.vec16()?);
        r.vec8()?; // compression methods
        let mut hello = ClientHello {
            record_version,
            legacy_version,
            supported_versions: Vec::new(),
            ciphers,
            extensions: Vec::new(),
            groups: Vec::new(),
            point_formats: Vec::new(),
            signature_algorithms: Vec::new(),
            sni: None,
            alpn: Vec::new(),
            ja3: String::new(),
            ja3_hash: String::new(),
            ja4: String::new(),
        };
        if !r.done() {
            let mut ext = Reader {
                data: r.vec16()?,
                at: 0,
            };
            while !ext.done() {
                let ty = ext.u16()?;
                let data = ext.vec16()?;
                hello.extensions.push(ty);
                let mut e = Reader { data, at: 0 };
                match ty {
                    0 => {
                        let mut list = Reader {
                            data: e.vec16()?,
                            at: 0,
                        };
                        while !list.done() {
                            let name_type = list.u8()?;
                            let name = list.vec16()?;
                            if name_type == 0 && hello.sni.is_none() {
                                hello.sni = Some(name.to_vec());
                            }
                        }
                    }
                    10 => hello.groups = u16_list(e.vec16()?),
                    11 => hello.point_formats = e.vec8()?.to_vec(),
                    13 => hello.signature_algorithms = u16_list(e.vec16()?),
                    16 => {
                        let mut list = Reader {
                            data: e.vec16()?,
                            at: 0,
                        };
                        while !list.done() {
                            hello.alpn.push(list.vec8()?.to_vec());
                        }
                    }
                    43 => hello.supported_versions = u16_list(e.vec8()?),
                    _ => {}
                }
            }
        }
        hello.fingerprint();
        Ok(hello)
    }

    /// The highest version offered: supported_versions (GREASE aside) when
    /// present, else the legacy version.
    pub fn version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .max()
            .unwrap_or(self.legacy_version)
    }

    /// The offered version as Suricata names it ("TLS 1.3", "TLSv1"... ).
    pub fn version_name(&self) -> &'static str {
        match self.version() {
            0x0304 => "TLS 1.3",
            0x0303 => "TLS 1.2",
            0x0302 => "TLS 1.1",
            0x0301 => "TLS 1.0",
            0x0300 => "SSLv3",
            0x0200 => "SSLv2",
            _ => "UNDETERMINED",
        }
    }

    fn fingerprint(&mut self) {
        let join = |vals: &mut dyn Iterator<Item = u32>| {
            let mut s = String::new();
            for (i, v) in vals.enumerate() {
                if i > 0 {
                    s.push('-');
                }
                let _ = write!(s, "{v}");
            }
            s
        };
        let ciphers = join(
            &mut self
                .ciphers
                .iter()
                .filter(|&&v| !is_grease(v))
                .map(|&v| u32::from(v)),
        );
        let exts = join(
            &mut self
                .extensions
                .iter()
                .filter(|&&v| !is_grease(v))
                .map(|&v| u32::from(v)),
        );
        let groups = join(
            &mut self
                .groups
                .iter()
                .filter(|&&v| !is_grease(v))
                .map(|&v| u32::from(v)),
        );
        let formats = join(&mut self.point_formats.iter().map(|&v| u32::from(v)));
        self.ja3 = format!(
            "{},{ciphers},{exts},{groups},{formats}",
            self.legacy_version
        );
        self.ja3_hash = hex(&Md5::digest(self.ja3.as_bytes()));
        self.ja4 = self.ja4();
    }

    fn ja4(&self) -> String {
        let version = match self.version() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0200 => "s2",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.extensions.contains(&0) {
            'd'
        } else {
            'i'
        };
        let mut ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let mut exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let alpn = match self.alpn.first() {
            Some(a) if !a.is_empty() => {
                let (f, l) = (a[0], a[a.len() - 1]);
                if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                    format!("{}{}", f as char, l as char)
                } else {
                    let h = hex(&[f, l]);
                    format!("{}{}", &h[0..1], &h[3..4])
                }
            }
            _ => "00".to_string(),
        };
        let a = format!(
            "t{version}{sni}{:02}{:02}{alpn}",
            ciphers.len().min(99),
            exts.len().min(99)
        );
        ciphers.sort_unstable();
        let b = truncated_sha256(&hex_list(&ciphers));
        exts.retain(|&e| e != 0 && e != 16);
        exts.sort_unstable();
        let c = if exts.is_empty() {
            "000000000000".to_string()
        } else {
            let mut s = hex_list(&exts);
            if !self.signature_algorithms.is_empty() {
                s.push('_');
                s.push_str(&hex_list(&self.signature_algorithms));
            }
            truncated_sha256(&s)
        };
        format!("{a}_{b}_{c}")
    }
}

/// Lowercase hex digits by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowest `nibbles` hex digits of `v`, most significant first
/// (a table, not the formatter: a fingerprint has about 80 digits).
fn push_hex(s: &mut String, v: u64, nibbles: u32) {
    for i in (0..nibbles).rev() {
        s.push(char::from(HEX_DIGITS[(v >> (4 * i)) as usize & 0xf]));
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        push_hex(&mut s, u64::from(b), 2);
    }
    s
}

fn hex_list(vals: &[u16]) -> String {
    let mut s = String::with_capacity(vals.len() * 5);
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_hex(&mut s, u64::from(*v), 4);
    }
    s
}

fn truncated_sha256(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_string();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

/// True if `data` starts like a TLS handshake record; `None` if too short.
pub(crate) fn looks_like_tls(data: &[u8]) -> Option<bool> {
    match data {
        [] => None,
        [0x16] | [0x16, 0x03] => None,
        [0x16, 0x03, minor, ..] => Some(*minor <= 4),
        _ => Some(false),
    }
}

/// The client side of a TLS connection until its ClientHello is complete.
pub struct TlsState {
    buf: Vec<u8>,
    done: bool,
    max_bytes: usize,
}

/// What feeding produced.
pub(crate) enum TlsFed {
    Nothing,
    Hello(Box<ClientHello>),
    Anomaly(TlsAnomaly),
}

impl TlsState {
    /// Buffers at most `max_bytes` of the client's first flight.
    pub fn new(max_bytes: usize) -> Self {
        TlsState {
            buf: Vec::new(),
            done: false,
            max_bytes,
        }
    }

    /// True once the ClientHello was extracted or given up on: everything
    /// after is skipped.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Buffered bytes, for memory accounting.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Data was lost.
    pub(crate) fn gap(&mut self) -> Option<TlsAnomaly> {
        if self.done {
            return None;
        }
        self.finish();
        Some(TlsAnomaly::Gap)
    }

    fn finish(&mut self) {
        self.done = true;
        self.buf = Vec::new();
    }

    /// Consumes client bytes. Always consumes everything it is given.
    pub(crate) fn feed(&mut self, data: &[u8]) -> TlsFed {
        if self.done {
            return TlsFed::Nothing;
        }
        let room = self.max_bytes.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        match extract_client_hello(&self.buf) {
            Ok(Some(hello)) => {
                self.finish();
                TlsFed::Hello(Box::new(hello))
            }
            Ok(None) if self.buf.len() >= self.max_bytes => {
                self.finish();
                TlsFed::Anomaly(TlsAnomaly::TooLarge)
            }
            Ok(None) => TlsFed::Nothing,
            Err(a) => {
                self.finish();
                TlsFed::Anomaly(a)
            }
        }
    }
}

/// Reassembles the first handshake message from the records in `buf`.
/// `Ok(None)` means more bytes are needed.
pub fn extract_client_hello(buf: &[u8]) -> Result<Option<ClientHello>, TlsAnomaly> {
    let mut handshake = Vec::new();
    let mut at = 0;
    let mut record_version = 0;
    while at + 5 <= buf.len() {
        if buf[at] != 0x16 {
            return Err(TlsAnomaly::UnexpectedRecord);
        }
        if record_version == 0 {
            record_version = u16::from_be_bytes([buf[at + 1], buf[at + 2]]);
        }
        let len = usize::from(u16::from_be_bytes([buf[at + 3], buf[at + 4]]));
        let end = (at + 5 + len).min(buf.len());
        handshake.extend_from_slice(&buf[at + 5..end]);
        at += 5 + len;
        if handshake.len() >= 4 {
            if handshake[0] != 1 {
                return Err(TlsAnomaly::NotClientHello);
            }
            let msg_len = (usize::from(handshake[1]) << 16)
                | (usize::from(handshake[2]) << 8)
                | usize::from(handshake[3]);
            if handshake.len() >= 4 + msg_len {
                return ClientHello::parse(record_version, &handshake[4..4 + msg_len]).map(Some);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_match_the_formatter() {
        let bytes: Vec<u8> = (0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), want);
        let vals = [0u16, 0x0a, 0x1301, 0xfe0d, 0xffff];
        assert_eq!(hex_list(&vals), "0000,000a,1301,fe0d,ffff");
    }

    /// Builds a ClientHello record from parts.
    pub(crate) fn client_hello(ciphers: &[u16], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]);
        let mut exts = Vec::new();
        for (ty, data) in extensions {
            exts.extend_from_slice(&ty.to_be_bytes());
            exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
            exts.extend_from_slice(data);
        }
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    pub(crate) fn sni_ext(name: &str) -> (u16, Vec<u8>) {
        let mut d = Vec::new();
        d.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
        (0, d)
    }

    fn alpn_ext(protos: &[&str]) -> (u16, Vec<u8>) {
        let mut list = Vec::new();
        for p in protos {
            list.push(p.len() as u8);
            list.extend_from_slice(p.as_bytes());
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        (16, d)
    }

    #[test]
    fn parses_sni_alpn_versions_and_ja3() {
        let rec = client_hello(
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                (0x1a1a, vec![]),
                sni_ext("example.com"),
                alpn_ext(&["h2", "http/1.1"]),
                (10, vec![0, 4, 0x2a, 0x2a, 0, 29]),
                (11, vec![1, 0]),
                (13, vec![0, 4, 4, 3, 8, 4]),
                (43, vec![4, 0x3a, 0x3a, 3, 4]),
            ],
        );
        let h = extract_client_hello(&rec).unwrap().unwrap();
        assert_eq!(h.sni.as_deref(), Some(&b"example.com"[..]));
        assert_eq!(h.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(h.version(), 0x0304);
        assert_eq!(h.version_name(), "TLS 1.3");
        assert_eq!(h.ja3, "771,4865-49199,0-16-10-11-13-43,29,0");
        assert_eq!(h.ja3_hash.len(), 32);
        assert!(h.ja4.starts_with("t13d0206h2_"), "{}", h.ja4);
    }

    #[test]
    fn split_across_records_and_reads() {
        let rec = client_hello(&[0x1301], &[sni_ext("a.example")]);
        // Re-split the handshake into two records.
        let hs = &rec[5..];
        let mut two = vec![0x16, 3, 1, 0, 10];
        two.extend_from_slice(&hs[..10]);
        two.extend_from_slice(&[0x16, 3, 1, 0, (hs.len() - 10) as u8]);
        two.extend_from_slice(&hs[10..]);
        let mut st = TlsState::new(65536);
        for (i, b) in two.iter().enumerate() {
            match st.feed(std::slice::from_ref(b)) {
                TlsFed::Hello(h) => {
                    assert_eq!(i, two.len() - 1);
                    assert_eq!(h.sni.as_deref(), Some(&b"a.example"[..]));
                }
                TlsFed::Nothing => assert!(i < two.len() - 1),
                TlsFed::Anomaly(a) => panic!("{a:?}"),
            }
        }
        assert!(st.done());
    }

    #[test]
    fn malformed_hellos_are_anomalies() {
        let rec = client_hello(&[0x1301], &[sni_ext("x")]);
        for cut in 5..rec.len() {
            // Shorten the inner lengths' container: claim the record is complete.
            let mut bad = rec[..cut].to_vec();
            let hs_len = cut - 5;
            bad[3..5].copy_from_slice(&(hs_len as u16).to_be_bytes());
            if hs_len >= 4 {
                let body = hs_len - 4;
                bad[6..9].copy_from_slice(&[0, (body >> 8) as u8, body as u8]);
            }
            let r = extract_client_hello(&bad);
            assert!(
                matches!(r, Ok(None) | Err(TlsAnomaly::Malformed) | Ok(Some(_))),
                "{cut}"
            );
        }
        assert_eq!(
            extract_client_hello(&[0x17, 3, 3, 0, 1, 0]),
            Err(TlsAnomaly::UnexpectedRecord)
        );
        assert_eq!(
            extract_client_hello(&[0x16, 3, 3, 0, 4, 2, 0, 0, 0]),
            Err(TlsAnomaly::NotClientHello)
        );
    }

    #[test]
    fn grease_detection() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }
}
