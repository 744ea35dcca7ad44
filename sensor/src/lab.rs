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
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    process::{Command, Output},
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
