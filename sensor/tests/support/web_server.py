"""A keep-alive HTTP/1.1 server with bodies of any size, for header-only
capture measurements.

usage: web_server.py PORT

GET /size/N answers with an N-byte body (Content-Length); GET /stream/N with
an N-byte body and no length (the connection closes after it); request
bodies (Content-Length) are read and discarded.
"""
import socket
import sys
import threading

port = int(sys.argv[1])
FILL = b"0123456789abcdef" * 4096


def body(n):
    out = FILL * (n // len(FILL) + 1)
    return out[:n]


def serve(conn):
    pending = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            while len(pending) < length:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            pending = pending[length:]
            parts = path.split("/")
            size = int(parts[2].split("?")[0]) if len(parts) > 2 and parts[2][:1].isdigit() else 512
            if parts[1] == "stream":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
                conn.sendall(body(size))
                return
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                + f"Content-Length: {size}\r\n\r\n".encode()
                + body(size)
            )


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", port))
srv.listen(64)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
