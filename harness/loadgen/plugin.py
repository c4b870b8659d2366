"""Loaded into every Locust process next to the scenario file (`locust -f scenario.py,plugin.py`).

The master runs `StepShape`, which holds each step's user count for its warm-up plus duration.
Workers record each completed request's latency in microseconds in an HDR histogram per
request name and step, only inside each step's measured window (warm-up excluded). After the
last window each worker sends its histograms to the master as a custom message, so workers on
other machines would work unchanged; the master writes what it received to the file the
driver reads. With one local worker the driver runs a single Locust process instead (a
LocalRunner, both roles in one): the same code, its message delivered by a direct call.
Locust's own percentiles are rounded to whole milliseconds, too coarse for loopback latencies,
hence the histograms.

Locust's `request` event fires only when a request completes, so a stalled request would be
invisible: each worker also notes when every request is sent and settled, and each step reports
how many were still waiting at its window's end (`WindowRecorder.stalled_at_end`).

Paired slices (SLICES_ENV set; harness.loadgen.slices, the logic): the run is one step, and each
request to a relative URL goes to the target of the slice in which it is sent, carrying its send time
in its context, by which the `request` event counts it. The report also carries "slices".

Who may report (harness.loadgen.trust, the logic; this module only wires it into Locust): a worker
process proves its node id with an AUTH_MESSAGE sent ahead of Locust's `client_ready`; the master
passes a node's messages to Locust, and keeps its one report, only once it has (`ReportGate`), and
counts the rest in its output's `dropped`. The master's socket refuses messages over the report cap.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import time
from typing import Any

import gevent
from locust import LoadTestShape, events
from locust.contrib.fasthttp import FastHttpSession, absolute_http_url_regexp
from locust.rpc import Message, zmqrpc
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from harness.loadgen import measures
from harness.loadgen.arrival import INTENDED_KEY, latency_from_intended_s
from harness.loadgen.params import (
    GATE_ENV,
    GATE_WAIT_S,
    HOST_URL_ENV,
    OUTPUT_ENV,
    REGISTERED_ENV,
    REPORT_KEY_ENV,
    RUN_KEY_ENV,
    SLICES_ENV,
    STEPS_ENV,
    STOP_P99_ENV,
    TAIL_S,
    WORKER_ID_ENV,
    aim_target_now,
    window_cpu_pct,
    worker_facts,
)
from harness.loadgen.slices import SENT_KEY, SlicePlan, SliceRecorder
from harness.loadgen.trust import AUTH_MESSAGE, MAX_REPORT_BYTES, ReportGate, sign_auth, sign_report
from harness.loadgen.window import StepSchedule

MESSAGE = "bench_window_result"
SEND_GRACE_S = 0.05  # after the last window, so its final in-window completions are counted
DROPPED_WRITE_S = 0.5  # refused messages alone rewrite the output at most this often
# After the last slice, its requests still in flight get this long to settle before the report (within
# the run's TAIL_S): each counts in the slice it was sent in, so one answered after the report would be lost.
SLICE_DRAIN_S = 0.5


def _schedule() -> StepSchedule:
    return StepSchedule(json.loads(os.environ[STEPS_ENV]))


class StepShape(LoadTestShape):
    """Runs on the master (or the single process): the user count of whichever step is current, then stop."""

    def __init__(self) -> None:
        super().__init__()
        self.schedule = _schedule()

    def tick(self) -> tuple[int, float] | None:
        return self.schedule.users_at(self.get_run_time(), TAIL_S, reports_missing=_reports_missing(self.runner))


_schedule_on_worker: StepSchedule | None = None
_slices_on_worker: SliceRecorder | None = None
_received: list[dict[str, Any]] = []


def _gate_from_env() -> ReportGate:
    key = os.environ.get(RUN_KEY_ENV)
    steps = len(json.loads(os.environ.get(STEPS_ENV) or "[]"))
    return ReportGate(bytes.fromhex(key) if key else None, json.loads(os.environ.get(REGISTERED_ENV) or "{}"), steps)


_gate = _gate_from_env()  # made on import: the master's socket may receive before its init event
_last_write = [0.0]


def _handle_message(original: Any) -> Any:
    """MasterRunner.handle_message behind the gate: authentication and reports handled here, other
    messages passed to Locust from authenticated nodes only."""

    @functools.wraps(original)
    def handle(self: MasterRunner, client_id: str, msg: Message) -> None:
        passes, report = False, None
        try:  # whatever a peer sent, the master's listener goes on
            if msg.type == AUTH_MESSAGE:
                _gate.authenticate(client_id, msg.data)
            elif msg.type == MESSAGE:
                report = _gate.admit(client_id, msg.data)
            else:
                passes = _gate.allows(client_id)
        except Exception:
            _gate.dropped["message_unreadable"] += 1
        if passes:
            original(self, client_id, msg)
            return
        if report is not None:
            _received.append(report)
            _write_output(self.environment)  # rewritten as each worker reports; complete when all have
        if _gate.dropped and time.monotonic() - _last_write[0] > DROPPED_WRITE_S:
            _write_output(self.environment)

    return handle


def _connect_to_master(original: Any) -> Any:
    """WorkerRunner.connect_to_master, saying who this process is first (the master ignores it until then)."""

    @functools.wraps(original)
    def connect(self: WorkerRunner) -> None:
        key, worker = os.environ.get(REPORT_KEY_ENV), os.environ.get(WORKER_ID_ENV)
        if key and worker:
            self.client.send(Message(AUTH_MESSAGE, sign_auth(bytes.fromhex(key), worker, self.client_id),
                                     self.client_id))
        original(self)

    return connect


def _socket_init(original: Any) -> Any:
    """Locust's sockets, the master's (ROUTER) refusing a message over MAX_REPORT_BYTES (the peer is dropped)."""

    @functools.wraps(original)
    def init(self: zmqrpc.BaseSocket, sock_type: int, ipv4_only: bool) -> None:
        original(self, sock_type, ipv4_only)
        if sock_type == zmqrpc.zmq.ROUTER:
            self.socket.setsockopt(zmqrpc.zmq.MAXMSGSIZE, MAX_REPORT_BYTES)

    return init


MasterRunner.handle_message = _handle_message(MasterRunner.handle_message)  # type: ignore[method-assign]
WorkerRunner.connect_to_master = _connect_to_master(WorkerRunner.connect_to_master)  # type: ignore[method-assign]
zmqrpc.BaseSocket.__init__ = _socket_init(zmqrpc.BaseSocket.__init__)  # type: ignore[method-assign]


def _expected_workers(environment: Any) -> int:
    return int(getattr(environment.parsed_options, "expect_workers", 1))


def _reports_missing(runner: Any) -> bool:
    return isinstance(runner, MasterRunner) and len(_received) < _expected_workers(runner.environment)


def _write_output(environment: Any) -> None:
    path = os.environ.get(OUTPUT_ENV)
    if not path:
        return
    expected = _expected_workers(environment)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump({"workers_expected": expected, "workers": _received, "dropped": dict(_gate.dropped)}, fh)
    os.replace(tmp, path)
    _last_write[0] = time.monotonic()


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _schedule_on_worker, _slices_on_worker
    runner = environment.runner
    if isinstance(runner, LocalRunner):  # a master's reports go through _handle_message

        def on_result(environment: Any, msg: Any, **_: Any) -> None:
            report = _gate.admit_local(msg.data)
            if report is not None:
                _received.append(report)
            _write_output(environment)

        runner.register_message(MESSAGE, on_result)
    if isinstance(runner, WorkerRunner | LocalRunner):
        _schedule_on_worker = _schedule()
        plan = os.environ.get(SLICES_ENV)
        _slices_on_worker = SliceRecorder(SlicePlan.from_json(plan)) if plan else None
        if _slices_on_worker is not None:
            recorder = _slices_on_worker
            aim_target_now(lambda: recorder.target_name(time.time()))
        _track_in_flight(_schedule_on_worker, _slices_on_worker)
        measures.connect(_schedule_on_worker)  # the scenario's counts and gauges (e.g. realtime)
        # What is alive now (Locust, gevent, the scenario, this plugin) lives as long as the process: frozen,
        # the collector's full passes stop re-scanning it while the load runs (gc.freeze, Python >= 3.7).
        # Done here, while the process is idle: at test start a collection would delay the windows' clock.
        gc.collect()
        gc.freeze()
    _wait_at_gate(os.environ.get(GATE_ENV))


def _wait_at_gate(gate: str | None) -> None:
    """Hold this process, set up, until the driver opens the gate (creates the file): a master then
    starts its steps only once the server is ready; a worker is held likewise, its schedule already
    made. Bounded: a driver that went away is not waited for."""
    if not gate:
        return
    deadline = time.monotonic() + GATE_WAIT_S
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the load generator was never released ({gate} did not appear)")
        time.sleep(0.005)


def _track_in_flight(schedule: StepSchedule, slices: SliceRecorder | None) -> None:
    """Note when each request is sent and settled. Every scenario's users are FastHttpUsers, whose
    get/post/... all go through `FastHttpSession.request`; Locust has no event at a request's start.

    `request` returns once the answer (or the error) has arrived, with catch_response too (only
    the event waits for the with-block), so its return is when the request settles.
    """
    original = FastHttpSession.request

    @functools.wraps(original)
    def request(self: FastHttpSession, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent_at = time.time()
        token = schedule.sent(sent_at)
        slice_token = None
        if slices is not None and not args and not absolute_http_url_regexp.match(url):
            url, slice_token = _aim(self, slices, url, kwargs, sent_at)
        try:
            return original(self, method, url, *args, **kwargs)
        finally:
            settled_at = time.time()
            schedule.settled(token, settled_at)
            if slices is not None:
                slices.settled(slice_token, settled_at)

    FastHttpSession.request = request  # type: ignore[method-assign]


def _aim(session: FastHttpSession, slices: SliceRecorder, path: str, kwargs: dict[str, Any], sent_at: float
         ) -> tuple[str, int | None]:
    """The absolute URL of `path` at the current slice's target, and the slice's token (None: not counted);
    `kwargs` gain the name the request would have had without slices and, for the `request` event, its
    send time. geventhttpclient's UserAgent keeps a client, with its own connection pool, per host and
    port (HTTPClientPool.get_client), so each user's connections to both targets stay open across
    slices: tests/test_slices_e2e.py counts each server's connections."""
    if kwargs.get("name") is None and not session.request_name:
        kwargs["name"] = path
    kwargs["context"] = {**(kwargs.get("context") or {}), SENT_KEY: sent_at}
    return slices.url(path, sent_at), slices.sent(sent_at)


