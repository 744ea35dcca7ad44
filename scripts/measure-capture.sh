#!/usr/bin/env bash
# Measures the kernel capture under sustained lab load: the TC program's
# average cost per packet (kernel.bpf_stats: run_time_ns / run_cnt) and the
# records lost at that load. Usage: scripts/measure-capture.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
scripts/setup.sh >/dev/null
cargo build --release -p sensor 2>/dev/null
VIGIL="$PWD/target/release/vigil"
LAB=(--name vigil-bench)

cleanup() { "$VIGIL" lab "${LAB[@]}" down; }
trap cleanup EXIT
"$VIGIL" lab "${LAB[@]}" up >/dev/null
WWW=$(mktemp -d); head -c 2000 /dev/urandom | base64 > "$WWW/page"
"$VIGIL" lab "${LAB[@]}" exec server python3 -m http.server 8080 --bind 10.77.0.2 --directory "$WWW" >/dev/null 2>&1 &
SERVER=$!
sleep 1

"$VIGIL" lab "${LAB[@]}" exec server "$VIGIL" capture --iface veth-srv --quiet --json --bpf-stats \
    --duration $((SECS + 2)) 2> /tmp/vigil-measure.json &
CAPTURE=$!
sleep 1

# Load: a UDP flood of small datagrams plus HTTP requests, for SECS seconds.
"$VIGIL" lab "${LAB[@]}" exec client python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end, n = time.time() + $SECS, 0
while time.time() < end:
    for _ in range(1000):
        s.sendto(b'x' * 64, ('10.77.0.2', 9999))
    n += 1000
print(f'udp datagrams sent: {n} ({n / $SECS:.0f}/s)')
" &
UDP=$!
REQS=0
END=$((SECONDS + SECS))
while [ $SECONDS -lt $END ]; do
    "$VIGIL" lab "${LAB[@]}" exec client curl -s -o /dev/null "http://10.77.0.2:8080/page" && REQS=$((REQS + 1))
done
wait $UDP
echo "http requests: $REQS"
wait $CAPTURE || true
kill $SERVER 2>/dev/null || true
grep summary /tmp/vigil-measure.json | python3 -c "
import json, sys
s = json.load(sys.stdin)['summary']
c = s['counters']
print(f\"packets seen {c['packets_seen']}, records emitted {c['records_emitted']}, lost {c['records_lost']}, received {s['records_received']}\")
for p in s['program_stats']:
    print(f\"{p['program']}: {p['run_count']} runs, {p['avg_ns']:.0f} ns per packet\")
"
