"""A rogue peer of a distributed run, for the trust tests (harness.loadgen.trust): what anyone who reaches
the master's two ports could send. Imported by tests/test_peer_trust.py; run as a script inside a
namespace host by tests/test_rogue_e2e.py:

    python tests/rogue_peer.py HOST PORT SECONDS [KNOWN_SECRET] > summary.jsonl

(a line of the coordinator's answers at once, then one of the Locust rounds after SECONDS).

`coordinator_attacks` sends at least 30 malformed hellos and polls to the coordinator (PORT+1): unsigned,
signed with a wrong secret, and, with KNOWN_SECRET (a peer that holds the secret but sends junk), wrong
types, huge lengths, a decompression bomb; it returns the status each got (None: the connection was
closed). `locust_attacks` then keeps connecting to Locust's master (PORT) as a fake worker for SECONDS:
client_ready, fake reports of FAKE_OK requests, authentication with a wrong key or an unregistered id, a
report whose histogram is a decompression bomb, and one message over the size cap.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import struct
import sys
import time
import zlib
from typing import Any

ROGUE_SECRET = "rogue-secret-not-the-runs-0123456789"
FAKE_OK = 987_654_321  # a count no real trial reaches: it must not appear in results.json
HOST_FACTS = {"name": "rogue", "hostname": "rogue", "cpu_model": "X", "cores": 1, "cpus_given": [0],
              "locust": "2.47.0"}


def _mac(secret: str, *parts: bytes | str) -> str:
    from harness.loadgen import trust

    return trust.mac(trust.secret_key(secret), *parts)


def raw_request(host: str, port: int, data: bytes, half_close: bool = False, timeout: float = 8.0) -> int | None:
    """Send `data` as is; the answer's status, or None when the connection closed without one."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(4096)
        except OSError:
            return None
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split(b" ", 2)[1])


