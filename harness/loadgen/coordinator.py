"""The master's side of external workers: who has arrived, and which Locust run they are to join.

`bench worker` processes on other hosts talk to it over plain HTTP (JSON) on the master's bind
address, one port above Locust's master port. Locust's own master/worker protocol carries
the load and the histograms; this adds only what Locust cannot do: a Locust worker process
loads its scenario file and reads the steps from its environment as it starts, so the worker
host must learn them before each Locust run, and the master must know who is there (host,
version, files) before it trusts their figures.

  POST /hello  {"worker", "processes", "identity", "host"}  -> 200, or 409 {"error"} on a mismatch
  GET  /run?worker=ID[&running=RUN][&refused=RUN:CODE]      -> {"run": null} or the current run

Every request is signed with the run's secret and every answer to a signed one is signed back
(harness.loadgen.trust: nonce and HMAC headers); anything unsigned, malformed, too large or too
slow is refused and counted in `Registry.refusals`. Bounded: at most MAX_CONNECTIONS requests at
once, each done within CONNECTION_DEADLINE_S, bodies of at most trust.MAX_HELLO_BYTES, no encodings.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.loadgen import trust
from harness.loadgen.identity import Identity
from harness.loadgen.trust import Refused

SEEN_WITHIN_S = 10.0  # a worker that has not polled for this long is counted as gone
MAX_CONNECTIONS = 32  # requests served at once; more are closed unanswered (a worker polls every 0.2 s)
IO_TIMEOUT_S = 5.0  # per read or write
CONNECTION_DEADLINE_S = 10.0  # a whole request, however slowly it trickles in
MAX_WORKERS = 1024  # registered workers; MAX_REFUSED refused ones kept for the error line
MAX_REFUSED = 32


@dataclass
class WorkerEntry:
    worker: str
    processes: int
    host: dict[str, Any]
    last_seen: float = field(default_factory=time.monotonic)
    running: str = ""  # the run whose Locust processes it still has ("" when none)


def _for_peer(mine: Identity, theirs: Identity) -> str:
    """Why a worker is refused, as told to it: never the master's own hash (it would tell how to pass)."""
    if theirs.harness != mine.harness:
        return f"harness version {theirs.harness} differs from the master's {mine.harness}"
    return f"scenario/load-generator files differ from the master's (this worker's hash {theirs.files}): same checkout?"


@dataclass
class Registry:
    """What the coordinator knows, guarded by one lock (the HTTP server answers in threads)."""

    identity: Identity
    workers: dict[str, WorkerEntry] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # worker -> why
    run: dict[str, Any] | None = None
    run_workers: frozenset[str] = frozenset()  # the workers the current run is announced to
    run_refusals: dict[str, str] = field(default_factory=dict)  # worker -> why it refused the current run
    refusals: Counter[str] = field(default_factory=Counter)  # requests refused, by reason
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hello(self, hello: trust.Hello) -> str | None:
        """Register a worker; the reason it is refused, as told to it, or None."""
        theirs = Identity(harness=hello.harness, files=hello.files)
        why = self.identity.mismatch(theirs)
        with self.lock:
            if why is not None:
                if hello.worker in self.refused or len(self.refused) < MAX_REFUSED:
                    self.refused[hello.worker] = why
                self.workers.pop(hello.worker, None)
                return _for_peer(self.identity, theirs)
            if hello.worker not in self.workers and len(self.workers) >= MAX_WORKERS:
                raise Refused("too_many_workers", f"over {MAX_WORKERS} workers registered", 503)
            self.refused.pop(hello.worker, None)
            self.workers[hello.worker] = WorkerEntry(hello.worker, hello.processes, hello.host)
        return None

    def poll(self, worker: str, running: str = "", refused: tuple[str, str] | None = None) -> dict[str, Any] | None:
        with self.lock:
            entry = self.workers.get(worker)
            if entry is None:
                return {"hello": True}  # unknown (the master restarted): say hello again
            entry.last_seen, entry.running = time.monotonic(), running
            if self.run is None or worker not in self.run_workers:
                return None
            if refused is not None and refused[0] == self.run["run"]:
                self.run_refusals[worker] = refused[1]
            return self.run

    def busy(self) -> list[str]:
        """Present workers whose Locust processes of an earlier run are still alive."""
        return [w.worker for w in self.present() if w.running]

    def present(self) -> list[WorkerEntry]:
        now = time.monotonic()
        with self.lock:
            return [w for w in self.workers.values() if now - w.last_seen < SEEN_WITHIN_S]

    def set_run(self, run: dict[str, Any] | None, workers: list[str] | None = None) -> None:
        """Announce `run` to `workers` (default: every registered one), or end it (None)."""
        with self.lock:
            self.run = run
            self.run_workers = frozenset(self.workers if workers is None else workers)
            self.run_refusals = {}

    def count(self, reason: str) -> None:
        with self.lock:
            self.refusals[reason] += 1

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """An authenticated request's answer; Refused when it is malformed."""
        if method == "POST":
            if target != "/hello":
                raise Refused("not_found", "no such resource", 404)
            why = self.hello(trust.parse_hello(body))
            return (409, {"error": why}) if why else (200, {"ok": True})
        poll = trust.parse_poll(target)
        answer = self.poll(poll.worker, poll.running, poll.refused)
        return 200, answer if answer is not None else {"run": None}


