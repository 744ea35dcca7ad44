#!/usr/bin/env bash
# Sets everything up, then runs every check and test Vigil has: formatting,
# clippy, unit tests, and the live tests (the real eBPF program attached in
# network namespaces, real rsyslog, real SQLite files). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo clippy (eBPF crate, BPF target, nightly)"
cargo +nightly clippy -p sensor-ebpf --target bpfel-unknown-none -Z build-std=core --release -- -D warnings
echo "== cargo test"
cargo test --no-fail-fast
echo "== fuzz the parsers (${VIGIL_FUZZ_SECONDS:=15} s per target)"
(
    cd sensor-proto/fuzz
    for target in $(cargo +nightly fuzz list); do
        echo "-- $target"
        cargo +nightly fuzz run "$target" -- -max_total_time="$VIGIL_FUZZ_SECONDS" -rss_limit_mb=2048 2>&1 | tail -n 3
        test "${PIPESTATUS[0]}" -eq 0
    done
)

