//! Shared pieces of the live tests: a lab that tears itself down, and the
//! real `vigil capture` binary run inside a lab namespace.
#![allow(dead_code)]

pub mod in_netns;
pub mod run;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, MutexGuard, mpsc},
    thread,
    time::Duration,
};

use serde_json::Value;
use vigil::lab::{Lab, Side};

/// Live tests load BPF programs and create namespaces: run them one at a time
/// so that each one's assertions about what is attached see only its own.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn vigil_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vigil"))
}

pub fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support")
}

/// A lab brought up for one test and removed when dropped, even on panic.
pub struct LabGuard {
    pub lab: Lab,
}

impl LabGuard {
    pub fn up(name: &str) -> LabGuard {
        let lab = Lab::new(name);
        lab.up().expect("lab up");
        LabGuard { lab }
    }

    /// Runs a command inside `side` and returns its stdout; panics on failure.
    pub fn exec(&self, side: Side, argv: &[&str]) -> String {
        let out = self.lab.command(side, argv).output().expect("spawn");
        assert!(
            out.status.success(),
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Spawns a background process inside `side`.
    pub fn spawn(&self, side: Side, argv: &[&str]) -> KillOnDrop {
        let child = self
            .lab
            .command(side, argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        KillOnDrop(child)
    }

    /// MAC address of `side`'s veth.
    pub fn mac(&self, side: Side) -> String {
        self.exec(
            side,
            &[
                "cat",
                &format!("/sys/class/net/{}/address", self.lab.iface(side)),
            ],
        )
        .trim()
        .to_string()
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = self.lab.down();
    }
}

pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vigil capture --json` running inside a lab namespace.
pub struct CaptureProc {
    child: Child,
    stdout: thread::JoinHandle<Vec<Value>>,
    stderr_lines: mpsc::Receiver<String>,
}

/// What a stopped capture printed.
pub struct CaptureOutput {
    pub events: Vec<Value>,
    pub summary: Value,
    pub stderr: Vec<String>,
}

impl CaptureProc {
    /// Starts the capture and waits until the programs are attached.
    pub fn start(lab: &LabGuard, side: Side, extra: &[&str]) -> CaptureProc {
        let bin = vigil_bin();
        let mut argv = vec![
            bin.to_str().unwrap(),
            "capture",
            "--iface",
            lab.lab.iface(side),
            "--json",
        ];
        argv.extend_from_slice(extra);
        let mut child = lab
            .lab
            .command(side, &argv)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vigil capture");
        let stdout = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .map(|l| {
                    serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
                })
                .collect()
        });
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut proc = CaptureProc {
            child,
            stdout,
            stderr_lines: rx,
        };
        proc.wait_for_stderr("capturing on", Duration::from_secs(30));
        proc
    }

    fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    seen.push(line);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("vigil capture never printed {needle:?}; stderr: {seen:#?}");
                }
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal`, waits for exit and collects the output.
    pub fn stop_with(mut self, signal: i32) -> CaptureOutput {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.pid(), signal) };
        let status = self.child.wait().expect("wait");
        let stderr: Vec<String> = self.stderr_lines.iter().collect();
        let events = self.stdout.join().expect("stdout reader");
        let summary = stderr
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|v| v.get("summary").cloned())
            .unwrap_or(Value::Null);
        if signal != libc::SIGKILL {
            assert!(
                status.success(),
                "vigil capture exited with {status}; stderr: {stderr:#?}"
            );
            assert!(summary.is_object(), "no summary line; stderr: {stderr:#?}");
        }
        CaptureOutput {
            events,
            summary,
            stderr,
        }
    }

    pub fn stop(self) -> CaptureOutput {
        self.stop_with(libc::SIGINT)
    }
}

/// Names of the BPF programs currently loaded in the kernel.
pub fn loaded_program_names() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|p| p.name_as_str().map(str::to_string))
        .collect()
}

/// Asserts that none of Vigil's programs is loaded (hence none attached).
pub fn assert_no_vigil_programs() {
    // Program teardown after the last fd closes is asynchronous (RCU): allow a moment.
    for _ in 0..50 {
        let names = loaded_program_names();
        if !names.iter().any(|n| n.starts_with("vigil_")) {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("vigil programs still loaded: {:?}", loaded_program_names());
}

pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Runs a command in the root namespace and returns stdout.
pub fn sh(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("spawn");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
