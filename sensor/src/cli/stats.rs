//! `vigil stats` and `vigil reload`: talk to a running `vigil run` through
//! its status file (counters, and the pid to signal).

use std::{path::PathBuf, process::ExitCode, time::Duration};

use crate::config::DEFAULT_DATA_DIR;
use crate::daemon::stats::{self, Snapshot};

fn default_status_file() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR).join("stats.json")
}

/// How `vigil stats` prints.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum StatsFormat {
    #[default]
    Table,
    Json,
    Prometheus,
}

/// Show the running sensor's counters: capture losses, flow evictions,
/// reassembly gaps, alerts, outputs.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The status file `vigil run` writes (`stats.path`).
    #[arg(long, default_value_os_t = default_status_file())]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: StatsFormat,
}

/// Make the running sensor reload its rules and reopen its output files
/// (sends SIGHUP to the pid in its status file).
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// The status file `vigil run` writes (`stats.path`).
    #[arg(long, default_value_os_t = default_status_file())]
    pub file: PathBuf,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The snapshot of a sensor that is still running (its pid is a `vigil`).
fn running(file: &std::path::Path) -> anyhow::Result<Snapshot> {
    let snapshot = stats::read_status(file)?;
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", snapshot.pid)).unwrap_or_default();
    anyhow::ensure!(
        comm.trim() == "vigil",
        "{}: the sensor (pid {}) is not running any more",
        file.display(),
        snapshot.pid
    );
    Ok(snapshot)
}

pub fn stats(args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let snapshot = running(&args.file)?;
    match args.format {
        StatsFormat::Table => print!("{}", stats::table(&snapshot, unix_now())),
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&snapshot)?),
        StatsFormat::Prometheus => print!("{}", stats::prometheus(&snapshot)),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reload(args: &ReloadArgs) -> anyhow::Result<ExitCode> {
    let before = running(&args.file)?;
    // SAFETY: kill(2) with a pid checked to be a vigil process.
    if unsafe { libc::kill(before.pid as i32, libc::SIGHUP) } != 0 {
        anyhow::bail!(
            "signalling pid {}: {}",
            before.pid,
            std::io::Error::last_os_error()
        );
    }
    // The status file counts reloads: wait for the count to move.
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(now) = stats::read_status(&args.file) else {
            continue;
        };
        let r = &now.ruleset;
        if r.reloads > before.ruleset.reloads {
            println!(
                "reloaded: ruleset {}, {} rules loaded, {} failed",
                r.hash.get(..12).unwrap_or(&r.hash),
                r.rules_loaded,
                r.rules_failed
            );
            if r.kernel_unfitted > 0 {
                println!(
                    "{} drop-rule blocks do not fit the kernel's maps: their rules block the \
                     rest of the flow once matched; restart the sensor to size the maps for \
                     this rule set",
                    r.kernel_unfitted
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        if r.failed_reloads > before.ruleset.failed_reloads {
            eprintln!("vigil: reload failed, the running rules were kept (see the sensor's log)");
            return Ok(ExitCode::FAILURE);
        }
    }
    anyhow::bail!("no reload reported by pid {} within 30 s", before.pid)
}
