//! HTTP/1.1 keep-alive load between the lab's namespaces: a server that
//! answers every request with a small 200, and clients that send the benign
//! browser request back to back and count completed exchanges.

use std::{
    io::{self, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use super::frames::benign_request;
use crate::lab::spawn_in_netns;

/// What the server answers to every request.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\
Connection: keep-alive\r\n\r\nok\n";

/// A keep-alive HTTP server in a namespace, stopped when dropped.
pub struct LoadServer {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl LoadServer {
    /// Listens on `addr` inside `netns`; returns once the socket is bound.
    pub fn start(netns: &str, addr: SocketAddr) -> io::Result<LoadServer> {
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = spawn_in_netns(netns, move || {
            let listener = match TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => {
                    let _ = bound_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(e);
                }
            };
            // Polled so that `stop` is seen without a connection arriving.
            listener.set_nonblocking(true)?;
            let _ = bound_tx.send(Ok(()));
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false)?;
                        conn.set_nodelay(true)?;
                        thread::spawn(move || serve(conn));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        match bound_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(LoadServer {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("load server did not start")),
        }
    }
}

impl Drop for LoadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers each request (up to its blank line) until the client closes.
fn serve(mut conn: TcpStream) {
    let mut pending = Vec::with_capacity(4096);
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = find(&pending, b"\r\n\r\n") {
            pending.drain(..end + 4);
            if conn.write_all(RESPONSE).is_err() {
                return;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Requests per second that `clients` keep-alive connections from `netns`
/// to `server` complete in `period`, each sending the next request once the
/// previous response arrived.
pub fn request_rate(
    netns: &str,
    server: SocketAddr,
    clients: usize,
    period: Duration,
) -> io::Result<f64> {
    let workers: Vec<_> = (0..clients)
        .map(|_| spawn_in_netns(netns, move || client(server, period)))
        .collect();
    let mut total = 0u64;
    for w in workers {
        total += w
            .join()
            .map_err(|_| io::Error::other("load client panicked"))??;
    }
    Ok(total as f64 / period.as_secs_f64())
}

/// One connection's completed exchanges in `period`.
fn client(server: SocketAddr, period: Duration) -> io::Result<u64> {
    let mut conn = TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let deadline = Instant::now() + period;
    let mut done = 0u64;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        conn.write_all(benign_request(done).as_bytes())?;
        let mut got = 0;
        while got < RESPONSE.len() {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            got += n;
        }
        done += 1;
    }
    Ok(done)
}
