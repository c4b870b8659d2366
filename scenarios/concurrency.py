"""Concurrency sweep: zero-think-time users on `GET /json`, stepped up, each step held steady.

Per step: rps, latency percentiles, error rate, server CPU and RSS. Per trial:
`max_concurrency_slo`, the highest step whose p99 stays under `slo_p99_ms` with under 1%
errors (every lower step passing too), `slo_crossing_users`, where p99 reaches the SLO between
that step and the next (harness.stats.slo_crossing), `knee_users` (Kneedle, Satopää et al. 2011,
on rps against log2 of users) and `usl_peak_users` (Gunther's Universal Scalability Law fit).
Note: with a closed load, latency grows as users ÷ throughput once the server is saturated,
so the SLO step is mostly throughput × the limit. A trial whose every step passes records the top
step with `slo_crossing_users_censored` = 1: the crossing is above it. Checks P1 and P3.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P1", "P3"],
    "profiles": {
        "quick": {"users": [8, 64, 512], "first_warmup_s": 1.5, "warmup_s": 0.5, "duration_s": 0.5, "trials": 5,
                  "spawn_rate": 2000,
                  "summary": {"slo_p99_ms": 100}},
        "full": {"users": [8, 16, 32, 64, 128, 256, 512, 1024], "warmup_s": 3, "duration_s": 15, "trials": 5,
                 "spawn_rate": 500, "summary": {"slo_p99_ms": 100}},
        "test": {"users": [2, 8], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1, "summary": {"slo_p99_ms": 100}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from locust import FastHttpUser, constant, task  # noqa: E402


class SweepUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def json(self) -> None:
        self.client.get("/json", name="GET /json")
