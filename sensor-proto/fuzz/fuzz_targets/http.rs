//! HTTP/1.x parser: the input is split into chunks alternating between the
//! two directions (the first byte of each chunk picks direction and size),
//! with gaps, the way reassembly would deliver it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor_proto::Side;
use sensor_proto::http::{HttpConfig, HttpState};

fuzz_target!(|data: &[u8]| {
    let mut state = HttpState::new(HttpConfig {
        max_header_bytes: 4096,
        max_pending_requests: 8,
    });
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let side = if ctl & 1 == 0 {
            Side::ToServer
        } else {
            Side::ToClient
        };
        let len = usize::from(ctl >> 2).min(tail.len());
        let (mut chunk, next) = tail.split_at(len);
        rest = next;
        if ctl & 2 != 0 {
            state.gap(side, u64::from(ctl >> 3), &mut out);
        }
        while !chunk.is_empty() {
            let skip = state.skippable(side);
            if skip > 0 {
                let k = skip.min(chunk.len() as u64);
                state.skip(side, k);
                chunk = &chunk[k as usize..];
                continue;
            }
            let used = state.feed(side, chunk, 0, &mut out);
            chunk = &chunk[used..];
        }
        out.clear();
    }
});
