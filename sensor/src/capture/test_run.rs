//! Running the loaded classifier on a synthetic frame (`BPF_PROG_TEST_RUN`):
//! the kernel's own per-run timing, free of the noise of live traffic on a
//! shared machine. Used to measure what enforcement costs per packet.

use std::os::fd::{AsFd as _, AsRawFd as _};

use aya::programs::SchedClassifier;
use sensor_common::Direction;
use serde::Serialize;

use super::{CaptureError, CaptureErrorKind as Kind, KernelCapture};

/// What `BPF_PROG_TEST_RUN` reported.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TestRun {
    /// The program's return value on the last run (0 pass, 2 drop).
    pub retval: u32,
    /// Average nanoseconds per run, as the kernel timed it.
    pub avg_ns: u32,
    /// Runs performed.
    pub repeat: u32,
}

/// `union bpf_attr` for BPF_PROG_TEST_RUN (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;

impl KernelCapture {
    /// Runs the classifier of `direction` `repeat` times on `frame` (an
    /// Ethernet frame) and returns the kernel's timing. Each run emits a
    /// record like a real packet: keep `repeat` small enough for the ring
    /// (or read it), or later runs measure the cheaper ring-full path.
    pub fn test_run(
        &self,
        direction: Direction,
        frame: &[u8],
        repeat: u32,
    ) -> Result<TestRun, CaptureError> {
        let name = match direction {
            Direction::Ingress => "vigil_ingress",
            Direction::Egress => "vigil_egress",
        };
        let program: &SchedClassifier = self
            .ebpf
            .program(name)
            .ok_or_else(|| CaptureError::new(Kind::Load, format!("program {name} missing")))?
            .try_into()
            .map_err(|e| CaptureError::new(Kind::Load, format!("{name}: {e}")))?;
        let fd = program
            .fd()
            .map_err(|e| CaptureError::new(Kind::Load, format!("{name}: {e}")))?;
        let mut attr = TestRunAttr {
            prog_fd: fd.as_fd().as_raw_fd() as u32,
            data_size_in: frame.len() as u32,
            data_in: frame.as_ptr() as u64,
            repeat,
            ..TestRunAttr::default()
        };
        // SAFETY: bpf(2) with a correctly laid out attribute whose pointers
        // (the frame) outlive the call; no output buffers are passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_TEST_RUN,
                &mut attr as *mut TestRunAttr,
                std::mem::size_of::<TestRunAttr>(),
            )
        };
        if rc != 0 {
            return Err(CaptureError::new(
                Kind::Read,
                format!(
                    "BPF_PROG_TEST_RUN on {name}: {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
        Ok(TestRun {
            retval: attr.retval,
            avg_ns: attr.duration,
            repeat,
        })
    }
}
