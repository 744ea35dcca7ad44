//! A real rsyslogd, started by a test on loopback, writing what it receives
//! (parsed fields, tab-separated) to a file in its own temp dir.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message as rsyslog parsed it.
#[derive(Clone, Debug)]
pub struct Received {
    /// `1` for RFC 5424, `0` for legacy (RFC 3164).
    pub protocol_version: String,
    pub app_name: String,
    pub msgid: String,
    pub structured_data: String,
    pub severity: String,
    pub msg: String,
}

/// A running rsyslogd; stopped on drop.
pub struct Rsyslog {
    dir: PathBuf,
    child: Option<Child>,
    pub udp_port: u16,
    pub tcp_port: u16,
}

fn free_ports() -> (u16, u16) {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        u.local_addr().unwrap().port(),
        t.local_addr().unwrap().port(),
    )
}

impl Rsyslog {
    /// Starts rsyslogd with its files under `dir` (which must exist).
    pub fn start(dir: &Path) -> Rsyslog {
        let (udp_port, tcp_port) = free_ports();
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            child: None,
            udp_port,
            tcp_port,
        };
        r.restart();
        r
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("log.sock")
    }

    pub fn out_path(&self) -> PathBuf {
        self.dir.join("out.log")
    }

    /// (Re)starts rsyslogd on the same ports and waits until TCP accepts.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let dir = self.dir.display();
        let conf = format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{dir}/log.sock" UseSpecialParser="off" ParseHostname="on")
template(name="vigil" type="list") {{
  property(name="protocol-version") constant(value="\t")
  property(name="app-name") constant(value="\t")
  property(name="msgid") constant(value="\t")
  property(name="structured-data") constant(value="\t")
  property(name="syslogseverity") constant(value="\t")
  property(name="msg") constant(value="\n")
}}
*.* action(type="omfile" file="{dir}/out.log" template="vigil")
"#,
            udp = self.udp_port,
            tcp = self.tcp_port,
        );
        let conf_path = self.dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(self.dir.join("rsyslog.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd is installed (Debian package rsyslog)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.tcp_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        while !self.socket_path().exists() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // imudp starts alongside imtcp; give its thread a moment.
        std::thread::sleep(Duration::from_millis(200));
    }

    /// Stops rsyslogd (SIGTERM, then waits for it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(self.out_path()).unwrap_or_default();
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.splitn(6, '\t').collect();
                assert_eq!(f.len(), 6, "unexpected rsyslog output line {l:?}");
                Received {
                    protocol_version: f[0].into(),
                    app_name: f[1].into(),
                    msgid: f[2].into(),
                    structured_data: f[3].into(),
                    severity: f[4].into(),
                    msg: f[5].trim_start().into(),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages were received matching `pred`.
    pub fn wait_for(
        &self,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Received> = self.received().into_iter().filter(&pred).collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}
