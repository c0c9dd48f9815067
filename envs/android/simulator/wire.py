"""The device side of the adb wire protocol, over TCP, for the device simulator.

Packets (``OVERVIEW.TXT`` / ``protocol.txt`` in AOSP ``packages/modules/adb``)
are a 24-byte little-endian header ``command, arg0, arg1, data_length,
data_check, magic`` (``magic == command ^ 0xffffffff``; the check is the byte
sum of the payload, ignored from version ``0x01000001`` on but still sent,
which every adb accepts) followed by the payload.

A real adb server that was told ``adb connect 127.0.0.1:PORT`` sends ``CNXN``;
we answer ``CNXN`` with a ``device::`` banner (no ``AUTH``), then serve each
``OPEN`` of a ``shell:`` / ``shell,v2:`` / ``exec:`` service on a thread of its
own, honouring adb's flow control (one ``WRTE`` in flight per stream until the
host's ``OKAY``). Any other service is refused with ``CLSE``, as adbd does.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass
from typing import Callable

from qwen_gui_agent.errors import QwenAgentError


def _command(name: bytes) -> int:
    return int.from_bytes(name, "little")


A_CNXN, A_OPEN, A_OKAY = _command(b"CNXN"), _command(b"OPEN"), _command(b"OKAY")
A_WRTE, A_CLSE = _command(b"WRTE"), _command(b"CLSE")
A_VERSION = 0x01000001
"""Protocol version that lets both sides skip payload checks (Android 9+)."""
MAX_PAYLOAD = 1024 * 1024
HEADER = struct.Struct("<6I")

SHELL_STDOUT, SHELL_STDERR, SHELL_EXIT = 1, 2, 3
"""Packet ids of the ``shell,v2`` framing (``shell_protocol.h``)."""


class WireClosed(QwenAgentError, ConnectionError):
    """The transport connection ended (peer closed it or sent garbage)."""


@dataclass(frozen=True)
class Packet:
    command: int
    arg0: int
    arg1: int
    payload: bytes = b""

    def pack(self) -> bytes:
        check = sum(self.payload) & 0xFFFFFFFF
        header = HEADER.pack(self.command, self.arg0, self.arg1, len(self.payload),
                             check, self.command ^ 0xFFFFFFFF)
        return header + self.payload


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise WireClosed("connection closed by the adb server")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_packet(sock: socket.socket) -> Packet:
    """Read one packet; raise :class:`WireClosed` on EOF or a corrupt header."""
    command, arg0, arg1, length, _check, magic = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    if magic != command ^ 0xFFFFFFFF or length > MAX_PAYLOAD:
        raise WireClosed(f"corrupt adb packet header (command {command:#x}, length {length})")
    return Packet(command, arg0, arg1, _recv_exactly(sock, length) if length else b"")


@dataclass(frozen=True)
class ShellRequest:
    """A shell service the host opened: what to run and how to frame the answer."""

    service: str
    """The service string exactly as received, e.g. ``shell,v2,raw:wm size``."""
    command: str
    v2: bool


@dataclass(frozen=True)
class ShellResult:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    interleaved: bytes | None = None
    """stdout and stderr in the order written: what a v1 (single stream) client sees."""


ShellHandler = Callable[[ShellRequest], ShellResult]


def parse_service(service: str) -> ShellRequest | None:
    """The shell request behind an ``OPEN`` service string, or None for other services."""
    name, sep, command = service.partition(":")
    if not sep:
        return None
    kind, *options = name.split(",")
    if kind == "exec":
        return ShellRequest(service, command, v2=False)
    if kind == "shell":
        return ShellRequest(service, command, v2="v2" in options)
    return None


class _Stream:
    """One open service on the device side, with adb's one-packet flow control."""

    def __init__(self, transport: DeviceTransport, local_id: int, remote_id: int) -> None:
        self.transport, self.local_id, self.remote_id = transport, local_id, remote_id
        self.acked = threading.Event()
        self.closed = False

    def write(self, data: bytes) -> None:
        step = self.transport.max_payload
        for start in range(0, len(data), step):
            if self.closed:
                return
            self.acked.clear()
            self.transport.send(Packet(A_WRTE, self.local_id, self.remote_id,
                                       data[start:start + step]))
            self.acked.wait(30)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.send(Packet(A_CLSE, self.local_id, self.remote_id))
            self.transport.forget(self.local_id)


