//! `vigil bench`: measurements that need the real kernel program and the lab,
//! and so cannot be criterion benchmarks. They print figures; nothing here
//! asserts a speed.
//!
//! - [`enforce`]: what in-kernel enforcement costs per packet (fixed frames
//!   timed by `BPF_PROG_TEST_RUN`, and live lab load timed by the kernel's BPF
//!   statistics) and what it does to request throughput.

pub mod enforce;
pub mod frames;
pub mod load;
