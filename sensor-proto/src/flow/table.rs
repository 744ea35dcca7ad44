//! The flow table: lookup by key, creation, timeouts by packet time, and a
//! hard memory cap with eviction.

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use sensor_packet::Packet;

use super::Side;
use super::key::FlowKey;
use super::stream::Stream;
use crate::app::{AppProto, AppState};
use crate::community_id::community_id;

/// TCP connection state as seen by the sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// Not TCP.
    None,
    /// A SYN was seen. Also the lasting state of a flow that began without
    /// one while midstream pickup is off: such a flow is never established.
    SynSent,
    /// A SYN/ACK was seen.
    SynReceived,
    /// The handshake completed, or the flow was picked up mid-stream with
    /// [`FlowConfig::midstream`] on.
    Established,
    /// One side sent a FIN.
    Closing,
    /// Both sides sent a FIN, or one sent a RST.
    Closed,
}

impl TcpState {
    /// Suricata's names for `flow.state`.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynReceived => "syn_recv",
            TcpState::Established => "established",
            TcpState::Closing => "fin_wait",
            TcpState::Closed => "closed",
        }
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEndReason {
    /// Idle past its timeout (packet time).
    Timeout,
    /// Removed to respect the memory cap or the flow limit.
    Evicted,
    /// End of input ([`Driver::finish`](crate::Driver::finish)).
    Shutdown,
    /// A new connection (SYN) reused the tuple of a closed one.
    Reused,
}

impl FlowEndReason {
    /// Suricata's `flow.reason` names.
    pub fn name(self) -> &'static str {
        match self {
            FlowEndReason::Timeout => "timeout",
            FlowEndReason::Evicted => "forced",
            FlowEndReason::Shutdown => "shutdown",
            FlowEndReason::Reused => "reused",
        }
    }
}

/// Limits and timeouts of the flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// Flows tracked at once.
    pub max_flows: usize,
    /// Bytes for flows and their buffers; above it flows are evicted.
    pub memcap: usize,
    /// Idle timeout of TCP flows before the handshake completes.
    pub tcp_new_timeout_ns: u64,
    /// Idle timeout of established TCP flows.
    pub tcp_established_timeout_ns: u64,
    /// Time a closed TCP flow is kept (late retransmissions, final ACKs).
    pub tcp_closed_timeout_ns: u64,
    /// Idle timeout of UDP flows.
    pub udp_timeout_ns: u64,
    /// Idle timeout of other flows.
    pub other_timeout_ns: u64,
    /// Inspect TCP flows whose handshake was not seen, guessing the sides.
    pub midstream: bool,
    /// Out-of-order bytes buffered per direction.
    pub max_ooo_bytes: usize,
    /// Out-of-order segments buffered per direction.
    pub max_ooo_segments: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        const S: u64 = 1_000_000_000;
        FlowConfig {
            max_flows: 1 << 18,
            memcap: 128 << 20,
            tcp_new_timeout_ns: 60 * S,
            tcp_established_timeout_ns: 600 * S,
            tcp_closed_timeout_ns: 5 * S,
            udp_timeout_ns: 60 * S,
            other_timeout_ns: 60 * S,
            midstream: false,
            max_ooo_bytes: 64 * 1024,
            max_ooo_segments: 256,
        }
    }
}

/// One bidirectional flow.
pub struct Flow {
    /// Numeric id, unique within a driver (starts at 1).
    pub id: u64,
    /// The direction-independent key.
    pub key: FlowKey,
    /// Client address.
    pub client: IpAddr,
    /// Client port (ICMP: 0).
    pub client_port: u16,
    /// Server address.
    pub server: IpAddr,
    /// Server port (ICMP: 0).
    pub server_port: u16,
    /// IP protocol.
    pub protocol: u8,
    /// Community ID v1, seed 0, computed on first use (`community_id()`).
    community_id: OnceCell<String>,
    /// ICMP type and code of the first packet (the Community ID's "ports");
    /// `None` for other protocols.
    cid_icmp: Option<(u8, u8)>,
    /// ICMP: the first packet went from server to client.
    cid_reversed: bool,
    /// First packet time.
    pub first_ts_ns: u64,
    /// Last packet time.
    pub last_ts_ns: u64,
    /// Packets per side (to server, to client).
    pub packets: [u64; 2],
    /// Wire bytes per side.
    pub bytes: [u64; 2],
    /// TCP state.
    pub tcp_state: TcpState,
    /// TCP flags seen per side, ORed.
    pub tcp_flags: [u8; 2],
    /// Sides were guessed (no SYN or SYN/ACK seen).
    pub midstream: bool,
    /// Interface of the first packet.
    pub interface: u32,
    pub(crate) streams: [Stream; 2],
    pub(crate) app: AppState,
    pub(crate) fin: [bool; 2],
    /// Set on each packet; cleared by the eviction clock (second chance).
    referenced: bool,
    /// Heap bytes charged to the memcap.
    pub(crate) charged: usize,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("id", &self.id)
            .field("client", &(self.client, self.client_port))
            .field("server", &(self.server, self.server_port))
            .field("protocol", &self.protocol)
            .field("app_proto", &self.app_proto())
            .field("tcp_state", &self.tcp_state)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// The application protocol detected.
    pub fn app_proto(&self) -> AppProto {
        self.app.proto()
    }