class DeviceTransport:
    """One TCP connection from an adb server, served until it ends."""

    def __init__(self, sock: socket.socket, banner: str, handler: ShellHandler,
                 on_service: Callable[[str], None]) -> None:
        self.sock, self.banner, self.handler, self.on_service = sock, banner, handler, on_service
        self.max_payload = 4096
        self._send_lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        self._next_id = 1
        self._workers: list[threading.Thread] = []

    def send(self, packet: Packet) -> None:
        with self._send_lock:
            try:
                self.sock.sendall(packet.pack())
            except OSError:
                pass  # the reader loop notices the dead socket and ends the transport

    def forget(self, local_id: int) -> None:
        self._streams.pop(local_id, None)

    def serve(self) -> None:
        """Read packets until the connection ends; never raises."""
        try:
            while True:
                self._dispatch(read_packet(self.sock))
        except (OSError, struct.error):
            pass
        finally:
            for stream in list(self._streams.values()):
                stream.closed = True
                stream.acked.set()
            for worker in self._workers:
                worker.join(timeout=5)

    def _dispatch(self, packet: Packet) -> None:
        if packet.command == A_CNXN:
            self.max_payload = max(256, min(packet.arg1, MAX_PAYLOAD))
            version = min(packet.arg0, A_VERSION)
            self.send(Packet(A_CNXN, version, MAX_PAYLOAD, self.banner.encode()))
        elif packet.command == A_OPEN:
            self._open(packet)
        elif packet.command == A_OKAY:
            stream = self._streams.get(packet.arg1)
            if stream is not None:
                stream.acked.set()
        elif packet.command == A_WRTE:
            # Input from the host (stdin) is acknowledged and otherwise ignored.
            self.send(Packet(A_OKAY, packet.arg1, packet.arg0))
        elif packet.command == A_CLSE:
            stream = self._streams.pop(packet.arg1, None)
            if stream is not None:
                stream.closed = True
                stream.acked.set()

    def _open(self, packet: Packet) -> None:
        service = packet.payload.rstrip(b"\0").decode("utf-8", "replace")
        self.on_service(service)
        request = parse_service(service)
        if request is None:
            self.send(Packet(A_CLSE, 0, packet.arg0))
            return
        local_id, self._next_id = self._next_id, self._next_id + 1
        stream = _Stream(self, local_id, packet.arg0)
        self._streams[local_id] = stream
        self.send(Packet(A_OKAY, local_id, packet.arg0))
        worker = threading.Thread(target=self._run, args=(stream, request), daemon=True,
                                  name=f"adb-sim-stream-{local_id}")
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    def _run(self, stream: _Stream, request: ShellRequest) -> None:
        try:
            try:
                result = self.handler(request)
            except Exception as error:  # a simulator bug: show it to the caller, keep serving
                result = ShellResult(stderr=f"simulator error: {error!r}\n".encode(), exit_code=255)
            stream.write(frame_result(result, request.v2))
        finally:
            stream.close()


def frame_result(result: ShellResult, v2: bool) -> bytes:
    """Bytes on the wire for a finished command: v2 packets, or raw stdout+stderr."""
    if not v2:
        return result.stdout + result.stderr if result.interleaved is None else result.interleaved
    out = b""
    for packet_id, data in ((SHELL_STDOUT, result.stdout), (SHELL_STDERR, result.stderr)):
        if data:
            out += struct.pack("<BI", packet_id, len(data)) + data
    return out + struct.pack("<BIB", SHELL_EXIT, 1, result.exit_code & 0xFF)


class DeviceServer:
    """Listens on 127.0.0.1 and serves every adb server that connects.

    ``kill_connections`` drops live transports (the host sees a lost device).
    """

    def __init__(self, banner: str, handler: ShellHandler,
                 on_service: Callable[[str], None], port: int = 0) -> None:
        self.banner, self.handler, self.on_service = banner, handler, on_service
        self.connections_accepted = 0
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                          name=f"adb-sim-accept-{self.port}")
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections_accepted += 1
                self._live.add(sock)
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                          name=f"adb-sim-transport-{self.port}")
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            DeviceTransport(sock, self.banner, self.handler, self.on_service).serve()
        finally:
            with self._lock:
                self._live.discard(sock)
            sock.close()

    def kill_connections(self) -> int:
        """Cut every live transport abruptly; return how many were cut."""
        with self._lock:
            live = list(self._live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(live)

    def threads(self) -> list[threading.Thread]:
        """Threads still running (the acceptor and live transports)."""
        with self._lock:
            return [t for t in [self._acceptor, *self._threads] if t.is_alive()]

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self.kill_connections()
        self._acceptor.join(timeout=5)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
