"""What a peer of a distributed run may send, and how it proves who it is; free of gevent and sockets.

In distributed mode (docs/distributed.md) three channels cross the network:

- `bench worker` -> the coordinator (harness.loadgen.coordinator): hello and poll, plain HTTP. Each
  request carries a random nonce and an HMAC-SHA256 over its method, path, nonce and body, keyed by
  the run's secret (`bench run` prints it; `bench worker --secret` or SECRET_ENV); the coordinator
  signs its answer over the request's nonce, so a worker acts only on answers of a master that
  holds the secret, never on a recorded one.
- a worker's Locust process -> the Locust master: before its `client_ready` it sends AUTH_MESSAGE,
  an HMAC over its Locust node id keyed by its report key (derived from the secret, the run and the
  worker's id: `run_key`, `report_key`); the master (harness.loadgen.plugin, through `ReportGate`)
  drops every message of a node that has not so proved to be a process of a worker registered for
  the run, and every report not signed likewise. Dropped messages are counted, never stored.
- everything a peer says is bounded and checked before use: `parse_hello`, `parse_poll`, `check_run`
  (what a worker accepts from its master: a scenario of its own checkout, a host it may load),
  `check_report`, and `check_histogram` (a decompression cap and the header the harness writes, so
  an HDR histogram cannot make its reader allocate or decompress without bound).

Not encrypted: the runs' parameters and figures cross the network in the clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hdrh.histogram import HdrHistogram

from harness.loadgen.window import DIGITS, HIGHEST_US, LOWEST_US

SECRET_ENV = "BENCH_WORKER_SECRET"  # for `bench worker` (and `bench run`, to use one given ahead)
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # secrets.token_urlsafe's alphabet; at least 16 characters
NONCE_HEADER, MAC_HEADER = "X-Bench-Nonce", "X-Bench-Mac"
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
MAC_RE = re.compile(r"^[0-9a-f]{64}$")

# Names a peer gives, kept to characters that are safe in a file name, a log line and a report.
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
WORKER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}/[A-Za-z0-9._-]{1,40}$")
RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# A scenario file as a worker accepts it: Locust splits `-f` on commas and imports every .py under
# a folder, so nothing but a plain file name of the checkout's own scenarios.
SCENARIO_RE = re.compile(r"^[a-z0-9_]+\.py$")
ALLOWED_HOST_RE = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")

MAX_HELLO_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 1024 * 1024  # a run's announcement: its steps and parameters
MAX_REPORT_BYTES = 32 * 1024 * 1024  # one Locust worker's report of every step (ZeroMQ's cap is the same)
MAX_HISTOGRAM_CHARS = 1024 * 1024  # one encoded histogram (a full one at 3 digits is about 170 kB decoded)
MAX_HISTOGRAM_DECODED = 1024 * 1024
MAX_PROCESSES = 1024  # Locust processes one worker host may offer
MAX_STEPS = 10_000
MAX_NAMES = 10_000  # request names, error messages, counts or gauges in one step's report
MAX_COUNT = 10**15
MAX_RUN_TIME_S = 7 * 24 * 3600.0
REFUSAL_CODES = {"scenario", "host", "run"}  # why a worker refused a run (GET /run?refused=CODE)


class Refused(ValueError):
    """What a peer sent is not accepted: `reason` is a short word to count, `status` the HTTP answer."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


# --- the secret and what is derived from it ------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def check_secret(text: str | None, where: str = SECRET_ENV) -> str:
    if not text:
        raise Refused("secret", f"no secret: give the one `bench run` printed with --secret or {SECRET_ENV}")
    if not SECRET_RE.fullmatch(text):
        raise Refused("secret", f"{where}: expected at least 16 characters of A-Z a-z 0-9 _ - "
                                f"(as `bench run` prints it), got {len(text)} characters")
    return text


def _framed(parts: Iterable[bytes | str]) -> Iterator[bytes]:
    """Each part prefixed with its length: no two lists of parts give the same bytes."""
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        yield len(data).to_bytes(8, "big")
        yield data


