"""Cold start: spawn a fresh server, time it to its first TCP accept and first correct answer.

"Cold" means a new process; the OS page cache is warm after the first start (as on a
serverless host that keeps the image cached). Each trial is one start, so trials interleave
targets start by start. Idle memory is read after a settle time, from the whole process tree.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from harness.kinds.base import TrialContext, TrialOutcome
from harness.machine.cgroup import memory_bytes
from harness.sampler import MB, tree_memory

MIB = 1024 * 1024


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trials: PositiveInt  # one start per trial
    settle_s: float = Field(default=1.0, ge=0)  # wait before reading idle memory
    timeout_s: float = Field(default=30.0, gt=0)

    def planned_s(self) -> float:
        """The settling wait; the start itself is what is measured (harness.eta learns it)."""
        return self.settle_s


def run_trial(ctx: TrialContext) -> TrialOutcome:
    params: Params = ctx.params
    server = ctx.runtime.launch(ctx.target, ctx.launch_options())
    try:
        timings = server.wait_ready(params.timeout_s)
        time.sleep(params.settle_s)
        # A remote engine's container has no host PIDs here: its memory is the engine's (docker_stats).
        remote = not getattr(server.process, "host_pids", True)
        rss, uss = tree_memory(server.pids())
        cgroup = server.process.engine_memory_bytes() if remote else memory_bytes(server.cgroup_memory_path)
    finally:
        server.stop()
    outcome = TrialOutcome(server=server.record())  # no `start`: the figures below are the start
    memory = [] if remote else [
        ("rss_idle_mb", rss / MB, "MB"), ("rss_idle_mib", rss / MIB, "MiB"), ("uss_idle_mb", uss / MB, "MB"),
    ]  # fmt: skip
    for metric, value, unit in [("cold_start_ms", timings.ready_ms, "ms"), ("listen_ms", timings.listen_ms, "ms"),
                                *memory]:
        outcome.metrics.append(ctx.metric(metric, value, unit))
    if cgroup is not None:  # docker: the container's memory as its cgroup counts it
        outcome.metrics.append(ctx.metric("cgroup_idle_mb", cgroup / MB, "MB"))
    return outcome
