"""A DNS stub for tests in a private network namespace: answers every query on 127.0.0.1:53 with
NXDOMAIN, so that name lookups fail as they would for an unknown host, without any real DNS."""
import socket
import struct
import sys


def question_end(query):
    i = 12
    while query[i] != 0:
        i += 1 + query[i]
    return i + 1 + 4  # the root label, QTYPE, QCLASS


def answer(query):
    ident, flags = struct.unpack("!HH", query[:4])
    rd = flags & 0x0100
    header = struct.pack("!HHHHHH", ident, 0x8000 | 0x0400 | rd | 0x0080 | 3, 1, 0, 0, 0)
    return header + query[12:question_end(query)]


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").close()  # tells the test the stub is ready
    sock.settimeout(15)  # bounded: the namespace's test is over long before
    while True:
        try:
            query, peer = sock.recvfrom(512)
        except socket.timeout:
            return
        if len(query) > 12:
            sock.sendto(answer(query), peer)


if __name__ == "__main__":
    main()
