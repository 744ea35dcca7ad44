//! Flows: the bidirectional connection table, keys, sides and TCP state.

mod key;
mod stream;
mod table;

pub use key::FlowKey;
pub(crate) use stream::{Consumer, Stream, StreamConfig};
pub use table::{Flow, FlowConfig, FlowCounters, FlowEndReason, FlowTable, TcpState};

/// Reassembly counters.
pub mod stream_counters {
    pub use super::stream::StreamCounters;
}

/// A direction within a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Side {
    /// The other direction.
    pub fn opposite(self) -> Side {
        match self {
            Side::ToServer => Side::ToClient,
            Side::ToClient => Side::ToServer,
        }
    }

    /// 0 for to-server, 1 for to-client: an index into per-side arrays.
    pub fn index(self) -> usize {
        match self {
            Side::ToServer => 0,
            Side::ToClient => 1,
        }
    }
}