def mac(key: bytes, *parts: bytes | str) -> str:
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for chunk in _framed(parts):
        digest.update(chunk)
    return digest.hexdigest()


def mac_ok(key: bytes | None, given: Any, *parts: bytes | str) -> bool:
    if key is None or not isinstance(given, str) or not MAC_RE.fullmatch(given):
        return False
    return hmac.compare_digest(mac(key, *parts), given)


def secret_key(secret: str) -> bytes:
    return secret.encode()


def run_key(secret: str, run: str) -> bytes:
    """The key of one Locust run, known to the master; a worker derives it from the secret and the run's id."""
    return hmac.new(secret_key(secret), b"".join(_framed(["run", run])), hashlib.sha256).digest()


def report_key(key_of_run: bytes, worker: str) -> bytes:
    """One worker's key for one run: its Locust processes sign with it and hold nothing else."""
    return hmac.new(key_of_run, b"".join(_framed(["worker", worker])), hashlib.sha256).digest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def request_mac(secret: str, method: str, target: str, nonce: str, body: bytes) -> str:
    return mac(secret_key(secret), "request", method, target, nonce, body)


def answer_mac(secret: str, nonce: str, status: int, body: bytes) -> str:
    return mac(secret_key(secret), "answer", nonce, str(status), body)


# --- plain values ------------------------------------------------------------------------------------


