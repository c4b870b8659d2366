"""Open-model rate sweep on `GET /users?limit=100`: the highest offered rate each server answers
within the SLO (`max_rate_slo`, harness.rate_sweep's rule), the main reading of P1.

Requests arrive at a set rate (Poisson), whatever earlier answers do, and each is timed from its
intended send time, so a server falling behind shows its queue in p99 (no coordinated omission).
The workload is a page of 100 users (the most the endpoint returns) from the in-memory store,
its query validated (Pydantic, zod) and the page serialised by each app as its users would write
it (FastAPI also builds its response model, which is what FastAPI code does): the same request and
answer in both, costing the server more per request than /json (measured on one core of a busy
2-core machine: about 130–190 µs against Locust's own ~180 µs, so on equal cores the servers are
not yet saturated at 4000 req/s, and a sweep that stops there gives "above the top step"). The
memory store rather than PostgreSQL keeps a database process off the two cores of a small
machine, so the server is the one limit. Each trial's first sender fills the store with 100 users
during the warm-up.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P1"],
    "profiles": {
        "quick": {"arrival": {"rate_per_s": [1000, 2000, 3000, 4000]}, "warmup_s": 0.5, "duration_s": 1.5,
                  "trials": 3, "summary": {"rate_slo_p99_ms": 50}},
        "full": {"arrival": {"rate_per_s": [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500]}, "warmup_s": 3,
                 "duration_s": 15, "trials": 5, "summary": {"rate_slo_p99_ms": 50}},
        "ci": {"arrival": {"rate_per_s": [1000, 2000, 3000, 4000]}, "warmup_s": 1, "duration_s": 2,
               "trials": 5, "summary": {"rate_slo_p99_ms": 50}},
        "test": {"arrival": {"rate_per_s": [50, 100]}, "warmup_s": 0.5, "duration_s": 1, "trials": 1,
                 "summary": {"rate_slo_p99_ms": 50}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from typing import Any  # noqa: E402

from harness.loadgen.open_user import OpenUser  # noqa: E402

PAGE = 100


class PageUser(OpenUser):
    def on_start(self) -> None:
        if getattr(self.environment.runner, "worker_index", 0) != 0:
            return
        total = self.client.get("/users?limit=1", name="seed").json()["total"]
        for i in range(total, PAGE):
            self.client.post("/users", json={"name": f"user {i}", "email": f"user{i}@example.com"},
                             name="seed")

    def send(self, context: dict[str, Any]) -> None:
        self.client.get(f"/users?limit={PAGE}", name=f"GET /users?limit={PAGE}", context=context)
