"""Sends HTTP requests over one keep-alive TCP connection from a fixed port.

usage: http_client.py HOST PORT SRC_PORT TIMEOUT VALUE...

Each VALUE becomes one request carrying the header "X-Data: VALUE"; a
VALUE "path=/p" instead requests /p (with "X-Data: path"). Prints
one line per request: "ok" when the response arrived within TIMEOUT
seconds, "timeout" otherwise (and stops: the connection is then stuck).
HTTP_CLIENT_PAUSE (seconds, default 0) waits between requests.
"""
import os
import socket
import sys
import time

host, port, src_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
timeout = float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", src_port))
s.connect((host, port))
s.settimeout(timeout)
pause = float(os.environ.get("HTTP_CLIENT_PAUSE", "0"))
for i, value in enumerate(sys.argv[5:]):
    if i:
        time.sleep(pause)
    path = "/item"
    if value.startswith("path="):
        path, value = value[len("path="):], "path"
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: lab\r\nX-Data: {value}\r\n\r\n".encode())
    response = b""
    try:
        while not response.endswith(b"ok\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            response += chunk
        print("ok" if response.endswith(b"ok\n") else "closed", flush=True)
    except socket.timeout:
        print("timeout", flush=True)
        break