def strict_json(data: bytes | str, limit: int) -> Any:
    """JSON of at most `limit` bytes, without NaN or Infinity, nesting bounded by the size; Refused otherwise."""
    if len(data) > limit:
        raise Refused("too_large", f"{len(data)} bytes, over the {limit} allowed", 413)

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not a number here")

    try:
        return json.loads(data, parse_constant=constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Refused("malformed", f"not JSON: {type(exc).__name__}") from None


def _integer(value: Any, what: str, low: int = 0, high: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refused("malformed", f"{what}: expected an integer in {low}..{high}")
    return value


def _number(value: Any, what: str, low: float = 0.0, high: float = float(MAX_COUNT)) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise Refused("malformed", f"{what}: expected a number in {low:g}..{high:g}")
    return float(value)


def _text(value: Any, what: str, limit: int, printable: bool = True) -> str:
    if not isinstance(value, str) or len(value) > limit or (printable and not value.isprintable()):
        raise Refused("malformed", f"{what}: expected printable text of at most {limit} characters")
    return value


def _matching(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise Refused("malformed", f"{what}: expected {pattern.pattern}")
    return value


def _object(value: Any, what: str, limit: int = MAX_NAMES) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > limit or not all(isinstance(k, str) for k in value):
        raise Refused("malformed", f"{what}: expected an object of at most {limit} entries")
    return value


def _list(value: Any, what: str, limit: int) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) > limit:
        raise Refused("malformed", f"{what}: expected a list of at most {limit} items")
    return list(value)


def _exact_keys(value: dict[str, Any], what: str, required: set[str], optional: frozenset[str] = frozenset()) -> None:
    missing, extra = required - set(value), set(value) - required - optional
    if missing or extra:
        raise Refused("malformed", f"{what}: missing {sorted(missing)}, unexpected {sorted(extra)[:5]}")


# --- the coordinator: hello and poll --------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    worker: str
    processes: int
    harness: str
    files: str
    host: dict[str, Any]  # as results.json records it (harness.loadgen.identity.HostFacts, plus protection)


HOST_FACTS = {"name", "hostname", "cpu_model", "cores", "cpus_given", "locust"}


def parse_hello(body: bytes) -> Hello:
    data = _object(strict_json(body, MAX_HELLO_BYTES), "hello", 16)
    _exact_keys(data, "hello", {"worker", "processes", "identity", "host"})
    identity = _object(data["identity"], "identity", 4)
    _exact_keys(identity, "identity", {"harness", "files"})
    host = _object(data["host"], "host", 16)
    _exact_keys(host, "host", HOST_FACTS, frozenset({"protection"}))
    cores = host["cores"]
    facts = {
        "name": _matching(host["name"], HOST_NAME_RE, "host.name"),
        "hostname": _text(host["hostname"], "host.hostname", 255),
        "cpu_model": _text(host["cpu_model"], "host.cpu_model", 256),
        "cores": None if cores is None else _integer(cores, "host.cores", 1, 1_000_000),
        "cpus_given": [_integer(c, "host.cpus_given[]", 0, 1_000_000)
                       for c in _list(host["cpus_given"], "host.cpus_given", 65536)],
        "locust": _text(host["locust"], "host.locust", 64),
    }
    if "protection" in host:
        facts["protection"] = _text(host["protection"], "host.protection", 512)
    worker = _matching(data["worker"], WORKER_ID_RE, "worker")
    if not worker.startswith(f"{facts['name']}/"):
        raise Refused("malformed", "worker: its id must begin with its host's name")
    return Hello(worker=worker, processes=_integer(data["processes"], "processes", 1, MAX_PROCESSES),
                 harness=_text(identity["harness"], "identity.harness", 64),
                 files=_text(identity["files"], "identity.files", 128), host=facts)


@dataclass(frozen=True)
class Poll:
    worker: str
    running: str = ""  # the run whose Locust processes the worker still has
    refused: tuple[str, str] | None = None  # (run, why) when the worker refused that run


def parse_poll(target: str) -> Poll:
    """GET /run?worker=ID[&running=RUN][&refused=RUN:CODE]."""
    if len(target) > 1024:
        raise Refused("too_large", "request target too long", 414)
    parts = urlsplit(target)
    if parts.path != "/run":
        raise Refused("not_found", f"no such resource: {parts.path[:64]!r}", 404)
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query), max_num_fields=4)
    except ValueError:
        raise Refused("malformed", "bad query") from None
    if set(query) - {"worker", "running", "refused"} or any(len(v) != 1 for v in query.values()):
        raise Refused("malformed", "expected worker, running and refused once each at most")
    worker = _matching(query.get("worker", [""])[0], WORKER_ID_RE, "worker")
    running = query.get("running", [""])[0]
    if running:
        _matching(running, RUN_ID_RE, "running")
    refused = None
    if "refused" in query:
        run, _, code = query["refused"][0].partition(":")
        if not RUN_ID_RE.fullmatch(run) or code not in REFUSAL_CODES:
            raise Refused("malformed", f"refused: expected RUN:CODE, CODE one of {sorted(REFUSAL_CODES)}")
        refused = (run, code)
    return Poll(worker, running, refused)


# --- a worker: what it accepts from its master ------------------------------------------------------------

STEP_FIELDS = {"users", "spawn_rate", "warmup_s", "duration_s"}
STEP_OPTIONAL = frozenset({"rate_per_s", "max_in_flight"})
RUN_FIELDS = {"run", "scenario", "host_url", "steps", "params", "master_port", "run_time_s"}


def host_allowed(host_url: Any, allowed: Iterable[str]) -> str:
    """`host_url` if it is http(s) to one of the `allowed` hosts (names or addresses, any port); Refused otherwise."""
    if not isinstance(host_url, str) or len(host_url) > 2048 or not host_url.isprintable():
        raise Refused("host", "the load's URL: expected printable text of at most 2048 characters")
    text = host_url
    if any(c.isspace() for c in text):
        raise Refused("host", "the load's URL has white space")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise Refused("host", f"not a URL: {text[:80]!r}") from None
    if parts.scheme not in ("http", "https") or parts.username is not None or parts.password is not None \
            or not parts.hostname:
        raise Refused("host", f"expected http(s)://HOST[:PORT], got {text[:80]!r}")
    hosts = {h.lower().strip("[]") for h in allowed}
    if parts.hostname.lower() not in hosts:
        raise Refused("host", f"the load would go to {parts.hostname[:80]}, not a host this worker may load "
                              f"({', '.join(sorted(hosts))}; --allow-host)")
    return text


