//! DNS messages over UDP and TCP: header, questions, and answer records.

/// Why a DNS message could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsAnomaly {
    /// Shorter than its header or a field runs past the end.
    Truncated,
    /// A name with a compression loop, a too-long name or a bad label type.
    BadName,
    /// A TCP length prefix of zero or a message larger than the limit.
    BadLength,
}

impl DnsAnomaly {
    /// A stable lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            DnsAnomaly::Truncated => "dns_truncated",
            DnsAnomaly::BadName => "dns_bad_name",
            DnsAnomaly::BadLength => "dns_bad_length",
        }
    }
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuestion {
    /// The name, dotted, without the final dot (`example.com`).
    pub name: Vec<u8>,
    /// QTYPE (1 A, 28 AAAA, 16 TXT, ...).
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// One answer record (name, type, and for A/AAAA/CNAME/PTR the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Owner name, dotted.
    pub name: Vec<u8>,
    /// Record type.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// Record data: address bytes for A/AAAA, a dotted name for
    /// CNAME/PTR/NS, raw bytes otherwise.
    pub data: Vec<u8>,
}

/// A parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    /// Transaction id.
    pub id: u16,
    /// QR bit: a response.
    pub is_response: bool,
    /// Opcode.
    pub opcode: u8,
    /// Response code.
    pub rcode: u8,
    /// The flags word as sent.
    pub flags: u16,
    /// Question section.
    pub questions: Vec<DnsQuestion>,
    /// Answer section (responses).
    pub answers: Vec<DnsAnswer>,
}

/// Longest dotted name accepted.
const MAX_NAME: usize = 255;
/// Questions and answers kept per message.
const MAX_RECORDS: usize = 64;

fn be16(b: &[u8], at: usize) -> Result<u16, DnsAnomaly> {
    Ok(u16::from_be_bytes([
        *b.get(at).ok_or(DnsAnomaly::Truncated)?,
        *b.get(at + 1).ok_or(DnsAnomaly::Truncated)?,
    ]))
}

/// Reads a possibly compressed name at `at`; returns it and the offset after
/// it in the original position.
fn read_name(msg: &[u8], mut at: usize) -> Result<(Vec<u8>, usize), DnsAnomaly> {
    let mut name = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(at).ok_or(DnsAnomaly::Truncated)?;
        match len >> 6 {
            0 => {
                if len == 0 {
                    return Ok((name, end.unwrap_or(at + 1)));
                }
                let label = msg
                    .get(at + 1..at + 1 + usize::from(len))
                    .ok_or(DnsAnomaly::Truncated)?;
                if !name.is_empty() {
                    name.push(b'.');
                }
                name.extend_from_slice(label);
                if name.len() > MAX_NAME {
                    return Err(DnsAnomaly::BadName);
                }
                at += 1 + usize::from(len);
            }
            3 => {
                let ptr = usize::from(be16(msg, at)? & 0x3fff);
                if end.is_none() {
                    end = Some(at + 2);
                }
                jumps += 1;
                if jumps > 32 || ptr >= msg.len() {
                    return Err(DnsAnomaly::BadName);
                }
                at = ptr;
            }
            _ => return Err(DnsAnomaly::BadName),
        }
    }
}

impl DnsMessage {
    /// Parses a DNS message (without the TCP length prefix).
    pub fn parse(msg: &[u8]) -> Result<DnsMessage, DnsAnomaly> {
        if msg.len() < 12 {
            return Err(DnsAnomaly::Truncated);
        }
        let flags = be16(msg, 2)?;
        let qd = usize::from(be16(msg, 4)?);
        let an = usize::from(be16(msg, 6)?);
        let mut m = DnsMessage {
            id: be16(msg, 0)?,
            is_response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            rcode: (flags & 0xf) as u8,
            flags,
            questions: Vec::with_capacity(qd.min(4)),
            answers: Vec::new(),
        };
        let mut at = 12;
        for _ in 0..qd {
            let (name, next) = read_name(msg, at)?;
            let qtype = be16(msg, next)?;
            let qclass = be16(msg, next + 2)?;
            at = next + 4;
            if m.questions.len() < MAX_RECORDS {
                m.questions.push(DnsQuestion {
                    name,
                    qtype,
                    qclass,
                });
            }
        }
        for _ in 0..an.min(MAX_RECORDS) {
            let (name, next) = read_name(msg, at)?;
            let rtype = be16(msg, next)?;
            let ttl = (u32::from(be16(msg, next + 4)?) << 16) | u32::from(be16(msg, next + 6)?);
            let rdlen = usize::from(be16(msg, next + 8)?);
            let rd_at = next + 10;
            let rdata = msg.get(rd_at..rd_at + rdlen).ok_or(DnsAnomaly::Truncated)?;
            let data = match rtype {
                5 | 12 | 2 => read_name(msg, rd_at)?.0,
                _ => rdata.to_vec(),
            };
            m.answers.push(DnsAnswer {
                name,
                rtype,
                ttl,
                data,
            });
            at = rd_at + rdlen;
        }
        Ok(m)
    }

