"""Open-model users for scenario files: requests sent at a set rate, whatever earlier answers do.

A scenario subclasses `OpenUser` and says what one request is (`send`); the plugin's step
schedule says when (harness.loadgen.window.StepSchedule.intended_times, its ArrivalLedger says
whether). Each admitted request goes to an idle sender greenlet, a new one only when all are busy
(arrival.SenderPool), so a slow answer never delays the next send, and the connection pool is as
large as the in-flight bound; past that bound a due request is dropped and counted (k6's rule),
never queued. The request's context carries its intended send time, from which the plugin times
it. A thin gevent shell: the logic lives in arrival.py/window.py.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from gevent.hub import Waiter
from locust import FastHttpUser, constant, task

from harness.loadgen import measures
from harness.loadgen.arrival import DEFAULT_MAX_IN_FLIGHT, INTENDED_KEY, SenderPool
from harness.loadgen.params import scenario_params


class OpenUser(FastHttpUser):
    """One per Locust worker; its share of the plan is 1/loadgen_workers of each step's rate."""

    abstract = True
    wait_time = constant(0)
    concurrency = int(scenario_params().get("max_in_flight", DEFAULT_MAX_IN_FLIGHT))  # connections in the pool

    def send(self, context: dict[str, Any]) -> None:
        """One request, made with `context=context` (e.g. self.client.get("/users", context=context))."""
        raise NotImplementedError

    @task
    def offer(self) -> None:
        schedule = measures.connected()
        if schedule is None:  # not inside a harness run: nothing to send on
            gevent.sleep(1)
            return
        params = scenario_params()
        index = int(getattr(self.environment.runner, "worker_index", 0))
        count = int(params.get("loadgen_workers", 1))
        distribution = str(params.get("distribution", "poisson"))
        senders: SenderPool[Waiter] = SenderPool()
        hand = gevent.get_hub().loop.run_callback  # the sender takes it at the hub's next turn, as a spawn would
        try:
            for intended in schedule.intended_times(index, count, distribution, int(params.get("seed", 0))):
                now = time.time()
                if intended > now:  # due ones go at once, one after another, with no sleep between
                    gevent.sleep(intended - now)
                    now = time.time()
                if schedule.admit(intended, now):
                    sender = senders.take()
                    if sender is None:
                        gevent.spawn(self._sender, schedule, senders, intended)
                    else:
                        hand(sender.switch, intended)
            gevent.sleep(3600)  # the plan is done: idle until Locust stops the run
        finally:
            for sender in senders.close():
                hand(sender.switch, None)

    def _sender(self, schedule: Any, senders: SenderPool[Waiter], intended: float | None) -> None:
        """Sends `intended`, then each request it is handed while idle, until handed None."""
        waiter = Waiter()
        while intended is not None:
            try:
                self.send({INTENDED_KEY: intended})
            except Exception:  # a failure is already counted by the request event
                pass
            finally:
                schedule.complete(intended, time.time())
            if not senders.give_back(waiter):
                return
            intended = waiter.get()  # given back just before, with no switch between: it is waiting when handed
