"""Sends a POST whose body follows its headers after a pause, then a GET,
over one connection from a fixed source port.

usage: body_client.py HOST PORT SRC_PORT BODY_LEN PAUSE_SECONDS
"""
import socket
import sys
import time

host, port, src_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body_len, pause = int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", src_port))
s.connect((host, port))
s.sendall(
    f"POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: {body_len}\r\n\r\n".encode()
)
time.sleep(pause)
body = (b"0123456789abcdef" * (body_len // 16 + 1))[:body_len]
for i in range(0, body_len, 1000):
    s.sendall(body[i : i + 1000])
    time.sleep(0.002)
time.sleep(pause)
s.sendall(b"GET /after-the-body HTTP/1.1\r\nHost: lab\r\n\r\n")
time.sleep(pause)
s.close()
