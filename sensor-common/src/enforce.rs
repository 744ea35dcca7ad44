//! Map layouts of in-kernel enforcement (IPS mode), shared by the TC program
//! and user space's `vigil::enforce`.
//!
//! # Atomic rule reloads: generations
//!
//! Address and port blocks are keyed by a *generation* number, and the pattern
//! automaton lives in one of two *banks*. The kernel reads the active
//! generation ([`ActiveState`], slot 0 of the `ACTIVE` map) once per packet and only
//! consults entries of that generation, and the automaton bank `generation & 1`.
//! A reload writes the complete new block set under `generation + 1` (and the
//! new automaton into the other bank) while the old one stays in force, then
//! flips the active generation with one 4-byte map write, then deletes the old
//! entries. A packet therefore sees either the whole old set or the whole new
//! set, never a mix. The price is that the maps hold two sets during a reload:
//! they are sized at twice the configured limits.

/// Why the TC program dropped a packet ([`crate::RecordHeader::drop_reason`]).
pub mod reason {
    /// Not dropped.
    pub const NONE: u8 = 0;
    /// The source address is in a blocked CIDR.
    pub const CIDR_SRC: u8 = 1;
    /// The destination address is in a blocked CIDR.
    pub const CIDR_DST: u8 = 2;
    /// The transport protocol and port are blocked.
    pub const PORT: u8 = 3;
    /// The flow has a drop verdict.
    pub const FLOW: u8 = 4;
    /// The payload matched a pattern of the in-kernel automaton.
    pub const PATTERN: u8 = 5;

    /// Stable name of a reason, for logs and JSON.
    pub const fn name(reason: u8) -> &'static str {
        match reason {
            NONE => "none",
            CIDR_SRC => "cidr_src",
            CIDR_DST => "cidr_dst",
            PORT => "port",
            FLOW => "flow",
            PATTERN => "pattern",
            _ => "unknown",
        }
    }
}

/// Data part of an LPM-trie key (the trie's `prefix_len` comes first).
///
/// The generation (big-endian) forms the first 32 bits and the address
/// family the next 8, so that a block's prefix length is
/// `32 + 8 + n` for a `/n` network: the generation and the family always
/// match exactly, and an IPv6 block (even `::/0`) never covers IPv4 traffic.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidrKey {
    /// Generation, big-endian.
    pub generation: [u8; 4],
    /// 4 or 6.
    pub family: u8,
    /// The address, network order; IPv4 in the first 4 bytes.
    pub addr: [u8; 16],
}

/// Bits of an LPM key prefix covering the generation and the family.
pub const CIDR_KEY_PREFIX_BITS: u32 = 32 + 8;

/// Which address of a packet a CIDR block or a port block applies to.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The packet's source address or port.
    Src = 0,
    /// The packet's destination address or port.
    Dst = 1,
}

/// Key of the blocked-ports hash.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortKey {
    /// Generation the entry belongs to.
    pub generation: u32,
    /// Port, host byte order.
    pub port: u16,
    /// IP protocol (6 TCP, 17 UDP).
    pub protocol: u8,
    /// [`Side`] as u8.
    pub side: u8,
}

/// Key of the flow-verdict map: one direction of a flow, as the packet
/// carries it. User space inserts both directions.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Source address (IPv4 in the first 4 bytes, the rest zero).
    pub src_addr: [u8; 16],
    /// Destination address (IPv4 in the first 4 bytes, the rest zero).
    pub dst_addr: [u8; 16],
    /// Source port (0 for ICMP).
    pub src_port: u16,
    /// Destination port (0 for ICMP).
    pub dst_port: u16,
    /// IP protocol.
    pub protocol: u8,
    /// Always zero (hash keys compare every byte).
    pub _pad: [u8; 3],
}

