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
/// Rows start on 64-byte units ([`DFA_ROW_UNIT`]), and a transition is the
/// 16-bit unit number of the next state's row: the walk shifts it, adds
/// the byte's class (times 2) and loads. A 16-bit load needs no mask to
/// show the verifier it stays within the table, and the class map holds
/// classes already doubled, so that each byte and lane costs seven BPF
/// instructions (eight with more than [`DFA_DOUBLED_CLASSES`] classes).
/// A state that completes a pattern never lets go: every
/// transition of its row leads back to it, so the walk need not test each
/// byte and looks at [`DfaTable::matches`] once per run of bytes instead.
/// Its number is its row's unit divided by `row_units`, and
/// `DFA_MATCHES[b * bank_states + state]` says which pattern it completes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bank {
    /// Number of automaton states; 0 when the bank holds no automaton.
    pub states: u32,
    /// Number of byte classes (the row length).
    pub classes: u32,
    /// Units ([`DFA_ROW_UNIT`] bytes) per row: [`dfa_row_units`]`(classes)`.
    pub row_units: u32,
    /// Unit of the unanchored start state's row.
    pub start_row: u32,
    /// 0 when the class map holds classes doubled, 1 when the walk doubles
    /// them (more than [`DFA_DOUBLED_CLASSES`] classes).
    pub class_shift: u32,
    /// Which maps hold entries ([`blocks`] bits).
    pub blocks: u32,
    /// Length of the longest pattern: no state is deeper, so a walk started
    /// from the start state `max_len - 1` bytes early reaches the true state
    /// (the multi-lane walk relies on it).
    pub max_len: u32,
    /// Distance between the windows the gram filter samples
    /// ([`GramFilter`]); 0 when the bank has no filter and every payload is
    /// walked whole.
    pub gram_stride: u32,
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

/// Transitions an automaton may have while user space builds it (the
/// determinizer's budget); what the kernel takes is [`dfa_fits`].
pub const DFA_MAX_TRANSITIONS: usize = 1 << 21;
/// Bytes of a row unit: rows start on multiples of it.
pub const DFA_ROW_UNIT: usize = 64;
/// log2 of [`DFA_ROW_UNIT`].
pub const DFA_ROW_UNIT_SHIFT: u32 = 6;
/// Row units of a bank's table: a transition is a 16-bit unit number.
pub const DFA_MAX_ROW_UNITS: usize = 1 << 16;
/// Byte classes up to which the class map holds each class doubled (its
/// byte offset in a row of 16-bit transitions, still one byte), which
/// saves the walk a shift per byte; above it the map holds the class and
/// the walk doubles it ([`Bank::class_shift`] 1).
pub const DFA_DOUBLED_CLASSES: u32 = 128;
/// Byte offset of [`DfaTable::transitions`] in the table.
pub const DFA_ROWS_OFFSET: usize = 256;
/// Byte offset of [`DfaTable::matches`] in the table.
pub const DFA_MATCHES_OFFSET: usize = DFA_ROWS_OFFSET + 2 * DFA_TABLE_ENTRIES;
/// `u16` entries of [`DfaTable::transitions`]: every unit's 32, and 256
/// more so that the last unit's row may hold 256 classes.
const DFA_TABLE_ENTRIES: usize = DFA_MAX_ROW_UNITS * DFA_ROW_UNIT / 2 + 256;

/// Row units of a row of `classes` 16-bit transitions.
pub const fn dfa_row_units(classes: u32) -> u32 {
    (2 * classes).div_ceil(DFA_ROW_UNIT as u32)
}

/// Whether an automaton of `states` rows of `classes` classes fits a
/// [`DfaTable`].
pub const fn dfa_fits(states: u32, classes: u32) -> bool {
    (states as u64) * (dfa_row_units(classes) as u64) <= DFA_MAX_ROW_UNITS as u64
}

/// [`Bank::class_shift`] for `classes` classes.
pub const fn dfa_class_shift(classes: u32) -> u32 {
    if classes <= DFA_DOUBLED_CLASSES { 0 } else { 1 }
}

