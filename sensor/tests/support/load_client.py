"""Sends browser-like HTTP requests back to back over one keep-alive
connection for a fixed time and prints how many completed.

usage: load_client.py HOST PORT SECONDS
"""
import socket
import sys
import time

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
done = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    request = (
        f"GET /catalog/items?page={done}&sort=price HTTP/1.1\r\n"
        "Host: shop.lab.example\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Language: en-US,en;q=0.5\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Cookie: session=4f2a9c1e7b3d5a60; theme=dark\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    s.sendall(request)
    response = b""
    while not response.endswith(b"ok\n"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed")
        response += chunk
    done += 1
print(done)
