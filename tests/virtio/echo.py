#!/usr/bin/env python3
"""Frame echo for the virtio-net tests: echo.py udp|unix|packet READY_FILE [PATH|IFNAME].

Sends every datagram back where it came from.  udp: binds an ephemeral
port on 127.0.0.1, also picks a free port for the guest's side, and writes
"ECHO_PORT GUEST_PORT" to READY_FILE; unix: binds PATH and writes "ready";
packet: takes net-bench's frames (ethertype 0x88b5) on interface IFNAME and
sends each back out unchanged, writes "ready".  Runs until killed."""
import os
import socket
import sys

kind, ready = sys.argv[1], sys.argv[2]
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    guest_port = probe.getsockname()[1]
    probe.close()
    line = "%d %d\n" % (s.getsockname()[1], guest_port)
elif kind == "packet":
    ETH_P_NET_BENCH = 0x88B5
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_NET_BENCH))
    s.bind((sys.argv[3], ETH_P_NET_BENCH))
    line = "ready\n"
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sys.argv[3])
    line = "ready\n"
with open(ready + ".tmp", "w") as f:
    f.write(line)
os.rename(ready + ".tmp", ready)
while True:
    data, addr = s.recvfrom(65536)
    if kind == "packet":
        if addr[2] != socket.PACKET_OUTGOING:  # not our own echo coming back
            s.send(data)
        continue
    s.sendto(data, addr)
