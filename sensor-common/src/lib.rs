//! Types shared by Vigil's kernel programs (`sensor-ebpf`) and user space (`sensor`).
//!
//! Everything here is `#[repr(C)]` plain data with a layout both sides agree on:
//! the kernel writes it into a ring buffer or a map, user space reads the bytes
//! back. The crate is `no_std` so the BPF target can use it; the `user` feature
//! adds `aya::Pod` implementations for user space.
#![no_std]

pub mod counters;
pub mod enforce;
pub mod record;
pub mod tcp;

pub use counters::Counter;
pub use record::{Direction, PacketRecord, RecordHeader};
