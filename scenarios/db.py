"""TechEmpower's database tests on PostgreSQL: a single random row, N rows, N updates.

`GET /db` reads one random row of the 10,000-row `world` table; `GET /queries?queries=N` reads N
random rows, one query each; `GET /updates?queries=N` reads N rows one by one and writes each a new
random number (TechEmpower's rules, N = 20 as their highest published step). One Locust run per
test (`test=db|queries|updates`), zero think time. The database is re-seeded before every trial,
so both targets start from the same rows. Figures per test, with the database's CPU and memory.
In the quick profile, one trial of short steps (0.5 s each): about 10 s for both targets.
"""

SCENARIO = {
    "kind": "load",
    "claims": [],
    "database": "postgres",
    "profiles": {
        "full": {"users": [64], "matrix": {"test": ["db", "queries", "updates"]}, "params": {"queries": 20},
                 "warmup_s": 5, "duration_s": 20, "trials": 5},
        "ci": {"users": [16], "matrix": {"test": ["db", "queries", "updates"]}, "params": {"queries": 20},
               "warmup_s": 1, "duration_s": 2, "trials": 5},
        "test": {"users": [4], "matrix": {"test": ["db", "queries", "updates"]}, "params": {"queries": 5},
                 "warmup_s": 0.5, "duration_s": 1, "trials": 1},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from locust import FastHttpUser, constant, task  # noqa: E402

from harness.loadgen.params import scenario_params  # noqa: E402

PARAMS = scenario_params()
TEST = str(PARAMS.get("test", "db"))
PATH = "/db" if TEST == "db" else f"/{TEST}?queries={int(PARAMS.get('queries', 20))}"


class WorldUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def query(self) -> None:
        self.client.get(PATH, name=f"GET /{TEST}")