def _when_drained(slices: SliceRecorder, then: Any) -> None:
    """`then()` once the last slices' requests have settled, or SLICE_DRAIN_S has passed."""
    deadline = time.monotonic() + SLICE_DRAIN_S
    while slices.in_flight and time.monotonic() < deadline:
        gevent.sleep(0.005)
    then()


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    schedule = _schedule_on_worker
    if schedule is None or not isinstance(environment.runner, WorkerRunner | LocalRunner):
        return
    allowed_url = os.environ.get(HOST_URL_ENV)
    if allowed_url and environment.host != allowed_url:  # Locust's spawn message sets the host: a worker
        # of `bench worker` loads only the URL it checked against its --allow-host (harness.loadgen.trust)
        print(f"bench: the master's spawn message aims the load at {environment.host!r}, not {allowed_url!r}: "
              "this worker stops", flush=True)
        os._exit(3)
    started_at = time.time()
    schedule.start(started_at)
    slices = _slices_on_worker
    if slices is not None:
        slices.start(started_at)
    # This process's own CPU in each step's window, and its host: the master cannot sample a worker
    # on another machine, so each worker reports itself and saturation is judged per host.
    marks: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(schedule.recorders))}
    for index, recorder in enumerate(schedule.recorders):
        window_start_s = recorder.offset_s + recorder.warmup_s
        for at_s in (window_start_s, window_start_s + recorder.duration_s):
            gevent.spawn_later(at_s, lambda i=index: marks[i].append((time.time(), time.process_time())))

    sent = []

    def send() -> None:
        if sent:  # once: at the end, or when the sweep stopped early
            return
        sent.append(True)
        payload = schedule.payload(time.time())
        payload["loadgen"] = worker_facts([window_cpu_pct(marks[i]) for i in range(len(payload["steps"]))])
        if slices is not None:
            payload["slices"] = slices.payload(time.time())
        runner = environment.runner
        if isinstance(runner, WorkerRunner):  # signed for the master's gate (harness.loadgen.trust)
            key, worker = os.environ.get(REPORT_KEY_ENV, ""), os.environ.get(WORKER_ID_ENV, "")
            runner.send_message(MESSAGE, sign_report(bytes.fromhex(key), worker, runner.client_id, payload))
        else:
            runner.send_message(MESSAGE, payload)

    report = send if slices is None else functools.partial(_when_drained, slices, send)
    gevent.spawn_later(schedule.total_s + SEND_GRACE_S, report)
    stop_p99_ms = os.environ.get(STOP_P99_ENV)
    # Only a single process may decide alone: workers under a master would each stop at their own step.
    if stop_p99_ms and isinstance(environment.runner, LocalRunner):
        _stop_at_first_failure(schedule, float(stop_p99_ms), send)


def _stop_at_first_failure(schedule: StepSchedule, stop_p99_ms: float, send: Any) -> None:
    """After each window but the last, end the sweep there if its p99 reached `stop_p99_ms`: the report
    goes at once (the driver then stops Locust) and the higher steps, which no verdict counts, are not run."""

    def check(index: int) -> None:
        if schedule.stopped_after is None and schedule.failed(index, stop_p99_ms):
            schedule.stop_after(index)
            send()

    for index, recorder in enumerate(schedule.recorders[:-1]):
        gevent.spawn_later(recorder.end_offset_s + SEND_GRACE_S, check, index)


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None = None,
                context: dict[str, Any] | None = None, **_: Any) -> None:
    if _schedule_on_worker is not None:
        now = time.time()
        intended = (context or {}).get(INTENDED_KEY)
        if intended is not None:  # an open-model request: timed from when it was meant to be sent
            response_time = latency_from_intended_s(intended, now) * 1000
        _schedule_on_worker.record(name, response_time, exception, now)
        sent_at = (context or {}).get(SENT_KEY)
        if sent_at is not None and _slices_on_worker is not None:  # counted by when it was sent (and aimed)
            _slices_on_worker.record(name, response_time, exception, sent_at)
