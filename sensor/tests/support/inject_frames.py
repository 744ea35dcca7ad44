#!/usr/bin/env python3
"""Sends hand-built Ethernet frames out of an interface with an AF_PACKET socket.

Used by the live capture tests for what the lab cannot produce with sockets:
VLAN tags (the CI kernel has no 802.1Q support, so no VLAN interfaces),
stacked 802.1ad/802.1Q tags, IPv4 options, IPv6 extension headers,
fragments and truncated headers. Each frame carries a distinct UDP/TCP port
pair so the test can find its record.

usage: inject_frames.py IFACE DST_MAC
"""
import socket
import struct
import sys

iface, dst_mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
src_mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))

SRC4, DST4 = socket.inet_aton("10.77.0.1"), socket.inet_aton("10.77.0.2")
SRC6, DST6 = socket.inet_pton(socket.AF_INET6, "fd77::1"), socket.inet_pton(socket.AF_INET6, "fd77::2")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto: int, payload: bytes, options: bytes = b"", frag: int = 0, ident: int = 0x1234) -> bytes:
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, ihl * 4 + len(payload), ident, frag, 64, proto, 0, SRC4, DST4)
    hdr += options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(next_hdr: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_hdr, 64, SRC6, DST6) + payload


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def eth(ethertype: int, payload: bytes, tags=()) -> bytes:
    frame = dst_mac + src_mac
    for tpid, vid in tags:
        frame += struct.pack("!HH", tpid, vid)
    return frame + struct.pack("!H", ethertype) + payload


frames = {
    # One 802.1Q tag, VLAN 100, UDP 40001 -> 50001.
    "vlan": eth(0x0800, ipv4(17, udp(40001, 50001, b"vlan-one")), tags=[(0x8100, 100)]),
    # 802.1ad outer tag 200 and 802.1Q inner tag 300 (QinQ), UDP 40002 -> 50002.
    "qinq": eth(0x0800, ipv4(17, udp(40002, 50002, b"vlan-two")), tags=[(0x88A8, 200), (0x8100, 300)]),
    # IPv4 with 8 bytes of options (NOPs + end), UDP 40003 -> 50003.
    "ipv4-options": eth(0x0800, ipv4(17, udp(40003, 50003, b"options"), options=b"\x01" * 7 + b"\x00")),
    # IPv6 with hop-by-hop and destination-options headers before UDP 40004 -> 50004.
    "ipv6-ext": eth(0x86DD, ipv6(0, bytes([60, 0]) + b"\x01\x04\0\0\0\0" + bytes([17, 0]) + b"\x01\x04\0\0\0\0"
                                + udp(40004, 50004, b"ext-headers"))),
    # A non-first IPv4 fragment (offset 185*8 = 1480): no transport header to parse.
    "fragment": eth(0x0800, ipv4(17, b"tail-of-datagram", frag=185, ident=0x4242)),
    # A TCP header cut after 8 bytes: the IP length says 28, the TCP header needs 20.
    "truncated-tcp": eth(0x0800, ipv4(6, struct.pack("!HHI", 40006, 50006, 1))),
}

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for name in sys.argv[3:] or frames:
    s.send(frames[name])