def check_run(run: Any, scenario_names: set[str], allowed_hosts: Iterable[str]) -> dict[str, Any]:
    """A run as announced by the master, checked: Refused with reason "scenario", "host" or "run"."""
    data = _object(run, "run", 16)
    try:
        _exact_keys(data, "run", RUN_FIELDS)
        _matching(data["run"], RUN_ID_RE, "run")
        _integer(data["master_port"], "master_port", 1, 65535)
        _number(data["run_time_s"], "run_time_s", 0.0, MAX_RUN_TIME_S)
        steps = _list(data["steps"], "steps", MAX_STEPS)
        if not steps:
            raise Refused("malformed", "steps: none")
        for step in steps:
            entry = _object(step, "step", 8)
            _exact_keys(entry, "step", STEP_FIELDS, STEP_OPTIONAL)
            _integer(entry["users"], "step.users", 0, 10_000_000)
            _number(entry["spawn_rate"], "step.spawn_rate", 0.0, 1e9)
            _number(entry["warmup_s"], "step.warmup_s", 0.0, MAX_RUN_TIME_S)
            _number(entry["duration_s"], "step.duration_s", 0.0, MAX_RUN_TIME_S)
            if entry.get("rate_per_s") is not None:
                _number(entry["rate_per_s"], "step.rate_per_s", 0.0, 1e9)
            _integer(entry.get("max_in_flight", 0), "step.max_in_flight", 0, 10_000_000)
        _object(data["params"], "params", 1000)
    except Refused as exc:
        raise Refused("run", f"a malformed run: {exc}") from None
    scenario = data["scenario"]
    if not isinstance(scenario, str) or not SCENARIO_RE.fullmatch(scenario) or scenario not in scenario_names:
        raise Refused("scenario", f"scenario {str(scenario)[:80]!r} is not a file of this checkout's scenarios "
                                  f"({SCENARIO_RE.pattern})")
    host_allowed(data["host_url"], allowed_hosts)
    return data


# --- HDR histograms from a peer ---------------------------------------------------------------------------

_EXTERNAL = struct.Struct(">II")  # cookie, length of the zlib part (hdrh.codec.ExternalHeader)
_PAYLOAD = struct.Struct(">IIIIQQd")  # hdrh.codec.PayloadHeader
_COMPRESSION_COOKIE, _ENCODING_COOKIE = 0x1C849304, 0x1C849303  # hdrh's V2 cookies, word-size bits masked


@cache
def _counts_len() -> int:
    return int(HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS).counts_len)


def _zigzag_varints(data: bytes, start: int) -> Iterator[int]:
    """HdrHistogram's V2 counts: ZigZag LEB128, at most 9 bytes each (the 9th holds 8 bits)."""
    index, end = start, len(data)
    while index < end:
        value, shift = 0, 0
        for position in range(9):
            if index >= end:
                raise Refused("malformed", "histogram: a truncated count")
            byte = data[index]
            index += 1
            if position == 8:
                value |= byte << 56
                break
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield (value >> 1) ^ -(value & 1)


