"""I/O-bound work: `GET /io?ms=D` waits D ms without blocking (a stand-in for a database call).

At rising concurrency, compares rps with the ideal `users / (D / 1000)` of a server that adds
no overhead (`rps_ideal`, `io_efficiency` = rps / ideal). Once back-end latency dominates,
the framework's own cost matters less. Checks P7.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P7"],
    "profiles": {
        "quick": {"users": [16, 64], "matrix": {"ms": [20]}, "first_warmup_s": 1.5, "warmup_s": 0.5,
                  "duration_s": 0.5, "trials": 3, "spawn_rate": 500, "summary": {"ideal_delay_param": "ms"}},
        "full": {"users": [16, 64, 256, 1024], "matrix": {"ms": [20, 100]}, "warmup_s": 3, "duration_s": 15,
                 "trials": 5, "spawn_rate": 500, "summary": {"ideal_delay_param": "ms"}},
        "ci": {"users": [64], "matrix": {"ms": [20]}, "warmup_s": 1, "duration_s": 2, "trials": 5,
               "summary": {"ideal_delay_param": "ms"}},
        "test": {"users": [4], "matrix": {"ms": [20]}, "warmup_s": 0.5, "duration_s": 1, "trials": 1,
                 "summary": {"ideal_delay_param": "ms"}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from locust import FastHttpUser, constant, task  # noqa: E402

from harness.loadgen.params import scenario_params  # noqa: E402

MS = int(scenario_params().get("ms", 20))


class IoUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def io(self) -> None:
        self.client.get(f"/io?ms={MS}", name="GET /io")