/// Value of `DFA_TABLE`: one bank's automaton, one map value (the kernel
/// takes array values larger than 4 MiB).
///
/// The walk keeps one pointer to it and reads a byte's doubled class at
/// `table + byte` and a transition at
/// `table + (row << DFA_ROW_UNIT_SHIFT) + 2 * class + DFA_ROWS_OFFSET`:
/// BPF has ten registers, and four lanes need eight of them for their rows
/// and byte pointers. Classes are added
/// to the table pointer off the chain of dependent loads, so that each
/// byte adds only a shift, an add and a load to it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DfaTable {
    /// Byte -> class, shifted left by `1 - Bank::class_shift`: doubled
    /// when there are at most [`DFA_DOUBLED_CLASSES`].
    pub classes: [u8; 256],
    /// Rows of `Bank::classes` transitions, state by state, each starting
    /// on a unit (state `s` at unit `s * Bank::row_units`); a transition
    /// holds the unit of the next state's row.
    pub transitions: [u16; DFA_TABLE_ENTRIES],
    /// 1 at the unit of each row whose state completes a pattern.
    pub matches: [u8; DFA_MAX_ROW_UNITS],
}

const _: () = assert!(core::mem::offset_of!(DfaTable, transitions) == DFA_ROWS_OFFSET);
const _: () = assert!(core::mem::offset_of!(DfaTable, matches) == DFA_MATCHES_OFFSET);
const _: () = assert!(1 << DFA_ROW_UNIT_SHIFT == DFA_ROW_UNIT);

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

/// log2 of the bits of a [`GramFilter`].
pub const GRAM_FILTER_BITS_LOG2: u32 = 22;
/// Bytes of a [`GramFilter`].
pub const GRAM_FILTER_BYTES: usize = 1 << (GRAM_FILTER_BITS_LOG2 - 3);
/// Bytes of a gram: the filter's windows are read as one 32-bit load.
pub const GRAM_LEN: u32 = 4;
/// Shortest pattern a bank with a filter holds, so that the stride
/// (`shortest - GRAM_LEN + 1`) is at least 3: at smaller strides sampling
/// costs about what the walk does.
pub const GRAM_MIN_PATTERN_LEN: u32 = 6;
/// ORed into a window before hashing: folds ASCII case (and, harmlessly,
/// some other byte pairs: the filter only has to let every occurrence
/// through).
pub const GRAM_FOLD: u32 = 0x2020_2020;

/// The bit of a [`GramFilter`] that stands for the 4-byte window `window`
/// (its bytes read little-endian): a multiplicative hash of the window
/// folded by [`GRAM_FOLD`], its top bits. 64-bit arithmetic: BPF's 64-bit
/// multiply and shift leave nothing to mask, where a 32-bit hash compiled to
/// two more instructions per window.
#[inline(always)]
pub const fn gram_bit(window: u32) -> u64 {
    gram_bit_of_folded((window | GRAM_FOLD) as u64, GRAM_HASH)
}

/// Fills a proper pattern prefix of fewer than [`GRAM_LEN`] bytes up to a
/// window: the filter also holds, for each pattern, the windows of its first
/// 1, 2 and 3 bytes followed by 3, 2 and 1 of these bytes, so that the kernel
/// can tell from four lookups whether a segment may end inside an
/// occurrence (and the automaton's state at its end matters to the next
/// segment). A byte text seldom holds, unchanged by [`GRAM_FOLD`].
pub const GRAM_PAD: u8 = 0xfe;

/// The multiplier of [`gram_bit`]'s hash.
pub const GRAM_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

/// [`gram_bit`] of a window already folded, with the multiplier passed in
/// (the kernel keeps it in a register).
#[inline(always)]
pub const fn gram_bit_of_folded(folded: u64, hash: u64) -> u64 {
    folded.wrapping_mul(hash) >> (64 - GRAM_FILTER_BITS_LOG2)
}

/// Value of `GRAM_FILTER`, one per bank: a bit per hashed 4-byte window of
/// the bank's patterns ([`gram_bit`]).
///
/// When every pattern is at least `L` bytes long and spelled as it is
/// matched (no percent-decoded URI pattern), every occurrence holds one of
/// the windows starting at a multiple of `L - 3`. The kernel then samples
/// only those windows, a load, a hash and a bit test per `L - 3` bytes, and
/// walks the automaton only around a window whose bit is set, instead of
/// over the whole payload (seven instructions per byte and lane).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GramFilter {
    /// Bit `b` is `bits[b >> 3] >> (b & 7) & 1`.
    pub bits: [u8; GRAM_FILTER_BYTES],
}

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
    unsafe impl aya::Pod for super::GramFilter {}
}

const _: () = assert!(core::mem::size_of::<CidrKey>() == 21);
const _: () = assert!(core::mem::size_of::<PortKey>() == 8);
const _: () = assert!(core::mem::size_of::<FlowKey>() == 40);
const _: () = assert!(core::mem::size_of::<FlowVerdict>() == 8);