def check_histogram(encoded: Any) -> None:
    """An encoded HDR histogram (HdrHistogram.encode's base64) as this harness writes it: its zlib part
    decompresses to at most MAX_HISTOGRAM_DECODED bytes, its header is the harness's (1 µs to 100 s, 3
    digits: harness.loadgen.window), and its counts fit that histogram. Refused otherwise."""
    if not isinstance(encoded, str) or len(encoded) > MAX_HISTOGRAM_CHARS:
        raise Refused("too_large", f"histogram: expected text of at most {MAX_HISTOGRAM_CHARS} characters")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("malformed", "histogram: not base64") from None
    if len(raw) < _EXTERNAL.size:
        raise Refused("malformed", "histogram: too short")
    cookie, length = _EXTERNAL.unpack_from(raw)
    if cookie & ~0xF0 != _COMPRESSION_COOKIE or length != len(raw) - _EXTERNAL.size:
        raise Refused("malformed", "histogram: not an HDR histogram's V2 encoding")
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(raw[_EXTERNAL.size:], MAX_HISTOGRAM_DECODED + 1)
    except zlib.error:
        raise Refused("malformed", "histogram: not zlib") from None
    if len(data) > MAX_HISTOGRAM_DECODED or inflate.unconsumed_tail:
        raise Refused("too_large", f"histogram: decompresses to over {MAX_HISTOGRAM_DECODED} bytes")
    if not inflate.eof or inflate.unused_data or len(data) < _PAYLOAD.size:
        raise Refused("malformed", "histogram: truncated or trailing data")
    cookie, payload_len, normalizing, digits, lowest, highest, _ = _PAYLOAD.unpack_from(data)
    if cookie & ~0xF0 != _ENCODING_COOKIE or normalizing != 0 or payload_len != len(data) - _PAYLOAD.size:
        raise Refused("malformed", "histogram: a bad payload header")
    if (lowest, highest, digits) != (LOWEST_US, HIGHEST_US, DIGITS):
        raise Refused("malformed", f"histogram: {lowest}..{highest} at {digits} digits, not the harness's")
    filled, limit = 0, _counts_len()
    for count in _zigzag_varints(data, _PAYLOAD.size):
        filled += -count if count < 0 else 1
        if filled > limit:
            raise Refused("malformed", "histogram: more counts than its range holds")


def decode_histogram(encoded: Any) -> HdrHistogram:
    """HdrHistogram.decode, once `check_histogram` has bounded what it will decompress and allocate."""
    check_histogram(encoded)
    return HdrHistogram.decode(str(encoded).encode())


# --- a Locust worker's report -------------------------------------------------------------------------------

ARRIVAL_FIELDS = {"offered", "sent", "late", "dropped", "completed"}


def _check_step(step: Any, index: int) -> None:
    where = f"steps[{index}]"
    entry = _object(step, where, 64)
    window = _list(entry.get("window"), f"{where}.window", 2)
    if len(window) != 2:
        raise Refused("malformed", f"{where}.window: expected [start, end]")
    start, end = (_number(t, f"{where}.window", 0.0, 1e12) for t in window)
    if end < start:
        raise Refused("malformed", f"{where}.window: ends before it starts")
    _integer(entry.get("pending", 0), f"{where}.pending")
    for name, request in _object(entry.get("requests"), f"{where}.requests").items():
        _text(name, f"{where}.requests name", 4096, printable=False)
        counts = _object(request, f"{where}.requests[]", 8)
        _integer(counts.get("ok"), f"{where}.requests[].ok")
        _integer(counts.get("failed"), f"{where}.requests[].failed")
        if counts.get("histogram") is not None:
            check_histogram(counts["histogram"])
    for message, count in _object(entry.get("errors", {}), f"{where}.errors").items():
        _text(message, f"{where}.errors key", 4096, printable=False)
        _integer(count, f"{where}.errors[]")
    for field in ("counts", "gauges_min"):
        for name, value in _object(entry.get(field) or {}, f"{where}.{field}").items():
            _text(name, f"{where}.{field} name", 256)
            _number(value, f"{where}.{field}[]", -float(MAX_COUNT))
    arrivals = entry.get("arrivals")
    if arrivals is not None:
        counts = _object(arrivals, f"{where}.arrivals", 8)
        _exact_keys(counts, f"{where}.arrivals", ARRIVAL_FIELDS)
        for name in ARRIVAL_FIELDS:
            _integer(counts[name], f"{where}.arrivals.{name}")


