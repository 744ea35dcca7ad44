#!/usr/bin/env bash
# The detection engine's cost per input as callgrind simulates it:
# instructions, L1 data cache misses and branch mispredictions of
# `Engine::inspect` alone (rule loading and compiling are not counted).
# Unlike wall time, these figures do not move with a busy host, so two
# builds can be compared on a noisy VM where timings vary by half
# (criterion stays the measure of speed; this is the measure of work).
#
# Usage: scripts/engine-cost.sh [KIND] [RULES] [PASSES]
#   KIND   req, resp (the shared captures' HTTP), breq, bresp (a browser
#          session), tls, dns; default breq
#   RULES  ET Open rules of the protocol: a number, or all; default all
#   PASSES passes over the inputs; default 20
# HTTP transactions are inspected without `payload`, as the pipeline
# presents them (VIGIL_NO_PAYLOAD=0 to include it). ENGINE_PROFILE=path
# measures that build of the engine_profile example (another checkout's)
# instead of building this one's. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:-breq}
RULES=${2:-all}
PASSES=${3:-20}
command -v valgrind >/dev/null || { echo "engine-cost: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ -n "${ENGINE_PROFILE:-}" ]; then
    BIN=$ENGINE_PROFILE
else
    cargo build -q --release -p sensor-engine --example engine_profile
    BIN=${CARGO_TARGET_DIR:-target}/release/examples/engine_profile
fi
export VIGIL_KIND=$KIND VIGIL_NO_PAYLOAD=${VIGIL_NO_PAYLOAD:-1}
INPUTS=$(VIGIL_PASSES=0 "$BIN" "$RULES" 0 | sed -n 's/^\([0-9]*\) inputs, .*/\1/p')
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
# engine_profile inspects every input once for its figures (the first,
# cold inspections: scratch sizing, lazy DFA caches), then PASSES times:
# a run of 0 passes is subtracted, so that only warm inspections count.
count() {
    VIGIL_PASSES=$1 valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes \
        --callgrind-out-file="$DIR/out.$1" \
        --toggle-collect='sensor_engine::engine::Engine::inspect' \
        "$BIN" "$RULES" 0 2>&1 >/dev/null |
        awk '/I *refs:/ { gsub(",", "", $4); i = $4 }
             /D1 *misses:/ { gsub(",", "", $4); d = $4 }
             /Mispredicts:/ { gsub(",", "", $3); m = $3 }
             END { print i, d, m }' >"$DIR/sum.$1"
}
count 0 &
count "$PASSES"
wait
read -r i0 d0 m0 <"$DIR/sum.0"
read -r i1 d1 m1 <"$DIR/sum.$PASSES"
awk -v n=$((INPUTS * PASSES)) -v what="$KIND, $RULES rules" \
    -v i=$((i1 - i0)) -v d=$((d1 - d0)) -v m=$((m1 - m0)) 'BEGIN {
        printf "%s, per input: %.0f instructions, %.1f L1d misses, %.1f branch mispredictions\n",
            what, i / n, d / n, m / n }'
