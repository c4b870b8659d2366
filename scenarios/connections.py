"""Held connections: many mostly idle keep-alive connections, stepped up to thousands.

Each user holds one keep-alive connection and sends `GET /json` every `think_s` seconds (± 20%).
Per step: the share of requests answered (`answered_ratio`: failed requests and those stalled at the
window's end count as not answered), latency, server RSS. Per trial: `connections_held`, the
highest step with at least 99% of requests answered (every lower step too), and
`memory_per_connection_kb`, the slope of server RSS against connections. The open-file limit is
raised as needed. The second reading of P1.

Both servers close a connection idle for `keepalive_timeout_s`; the longest think time stays
below it (the harness refuses a profile where it does not), else connections would be re-opened
rather than held. A request waits at most `timeout_s` (Locust's default is 60 s), so a stalled
one fails within a full window instead of hanging past it.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P1"],
    "profiles": {
        "full": {"users": [500, 1000, 2000, 4000, 8000], "think_s": 5.0, "think_jitter": 0.2,
                 "keepalive_timeout_s": 10, "warmup_s": 15, "duration_s": 20, "trials": 5, "spawn_rate": 1000,
                 "open_files": 65536, "params": {"timeout_s": 10}, "summary": {"held_success": 0.99}},
        "test": {"users": [20, 50], "think_s": 0.5, "think_jitter": 0.2, "keepalive_timeout_s": 10, "warmup_s": 1,
                 "duration_s": 1, "trials": 1, "open_files": 65536, "params": {"timeout_s": 10},
                 "summary": {"held_success": 0.99}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
import random  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, task  # noqa: E402

from harness.loadgen.params import scenario_params  # noqa: E402

PARAMS = scenario_params()
THINK_S = float(PARAMS.get("think_s", 2.0))
JITTER = float(PARAMS.get("think_jitter", 0.2))
TIMEOUT_S = float(PARAMS.get("timeout_s", 10.0))


class IdleUser(FastHttpUser):
    # One connection per user: the pool would otherwise open more under bursts.
    concurrency = 1
    # Connecting and waiting for an answer: bounded well below Locust's 60 s, well above a loopback answer.
    connection_timeout = network_timeout = TIMEOUT_S

    def wait_time(self) -> float:
        # Jitter so thousands of users do not fire in lock-step; the harness keeps the longest
        # pause below the servers' keep-alive timeout.
        return THINK_S * random.uniform(1 - JITTER, 1 + JITTER)

    def on_start(self) -> None:
        # Spread first requests uniformly over one think time, so that the users' cycles are
        # out of phase from the start (waiting one jittered think time would leave them bunched
        # for several cycles, and a short window would catch a burst).
        gevent.sleep(random.uniform(0, THINK_S))

    @task
    def ping(self) -> None:
        self.client.get("/json", name="GET /json")
