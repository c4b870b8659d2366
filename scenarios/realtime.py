"""Real-time fan-out: N WebSocket clients in chat rooms of K, some publishing at a fixed rate.

Each user holds one WebSocket to `/ws/rooms/{room}` (contract/realtime.md), users filling rooms of
`room_size` in turn; the first `publishers_per_room` members of each room publish one message every
`publish_interval_s` (starting at random phases), so the offered load is N·P/(K·interval) messages
and N·P/interval copies per second (`copies_sent_per_s`). The first `timed_per_room` members of each
room record each copy's delivery latency, their clock at receipt minus the sender's `sent_us` (one
machine, one clock), in the HDR histograms as the request `deliver`; a copy not received within
`deadline_s` is lost (harness.loadgen.rooms). The other members drain their socket unparsed: on one
load-generator core, parsing every copy in Python costs about three times what sending it costs
the FastAPI server, so timing every copy would measure the load generator instead.
Per step: clients_held, copies_sent_per_s, messages_delivered_per_s (timed copies), delivery_p50_ms and
p99_ms, messages_lost, loss_ratio, server CPU and RSS, server_cpu_us_per_delivery; per trial:
max_clients_slo and memory_per_client_kb (harness.kinds.realtime_summary). Checks P8.

Failures are counted, never waited for: a refused upgrade or a full room (`refused_upgrades`,
request `connect`), a socket the server closed (`closed_sockets`, request `closed`), a send that
fails (request `publish`), a copy lost (request `deliver`). Every socket operation has a timeout;
a client whose socket closed reconnects at its next tick.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P8"],
    "stateful": True,  # rooms live in each server process's memory: refused with several server workers
    "profiles": {
        "full": {"users": [1000, 2000, 4000, 6000, 8000], "warmup_s": 6, "duration_s": 15, "trials": 3,
                 "spawn_rate": 1000, "open_files": 65536, "closed_loop": False,
                 "params": {"room_size": 20, "publishers_per_room": 2, "timed_per_room": 2, "publish_interval_s": 0.25,
                            "body_bytes": 100, "deadline_s": 1.0, "timeout_s": 5},
                 "summary": {"delivery_slo_p99_ms": 100}},
        "test": {"users": [10, 30], "warmup_s": 1, "duration_s": 2, "trials": 1, "open_files": 65536,
                 "closed_loop": False,
                 "params": {"room_size": 5, "publishers_per_room": 2, "timed_per_room": 3, "publish_interval_s": 0.2,
                            "body_bytes": 100, "deadline_s": 1.0, "timeout_s": 5},
                 "summary": {"delivery_slo_p99_ms": 100}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from locust import User, constant_pacing, events, task  # noqa: E402
from locust.runners import MasterRunner  # noqa: E402
from websocket import ABNF  # noqa: E402

from harness.loadgen import measures  # noqa: E402
from harness.loadgen.params import scenario_params  # noqa: E402
from harness.loadgen.rooms import Receipt, RoomLedger, scan_frames  # noqa: E402

PARAMS = scenario_params()
ROOM_SIZE = int(PARAMS.get("room_size", 10))
PUBLISHERS = int(PARAMS.get("publishers_per_room", 1))
INTERVAL_S = float(PARAMS.get("publish_interval_s", 1.0))
BODY = "x" * int(PARAMS.get("body_bytes", 100))
TIMEOUT_S = float(PARAMS.get("timeout_s", 5.0))
TIMED = int(PARAMS.get("timed_per_room", ROOM_SIZE))
SWEEP_S = 0.1  # how often lost copies are counted and the clients held read

COUNTS = ("messages_published", "copies_sent", "messages_lost", "late_deliveries", "refused_upgrades", "closed_sockets")
WORKER = uuid.uuid4().hex[:8]  # room names unique to this worker: no room spans two workers
ledger = RoomLedger(float(PARAMS.get("deadline_s", 1.0)))
_indices = itertools.count()
held: set[int] = set()  # users connected and joined, timed or not
room_sizes: dict[str, int] = {}  # connected and joined members per room


class Refused(Exception):
    """The server did not let the client join (HTTP status, close code, or no `joined`)."""


class Closed(Exception):
    """The server closed a joined client's socket, or the socket failed."""


class Lost(Exception):
    """A copy of a message not received within the deadline."""


def _fire(name: str, exception: Exception | None = None, response_time_ms: float = 0.0, length: int = 0) -> None:
    events.request.fire(request_type="WS", name=name, response_time=response_time_ms, response_length=length,
                        exception=exception, context={})


def _sweep() -> None:
    """Every SWEEP_S: count the copies past their deadline as lost, read the clients held; every count
    is reported each tick (0 included) so that each window has all of them."""
    while True:
        gevent.sleep(SWEEP_S)
        lost = ledger.expire(time.time())
        for _ in range(lost):
            _fire("deliver", Lost(f"not received within {ledger.deadline_s:g} s"))
        measures.count("messages_lost", lost)
        for name in COUNTS:
            measures.count(name, 0)
        measures.gauge("clients_held", len(held))


@events.test_start.add_listener
def _start_sweeper(environment, **_):
    if not isinstance(environment.runner, MasterRunner):
        gevent.spawn(_sweep)


