#!/usr/bin/env bash
# Vigil's main job on its built-in defaults, end to end on this machine:
# bring up the lab (two network namespaces joined by a veth pair), attach the
# kernel capture on the server side, have the client make HTTP requests over
# IPv4 and IPv6, print the header records the kernel handed over, tear down.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p sensor
VIGIL="$PWD/target/release/vigil"

cleanup() {
    [ -n "${CAPTURE_PID:-}" ] && kill -TERM "$CAPTURE_PID" 2>/dev/null && wait "$CAPTURE_PID" 2>/dev/null || true
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
    "$VIGIL" lab down
}
trap cleanup EXIT

echo "== vigil lab up"
"$VIGIL" lab up
WWW=$(mktemp -d)
echo "hello from the lab server" > "$WWW/index.html"
"$VIGIL" lab exec server python3 -m http.server 8080 --bind :: --directory "$WWW" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do "$VIGIL" lab exec server ss -Htln | grep -q ':8080' && break; sleep 0.1; done

echo "== vigil capture --iface veth-srv (in the server namespace)"
"$VIGIL" lab exec server "$VIGIL" capture --iface veth-srv &
CAPTURE_PID=$!
sleep 1

echo "== the client makes requests"
"$VIGIL" lab exec client curl -sS -o /dev/null -A "Mozilla/5.0 (demo)" -H "X-Request-Id: demo-1" http://10.77.0.2:8080/index.html
"$VIGIL" lab exec client curl -sS -o /dev/null -g -H "Authorization: Basic ZGVtbzpkZW1v" "http://[fd77::2]:8080/?q=demo"
"$VIGIL" lab exec client curl -sS -o /dev/null http://10.77.0.2:8080/missing
sleep 0.5
kill -TERM "$CAPTURE_PID"; wait "$CAPTURE_PID" || true
CAPTURE_PID=
echo "== done; tearing the lab down"