/// [`FlowVerdict::action`] values.
pub mod action {
    /// Drop every packet of the flow.
    pub const DROP: u8 = 1;
    /// Let the flow through without running the pattern automaton: set when
    /// user space's full rule check did not confirm a kernel pattern hit.
    pub const ALLOW: u8 = 2;
}

/// Value of the flow-verdict map.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowVerdict {
    /// See [`action`].
    pub action: u8,
    /// Always zero.
    pub _pad: [u8; 3],
    /// Rule that decided the verdict.
    pub sid: u32,
}

/// Slot 0 of the `ACTIVE` map: the generation in force.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActiveState {
    /// Generation of address and port blocks in force; the automaton bank is
    /// `generation & 1`.
    pub generation: u32,
}

/// What the kernel needs per bank (`BANKS` map, indexed by `generation & 1`):
/// which block maps hold entries, and the pattern automaton's shape.
///
/// The `blocks` bits let a packet skip the lookups of empty maps; they are
/// written with the rest of a generation before it is switched in, so they
/// stay consistent with it.
///
/// The automaton is a table of rows, one per state, of one transition per
/// byte class: bank `b`'s table is the single value `DFA_TABLE[b]`
/// ([`DfaTable`]), so that every lane of the walk indexes one pointer.
///
/// Transitions are *premultiplied*: a transition holds the byte offset of
/// the next state's row, so the walk adds the byte's class (times 4) and
/// loads. [`DFA_MATCH_BIT`] is set when the next state completes a
/// pattern. Such a state never lets go: every transition of its row leads
/// back to it, flagged, so the walk need not test each byte's transition
/// and looks for the bit once per run of bytes instead. Its number is its
/// row's offset divided by `4 * classes`, and `DFA_MATCHES[b * bank_states
/// + state]` says which pattern it completes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bank {
    /// Number of automaton states; 0 when the bank holds no automaton.
    pub states: u32,
    /// Number of byte classes (the row length).
    pub classes: u32,
    /// Byte offset of the unanchored start state's row in the bank's rows.
    pub start_row: u32,
    /// Which maps hold entries ([`blocks`] bits).
    pub blocks: u32,
    /// Length of the longest pattern: no state is deeper, so a walk started
    /// from the start state `max_len - 1` bytes early reaches the true state
    /// (the multi-lane walk relies on it).
    pub max_len: u32,
}

/// Bits of [`Bank::blocks`].
pub mod blocks {
    /// The source-CIDR trie has entries of this generation.
    pub const CIDR_SRC: u32 = 1 << 0;
    /// The destination-CIDR trie has entries of this generation.
    pub const CIDR_DST: u32 = 1 << 1;
    /// The port set has entries of this generation.
    pub const PORTS: u32 = 1 << 2;
    /// Flow verdicts have been set (they outlive generations).
    pub const FLOWS: u32 = 1 << 3;
}

/// log2 of the rows' part of a [`DfaTable`] in `u32` entries.
pub const DFA_TABLE_BITS: u32 = 20;
/// Transitions a bank holds at most (4 MiB of rows).
pub const DFA_MAX_TRANSITIONS: usize = 1 << DFA_TABLE_BITS;
/// Mask of a row's byte offset in [`DfaTable::transitions`]: the walk masks
/// every row it loads, which shows the verifier each load within the value
/// (a correct table never needs it).
pub const DFA_ROW_MASK: u32 = ((1 << DFA_TABLE_BITS) - 1) * 4;
/// Byte offset of [`DfaTable::transitions`] in the table.
pub const DFA_ROWS_OFFSET: usize = 256;

