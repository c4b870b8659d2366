"""The master's side of external workers: who has arrived, and which Locust run they are to join.

`bench worker` processes on other hosts talk to it over plain HTTP (JSON) on the master's bind
address, one port above Locust's master port. Locust's own master/worker protocol carries
the load and the histograms; this adds only what Locust cannot do: a Locust worker process
loads its scenario file and reads the steps from its environment as it starts, so the worker
host must learn them before each Locust run, and the master must know who is there (host,
version, files) before it trusts their figures.

  POST /hello  {"worker", "processes", "identity", "host"}  -> 200, or 409 {"error"} on a mismatch
  GET  /run?worker=ID[&running=RUN]                         -> {"run": null} or the current run
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from harness.loadgen.identity import Identity

SEEN_WITHIN_S = 10.0  # a worker that has not polled for this long is counted as gone


@dataclass
class WorkerEntry:
    worker: str
    processes: int
    host: dict[str, Any]
    last_seen: float = field(default_factory=time.monotonic)
    running: str = ""  # the run whose Locust processes it still has ("" when none)


@dataclass
class Registry:
    """What the coordinator knows, guarded by one lock (the HTTP server answers in threads)."""

    identity: Identity
    workers: dict[str, WorkerEntry] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # worker -> why
    run: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hello(self, body: dict[str, Any]) -> str | None:
        """Register a worker; the reason it is refused, or None."""
        worker = str(body["worker"])
        why = self.identity.mismatch(Identity(**body["identity"]))
        with self.lock:
            if why is not None:
                self.refused[worker] = why
                self.workers.pop(worker, None)
                return why
            self.refused.pop(worker, None)
            self.workers[worker] = WorkerEntry(worker, int(body["processes"]), dict(body["host"]))
        return None

    def poll(self, worker: str, running: str = "") -> dict[str, Any] | None:
        with self.lock:
            entry = self.workers.get(worker)
            if entry is None:
                return {"hello": True}  # unknown (the master restarted): say hello again
            entry.last_seen, entry.running = time.monotonic(), running
            return self.run

    def busy(self) -> list[str]:
        """Present workers whose Locust processes of an earlier run are still alive."""
        return [w.worker for w in self.present() if w.running]

    def present(self) -> list[WorkerEntry]:
        now = time.monotonic()
        with self.lock:
            return [w for w in self.workers.values() if now - w.last_seen < SEEN_WITHIN_S]

    def set_run(self, run: dict[str, Any] | None) -> None:
        with self.lock:
            self.run = run


def _handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per poll would drown the harness's own output

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                why = registry.hello(body)
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(400, {"error": f"bad hello: {exc}"})
                return
            self._answer(409 if why else 200, {"error": why} if why else {"ok": True})

        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            answer = registry.poll(query.get("worker", [""])[0], query.get("running", [""])[0])
            self._answer(200, answer if answer is not None else {"run": None})

    return Handler


class Coordinator:
    """The HTTP server in a daemon thread; `close()` stops it."""

    def __init__(self, identity: Identity, host: str, port: int) -> None:
        self.registry = Registry(identity)
        self.server = ThreadingHTTPServer((host, port), _handler(self.registry))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
