"""Open-model rate sweep on `GET /users?limit=50`: the highest offered rate each server answers
within the SLO (`max_rate_slo`, harness.rate_sweep's rule), the main reading of P1.

Requests arrive at a set rate (Poisson), whatever earlier answers do, and each is timed from its
intended send time, so a server falling behind shows its queue in p99 (no coordinated omission).
The workload is a page of 50 users from the in-memory store, validated and serialised by each
app's own model layer (Pydantic in FastAPI, its JavaScript counterpart in Express): the same work
in both, costing the server far more per request than /json, so that both servers saturate below
70% of what one Locust core can offer (on /json both outrun it). The memory store rather than
PostgreSQL keeps a database process off the two cores of a small machine, so the server is the
one limit. Each trial's first sender fills the store with 50 users during the warm-up.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P1"],
    "profiles": {
        "quick": {"arrival": {"rate_per_s": [250, 500, 1000, 1500, 2000]}, "warmup_s": 1, "duration_s": 3,
                  "trials": 1, "summary": {"rate_slo_p99_ms": 50}},
        "full": {"arrival": {"rate_per_s": [250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500]}, "warmup_s": 3,
                 "duration_s": 15, "trials": 5, "summary": {"rate_slo_p99_ms": 50}},
        "ci": {"arrival": {"rate_per_s": [250, 500, 1000, 1500, 2000]}, "warmup_s": 1, "duration_s": 2,
               "trials": 5, "summary": {"rate_slo_p99_ms": 50}},
        "test": {"arrival": {"rate_per_s": [50, 100]}, "warmup_s": 0.5, "duration_s": 1, "trials": 1,
                 "summary": {"rate_slo_p99_ms": 50}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from typing import Any  # noqa: E402

from harness.loadgen.open_user import OpenUser  # noqa: E402

PAGE = 50


class PageUser(OpenUser):
    def on_start(self) -> None:
        if getattr(self.environment.runner, "worker_index", 0) != 0:
            return
        total = self.client.get("/users?limit=1", name="seed").json()["total"]
        for i in range(total, PAGE):
            self.client.post("/users", json={"name": f"user {i}", "email": f"user{i}@example.com"},
                             name="seed")

    def send(self, context: dict[str, Any]) -> None:
        self.client.get(f"/users?limit={PAGE}", name="GET /users?limit=50", context=context)