def _request(method: str, target: str, body: bytes = b"", secret: str | None = None,
             headers: dict[str, str] | None = None, length: str | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.0", "Host: master"]
    if secret is not None:
        nonce = "0" * 31 + "1"
        lines += [f"X-Bench-Nonce: {nonce}",
                  f"X-Bench-Mac: {_mac(secret, 'request', method, target, nonce, body)}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    elif body:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _hello(**changes: Any) -> bytes:
    hello: dict[str, Any] = {"worker": "rogue/1-abcdef", "processes": 1,
                             "identity": {"harness": "0.0.0", "files": "0" * 16}, "host": HOST_FACTS}
    hello.update(changes)
    return json.dumps(hello).encode()


def _bomb(size: int = 64 * 1024 * 1024) -> bytes:
    return gzip.compress(b"\0" * size, 9)


def coordinator_attacks(host: str, port: int, known_secret: str | None = None) -> list[tuple[str, int | None]]:
    """(what, the status it got) for each malformed or unauthenticated request; `port`: the coordinator's."""
    good = _hello()
    attacks: list[tuple[str, bytes, bool]] = [
        ("hello unsigned", _request("POST", "/hello", good), False),
        ("hello wrong secret", _request("POST", "/hello", good, ROGUE_SECRET), False),
        ("poll unsigned", _request("GET", "/run?worker=rogue/1-abcdef"), False),
        ("poll wrong secret", _request("GET", "/run?worker=rogue/1-abcdef", secret=ROGUE_SECRET), False),
        ("hello huge length", _request("POST", "/hello", length=str(10**12)), False),
        ("hello negative length", _request("POST", "/hello", length="-1"), False),
        ("hello no length", _request("POST", "/hello"), False),
        ("hello gzip bomb", _request("POST", "/hello", _bomb(), headers={"Content-Encoding": "gzip"}), False),
        ("hello chunked", _request("POST", "/hello", b"5\r\nhello\r\n0\r\n\r\n",
                                   headers={"Transfer-Encoding": "chunked"}), False),
        ("garbage request line", b"\x00\xff HELLO\r\n\r\n", False),
        ("request line too long", b"GET /" + b"a" * 70_000 + b" HTTP/1.0\r\n\r\n", False),
        ("too many headers", b"GET /run HTTP/1.0\r\n" + b"X: y\r\n" * 200 + b"\r\n", False),
        ("unknown method", b"PUT /hello HTTP/1.0\r\n\r\n", False),
        ("body shorter than its length", _request("POST", "/hello", b"{}", length="100"), True),
    ]
    if known_secret is not None:  # a peer that holds the secret and sends junk
        s = known_secret
        hellos = {
            "host {}": _hello(host={}),
            "processes -1": _hello(processes=-1),
            "processes 10**9": _hello(processes=10**9),
            "processes '2'": _hello(processes="2"),
            "processes true": _hello(processes=True),
            "worker 123": _hello(worker=123),
            "worker ../../etc": _hello(worker="../../etc"),
            "identity []": _hello(identity=[]),
            "not JSON": b"{not json",
            "NaN": _hello(processes=float("nan")),
            "nested 30000 deep": b"[" * 30_000 + b"]" * 30_000,
            "an array": b"[1, 2, 3]",
            "an extra key": _hello(extra="x"),
            "cpus_given huge ints": _hello(host={**HOST_FACTS, "cpus_given": [2**70]}),
        }
        attacks += [(f"signed hello, {what}", _request("POST", "/hello", body, s), False)
                    for what, body in hellos.items()]
        polls = ["/run", "/run?worker=../x", "/run?worker=rogue/1-abcdef&running=xyz",
                 "/run?worker=rogue/1-abcdef&refused=bad", "/run?worker=rogue/1-abcdef&evil=1",
                 "/run/../hello?worker=rogue/1-abcdef", "/run?worker=a&worker=b"]
        attacks += [(f"signed poll {target}", _request("GET", target, secret=s), False) for target in polls]
        attacks.append(("signed poll with a body", _request("GET", "/run?worker=rogue/1-abcdef", b"12345", s), False))
        attacks.append(("signed hello over 64 kB", _request("POST", "/hello", b" " * 70_000 + good, s), False))
    return [(what, raw_request(host, port, data, half_close)) for what, data, half_close in attacks]


# --- a fake Locust worker ----------------------------------------------------------------------------------


def bomb_histogram() -> str:
    """An HDR histogram's encoding whose zlib part inflates to 50 MB."""
    payload = struct.pack(">IIIIQQd", 0x1C849313, 50 * 2**20, 0, 3, 1, 100_000_000, 1.0) + b"\0" * (50 * 2**20)
    compressed = zlib.compress(payload, 9)
    return base64.b64encode(struct.pack(">II", 0x1C849314, len(compressed)) + compressed).decode()


def fake_report(histogram: str | None = None) -> dict[str, Any]:
    step = {"host": "rogue", "pid": 1, "window": [time.time() - 1, time.time()], "pending": 0,
            "requests": {"GET /": {"ok": FAKE_OK, "failed": 0, "histogram": histogram}},
            "errors": {}, "counts": {}, "gauges_min": {}, "arrivals": None}
    return {"steps": [step], "loadgen": {"host": "rogue", "pid": 1, "cpus": [0], "cpu_pct": [1.0]}}


def locust_attacks(host: str, port: int, seconds: float) -> int:
    """Connect as a fresh fake worker every 0.3 s for `seconds`; the number of rounds."""
    import msgpack
    import zmq

    from harness.loadgen import trust

    context = zmq.Context()
    rounds, deadline, sent_huge = 0, time.monotonic() + seconds, False
    wrong_key = trust.report_key(trust.run_key(ROGUE_SECRET, "0" * 32), "rogue/1-abcdef")
    while time.monotonic() < deadline:
        node = f"rogue_{rounds}"
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, node.encode())
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"tcp://{host}:{port}")
        body = json.dumps(fake_report())
        messages = [
            ("client_ready", "2.47.0"),
            ("bench_window_result", fake_report()),  # unsigned, from a node that never proved itself
            ("bench_window_result", {"worker": "rogue/1-abcdef", "body": body, "mac": "0" * 64}),
            ("bench_auth", trust.sign_auth(wrong_key, "rogue/1-abcdef", node)),  # unregistered, wrong key
            ("bench_auth", {"worker": ["not", "text"], "mac": 7}),
            ("bench_window_result", trust.sign_report(wrong_key, "rogue/1-abcdef", node,
                                                      fake_report(bomb_histogram()))),
            ("heartbeat", {"state": "running", "current_cpu_usage": 1.0}),
            ("stats", {"stats": [], "user_count": 10**6}),
        ]
        for kind, data in messages:
            sock.send(msgpack.dumps((kind, data, node)), zmq.NOBLOCK)
        if not sent_huge and rounds > 3:  # over the master's 32 MB cap: the connection is dropped
            sock.send(msgpack.dumps(("bench_window_result", "x" * (33 * 2**20), node)), zmq.NOBLOCK)
            sent_huge = True
        time.sleep(0.3)
        sock.close()
        rounds += 1
        print(f"round {rounds}", file=sys.stderr, flush=True)
    context.term()
    return rounds


if __name__ == "__main__":
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    known = sys.argv[4] if len(sys.argv) > 4 else None
    print(json.dumps({"coordinator": coordinator_attacks(host, port + 1, known)}), flush=True)
    print(json.dumps({"locust_rounds": locust_attacks(host, port, seconds)}), flush=True)  # unless stopped first
