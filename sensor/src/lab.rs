//! The lab: two network namespaces, a client and a server, joined by a veth
//! pair with IPv4 and IPv6 addresses. Tests and the demo run real traffic
//! across it; nothing leaves the machine.
//!
//! ```text
//!  <name>-client                          <name>-server
//!  veth-cli  10.77.0.1/24  fd77::1/64 ──── veth-srv  10.77.0.2/24  fd77::2/64
//! ```
//!
//! There are no VLAN sub-interfaces: kernels built without 802.1Q support
//! (CONFIG_VLAN_8021Q unset, as on Vigil's CI machines) cannot create them.
//! VLAN-tagged traffic is injected as raw frames on the veth instead, which
//! the kernel program sees exactly as it would from a tagged link.

use std::{
    fmt,
    fs::File,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd as _,
    process::{Command, Output},
    thread,
};

/// One side of the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    fn suffix(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    fn host(self) -> u8 {
        match self {
            Side::Client => 1,
            Side::Server => 2,
        }
    }
}

/// A lab instance, identified by its name (the namespaces' prefix), so that
/// tests can run several labs side by side.
#[derive(Clone, Debug)]
pub struct Lab {
    name: String,
}

/// A failed `ip` command.
#[derive(Debug)]
pub struct LabError {
    pub command: String,
    pub stderr: String,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed: {}", self.command, self.stderr.trim())
    }
}

impl std::error::Error for LabError {}

impl Default for Lab {
    fn default() -> Self {
        Lab::new("vigil")
    }
}

impl Lab {
    /// A lab whose namespaces are `<name>-client` and `<name>-server`.
    pub fn new(name: impl Into<String>) -> Self {
        Lab { name: name.into() }
    }

    /// The namespace of `side`.
    pub fn netns(&self, side: Side) -> String {
        format!("{}-{}", self.name, side.suffix())
    }

    /// The veth interface inside `side`'s namespace.
    pub fn iface(&self, side: Side) -> &'static str {
        match side {
            Side::Client => "veth-cli",
            Side::Server => "veth-srv",
        }
    }

    /// Untagged IPv4 address of `side`.
    pub fn ipv4(&self, side: Side) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 77, 0, side.host()))
    }

    /// Untagged IPv6 address of `side`.
    pub fn ipv6(&self, side: Side) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, side.host() as u16))
    }

    /// Whether the lab is complete: both namespaces, the veth pair, and each
    /// side's addresses (the last step of `up`, so a crash mid-way reads as down).
    pub fn is_up(&self) -> bool {
        [Side::Client, Side::Server].iter().all(|&side| {
            run(&[
                "ip",
                "-n",
                &self.netns(side),
                "-br",
                "addr",
                "show",
                "dev",
                self.iface(side),
            ])
            .map(|out| {
                let text = String::from_utf8_lossy(&out.stdout);
                text.contains(&self.ipv4(side).to_string())
                    && text.contains(&self.ipv6(side).to_string())
            })
            .unwrap_or(false)
        })
    }

    /// Creates the lab. Idempotent: a complete lab is left as it is, a
    /// partial one (from a crash) is removed and built again.
    pub fn up(&self) -> Result<(), LabError> {
        if self.is_up() {
            return Ok(());
        }
        self.down()?;
        let (c, s) = (self.netns(Side::Client), self.netns(Side::Server));
        run(&["ip", "netns", "add", &c])?;
        run(&["ip", "netns", "add", &s])?;
        // Create the pair directly inside the namespaces so that two labs
        // never collide on interface names in the root namespace.
        run(&[
            "ip",
            "link",
            "add",
            self.iface(Side::Client),
            "netns",
            &c,
            "type",
            "veth",
            "peer",
            "name",
            self.iface(Side::Server),
            "netns",
            &s,
        ])?;
        for side in [Side::Client, Side::Server] {
            let ns = self.netns(side);
            let ifc = self.iface(side);
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", ifc, "up"])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", self.ipv4(side)),
                "dev",
                ifc,
            ])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/64", self.ipv6(side)),
                "dev",
                ifc,
                "nodad",
            ])?;
        }
        Ok(())
    }

    /// Removes both namespaces (and with them the veth pair and anything
    /// attached to it). Idempotent.
    pub fn down(&self) -> Result<(), LabError> {
        for side in [Side::Client, Side::Server] {
            let ns = self.netns(side);
            if netns_exists(&ns) {
                run(&["ip", "netns", "del", &ns])?;
            }
        }
        Ok(())
    }

    /// A command that runs `argv` inside `side`'s namespace.
    pub fn command(&self, side: Side, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns(side)]).args(argv);
        cmd
    }

    /// Sends the frames of an Ethernet capture out of the client's veth,
    /// at the capture's own pace, so that a sensor attached to the server's
    /// veth sees them as it would on a real link (`vigil lab inject`).
    ///
    /// The frames keep their addresses, so alerts compare field for field
    /// with an offline replay of the same capture; only the destination MAC
    /// is rewritten, to [`INJECT_DST_MAC`]: the server's kernel then treats
    /// them as another host's traffic and discards them after the TC hook,
    /// instead of answering with resets that would become part of the flows.
    /// Uses tcprewrite and tcpreplay (Debian's tcpreplay package).
    pub fn inject(
        &self,
        pcap: &std::path::Path,
        topspeed: bool,
    ) -> Result<InjectSummary, LabError> {
        let dir = std::env::temp_dir().join(format!("vigil-inject-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| LabError {
            command: format!("mkdir {}", dir.display()),
            stderr: e.to_string(),
        })?;
        let rewritten = dir.join("frames.pcap");
        let infile = pcap.display().to_string();
        let outfile = rewritten.display().to_string();
        let dmac = format!("--enet-dmac={INJECT_DST_MAC}");
        let result = run(&[
            "tcprewrite",
            &dmac,
            "--infile",
            &infile,
            "--outfile",
            &outfile,
        ])
        .and_then(|_| {
            let ns = self.netns(Side::Client);
            let iface = self.iface(Side::Client);
            let mut argv = vec!["ip", "netns", "exec", &ns, "tcpreplay", "-i", iface];
            if topspeed {
                argv.push("--topspeed");
            }
            argv.push(&outfile);
            run(&argv)
        });
        let _ = std::fs::remove_dir_all(&dir);
        let out = result?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(InjectSummary {
            packets: tcpreplay_count(&text, "Actual:").unwrap_or(0),
            failed: tcpreplay_count(&text, "Failed packets:").unwrap_or(0),
        })
    }

    /// The lab's layout, for humans.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for side in [Side::Client, Side::Server] {
            s.push_str(&format!(
                "{:<14} {:<9} {}/24 {}/64\n",
                self.netns(side),
                self.iface(side),
                self.ipv4(side),
                self.ipv6(side)
            ));
        }
        s
    }
}