    /// The side `packet` travels on.
    pub fn side_of(&self, packet: &Packet<'_>) -> Side {
        if (packet.src, packet.src_port()) == (self.client, self.client_port) {
            Side::ToServer
        } else {
            Side::ToClient
        }
    }

    /// What the parser knows about the bytes that follow on `side`: `Some`
    /// once a header block ended and the rest is body (or opaque). This is
    /// what header-only capture tells the kernel.
    pub fn body_hint(&self, side: Side) -> Option<crate::app::http::BodyHint> {
        self.app.body_hint(side)
    }

    /// For header-only capture: the TCP sequence number at which the next
    /// header region of `side` starts, when the parser knows the length of
    /// the body in progress (`None` when it does not, or the stream is not
    /// tracked). Everything before it can be sent without payload.
    pub fn body_end_seq(&self, side: Side) -> Option<u32> {
        let stream = &self.streams[side.index()];
        match self.app.body_hint(side)? {
            crate::app::http::BodyHint::Length(n) if n < u64::from(u32::MAX) => {
                stream.next_seq().map(|s| s.wrapping_add(n as u32))
            }
            _ => None,
        }
    }

    /// For header-only capture: the region of `side`'s sequence space the
    /// kernel may send without payload, as `(first_seq, len)`: the rest of
    /// a body of known length, or everything (`len` 2^31 - 1, the most
    /// sequence arithmetic allows) when the rest of the direction is body or
    /// opaque (a response without length, a tunnel, TLS after the
    /// ClientHello). `None` while headers may follow, for chunked bodies
    /// (their framing must be read), and for flows of other protocols: their
    /// payload is all rules can inspect.
    pub fn body_region(&self, side: Side) -> Option<(u32, u32)> {
        if !matches!(self.app_proto(), AppProto::Http | AppProto::Tls) {
            return None;
        }
        let next = self.streams[side.index()].next_seq()?;
        match self.app.body_hint(side)? {
            crate::app::http::BodyHint::Length(n) => {
                Some((next, n.min(u64::from(u32::MAX >> 1)) as u32))
            }
            crate::app::http::BodyHint::UntilClose => Some((next, u32::MAX >> 1)),
            _ => None,
        }
    }

    /// The Community ID (v1, seed 0), computed on the first call (most flows
    /// never need it) and kept.
    pub fn community_id(&self) -> &str {
        self.community_id.get_or_init(|| {
            let (src, dst, sp, dp) = match self.cid_icmp {
                Some((t, c)) if self.cid_reversed => {
                    (self.server, self.client, u16::from(t), u16::from(c))
                }
                Some((t, c)) => (self.client, self.server, u16::from(t), u16::from(c)),
                None => (self.client, self.server, self.client_port, self.server_port),
            };
            community_id(src, dst, self.protocol, sp, dp, 0)
        })
    }

    /// True when the flow was closed by FIN/RST.
    pub fn is_closed(&self) -> bool {
        self.tcp_state == TcpState::Closed
    }

    fn timeout(&self, c: &FlowConfig) -> u64 {
        match (self.protocol, self.tcp_state) {
            (6, TcpState::SynSent | TcpState::SynReceived) => c.tcp_new_timeout_ns,
            (6, TcpState::Closed) => c.tcp_closed_timeout_ns,
            (6, _) => c.tcp_established_timeout_ns,
            (17, _) => c.udp_timeout_ns,
            _ => c.other_timeout_ns,
        }
    }

    pub(crate) fn memory(&self) -> usize {
        std::mem::size_of::<Flow>()
            + COMMUNITY_ID_LEN
            + self.streams[0].buffered()
            + self.streams[1].buffered()
            + self.app.buffered()
    }
}

/// Heap bytes of a Community ID (`1:` and 28 base64 digits), charged to the
/// memcap whether or not it was computed yet, so the accounting does not
/// depend on which flows were asked for theirs.
const COMMUNITY_ID_LEN: usize = 30;

/// Counters of the table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlowCounters {
    /// Flows created.
    pub created: u64,
    /// Flows ended by timeout.
    pub timed_out: u64,
    /// Flows evicted by the memory cap or flow limit.
    pub evicted: u64,
    /// Flows ended because their tuple was reused.
    pub reused: u64,
}

/// The table. Flows live in a slab indexed by a hash map; a clock queue
/// approximates least-recently-used for eviction.
pub struct FlowTable {
    config: FlowConfig,
    index: HashMap<FlowKey, usize, foldhash::fast::RandomState>,
    slots: Vec<Option<Flow>>,
    free: Vec<usize>,
    clock: VecDeque<(usize, u64)>,
    next_id: u64,
    memory: usize,
    next_sweep_ns: u64,
    pub(crate) counters: FlowCounters,
}

