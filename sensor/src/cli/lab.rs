//! `vigil lab`: the two-namespace test network.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::lab::{Lab, Side};

#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// Lab name: namespaces are <name>-client and <name>-server.
    #[arg(long, default_value = "vigil", global = true)]
    pub name: String,
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Create the namespaces, the veth pair and the addresses (idempotent).
    Up,
    /// Remove everything `up` created (idempotent).
    Down,
    /// Show whether the lab is up and its addresses.
    Status,
    /// Send a capture's Ethernet frames out of the client's veth at their
    /// recorded pace (addresses kept), for a sensor on the server's veth.
    Inject {
        /// The capture (Ethernet link type).
        pcap: std::path::PathBuf,
        /// Send as fast as possible instead of at the capture's pace.
        #[arg(long)]
        topspeed: bool,
    },
    /// Run a command inside one side's namespace.
    Exec {
        #[arg(value_enum)]
        side: LabSide,
        #[arg(trailing_var_arg = true, required = true)]
        argv: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LabSide {
    Client,
    Server,
}

impl From<LabSide> for Side {
    fn from(s: LabSide) -> Side {
        match s {
            LabSide::Client => Side::Client,
            LabSide::Server => Side::Server,
        }
    }
}

pub fn run(args: &LabArgs) -> anyhow::Result<ExitCode> {
    let lab = Lab::new(&args.name);
    match &args.command {
        LabCommand::Up => {
            lab.up().context("bringing the lab up")?;
            print!("{}", lab.describe());
        }
        LabCommand::Down => lab.down().context("tearing the lab down")?,
        LabCommand::Status => {
            if lab.is_up() {
                println!("up");
                print!("{}", lab.describe());
            } else {
                println!("down");
                return Ok(ExitCode::from(1));
            }
        }
        LabCommand::Inject { pcap, topspeed } => {
            anyhow::ensure!(
                lab.is_up(),
                "lab {} is not up (run `vigil lab up`)",
                args.name
            );
            let sent = lab
                .inject(pcap, *topspeed)
                .with_context(|| format!("injecting {}", pcap.display()))?;
            println!("{} frames sent, {} failed", sent.packets, sent.failed);
        }
        LabCommand::Exec { side, argv } => {
            use std::os::unix::process::CommandExt as _;
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            // Replace this process, so signals sent to it reach the command.
            let err = lab.command((*side).into(), &argv).exec();
            return Err(err).context("running the command");
        }
    }
    Ok(ExitCode::SUCCESS)
}
