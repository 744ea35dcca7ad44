//! Once warm, inspecting allocates nothing: a counting global allocator
//! watches a second pass over the same inputs.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sensor_engine::{EngineBuilder, Scratch};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn warm_inspection_does_not_allocate() {
    let rules = support::et_open(&[
        "emerging-user_agents.rules",
        "emerging-dns.rules",
        "emerging-policy.rules",
    ]);
    assert!(rules.len() > 500, "{} rules", rules.len());
    let own = support::rules(concat!(
        r#"alert http any any -> any any (msg:"ua"; http.user_agent; content:"sqlmap"; pcre:"/sqlmap\/\d/"; sid:99000001;)"#,
        "\n",
        r#"alert http any any -> any any (msg:"rate"; http.method; content:"GET"; threshold:type limit, track by_src, count 1, seconds 60; sid:99000002;)"#,
    ));
    let engine = EngineBuilder::new()
        .rules(rules)
        .rules(own)
        .build()
        .unwrap();
    let mut inputs = support::pcap_http_inputs();
    inputs.truncate(200);
    inputs.push(support::dns_query(b"example.com", 1));
    inputs.push(
        support::http_request(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap/1.0\r\n\r\n")
            .unwrap(),
    );
    let mut scratch = Scratch::new();
    let mut sink = |_: &sensor_engine::Match<'_>| {};
    let mut warm = 0;
    for i in &inputs {
        warm += engine.inspect(i, &mut scratch, &mut sink);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut again = 0;
    for i in &inputs {
        again += engine.inspect(i, &mut scratch, &mut sink);
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations on a warm pass");
    // The limited rule alerted once, in the first pass only.
    assert_eq!(again + 1, warm);
    assert!(warm > 0, "no alert at all: the inputs exercise nothing");
}
