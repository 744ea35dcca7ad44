//! Syslog transports: UDP, TCP with reconnect and backoff, unix datagram.
//!
//! The `syslog` crate's own backends are not used for sending: its TCP
//! backend connects once and never reconnects, it frames with a trailing
//! newline only, it has no notion of backoff, and its unix backend reports no
//! per-message outcome we could count. We keep the crate for what it does
//! well (the RFC 5424 / 3164 formatting, see `format.rs`) and own the
//! sockets here.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where syslog messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per message (RFC 5426).
    Udp(SocketAddr),
    /// A stream with octet-counting framing (RFC 6587), reconnected with
    /// exponential backoff when it breaks.
    Tcp(SocketAddr),
    /// One datagram per message to a unix datagram socket such as `/dev/log`.
    Unix(PathBuf),
}

/// Reconnect delays: start at `min`, double on every failed attempt, cap at
/// `max`; reset on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// First delay.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

enum Socket {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Unix(UnixDatagram),
}

/// A connection that reconnects itself.
pub(crate) struct Connection {
    transport: Transport,
    backoff: Backoff,
    socket: Option<Socket>,
    delay: Duration,
    next_attempt: Instant,
    write_timeout: Duration,
}

/// Why a send did not happen.
pub(crate) enum SendError {
    /// Waiting out the backoff before the next connection attempt.
    Waiting,
    /// Connecting or writing failed.
    Io(io::Error),
}

impl Connection {
    pub(crate) fn new(transport: Transport, backoff: Backoff) -> Connection {
        Connection {
            transport,
            backoff,
            socket: None,
            delay: backoff.min,
            next_attempt: Instant::now(),
            write_timeout: Duration::from_secs(5),
        }
    }

    /// Sends one formatted message.
    pub(crate) fn send(&mut self, msg: &[u8]) -> Result<(), SendError> {
        if let Some(Socket::Tcp(stream)) = &self.socket
            && peer_closed(stream)
        {
            // Writing to a half-closed stream succeeds once and loses the
            // message: check first, reconnect now.
            self.socket = None;
        }
        if self.socket.is_none() {
            if Instant::now() < self.next_attempt {
                return Err(SendError::Waiting);
            }
            match self.connect() {
                Ok(s) => self.socket = Some(s),
                Err(e) => {
                    self.fail();
                    return Err(SendError::Io(e));
                }
            }
        }
        let result = match self.socket.as_mut().expect("connected above") {
            Socket::Udp(s) => s.send(msg).map(|_| ()),
            Socket::Unix(s) => s.send(msg).map(|_| ()),
            Socket::Tcp(s) => {
                // RFC 6587 octet counting: "LEN SP MSG"; safe whatever the
                // message contains.
                let mut framed = Vec::with_capacity(msg.len() + 8);
                framed.extend_from_slice(msg.len().to_string().as_bytes());
                framed.push(b' ');
                framed.extend_from_slice(msg);
                s.write_all(&framed)
            }
        };
        match result {
            Ok(()) => {
                self.delay = self.backoff.min;
                Ok(())
            }
            Err(e) => {
                // UDP keeps its socket: ECONNREFUSED reports an earlier
                // datagram's ICMP error, and the next send may well succeed.
                if !matches!(self.socket, Some(Socket::Udp(_))) {
                    self.socket = None;
                    self.fail();
                }
                Err(SendError::Io(e))
            }
        }
    }

    fn fail(&mut self) {
        self.next_attempt = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(self.backoff.max);
    }

    fn connect(&self) -> io::Result<Socket> {
        match &self.transport {
            Transport::Udp(addr) => {
                let bind: SocketAddr = if addr.is_ipv4() {
                    (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(addr)?;
                Ok(Socket::Udp(s))
            }
            Transport::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, Duration::from_secs(2))?;
                s.set_nodelay(true)?;
                s.set_write_timeout(Some(self.write_timeout))?;
                Ok(Socket::Tcp(s))
            }
            Transport::Unix(path) => {
                let s = UnixDatagram::unbound()?;
                s.connect(path)?;
                s.set_write_timeout(Some(self.write_timeout))?;
                Ok(Socket::Unix(s))
            }
        }
    }
}

/// Whether the peer has closed its end (a read would return EOF or an error).
fn peer_closed(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let closed = match stream.peek(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    closed
}
