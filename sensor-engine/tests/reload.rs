//! Hot reload: a new engine swaps in atomically, a failed build keeps the
//! running one, rate counters carry over.

mod support;

use sensor_engine::{BuildErrorKind, EngineBuilder, Scratch, SharedEngine};
use sensor_rules::ir::{BufferItem, Expr, Predicate};
use support::{TestInput, rules};

fn alerts(shared: &SharedEngine, input: &TestInput) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    shared.load().inspect(input, &mut Scratch::new(), &mut out);
    out
}

#[test]
fn reload_swaps_and_failed_reload_keeps_running_engine() {
    let v1 = rules(r#"alert tcp any any -> any any (msg:"v1"; content:"evil"; sid:1;)"#);
    let shared = SharedEngine::new(EngineBuilder::new().rules(v1).build().unwrap());
    let input = TestInput::packet(b"evil stuff");
    assert_eq!(alerts(&shared, &input), [(1, 1)]);

    let v2 = rules(r#"alert tcp any any -> any any (msg:"v2"; content:"stuff"; sid:2;)"#);
    shared
        .reload(|rates| Ok(EngineBuilder::new().rates(rates).rules(v2)))
        .unwrap();
    assert_eq!(alerts(&shared, &input), [(1, 2)]);

    // A rule whose regex does not compile makes a strict build fail.
    let mut bad = rules(r#"alert tcp any any -> any any (msg:"bad"; pcre:"/x/"; sid:3;)"#);
    let Expr::Predicate(Predicate::Buffer(b)) = &mut bad[0].condition else {
        panic!("unexpected condition {:?}", bad[0].condition);
    };
    let BufferItem::Pcre(p) = &mut b.items[0] else {
        panic!("unexpected item");
    };
    p.pattern = "(unclosed".into();
    let err = shared
        .reload(|_| Ok(EngineBuilder::new().strict(true).rules(bad.clone())))
        .unwrap_err();
    assert_eq!(err.kind, BuildErrorKind::Strict);
    assert_eq!(err.rule, Some((1, 3)));
    // The running engine is untouched.
    assert_eq!(alerts(&shared, &input), [(1, 2)]);

    // Not strict: the rule is skipped and reported.
    let lenient = EngineBuilder::new().rules(bad).build().unwrap();
    assert_eq!(lenient.stats().skipped.len(), 1);
    assert_eq!(lenient.stats().rules, 0);
}

#[test]
fn engines_share_rate_counters_across_reload() {
    let text = r#"alert tcp any any -> any any (msg:"once"; content:"x"; threshold:type limit, track by_src, count 1, seconds 60; sid:9;)"#;
    let shared = SharedEngine::new(EngineBuilder::new().rules(rules(text)).build().unwrap());
    let input = TestInput::packet(b"x");
    assert_eq!(alerts(&shared, &input).len(), 1);
    shared
        .reload(|rates| Ok(EngineBuilder::new().rates(rates).rules(rules(text))))
        .unwrap();
    // Same rule, same source, same window: still limited after reload.
    assert_eq!(alerts(&shared, &input).len(), 0);
}