/// Value of `DFA_TABLE`: one bank's automaton, one map value (the kernel
/// takes array values larger than 4 MiB).
///
/// The walk keeps one pointer to it and reads a byte's class at `table +
/// byte` and a transition at `table + 4 * class + row + DFA_ROWS_OFFSET`:
/// BPF has ten registers, and four lanes need eight of them for their rows
/// and byte pointers. Rows are byte offsets and classes are scaled and
/// added to the table pointer off the chain of dependent loads, so that
/// each byte adds only a mask, an add and a load to it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DfaTable {
    /// Byte -> class.
    pub classes: [u8; 256],
    /// Rows of `Bank::classes` transitions, state by state; a transition
    /// holds the byte offset of the next state's row (`4 * state *
    /// classes`). The last 256 entries are never used by a correct table:
    /// they keep a masked row plus a class within the value.
    pub transitions: [u32; DFA_MAX_TRANSITIONS + 256],
}

const _: () = assert!(core::mem::offset_of!(DfaTable, transitions) == DFA_ROWS_OFFSET);

/// Set in a transition when the next state completes a pattern (see
/// [`Bank`]). Bit 30, not 31, so that the walk's test is a compare with an
/// immediate (`> 0x3fff_ffff`; BPF immediates are signed 32-bit): no
/// transition ever has bit 31 set. In user space's [`DfaMatch`] numbering
/// (before the rows are laid out) the low bits are the state's number.
pub const DFA_MATCH_BIT: u32 = 1 << 30;

/// Value of `DFA_MATCHES`: the pattern a match state completes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DfaMatch {
    /// Index of the pattern in the set user space compiled.
    pub pattern: u32,
    /// Rule the pattern belongs to.
    pub sid: u32,
}

/// Value of the `DFA_RESUME` map (keyed by [`FlowKey`], one direction): where
/// the automaton stopped at the end of a TCP segment, so that the next
/// in-order segment resumes there and a pattern split across segments is
/// still found.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DfaResume {
    /// Sequence number of the segment that resumes here.
    pub next_seq: u32,
    /// Row to resume from (absolute transition index).
    pub row: u32,
    /// Generation the row belongs to (another generation's automaton
    /// restarts from its start state).
    pub generation: u32,
    /// Always zero.
    pub _pad: u32,
}

/// Payload bytes the automaton walks per `bpf_loop` iteration: amortizes the
/// callback's cost over several bytes.
pub const DFA_BYTES_PER_STEP: u32 = 64;

/// Bits of the `PATTERN_DIRECTIONS` load-time global.
pub mod directions {
    /// Run the automaton on ingress packets (client to server when attached
    /// on the server's interface).
    pub const INGRESS: u8 = 1;
    /// Run it on egress packets.
    pub const EGRESS: u8 = 2;
}

/// Value of the header-only map: the body region of one flow direction.
///
/// TCP payload whose sequence range lies entirely inside
/// `[body_seq, body_seq + body_len)` is body: its record carries the headers
/// and `payload_len`, but `captured_len` 0. Sequence numbers rather than a
/// byte count decremented per packet keep retransmissions and reordering from
/// shifting the region.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodySkip {
    /// Sequence number of the first body byte.
    pub body_seq: u32,
    /// Number of body bytes.
    pub body_len: u32,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY (all): plain repr(C) data without padding, valid for any bit pattern.
    unsafe impl aya::Pod for super::CidrKey {}
    unsafe impl aya::Pod for super::PortKey {}
    unsafe impl aya::Pod for super::FlowKey {}
    unsafe impl aya::Pod for super::FlowVerdict {}
    unsafe impl aya::Pod for super::ActiveState {}
    unsafe impl aya::Pod for super::Bank {}
    unsafe impl aya::Pod for super::DfaMatch {}
    unsafe impl aya::Pod for super::DfaTable {}
    unsafe impl aya::Pod for super::BodySkip {}
    unsafe impl aya::Pod for super::DfaResume {}
}

const _: () = assert!(core::mem::size_of::<CidrKey>() == 21);
const _: () = assert!(core::mem::size_of::<PortKey>() == 8);
const _: () = assert!(core::mem::size_of::<FlowKey>() == 40);
const _: () = assert!(core::mem::size_of::<FlowVerdict>() == 8);