def _handler(registry: Registry, secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = IO_TIMEOUT_S  # socketserver.StreamRequestHandler sets it on the connection

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per poll would drown the harness's own output

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            registry.count("bad_request")  # the request line or headers could not be parsed
            super().send_error(code, message, explain)

        def _answer(self, status: int, body: dict[str, Any], nonce: str | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if nonce is not None:  # signed only for a signed request: nobody gets the master's signature for free
                self.send_header(trust.MAC_HEADER, trust.answer_mac(secret, nonce, status, data))
            self.end_headers()
            self.wfile.write(data)

        def _body(self, method: str) -> bytes:
            if self.headers.get("Transfer-Encoding") or self.headers.get("Content-Encoding", "identity") != "identity":
                raise Refused("encoding", "no transfer or content encodings are accepted", 415)
            length = self.headers.get("Content-Length", "0" if method == "GET" else "")
            if not re.fullmatch(r"[0-9]+", length):
                raise Refused("malformed", "expected a Content-Length", 411)
            if len(length) > 9 or int(length) > (trust.MAX_HELLO_BYTES if method == "POST" else 0):
                raise Refused("too_large", f"a body of {length[:12]} bytes is not accepted", 413)
            body = self.rfile.read(int(length))
            if len(body) != int(length):
                raise Refused("malformed", "the body ended early")
            return body

        def _serve(self, method: str) -> None:
            nonce = self.headers.get(trust.NONCE_HEADER, "")
            signed = False
            try:
                body = self._body(method)
                signed = bool(trust.NONCE_RE.fullmatch(nonce)) and trust.mac_ok(
                    trust.secret_key(secret), self.headers.get(trust.MAC_HEADER),
                    "request", method, self.path, nonce, body)
                if not signed:
                    raise Refused("unauthenticated", "not signed with this run's secret (bench worker --secret)", 401)
                status, answer = registry.handle(method, self.path, body)
            except Refused as exc:
                registry.count(exc.reason)
                self._answer(exc.status, {"error": str(exc)}, nonce if signed else None)
                return
            except OSError:  # e.g. the body timed out (IO_TIMEOUT_S): nothing to answer on
                registry.count("timeout")
                self.close_connection = True
                return
            self._answer(status, answer, nonce)

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

    return Handler


class _Server(ThreadingHTTPServer):
    """A thread per request, at most MAX_CONNECTIONS at once; each request ended after CONNECTION_DEADLINE_S."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], registry: Registry) -> None:
        self.registry = registry
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.active: dict[socket.socket, float] = {}
        self.active_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.registry.count("busy")
            self.shutdown_request(request)
            return
        with self.active_lock:
            self.active[request] = time.monotonic()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: Any) -> None:
        with self.active_lock:
            self.active.pop(request, None)
        self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.registry.count("broken")  # a peer that went away mid-request: counted, no traceback printed

    def reap(self) -> None:
        """Cut the connections older than CONNECTION_DEADLINE_S (a request trickled in byte by byte)."""
        now = time.monotonic()
        with self.active_lock:
            late = [r for r, started in self.active.items() if now - started > CONNECTION_DEADLINE_S]
            for request in late:
                del self.active[request]  # counted and cut once; its slot is released when its thread ends
        for request in late:
            self.registry.count("too_slow")
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)


class Coordinator:
    """The HTTP server in a daemon thread, and its reaper; `close()` stops both."""

    def __init__(self, identity: Identity, host: str, port: int, secret: str) -> None:
        self.registry = Registry(identity)
        self.server = _Server((host, port), _handler(self.registry, secret), self.registry)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        self.closing = threading.Event()
        self.reaper = threading.Thread(target=self._reap, daemon=True)
        self.reaper.start()

    def _reap(self) -> None:
        while not self.closing.wait(0.5):
            self.server.reap()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.reaper.join(timeout=2)
