//! `vigil run` inside the lab's server namespace, stopped with SIGTERM and
//! killed if a test fails first.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use serde_json::Value;
use vigil::lab::Side;

use super::{LabGuard, vigil_bin};

pub struct VigilRun {
    child: Option<Child>,
    stderr: mpsc::Receiver<String>,
    /// What it printed up to "running on".
    pub startup: Vec<String>,
}

impl Drop for VigilRun {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl VigilRun {
    /// Starts `vigil run --iface <server veth> ARGS...` and waits until it
    /// captures.
    pub fn start(lab: &LabGuard, args: &[String]) -> Result<VigilRun, String> {
        let bin = vigil_bin();
        let mut argv: Vec<&str> = vec![
            bin.to_str().unwrap(),
            "run",
            "--iface",
            lab.lab.iface(Side::Server),
        ];
        argv.extend(args.iter().map(String::as_str));
        let mut child = lab
            .lab
            .command(Side::Server, &argv)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn vigil run: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut run = VigilRun {
            child: Some(child),
            stderr: rx,
            startup: Vec::new(),
        };
        run.startup = run.wait_for("vigil: running on")?;
        Ok(run)
    }

    fn wait_for(&mut self, needle: &str) -> Result<Vec<String>, String> {
        let mut seen = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    seen.push(line);
                    if hit {
                        return Ok(seen);
                    }
                }
                Err(_) => return Err(format!("vigil run never printed {needle:?}: {seen:#?}")),
            }
        }
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// SIGTERM (flows are flushed at stop, as at the end of a replay);
    /// returns the per-interface summary line it printed.
    pub fn stop(self) -> Result<String, String> {
        self.stop_with_stderr()?
            .into_iter()
            .find(|l| l.contains("packets seen"))
            .ok_or_else(|| "no capture summary".to_string())
    }

    /// As [`Self::stop`], returning every line printed on stderr since it
    /// started running.
    pub fn stop_with_stderr(mut self) -> Result<Vec<String>, String> {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().map_err(|e| e.to_string())?;
        let lines: Vec<String> = self.stderr.iter().collect();
        if !status.success() {
            return Err(format!("vigil run exited with {status}: {lines:#?}"));
        }
        Ok(lines)
    }
}

/// The number before `label` in a summary line ("40 packets seen, 0 lost").
pub fn count_before(summary: &str, label: &str) -> Option<u64> {
    let at = summary.find(label)?;
    summary[..at].split_whitespace().last()?.parse().ok()
}

/// The alerts of an EVE file.
pub fn eve_alerts(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("EVE line is JSON"))
        .filter(|v| v["event_type"] == "alert")
        .collect()
}