    /// The first question's name (`dns.query`).
    pub fn query(&self) -> Option<&[u8]> {
        self.questions.first().map(|q| q.name.as_slice())
    }
}

/// The mnemonic of a record type, for logs ("A", "AAAA", ...).
pub fn rrtype_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        255 => "ANY",
        257 => "CAA",
        _ => return None,
    })
}

/// DNS over TCP, one direction: messages behind 2-byte length prefixes.
pub struct DnsTcpState {
    buf: Vec<u8>,
    max_message: usize,
    /// Bytes of an oversized message still to skip.
    skip: u64,
}

/// What feeding produced.
pub(crate) enum DnsFed {
    Nothing,
    Message(Box<DnsMessage>),
    Anomaly(DnsAnomaly),
}

impl DnsTcpState {
    /// Accepts messages up to `max_message` bytes; longer ones are skipped.
    pub fn new(max_message: usize) -> Self {
        DnsTcpState {
            buf: Vec::new(),
            max_message,
            skip: 0,
        }
    }

    /// Bytes that can be dropped unseen.
    pub fn skippable(&self) -> u64 {
        self.skip
    }

    /// Drops skippable bytes.
    pub fn skip(&mut self, n: u64) {
        self.skip -= n.min(self.skip);
    }

    /// Data was lost: the framing is gone, so the rest is skipped.
    pub(crate) fn gap(&mut self) {
        self.buf.clear();
        self.skip = u64::MAX;
    }

    /// Buffered bytes, for memory accounting.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Consumes a prefix of `data`; returns how much and what it produced.
    pub(crate) fn feed(&mut self, data: &[u8]) -> (usize, DnsFed) {
        if self.buf.len() < 2 {
            let take = (2 - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            if self.buf.len() < 2 {
                return (take, DnsFed::Nothing);
            }
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if len == 0 || len > self.max_message {
                self.buf.clear();
                self.skip = len as u64;
                return (take, DnsFed::Anomaly(DnsAnomaly::BadLength));
            }
            return (take, DnsFed::Nothing);
        }
        let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
        let need = 2 + len - self.buf.len();
        let take = need.min(data.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() < 2 + len {
            return (take, DnsFed::Nothing);
        }
        let result = DnsMessage::parse(&self.buf[2..]);
        self.buf.clear();
        match result {
            Ok(m) => (take, DnsFed::Message(Box::new(m))),
            Err(a) => (take, DnsFed::Anomaly(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` of type `qtype`.
    pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    #[test]
    fn query_and_compressed_answer() {
        let mut m = query(0x1234, "www.example.com", 1);
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 2; // two answers
        // CNAME www.example.com -> (pointer to example.com at offset 16)
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16]);
        // A example.com 192.0.2.1
        m.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let d = DnsMessage::parse(&m).unwrap();
        assert!(d.is_response);
        assert_eq!(d.id, 0x1234);
        assert_eq!(d.query(), Some(&b"www.example.com"[..]));
        assert_eq!(d.questions[0].qtype, 1);
        assert_eq!(d.answers[0].data, b"example.com");
        assert_eq!(d.answers[1].name, b"example.com");
        assert_eq!(d.answers[1].data, [192, 0, 2, 1]);
        assert_eq!(d.answers[1].ttl, 60);
    }

    #[test]
    fn compression_loops_and_truncation_are_anomalies() {
        let mut m = query(1, "a", 1);
        m.truncate(12);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(DnsMessage::parse(&m), Err(DnsAnomaly::BadName));
        let q = query(1, "example.com", 28);
        for cut in 0..q.len() {
            assert!(DnsMessage::parse(&q[..cut]).is_err(), "{cut}");
        }
        let mut bad_label = q.clone();
        bad_label[12] = 0x80;
        assert_eq!(DnsMessage::parse(&bad_label), Err(DnsAnomaly::BadName));
    }

    #[test]
    fn tcp_framing_byte_by_byte() {
        let q1 = query(1, "one.example", 1);
        let q2 = query(2, "two.example", 16);
        let mut stream = Vec::new();
        for q in [&q1, &q2] {
            stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
            stream.extend_from_slice(q);
        }
        let mut st = DnsTcpState::new(4096);
        let mut names = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let (used, fed) = st.feed(&rest[..1]);
            assert_eq!(used, 1);
            if let DnsFed::Message(m) = fed {
                names.push(m.query().unwrap().to_vec());
            }
            rest = &rest[used..];
        }
        assert_eq!(
            names,
            vec![b"one.example".to_vec(), b"two.example".to_vec()]
        );
    }
}