/// Destination MAC of injected frames: locally administered, and never a
/// lab interface's, so the server's stack discards them.
pub const INJECT_DST_MAC: &str = "02:00:00:76:67:01";

/// What [`Lab::inject`] sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectSummary {
    /// Frames sent.
    pub packets: u64,
    /// Frames tcpreplay could not send.
    pub failed: u64,
}

/// The number after `label` in tcpreplay's report ("Actual: 40 packets ...",
/// "Failed packets:  0").
fn tcpreplay_count(report: &str, label: &str) -> Option<u64> {
    let line = report.lines().find(|l| l.trim_start().starts_with(label))?;
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

fn run(argv: &[&str]) -> Result<Output, LabError> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| LabError {
            command: argv.join(" "),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(LabError {
            command: argv.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        });
    }
    Ok(out)
}

/// Moves the calling thread into network namespace `netns` (a name under
/// `/run/netns`, as `ip netns` creates them). Namespaces are per thread: the
/// rest of the process stays where it is.
pub fn join_netns(netns: &str) -> io::Result<()> {
    let ns = File::open(format!("/run/netns/{netns}"))?;
    // SAFETY: setns on this thread only, with a valid namespace descriptor.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread inside `netns`.
pub fn spawn_in_netns<T, F>(netns: &str, f: F) -> thread::JoinHandle<io::Result<T>>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let netns = netns.to_string();
    thread::spawn(move || {
        join_netns(&netns)?;
        f()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tcpreplay_reports() {
        let report = "Actual: 40 packets (3296 bytes) sent in 0.30 seconds\n\
                      Rated: 10986.6 Bps, 0.087 Mbps, 133.33 pps\n\
                      Statistics for network device: veth-cli\n\
                      \tSuccessful packets:        40\n\
                      \tFailed packets:            2\n";
        assert_eq!(tcpreplay_count(report, "Actual:"), Some(40));
        assert_eq!(tcpreplay_count(report, "Failed packets:"), Some(2));
        assert_eq!(tcpreplay_count(report, "Missing:"), None);
    }
}
