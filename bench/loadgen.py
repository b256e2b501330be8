"""A lean HTTP/1.1 load generator for bench/ingest.py.

The benchmark's server and its load generator share two cores, so the generator's own
cost is part of every accept figure. `channels.sandboxes.traffic.send_all` (http.client
in a thread pool) spends a few hundred µs of Python a request under one GIL; here the
requests are rendered to bytes up front and written to kept-alive sockets by a few forked
processes, each driving its connections from one selector loop. Closed loop (each
connection sends its next request when answered) or paced (an offered rate in
requests/s, for the lag measurement).
"""

from __future__ import annotations

import multiprocessing
import selectors
import socket
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode


def render(host: str, path: str, *, body: bytes, content_type: str, query: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> bytes:
    """One POST as bytes on the wire (keep-alive)."""
    target = path + ("?" + urlencode(query) if query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadReport:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def run(port: int, requests: Sequence[bytes], *, connections: int = 32, processes: int = 2,
        rate: float | None = None) -> LoadReport:
    """Send every request to 127.0.0.1:`port`; `rate` (requests/s over all processes)
    paces them, otherwise each connection sends as fast as it is answered."""
    processes = max(1, min(processes, connections))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 0.5  # every process starts its clock together
    children = [
        context.Process(target=_child, args=(port, list(requests[n::processes]), connections // processes,
                                             rate / processes if rate else None, start_at, results))
        for n in range(processes)
    ]
    for child in children:
        child.start()
    report = LoadReport()
    for _child_process in children:
        statuses, latencies, finished_at = results.get()
        report.statuses.update(statuses)
        report.latencies_ms += latencies
        report.sent += sum(statuses.values())
        report.seconds = max(report.seconds, finished_at - start_at)
    for child in children:
        child.join()
    return report


class _Conn:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.sent_at = 0.0
        self.busy = False

    def open(self) -> socket.socket:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return self.sock


def _child(port: int, requests: list[bytes], connections: int, rate: float | None, start_at: float,
           results: multiprocessing.Queue) -> None:
    statuses: Counter = Counter()
    latencies: list[float] = []
    selector = selectors.DefaultSelector()
    conns = [_Conn(port) for _ in range(max(1, connections))]
    for conn in conns:
        selector.register(conn.open(), selectors.EVENT_READ, conn)
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.perf_counter()
    next_index = 0
    idle = list(conns)
    in_flight = 0
    while next_index < len(requests) or in_flight:
        now = time.perf_counter()
        while idle and next_index < len(requests) and (rate is None or now - started >= next_index / rate):
            conn = idle.pop()
            try:
                conn.sock.sendall(requests[next_index])
            except OSError:
                statuses[-1] += 1
                selector.unregister(conn.sock)
                conn.sock.close()
                selector.register(conn.open(), selectors.EVENT_READ, conn)
                idle.append(conn)
                next_index += 1
                continue
            conn.sent_at, conn.busy = now, True
            in_flight += 1
            next_index += 1
        wait = None
        if rate is not None and idle and next_index < len(requests):
            wait = max(0.0, started + next_index / rate - time.perf_counter())
        for key, _mask in selector.select(wait if in_flight or wait is not None else 0.01):
            conn = key.data
            chunk = conn.sock.recv(65536)
            if not chunk:  # the server closed a kept-alive connection: count it, reconnect
                if conn.busy:
                    statuses[-1] += 1
                    in_flight -= 1
                selector.unregister(conn.sock)
                conn.sock.close()
                selector.register(conn.open(), selectors.EVENT_READ, conn)
                conn.busy = False
                idle.append(conn)
                continue
            conn.buffer += chunk
            status = _complete(conn)
            if status is not None:
                statuses[status] += 1
                latencies.append((time.perf_counter() - conn.sent_at) * 1000)
                conn.busy = False
                in_flight -= 1
                idle.append(conn)
    results.put((statuses, latencies, start_at + (time.perf_counter() - started)))


def _complete(conn: _Conn) -> int | None:
    """The status of a complete response in the buffer (removed from it), else None."""
    head_end = conn.buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = conn.buffer[:head_end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip() for line in head[1:] if ":" in line}
    body_start = head_end + 4
    if "content-length" in fields:
        end = body_start + int(fields["content-length"])
        if len(conn.buffer) < end:
            return None
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        last = conn.buffer.find(b"0\r\n\r\n", body_start)
        if last < 0:
            return None
        end = last + 5
    else:
        end = body_start
    conn.buffer = conn.buffer[end:]
    return status
