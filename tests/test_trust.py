"""Distributed mode's trust, the pure half (harness.loadgen.trust): no sockets, no Locust, no gevent.

What a peer may send (hello, poll, a run, a report, an HDR histogram) is bounded and checked, and
`ReportGate` keeps a report only from a registered worker's process that proved itself with the run's key.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import pytest

from harness.loadgen import trust
from harness.loadgen.trust import Refused, ReportGate
from harness.loadgen.window import new_histogram

SECRET = "unit-test-secret-0123456789abcdef"
RUN = "a" * 32
WORKER = "gen-a/123-abcdef"
HOST = {"name": "gen-a", "hostname": "vm", "cpu_model": "X", "cores": 2, "cpus_given": [0, 1], "locust": "2.47.0"}
SCENARIOS = {path.name for path in (Path(__file__).resolve().parent.parent / "scenarios").glob("*.py")}


def _hello(**changes: object) -> bytes:
    body = {"worker": WORKER, "processes": 2, "identity": {"harness": "1", "files": "f" * 16}, "host": HOST}
    body.update(changes)
    return json.dumps(body).encode()


def test_secrets_and_signatures() -> None:
    secret = trust.new_secret()
    assert trust.check_secret(secret) == secret and secret != trust.new_secret()
    for bad in [None, "", "short", "has space in it 0123456789", "é" * 20]:
        with pytest.raises(Refused):
            trust.check_secret(bad)
    nonce = trust.new_nonce()
    signed = trust.request_mac(secret, "GET", "/run?worker=w", nonce, b"")
    assert trust.mac_ok(trust.secret_key(secret), signed, "request", "GET", "/run?worker=w", nonce, b"")
    assert not trust.mac_ok(trust.secret_key(secret), signed, "request", "GET", "/run?worker=v", nonce, b"")
    assert not trust.mac_ok(trust.secret_key(SECRET), signed, "request", "GET", "/run?worker=w", nonce, b"")
    assert not trust.mac_ok(trust.secret_key(secret), 12, "x") and not trust.mac_ok(None, signed, "x")
    # Parts are framed: moving a boundary changes the signature.
    assert trust.mac(b"k", "ab", "c") != trust.mac(b"k", "a", "bc")
    # Keys: per run, then per worker; a worker's key tells nothing of another's.
    key = trust.run_key(secret, RUN)
    assert key != trust.run_key(secret, "b" * 32) and key != trust.run_key(SECRET, RUN)
    assert trust.report_key(key, WORKER) != trust.report_key(key, "gen-b/1-abcdef")


def test_a_good_hello_is_parsed() -> None:
    hello = trust.parse_hello(_hello(host={**HOST, "protection": "protected"}))
    assert (hello.worker, hello.processes, hello.files) == (WORKER, 2, "f" * 16)
    assert hello.host == {**HOST, "protection": "protected"}


@pytest.mark.parametrize("body", [
    _hello(host={}),  # raised KeyError in the harness before
    _hello(processes=-1), _hello(processes=0), _hello(processes=10**9), _hello(processes="2"),
    _hello(processes=True), _hello(processes=2.5),
    _hello(worker=123), _hello(worker="../../etc"), _hello(worker="gen-b/1-abcdef"),  # not its host's name
    _hello(identity=[]), _hello(identity={"harness": "1"}), _hello(extra=1),
    _hello(host={**HOST, "name": "a b"}), _hello(host={**HOST, "cpus_given": [-1]}),
    _hello(host={**HOST, "cpus_given": [2**70]}), _hello(host={**HOST, "cpu_model": "x\n" * 3}),
    _hello(host={**HOST, "surprise": "x"}), _hello(host={**HOST, "cores": 0}),
    b"{not json", b"[1, 2]", b"null", b'{"processes": NaN}', b"[" * 30_000 + b"]" * 30_000,
    b"\xff\xfe", b" " * (trust.MAX_HELLO_BYTES + 1),
])  # fmt: skip
def test_a_malformed_hello_is_refused(body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        trust.parse_hello(body)
    assert refused.value.reason in {"malformed", "too_large"} and "\n" not in str(refused.value)


def test_polls() -> None:
    assert trust.parse_poll(f"/run?worker={WORKER}") == trust.Poll(WORKER)
    assert trust.parse_poll(f"/run?worker={WORKER}&running={RUN}&refused={RUN}:host") == \
        trust.Poll(WORKER, RUN, (RUN, "host"))
    for bad in ["/run", "/run?worker=../x", f"/run?worker={WORKER}&running=xyz", f"/run?worker={WORKER}&evil=1",
                f"/run?worker={WORKER}&worker={WORKER}", f"/run?worker={WORKER}&refused={RUN}:other",
                f"/run?worker={WORKER}&refused=xyz:host", "/run?" + "a=1&" * 10, "/run?worker=" + "a" * 2000]:
        with pytest.raises(Refused):
            trust.parse_poll(bad)
    with pytest.raises(Refused) as refused:
        trust.parse_poll(f"/hello?worker={WORKER}")
    assert refused.value.status == 404


def _run(**changes: object) -> dict[str, object]:
    run: dict[str, object] = {
        "run": RUN, "scenario": "crud.py", "host_url": "http://198.18.0.2:8000",
        "steps": [{"users": 8, "spawn_rate": 100.0, "warmup_s": 1.0, "duration_s": 2.0, "rate_per_s": None,
                   "max_in_flight": 0}],
        "params": {"think_s": 0}, "master_port": 5557, "run_time_s": 9,
    }  # fmt: skip
    run.update(changes)
    return run


def test_a_worker_accepts_only_its_scenarios_and_allowed_hosts() -> None:
    allowed = ["198.18.0.2"]
    assert trust.check_run(_run(), SCENARIOS, allowed)["scenario"] == "crud.py"
    for scenario in ["crud.py,..", "crud.py,/", "../crud.py", "/etc/passwd", "scenarios/crud.py", "Crud.py",
                     "crud", "nope.py", "crud.py\n", 7, None]:
        with pytest.raises(Refused) as refused:
            trust.check_run(_run(scenario=scenario), SCENARIOS, allowed)
        assert refused.value.reason == "scenario", scenario
    assert not trust.SCENARIO_RE.fullmatch("crud.py\n")
    for url in ["http://10.0.0.1:8000", "http://198.18.0.2.evil:80", "http://user@198.18.0.2/", "ftp://198.18.0.2/",
                "http://198.18.0.2:99999/", "http://198.18.0.2 /", "198.18.0.2:8000", "", 5]:
        with pytest.raises(Refused) as refused:
            trust.check_run(_run(host_url=url), SCENARIOS, allowed)
        assert refused.value.reason == "host", url
    assert trust.check_run(_run(host_url="https://198.18.0.2/"), SCENARIOS, allowed)
    assert trust.check_run(_run(host_url="http://[::1]:8000"), SCENARIOS, ["::1"])  # IPv6, as --allow-host gives it
    # The master's host is the default (harness.loadgen.worker): the load may go there only.
    with pytest.raises(Refused, match="not a host this worker may load"):
        trust.check_run(_run(), SCENARIOS, ["198.18.0.1"])


@pytest.mark.parametrize("changes", [
    {"run": "../x"}, {"master_port": 0}, {"master_port": "5557"}, {"run_time_s": -1}, {"run_time_s": 1e12},
    {"steps": []}, {"steps": "x"}, {"steps": [{"users": -1, "spawn_rate": 1, "warmup_s": 0, "duration_s": 1}]},
    {"steps": [{"users": 1}]}, {"params": []}, {"extra": 1},
])  # fmt: skip
def test_a_malformed_run_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(Refused) as refused:
        trust.check_run(_run(**changes), SCENARIOS, ["198.18.0.2"])
    assert refused.value.reason == "run"


def _encoded(values: list[int]) -> str:
    histogram = new_histogram()
    for value in values:
        histogram.record_value(value)
    return histogram.encode().decode()


def _forged(header: tuple[int, ...], counts: bytes = b"", raw: bytes | None = None) -> str:
    payload = struct.pack(">IIIIQQd", *header, 1.0) + counts if raw is None else raw
    compressed = zlib.compress(payload)
    return base64.b64encode(struct.pack(">II", 0x1C849314, len(compressed)) + compressed).decode()


def test_histograms_as_the_harness_writes_them_pass() -> None:
    for values in [[], [1], [120, 99_000_000], list(range(1, 200_000, 7))]:
        encoded = _encoded(values)
        trust.check_histogram(encoded)
        assert trust.decode_histogram(encoded).get_total_count() == len(values)


def test_a_decompression_bomb_and_forged_histograms_are_refused() -> None:
    bomb = _forged((0x1C849313, 50 * 2**20, 0, 3, 1, 100_000_000), b"\0" * (50 * 2**20))
    assert len(bomb) < 100_000  # 68 kB that would inflate to 50 MB
    with pytest.raises(Refused, match="decompresses to over") as refused:
        trust.check_histogram(bomb)
    assert refused.value.reason == "too_large"
    huge_range = _forged((0x1C849313, 0, 0, 5, 1, 2**62))  # HdrHistogram would allocate its counts for this
    wrong_cookie = _forged((0x12345678, 0, 0, 3, 1, 100_000_000))
    zero_run = b"\xfd\xff\xff\xff\x0f" + b"\x02"  # ZigZag of -2^31: zeros far past the histogram's end, then a 1
    overrun = _forged((0x1C849313, len(zero_run), 0, 3, 1, 100_000_000), zero_run)
    length_lies = _forged((0x1C849313, 999, 0, 3, 1, 100_000_000), b"\x02")
    truncated = _forged((0x1C849313, 1, 0, 3, 1, 100_000_000), b"\x80")
    good = _encoded([100])
    raw = base64.b64decode(good)
    trailing = base64.b64encode(struct.pack(">II", 0x1C849314, len(raw) - 8 + 3) + raw[8:] + b"abc").decode()
    for bad in [huge_range, wrong_cookie, overrun, length_lies, truncated, trailing, "not base64!", "", 5, None,
                "A" * (trust.MAX_HISTOGRAM_CHARS + 4), base64.b64encode(b"\x1c\x84\x93\x14\0\0\0\x03abc").decode()]:
        with pytest.raises(Refused):
            trust.check_histogram(bad)


def _report(ok: int = 10, histogram: str | None = None) -> dict[str, object]:
    step = {"host": "gen-a", "pid": 1, "window": [100.0, 101.0], "pending": 0,
            "requests": {"GET /": {"ok": ok, "failed": 0, "histogram": histogram or _encoded([100] * ok)}},
            "errors": {"GET /: ConnectionError: refused": 1}, "counts": {"sent": 3}, "gauges_min": {"open": 2.0},
            "arrivals": {"offered": 1, "sent": 1, "late": 0, "dropped": 0, "completed": 1}}  # fmt: skip
    return {"steps": [step], "loadgen": {"host": "gen-a", "pid": 1, "cpus": [1], "cpu_pct": [50.0]}}


def test_reports_are_checked() -> None:
    assert trust.check_report(_report(), 1)
    good = _report()
    step = good["steps"][0]  # type: ignore[index]
    for change in [{"window": [2.0, 1.0]}, {"window": [1.0]}, {"pending": -1}, {"requests": []},
                   {"requests": {"GET /": {"ok": "10", "failed": 0}}}, {"errors": {"x": -1}},
                   {"counts": {"x": float("inf")}}, {"arrivals": {"offered": 1}}]:
        with pytest.raises(Refused):
            trust.check_report({**good, "steps": [{**step, **change}]}, 1)
    with pytest.raises(Refused):
        trust.check_report({**good, "steps": [step, step]}, 1)  # more steps than the run has
    with pytest.raises(Refused):
        trust.check_report({**good, "loadgen": {"host": "h", "cpu_pct": [-5.0]}}, 1)


def _gate(registered: dict[str, int] | None = None) -> tuple[ReportGate, bytes]:
    key = trust.run_key(SECRET, RUN)
    return ReportGate(key, {WORKER: 1} if registered is None else registered, steps=1), trust.report_key(key, WORKER)


def test_the_gate_keeps_one_signed_report_per_registered_process() -> None:
    gate, key = _gate()
    assert not gate.allows("node-1")  # client_ready before proving anything: dropped
    assert gate.admit("node-1", trust.sign_report(key, WORKER, "node-1", _report())) is None  # unauthenticated
    assert gate.authenticate("node-1", trust.sign_auth(key, WORKER, "node-1"))
    assert gate.authenticate("node-1", trust.sign_auth(key, WORKER, "node-1"))  # said again: still fine
    assert gate.allows("node-1")
    signed = trust.sign_report(key, WORKER, "node-1", _report())
    assert gate.admit("node-1", signed) == _report()
    assert gate.admit("node-1", signed) is None  # once per node
    # Its worker offered one process: a second node of it is refused, and a replay from it fails too.
    assert not gate.authenticate("node-2", trust.sign_auth(key, WORKER, "node-2"))
    assert gate.admit("node-2", signed) is None
    assert gate.dropped == {"message_unauthenticated": 1, "report_unauthenticated": 2, "report_duplicate": 1,
                            "auth_too_many_nodes": 1}


def test_the_gate_refuses_unregistered_senders_and_wrong_secrets() -> None:
    gate, key = _gate({WORKER: 2})
    other = trust.report_key(trust.run_key(SECRET, RUN), "ghost/1-abcdef")  # the run's secret, not registered
    assert not gate.authenticate("n1", trust.sign_auth(other, "ghost/1-abcdef", "n1"))
    wrong = trust.report_key(trust.run_key("another-secret-0123456789", RUN), WORKER)
    assert not gate.authenticate("n2", trust.sign_auth(wrong, WORKER, "n2"))
    assert not gate.authenticate("n3", trust.sign_auth(key, WORKER, "n-other"))  # signed for another node
    for junk in [None, [], {"worker": ["x"]}, {"worker": WORKER, "mac": 5}, {"worker": WORKER, "mac": "z" * 64}]:
        assert not gate.authenticate("n4", junk)
    assert gate.authenticate("n5", trust.sign_auth(key, WORKER, "n5"))
    bomb = _forged((0x1C849313, 50 * 2**20, 0, 3, 1, 100_000_000), b"\0" * (50 * 2**20))
    assert gate.admit("n5", trust.sign_report(wrong, WORKER, "n5", _report())) is None  # bad_mac
    assert gate.admit("n5", trust.sign_report(key, WORKER, "n5", _report(histogram=bomb))) is None  # malformed
    assert gate.admit("n5", {"worker": WORKER, "body": 7, "mac": "0" * 64}) is None  # malformed
    assert gate.admit("n5", trust.sign_report(key, WORKER, "n5", _report())) is not None
    assert gate.dropped == {"auth_unregistered": 4, "auth_bad_mac": 4, "report_bad_mac": 1, "report_malformed": 2}
    assert not ReportGate(None, {WORKER: 1}, 1).authenticate("n", trust.sign_auth(key, WORKER, "n"))  # no key
