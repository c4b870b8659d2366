"""CRUD throughput in memory: the crud scenario's mix with each server keeping its users in a dict/Map.

The second reading of P2: the same users as `crud` (imported from it), without a database, so the
figures are the frameworks' own cost of CRUD (routing, validation, serialisation). One store per
server process: refused with several server workers (`stateful`).
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P2"],
    "stateful": True,  # writes to the in-memory store: refused with several server workers
    "profiles": {
        "quick": {"users": [32], "warmup_s": 3, "duration_s": 1, "trials": 2,
                  "slices": {"slice_s": 1, "settle_s": 0.1, "pairs": 10}},
        "full": {"users": [64], "warmup_s": 5, "duration_s": 30, "trials": 5},
        "ci": {"users": [32], "warmup_s": 1, "duration_s": 3, "trials": 5},
        "test": {"users": [4], "warmup_s": 0.5, "duration_s": 1.5, "trials": 1},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
# Locust puts this file's folder on sys.path while loading it, and runs the User classes it finds here.
from crud import CrudUser  # noqa: E402, F401
