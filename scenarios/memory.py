"""Memory under sustained load: a mixed read/write load held for a stated time, RSS sampled throughout.

The mix creates and deletes users in equal numbers (so the store does not grow), reads JSON and
waits on `/io`. Per trial: `rss_peak_mb`, `rss_slope_mb_per_min` (least-squares line over the
measured window), `rss_cv` (coefficient of variation of the RSS samples) and
`rss_after_load_mb` (after a settle time with no load). Checks P5 and P6.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P5", "P6"],
    "stateful": True,  # creates and deletes users: refused with several server workers
    "profiles": {
        "full": {"users": [64], "warmup_s": 10, "duration_s": 300, "trials": 5, "after_load_s": 5,
                 "summary": {"memory_series": True}},
        "test": {"users": [4], "warmup_s": 0.5, "duration_s": 2, "trials": 1, "after_load_s": 0.5,
                 "summary": {"memory_series": True}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
import random  # noqa: E402

from locust import FastHttpUser, constant, task  # noqa: E402


class SustainedUser(FastHttpUser):
    wait_time = constant(0)

    @task(4)
    def json(self) -> None:
        self.client.get("/json", name="GET /json")

    @task(2)
    def io(self) -> None:
        self.client.get("/io?ms=5", name="GET /io")

    @task(1)
    def create_and_delete(self) -> None:
        n = random.randrange(10**9)
        with self.client.post("/users", json={"name": f"Mem {n}", "email": f"mem{n}@example.com"},
                              name="POST /users", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"status {response.status_code}")
                return
            user_id = response.json()["id"]
        self.client.delete(f"/users/{user_id}", name="DELETE /users/{id}")