/// How often (in packet time) the table looks for idle flows.
const SWEEP_INTERVAL_NS: u64 = 1_000_000_000;

impl FlowTable {
    /// An empty table.
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            config,
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            clock: VecDeque::new(),
            next_id: 1,
            memory: 0,
            next_sweep_ns: 0,
            counters: FlowCounters::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Flows tracked now.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no flow is tracked.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Memory charged now.
    pub fn memory(&self) -> usize {
        self.memory
    }

    pub(crate) fn get(&self, slot: usize) -> &Flow {
        self.slots[slot].as_ref().expect("live slot")
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> &mut Flow {
        self.slots[slot].as_mut().expect("live slot")
    }

    /// The flow in `slot`, if the slot is live.
    pub(crate) fn try_get(&self, slot: usize) -> Option<&Flow> {
        self.slots.get(slot)?.as_ref()
    }

    pub(crate) fn lookup(&mut self, key: &FlowKey) -> Option<usize> {
        let slot = *self.index.get(key)?;
        self.slots[slot].as_mut()?.referenced = true;
        Some(slot)
    }

    /// Creates a flow; `client` and `server` are (address, port).
    pub(crate) fn insert(
        &mut self,
        key: FlowKey,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        packet: &Packet<'_>,
        midstream: bool,
        app: AppState,
    ) -> usize {
        let cid_icmp = packet.icmp();
        let cid_reversed = cid_icmp.is_some() && (packet.src, packet.dst) != (client.0, server.0);
        let flow = Flow {
            id: self.next_id,
            key,
            client: client.0,
            client_port: client.1,
            server: server.0,
            server_port: server.1,
            protocol: packet.protocol,
            community_id: OnceCell::new(),
            cid_icmp,
            cid_reversed,
            first_ts_ns: packet.ts_ns,
            last_ts_ns: packet.ts_ns,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_state: if packet.protocol == 6 {
                TcpState::SynSent
            } else {
                TcpState::None
            },
            tcp_flags: [0; 2],
            midstream,
            interface: packet.interface,
            streams: [Stream::default(), Stream::default()],
            app,
            fin: [false; 2],
            referenced: true,
            charged: 0,
        };
        self.next_id += 1;
        self.counters.created += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(flow);
                s
            }
            None => {
                self.slots.push(Some(flow));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, slot);
        self.clock.push_back((slot, self.next_id - 1));
        self.recharge(slot);
        slot
    }

    /// Updates the memory charged for `slot` after its buffers changed.
    pub(crate) fn recharge(&mut self, slot: usize) {
        let flow = self.slots[slot].as_mut().expect("live slot");
        let now = flow.memory();
        self.memory = self.memory + now - flow.charged;
        flow.charged = now;
    }

    /// Removes a flow and returns it.
    pub(crate) fn remove(&mut self, slot: usize) -> Flow {
        let flow = self.slots[slot].take().expect("live slot");
        self.index.remove(&flow.key);
        self.memory -= flow.charged;
        self.free.push(slot);
        flow
    }

    /// True if the table is over its limits and a flow should go, given that
    /// one more flow of `extra` bytes is about to be added.
    pub(crate) fn over_limit(&self, extra_flows: usize) -> bool {
        self.index.len() + extra_flows > self.config.max_flows || self.memory > self.config.memcap
    }

    /// Picks a victim with the clock algorithm (never `keep`).
    pub(crate) fn pick_victim(&mut self, keep: Option<usize>) -> Option<usize> {
        let mut budget = self.clock.len() * 2 + 2;
        while budget > 0 {
            budget -= 1;
            let (slot, id) = self.clock.pop_front()?;
            let Some(flow) = self.slots[slot].as_mut() else {
                continue;
            };
            if flow.id != id {
                continue;
            }
            if Some(slot) == keep || flow.referenced {
                flow.referenced = false;
                self.clock.push_back((slot, id));
                continue;
            }
            return Some(slot);
        }
        None
    }

    /// Flows idle past their timeout at packet time `now`, if a sweep is due.
    pub(crate) fn expired(&mut self, now: u64, out: &mut Vec<usize>) {
        if now < self.next_sweep_ns {
            return;
        }
        self.next_sweep_ns = now.saturating_add(SWEEP_INTERVAL_NS);
        for (slot, f) in self.slots.iter().enumerate() {
            if let Some(f) = f
                && now.saturating_sub(f.last_ts_ns) > f.timeout(&self.config)
            {
                out.push(slot);
            }
        }
        // Compact the clock queue now and then: stale entries pile up.
        if self.clock.len() > 2 * self.index.len() + 1024 {
            let slots = &self.slots;
            self.clock
                .retain(|&(s, id)| slots[s].as_ref().is_some_and(|f| f.id == id));
        }
    }

    /// Every live slot (for shutdown).
    pub(crate) fn live_slots(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_some())
            .map(|(i, _)| i)
            .collect()
    }
}
