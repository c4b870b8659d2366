"""CPU-bound work: `GET /cpu?n=N` counts the primes below N by trial division, in the language itself.

Both apps run the same loop on their event loop (no thread pool, no native library), so this
measures the language runtime (CPython vs V8's JIT) more than the framework. Checks P3.
"""

SCENARIO = {
    "kind": "load",
    "claims": ["P3"],
    "profiles": {
        "quick": {"users": [8], "warmup_s": 3, "duration_s": 1.5, "trials": 2, "params": {"n": 10000},
                  "slices": {"slice_s": 1, "settle_s": 0.1, "pairs": 10}},
        "full": {"users": [16], "warmup_s": 3, "duration_s": 20, "trials": 5, "params": {"n": 10000}},
        "ci": {"users": [8], "warmup_s": 1, "duration_s": 3, "trials": 5, "params": {"n": 10000}},
        "test": {"users": [2], "warmup_s": 0.5, "duration_s": 1, "trials": 1, "params": {"n": 2000}},
    },
}

# Below this line runs only inside Locust processes; the harness reads SCENARIO without importing.
from locust import FastHttpUser, constant, task  # noqa: E402

from harness.loadgen.params import scenario_params  # noqa: E402

N = int(scenario_params().get("n", 10000))


class CpuUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def cpu(self) -> None:
        self.client.get(f"/cpu?n={N}", name="GET /cpu")