def check_report(report: Any, steps: int) -> dict[str, Any]:
    """One Locust worker's report (harness.loadgen.window.StepSchedule.payload, plus its `loadgen` facts)."""
    data = _object(report, "report", 64)
    for index, step in enumerate(_list(data.get("steps"), "steps", steps)):
        _check_step(step, index)
    facts = data.get("loadgen")
    if facts is not None:
        facts = _object(facts, "loadgen", 16)
        _text(facts.get("host"), "loadgen.host", 255)
        _integer(facts.get("pid", 0), "loadgen.pid", 0, 2**31)
        for cpu in _list(facts.get("cpus", []), "loadgen.cpus", 65536):
            _integer(cpu, "loadgen.cpus[]", 0, 1_000_000)
        for pct in _list(facts.get("cpu_pct", []), "loadgen.cpu_pct", steps):
            if pct is not None:
                _number(pct, "loadgen.cpu_pct[]", 0.0, 1e7)
    return data


# --- the master's gate for Locust messages ---------------------------------------------------------------------

AUTH_MESSAGE = "bench_auth"


def sign_auth(key: bytes, worker: str, node: str) -> dict[str, str]:
    """AUTH_MESSAGE's data: a Locust worker process proves that its node id belongs to `worker`."""
    return {"worker": worker, "mac": mac(key, "node", node)}


def sign_report(key: bytes, worker: str, node: str, payload: dict[str, Any]) -> dict[str, str]:
    body = json.dumps(payload, allow_nan=False)
    return {"worker": worker, "body": body, "mac": mac(key, "report", node, body)}


class ReportGate:
    """Which Locust nodes the master listens to, and which reports it keeps; the rest counted in `dropped`.

    `registered`: the workers the run was announced to, with their processes (one node each).
    `key`: the run's key (`run_key`); None refuses every node (a master started without one).
    """

    def __init__(self, key: bytes | None, registered: dict[str, int], steps: int) -> None:
        self.key = key
        self.registered = registered
        self.steps = steps
        self.nodes: dict[str, str] = {}  # node -> its worker
        self.reported: set[str] = set()
        self.dropped: Counter[str] = Counter()

    def _drop(self, kind: str, reason: str) -> None:
        self.dropped[f"{kind}_{reason}"] += 1

    def authenticate(self, node: str, data: Any) -> bool:
        worker = data.get("worker") if isinstance(data, dict) else None
        if not isinstance(worker, str) or worker not in self.registered:
            self._drop("auth", "unregistered")
            return False
        if self.key is None or not mac_ok(report_key(self.key, worker), data.get("mac"), "node", node):
            self._drop("auth", "bad_mac")
            return False
        if self.nodes.get(node) == worker:
            return True  # said again (Locust re-sends client_ready until the master acknowledges it)
        if node in self.nodes or sum(w == worker for w in self.nodes.values()) >= self.registered[worker]:
            self._drop("auth", "too_many_nodes")
            return False
        self.nodes[node] = worker
        return True

    def allows(self, node: str) -> bool:
        """Any other Locust message (client_ready, heartbeat, stats, ...) passes only from an authenticated node."""
        if node in self.nodes:
            return True
        self._drop("message", "unauthenticated")
        return False

    def admit(self, node: str, data: Any) -> dict[str, Any] | None:
        """The report of `node`, checked, or None (counted)."""
        worker = self.nodes.get(node)
        if worker is None:
            self._drop("report", "unauthenticated")
            return None
        if not isinstance(data, dict) or data.get("worker") != worker or not isinstance(data.get("body"), str):
            self._drop("report", "malformed")
            return None
        assert self.key is not None  # an authenticated node had a key to prove itself with
        if not mac_ok(report_key(self.key, worker), data.get("mac"), "report", node, data["body"]):
            self._drop("report", "bad_mac")
            return None
        if node in self.reported:
            self._drop("report", "duplicate")
            return None
        try:
            report = check_report(strict_json(data["body"], MAX_REPORT_BYTES), self.steps)
        except Refused:
            self._drop("report", "malformed")
            return None
        self.reported.add(node)
        return report

    def admit_local(self, data: Any) -> dict[str, Any] | None:
        """A report of this very process (a single Locust process): nothing to authenticate, still checked."""
        try:
            return check_report(data, self.steps)
        except Refused:
            self._drop("report", "malformed")
            return None
