"""The load generator's ceiling run (harness.ceiling): the throughput scenario's user, unchanged.

Closed zero-think users on `GET /json`, as scenarios/throughput.py's JsonUser, with the harness's
plugin loaded beside it (harness.loadgen.driver adds it): the ceiling is what the harness's own
load generator offers, recording included, not what a bare Locust could. Runs only inside Locust.
"""

from locust import FastHttpUser, constant, task


class JsonUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def json(self) -> None:
        self.client.get("/json", name="GET /json")
