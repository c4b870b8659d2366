"""Open-model rate sweep on `GET /users?limit=100` from PostgreSQL: the highest offered rate each
server answers within the SLO (`max_rate_slo`, harness.rate_sweep's rule), the main reading of P1.

Requests arrive at a set rate (Poisson), whatever earlier answers do, and each is timed from its
intended send time, so a server falling behind shows its queue in p99 (no coordinated omission).
The workload is a page of 100 users (the most the endpoint returns) read from PostgreSQL through
each app's driver (asyncpg, node-postgres; the page and the total, two queries), its query validated
(Pydantic, zod) and the page serialised as each app's users would write it: the same request and
answer in both. Why the database: from memory the same page cost each server only 130-190 µs, so
the servers' limits lay above what one Locust core can offer in the open model (about 4,400 req/s
measured on a 2-core machine, its process at 90% there) and the sweep ended "above the top step"
for both; with the database on the server's cores both servers reach their limit near 1-3k req/s,
well inside the load generator's headroom, so the ratio is the servers' own. Each trial's first
sender fills the (emptied) table with 100 users during the warm-up.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P1"],
    "database": "postgres",
    "profiles": {
        "quick": {"arrival": {"rate_per_s": [400, 700, 1000, 1200, 1400, 1600, 1800, 2000, 2200, 2400],
                              "stop_at_first_failure": True},
                  "first_warmup_s": 4, "warmup_s": 0.25, "duration_s": 0.75, "trials": 5,
                  "summary": {"rate_slo_p99_ms": 100}},
        "full": {"arrival": {"rate_per_s": [250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500]},
                 "warmup_s": 3, "duration_s": 15, "trials": 5, "summary": {"rate_slo_p99_ms": 100}},
        "ci": {"arrival": {"rate_per_s": [250, 500, 750, 1000, 1250, 1500, 1750, 2000]}, "warmup_s": 1.5,
               "duration_s": 2, "trials": 5, "summary": {"rate_slo_p99_ms": 100}},
        "test": {"arrival": {"rate_per_s": [50, 100]}, "warmup_s": 0.5, "duration_s": 1, "trials": 1,
                 "summary": {"rate_slo_p99_ms": 100}},
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
