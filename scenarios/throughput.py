"""Throughput of `GET /json` at a fixed concurrency: framework and serialisation overhead only.

Zero think time: each user sends its next request as soon as the last one is answered, so
`users` is the number of requests in flight (closed model). Checks the pipeline end to end
and gives the baseline requests/s and latency of each framework.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P7"],
    "profiles": {
        "quick": {"users": [64], "warmup_s": 3, "duration_s": 2, "trials": 2,
                  "slices": {"slice_s": 1, "settle_s": 0.1, "pairs": 10}},
        "full": {"users": [64], "warmup_s": 5, "duration_s": 30, "trials": 5},
        "ci": {"users": [32], "warmup_s": 1, "duration_s": 3, "trials": 5},
        "test": {"users": [4], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from locust import FastHttpUser, constant, task  # noqa: E402


class JsonUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def json(self) -> None:
        self.client.get("/json", name="GET /json")
