"""End to end: one real Locust run alternating between two servers in paired slices.

Each server notes when each request arrived and on which connection, so the test can check, without
timing assumptions, that each slice's load went to its target, that both targets were counted in
every slice, and that each user kept one connection to each server throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tiny_http import serving

from harness.loadgen.driver import AGGREGATE, LoadSpec, LocustProcesses, sliced_step
from harness.loadgen.slices import SlicePlan, SliceTarget

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

USERS = 4

SCENARIO = '''
from locust import FastHttpUser, constant, task


class Hit(FastHttpUser):
    wait_time = constant(0.005)

    @task
    def hit(self):
        self.client.get("/json")  # unnamed: its name must stay "/json" whichever target it goes to
'''


class Arrivals:
    """What one server saw: (time.time(), the client's port) per request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[float, int]] = []

    def server(self) -> ThreadingHTTPServer:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                with arrivals.lock:
                    arrivals.seen.append((time.time(), self.client_address[1]))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the load generator is killed at its run's end, its connections reset

        return Server(("127.0.0.1", 0), Handler)

    def between(self, start_s: float, end_s: float) -> int:
        return sum(start_s <= at < end_s for at, _ in self.seen)


@pytest.fixture
def two_servers() -> Iterator[dict[str, tuple[str, Arrivals]]]:
    a, b = Arrivals(), Arrivals()
    with serving(a.server()) as url_a, serving(b.server()) as url_b:
        yield {"a": (url_a, a), "b": (url_b, b)}


@pytest.mark.parametrize("workers", [1, 2])
def test_each_slice_loads_its_own_target_over_connections_kept_open(tmp_path: Path, two_servers, workers):
    plan = SlicePlan((SliceTarget("a", two_servers["a"][0]), SliceTarget("b", two_servers["b"][0])),
                     slice_s=0.5, settle_s=0.1, pairs=4, warmup_s=1.0)
    scenario = tmp_path / "hit.py"
    scenario.write_text(SCENARIO)
    spec = LoadSpec(scenario_file=scenario, host_url=two_servers["a"][0], steps=[sliced_step(plan, USERS, 100)],
                    slices=plan, workers=workers)
    (result,) = LocustProcesses(spec, tmp_path / "locust").run()
    sliced = result.slices
    assert sliced is not None and [s.target for s in sliced.slices] == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert sliced.workers_reported == workers
    for piece in sliced.slices:
        other = two_servers["b" if piece.target == "a" else "a"][1]
        assert piece.ok > 0 and piece.failed == 0, piece  # each target counted in every slice
        # While every worker is in this slice, only a request sent before it began can reach the other
        # server: one per user at most.
        assert other.between(piece.start_s + sliced.skew_s, piece.end_s - sliced.skew_s) <= USERS, piece
        assert two_servers[piece.target][1].between(piece.counted_start_s, piece.end_s) >= piece.ok - USERS
    first_start = sliced.slices[0].start_s
    assert all(arrivals.between(0, first_start) > 0 for _, arrivals in two_servers.values())  # the warm-up: both
    for name, (_, arrivals) in two_servers.items():
        endpoints = sliced.endpoints[name]
        assert set(endpoints) == {"/json", AGGREGATE}
        assert endpoints[AGGREGATE].ok == sum(s.ok for s in sliced.slices if s.target == name)
        # geventhttpclient keeps a connection pool per host: each user opened one connection to each server
        assert len({port for _, port in arrivals.seen}) == USERS
