"""Distributed mode's trust over real sockets on loopback, without Locust (harness.loadgen.coordinator,
harness.loadgen.worker, harness.loadgen.external): malformed and unsigned requests are refused and
counted while a real worker still gets through; the coordinator's threads and each request's time are
bounded; a worker acts only on signed answers and refuses runs outside its checkout or its hosts; the
CLI's bad input is one line and exit 2.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rogue_peer import coordinator_attacks

from harness.errors import BenchError
from harness.loadgen import coordinator as coordinator_module
from harness.loadgen.coordinator import Coordinator
from harness.loadgen.driver import LoadSpec, StepSpec
from harness.loadgen.external import ExternalWorkers
from harness.loadgen.identity import identity
from harness.loadgen.worker import Unreachable, Worker, WorkerOptions

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SECRET = "peer-trust-test-secret-0123456789"
BENCH = Path(sys.executable).with_name("bench")


@pytest.fixture
def coordinator() -> Iterator[Coordinator]:
    running = Coordinator(identity(SCENARIOS), "127.0.0.1", 0, SECRET)
    try:
        yield running
    finally:
        running.close()


def _worker(port: int, secret: str = SECRET, **options: object) -> Worker:
    return Worker(WorkerOptions("127.0.0.1", port - 1, secret, name="gen-a",
                                **{"scenarios_dir": SCENARIOS, **options}))  # type: ignore[arg-type]


def test_malformed_and_unsigned_requests_are_refused_and_counted(coordinator: Coordinator) -> None:
    answered = coordinator_attacks("127.0.0.1", coordinator.port, known_secret=SECRET)
    assert len(answered) >= 30
    refused = {400, 401, 404, 411, 413, 414, 415, 431, 501, None}  # None: closed unanswered
    assert all(status in refused for _, status in answered), [a for a in answered if a[1] not in refused]
    statuses = dict(answered)
    assert statuses["hello unsigned"] == statuses["hello wrong secret"] == statuses["poll wrong secret"] == 401
    assert statuses["signed hello, host {}"] == statuses["signed hello, processes -1"] == 400
    assert statuses["hello huge length"] == 413
    registry = coordinator.registry
    assert registry.workers == {} and registry.refused == {}  # nobody registered, nothing faked
    assert sum(registry.refusals.values()) >= len(answered) - 1  # the bomb's reset may beat its count
    assert {"unauthenticated", "malformed", "too_large", "encoding", "bad_request"} <= set(registry.refusals)
    # The coordinator still serves: a real worker registers and polls.
    worker = _worker(coordinator.port)
    worker.hello()
    assert worker._call(f"/run?worker={worker.worker_id}") == (200, {"run": None})
    assert [w.worker for w in registry.present()] == [worker.worker_id]


def test_the_coordinators_threads_and_request_time_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordinator_module, "MAX_CONNECTIONS", 4)
    monkeypatch.setattr(coordinator_module, "CONNECTION_DEADLINE_S", 2.0)
    running = Coordinator(identity(SCENARIOS), "127.0.0.1", 0, SECRET)
    slow: list[socket.socket] = []
    try:
        before = threading.active_count()
        for _ in range(10):  # slowloris: a request line, then nothing more
            sock = socket.create_connection(("127.0.0.1", running.port))
            sock.sendall(b"GET /run HTTP/1.0\r\nX-Slow: ")
            slow.append(sock)
        waited = time.monotonic() + 1.5
        while running.registry.refusals["busy"] < 6 and time.monotonic() < waited:
            time.sleep(0.05)
        assert running.registry.refusals["busy"] == 6  # the rest closed at once
        assert threading.active_count() <= before + 4  # one thread per admitted request, no more
        deadline = time.monotonic() + 5
        while running.registry.refusals["too_slow"] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running.registry.refusals["too_slow"] >= 4  # cut after CONNECTION_DEADLINE_S
        worker = _worker(running.port)
        worker.hello()  # its slot is free again
        assert threading.active_count() <= before + 1
    finally:
        for sock in slow:
            sock.close()
        running.close()


def test_a_worker_with_the_wrong_secret_is_refused_in_one_line(coordinator: Coordinator) -> None:
    with pytest.raises(BenchError, match="refused this worker's signature") as error:
        _worker(coordinator.port, secret="not-the-runs-secret-0123456789").hello()
    assert "\n" not in str(error.value)
    assert coordinator.registry.refusals["unauthenticated"] == 1


def test_a_worker_ignores_a_master_that_does_not_sign() -> None:
    """A fake master announcing a run: not signed with the secret, so not contact, and no Locust started."""
    run = b'{"run": "' + b"a" * 32 + b'", "scenario": "crud.py", "host_url": "http://127.0.0.1:1"}'

    class Fake(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(run)))
            self.end_headers()
            self.wfile.write(run)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    fake = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    try:
        worker = _worker(fake.server_address[1], idle_timeout_s=1.0)
        with pytest.raises(Unreachable):
            worker._call(f"/run?worker={worker.worker_id}")
        started = time.monotonic()
        assert worker._serve() == 0  # idle: the fake's answers do not keep it
        assert time.monotonic() - started < 5 and worker.unsigned > 2
        assert "no master reached" in worker.ended
    finally:
        fake.shutdown()
        fake.server_close()


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"scenario": "crud.py,.."}, "scenario", "not a file of the worker's checkout"),
    ({"scenario": "../harness/commands/main.py"}, "scenario", "not a file of the worker's checkout"),
    ({"host_url": "http://198.18.0.2:8000"}, "host", "not one the worker may load"),
    ({"host_url": "http://93.184.216.34/"}, "host", "not one the worker may load"),
])  # fmt: skip
def test_a_worker_refuses_a_run_outside_its_checkout_or_hosts(tmp_path: Path, change: dict[str, str], code: str,
                                                             words: str) -> None:
    port = 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workers = ExternalWorkers(1, ("127.0.0.1", port - 1), SCENARIOS, SECRET)
    try:
        worker = _worker(port, lifetime_s=1.5)  # allowed: the master's host only (127.0.0.1)
        worker.hello()
        spec = LoadSpec(SCENARIOS / "crud.py", "http://127.0.0.1:8000", [StepSpec(1, 1, 0, 1)])
        locust = workers.load_generator(spec, tmp_path)
        registry = workers.coordinator.registry
        run = {"run": "b" * 32, "scenario": "crud.py", "host_url": spec.host_url, "steps": [{"users": 1,
               "spawn_rate": 1.0, "warmup_s": 0.0, "duration_s": 1.0}], "params": {}, "master_port": port - 1,
               "run_time_s": 7, **change}  # fmt: skip
        registry.set_run(run, [worker.worker_id])
        assert worker._serve() == 0  # it ran nothing, and no Locust was started
        assert registry.run_refusals == {worker.worker_id: code}
        with pytest.raises(BenchError, match="refused the Locust run") as error:
            locust.check_peers()  # what ends the master's wait: one line
        assert words in str(error.value) and "\n" not in str(error.value)
        assert not list((tmp_path).glob("*.log"))
    finally:
        workers.close()


def _bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BENCH), *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items() if k != "BENCH_WORKER_SECRET"}, **(env or {})})


@pytest.mark.parametrize(("args", "env", "words"), [
    (["worker", "--master", "127.0.0.1:1"], {}, "no secret"),
    (["worker", "--master", "127.0.0.1:1", "--secret", "short"], {}, "--secret: expected at least 16"),
    (["worker", "--master", "127.0.0.1:1"], {"BENCH_WORKER_SECRET": "x y"}, "BENCH_WORKER_SECRET: expected"),
    (["worker", "--master", "127.0.0.1:1", "--allow-host", "http://x/"], {}, "--allow-host"),
    (["worker", "--master", "127.0.0.1:1", "--idle-timeout", "nan"], {}, "--idle-timeout"),
    (["worker", "--master", "127.0.0.1:1", "--lifetime", "-1"], {}, "--lifetime"),
    (["worker", "--master", "127.0.0.1:1", "--name", "a b"], {}, "--name"),
    (["worker", "--master", "127.0.0.1:99999"], {}, "--master"),
])  # fmt: skip
def test_bad_worker_input_is_one_line_and_exit_2(args: list[str], env: dict[str, str], words: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from harness.commands.main import main

    monkeypatch.delenv("BENCH_WORKER_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    handler = signal.getsignal(signal.SIGTERM)
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's one line
        code = exit_.code  # type: ignore[assignment]
    finally:
        signal.signal(signal.SIGTERM, handler)
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert words in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_a_bad_secret_for_bench_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _bench("run", "--profile", "test", "--target", "fastapi", "--scenario", "throughput", "--loadgen",
                  "external:1", "--results-dir", str(tmp_path), env={"BENCH_WORKER_SECRET": "too-short"})
    assert done.returncode == 2, done.stderr
    assert "BENCH_WORKER_SECRET: expected" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_worker_does_not_wait_for_an_answer_trickling_in(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.loadgen.worker as worker_module

    monkeypatch.setattr(worker_module, "ANSWER_DEADLINE_S", 1.0)
    stop = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not stop.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)

        def log_message(self, *args: object) -> None:
            pass

    fake = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    fake.daemon_threads = True
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        worker = _worker(fake.server_address[1])
        started = time.monotonic()
        with pytest.raises(Unreachable, match="too long"):
            worker._call(f"/run?worker={worker.worker_id}")
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        fake.shutdown()
        fake.server_close()


def test_a_refused_worker_is_not_told_the_masters_hash(coordinator: Coordinator, tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text("pass\n")
    master = identity(SCENARIOS).files
    with pytest.raises(BenchError, match="files differ from the master's") as error:
        _worker(coordinator.port, scenarios_dir=tmp_path).hello()
    assert master not in str(error.value) and identity(tmp_path).files in str(error.value)
    assert master in next(iter(coordinator.registry.refused.values()))  # the master's own line keeps both
