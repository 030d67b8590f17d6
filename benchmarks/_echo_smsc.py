"""A minimal SMPP 3.4 server for throughput benchmarks: it answers, and does nothing else.

Binds (transmitter, receiver, transceiver), ``enquire_link`` and ``unbind`` are
answered; every ``submit_sm`` is accepted with a message id of its own and
logged as one JSON line ``{"ev": "submit", "at": <time.monotonic()>}`` on stdout
(what ``isobil.testing.smsc`` logs, less the fields); every other PDU is ignored.
One thread, non-blocking sockets: the answers to everything one read brought
are written with one ``send`` (``--each``: one ``send`` per answer, as a server
that answers PDU by PDU writes them), so the server costs a few microseconds a
PDU and the clients it serves, not the server, set the pace. It stops when its
stdin closes. Usage: ``python benchmarks/_echo_smsc.py --port PORT [--each]``.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import struct
import sys
import time

HEADER = struct.Struct(">IIII")
BINDS = {0x00000001, 0x00000002, 0x00000009}  # bind_receiver, bind_transmitter, bind_transceiver
SUBMIT_SM, UNBIND, ENQUIRE_LINK = 0x00000004, 0x00000006, 0x00000015


def answer(command_id: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(16 + len(body), command_id | 0x80000000, 0, sequence) + body


def serve(port: int, each: bool) -> None:
    selector = selectors.DefaultSelector()
    server = socket.create_server(("127.0.0.1", port))
    server.setblocking(False)
    selector.register(server, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytearray] = {}
    count = 0
    out = sys.stdout
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                if not sys.stdin.readline():
                    return  # stdin closed: the benchmark is done
                continue
            if key.fileobj is server:
                conn, _ = server.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.setblocking(False)
                buffers[conn] = bytearray()
                selector.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                chunk = conn.recv(1 << 18)
            except ConnectionError:
                chunk = b""
            if not chunk:
                selector.unregister(conn)
                buffers.pop(conn, None)
                conn.close()
                continue
            buffer = buffers[conn]
            buffer += chunk
            replies: list[bytes] = []
            offset, closing = 0, False
            now = time.monotonic()
            while len(buffer) - offset >= 16:
                length, command_id, _, sequence = HEADER.unpack_from(buffer, offset)
                if len(buffer) - offset < length:
                    break
                offset += length
                if command_id == SUBMIT_SM:
                    count += 1
                    replies.append(answer(command_id, sequence, b"%x\0" % count))
                    out.write(f'{{"ev": "submit", "at": {now!r}}}\n')
                elif command_id in BINDS:
                    replies.append(answer(command_id, sequence, b"echo\0"))
                elif command_id == ENQUIRE_LINK:
                    replies.append(answer(command_id, sequence))
                elif command_id == UNBIND:
                    replies.append(answer(command_id, sequence))
                    closing = True
            del buffer[:offset]
            out.flush()
            conn.setblocking(True)
            for reply in replies if each else [b"".join(replies)]:
                conn.sendall(reply)
            conn.setblocking(False)
            if closing:
                selector.unregister(conn)
                buffers.pop(conn, None)
                conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--each", action="store_true", help="one send per answer")
    args = parser.parse_args()
    serve(args.port, args.each)


if __name__ == "__main__":
    main()
