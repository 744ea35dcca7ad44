"""Sends numbered lines over one TCP connection from a fixed source port.

usage: line_client.py HOST PORT SRC_PORT COUNT INTERVAL_SECONDS
"""
import socket
import sys
import time

host, port, src_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count, interval = int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", src_port))
s.connect((host, port))
for i in range(count):
    s.sendall(f"line {i}\n".encode())
    time.sleep(interval)
s.close()