class RoomMember(User):
    wait_time = constant_pacing(INTERVAL_S)

    def on_start(self) -> None:
        self.index = next(_indices)
        self.room = f"w{WORKER}-r{self.index // ROOM_SIZE}"
        self.publisher = self.index % ROOM_SIZE < PUBLISHERS
        self.timed = self.index % ROOM_SIZE < TIMED
        self.url = self.host.replace("http://", "ws://", 1).rstrip("/") + f"/ws/rooms/{self.room}"
        self.ws: websocket.WebSocket | None = None
        self.receiver: gevent.Greenlet | None = None
        self.sequence = 0
        self._connect()
        if self.publisher:
            gevent.sleep(random.uniform(0, INTERVAL_S))  # publishers out of phase from the start

    def on_stop(self) -> None:
        self._drop()

    @task
    def tick(self) -> None:
        if self.ws is None:
            self._connect()
        elif self.publisher:
            self._publish()

    def _connect(self) -> None:
        try:
            # No UTF-8 check of each frame in pure Python (costly on the load generator): json.loads checks it.
            ws = websocket.create_connection(self.url, timeout=TIMEOUT_S, enable_multithread=True,
                                             skip_utf8_validation=True)
        except Exception as exc:  # refused upgrade, refused or timed-out connection
            self._refused(exc)
            return
        try:
            opcode, frame = ws.recv_data_frame(True)
            if opcode != ABNF.OPCODE_TEXT or json.loads(frame.data).get("type") != "joined":
                raise Refused(f"no joined message (opcode {opcode}: {_close_code(frame)})")
        except Exception as exc:
            ws.shutdown()
            self._refused(exc)
            return
        self.ws = ws
        held.add(self.index)
        room_sizes[self.room] = room_sizes.get(self.room, 0) + 1
        if self.timed:
            ledger.join(self.room, self.index)
        self.receiver = gevent.spawn(self._receive if self.timed else self._drain, ws)

    def _refused(self, exc: Exception) -> None:
        measures.count("refused_upgrades")
        _fire("connect", exc)

    def _publish(self) -> None:
        self.sequence += 1
        msg_id = f"u{self.index}-{self.sequence}"
        now = time.time()
        ledger.sent(msg_id, self.room, now)
        try:
            self.ws.send(json.dumps({"id": msg_id, "sent_us": int(now * 1e6), "body": BODY}))
        except Exception as exc:  # a timed-out send may have left half a frame: the socket is dropped
            _fire("publish", exc)
            self._closed(exc)
            return
        measures.count("messages_published")
        measures.count("copies_sent", room_sizes.get(self.room, 0))  # the fan-out asked of the server

    def _receive(self, ws: websocket.WebSocket) -> None:
        while True:
            try:
                opcode, frame = ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                continue  # nothing for TIMEOUT_S: a quiet room, or a stalled server (its copies expire as lost)
            except Exception as exc:
                self._closed(exc, ws)
                return
            now = time.time()
            if opcode == ABNF.OPCODE_CLOSE:
                self._closed(Closed(f"closed by the server with {_close_code(frame)}"), ws)
                return
            if opcode == ABNF.OPCODE_TEXT:
                self._received(frame.data, now)

    def _drain(self, ws: websocket.WebSocket) -> None:
        """Read whatever arrives and skip its data frames unparsed; answer pings (Uvicorn closes a
        client that does not); a close frame or an end of stream is a closed socket."""
        buffer = bytearray()
        while True:
            try:
                data = ws.sock.recv(65536)
            except TimeoutError:
                continue
            except Exception as exc:
                self._closed(exc, ws)
                return
            if not data:
                self._closed(Closed("closed by the server (end of stream)"), ws)
                return
            buffer += data
            _, control, consumed = scan_frames(buffer)
            del buffer[:consumed]
            for opcode, payload in control:
                if opcode == ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    self._closed(Closed(f"closed by the server with close code {code}"), ws)
                    return
                if opcode == ABNF.OPCODE_PING:
                    ws.pong(payload)

    def _received(self, data: bytes, now: float) -> None:
        message = json.loads(data)
        if message.get("type") != "message":
            return
        receipt = ledger.received(message["id"], self.index, now)
        if receipt is Receipt.LATE:
            measures.count("late_deliveries")  # already counted lost at its deadline
            return
        _fire("deliver", None, (now * 1e6 - message["sent_us"]) / 1000, len(data))

    def _closed(self, exc: Exception, ws: websocket.WebSocket | None = None) -> None:
        if ws is not None and ws is not self.ws:
            return  # an old socket's receiver, already replaced
        measures.count("closed_sockets")
        _fire("closed", exc if isinstance(exc, Closed) else Closed(f"{type(exc).__name__}: {exc}"))
        self._drop(kill_receiver=ws is None)

    def _drop(self, kill_receiver: bool = True) -> None:
        """Leave the room and close the socket without waiting for the server's answer."""
        ledger.leave(self.room, self.index)
        if self.index in held:
            held.discard(self.index)
            room_sizes[self.room] -= 1
        ws, receiver, self.ws, self.receiver = self.ws, self.receiver, None, None
        if ws is not None:
            ws.shutdown()
        if receiver is not None and kill_receiver and receiver is not gevent.getcurrent():
            receiver.kill(block=False)


def _close_code(frame: ABNF) -> str:
    data = frame.data if isinstance(frame.data, bytes) else b""
    return f"close code {int.from_bytes(data[:2], 'big')}" if len(data) >= 2 else "no close code"
