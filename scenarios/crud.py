"""CRUD throughput on PostgreSQL: each user creates users and reads, lists, updates and deletes its own.

The mix, by task weight: 50% read (GET /users/{id}), 20% create (POST /users), 15% update
(PUT /users/{id}), 10% list (GET /users?limit=20), 5% delete (DELETE /users/{id}), at a fixed
concurrency with zero think time. A user with no user of its own creates one first. Figures
per endpoint and aggregated, and the database's own CPU and memory. The apps use PostgreSQL
(asyncpg / node-postgres, the same pool size), started by the harness and emptied before each
trial: the main reading of P2 ("comparable throughput for standard CRUD"). One database serves
every server worker, so it runs with --workers N too. crud_memory is the same mix in memory.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P2", "P3"],
    "database": "postgres",
    "profiles": {
        "quick": {"users": [32], "warmup_s": 3, "duration_s": 2, "trials": 2,
                  "slices": {"slice_s": 1, "settle_s": 0.1, "pairs": 10}},
        "full": {"users": [64], "warmup_s": 5, "duration_s": 30, "trials": 5},
        "ci": {"users": [32], "warmup_s": 1, "duration_s": 3, "trials": 5},
        "test": {"users": [4], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
import itertools  # noqa: E402
import random  # noqa: E402

from locust import FastHttpUser, constant, task  # noqa: E402

from harness.loadgen.params import target_now  # noqa: E402

_serial = itertools.count(1)


class CrudUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.own_by_target: dict[str, list[int]] = {}
        self.tag = f"u{next(_serial)}-{random.randrange(10**6)}"

    @property
    def own(self) -> list[int]:
        """This user's rows on the server its next request goes to (under paired slices, each server has its
        own: an id one created is unknown to the other)."""
        return self.own_by_target.setdefault(target_now(), [])

    def _body(self) -> dict[str, str]:
        n = random.randrange(10**9)
        return {"name": f"User {self.tag} {n}", "email": f"{self.tag}.{n}@example.com"}

    @task(20)
    def create(self) -> None:
        with self.client.post("/users", json=self._body(), name="POST /users", catch_response=True) as response:
            if response.status_code == 201:
                self.own.append(response.json()["id"])
            else:
                response.failure(f"status {response.status_code}")

    def _own_id(self) -> int | None:
        if not self.own:
            self.create()
            return None
        return random.choice(self.own)

    @task(50)
    def read(self) -> None:
        if (user_id := self._own_id()) is not None:
            self.client.get(f"/users/{user_id}", name="GET /users/{id}")

    @task(15)
    def update(self) -> None:
        if (user_id := self._own_id()) is not None:
            self.client.put(f"/users/{user_id}", json=self._body(), name="PUT /users/{id}")

    @task(10)
    def list_page(self) -> None:
        self.client.get("/users?limit=20", name="GET /users")

    @task(5)
    def delete(self) -> None:
        if (user_id := self._own_id()) is not None:
            self.own.remove(user_id)
            self.client.delete(f"/users/{user_id}", name="DELETE /users/{id}")
