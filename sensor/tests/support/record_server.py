"""A TCP server that records every byte it receives, for enforcement tests.

usage: record_server.py PORT LOGFILE [http]

Each chunk received is appended to LOGFILE as "<peer port> <repr(bytes)>".
In http mode, each request (up to the blank line) gets a 200 response, so
keep-alive clients can send several requests on one connection.
"""
import socket
import sys
import threading

port, log_path = int(sys.argv[1]), sys.argv[2]
http = len(sys.argv) > 3 and sys.argv[3] == "http"
lock = threading.Lock()


def record(peer_port, data):
    with lock, open(log_path, "a") as log:
        log.write(f"{peer_port} {data!r}\n")


def serve(conn, peer_port):
    pending = b""
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                return
            if not data:
                return
            record(peer_port, data)
            if http:
                pending += data
                while b"\r\n\r\n" in pending:
                    _, pending = pending.split(b"\r\n\r\n", 1)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", port))
srv.listen(64)
open(log_path, "a").close()
while True:
    conn, addr = srv.accept()
    threading.Thread(target=serve, args=(conn, addr[1]), daemon=True).start()
