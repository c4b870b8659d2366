"""The realtime scenario's figures, from the rows a load trial records (a profile's `summary` setting
`delivery_slo_p99_ms: L` turns them on; see harness.kinds.load_summary).

Only deliveries are successful requests in that scenario (failures: refused upgrades, closed sockets,
failed sends, lost copies), so a step's aggregate rps and latency are the deliveries' own.

Per step: messages_delivered_per_s (copies timed and received in time), delivery_p50_ms, delivery_p99_ms,
loss_ratio (lost copies over copies owed: delivered + lost), server_cpu_us_per_delivery, beside what the
trial recorded itself (clients_held, copies_sent_per_s, messages_lost, messages_published_per_s,
refused_upgrades, closed_sockets, server_cpu_pct, server_rss_mb).
Per trial: max_clients_slo (+ max_clients_slo_censored) and memory_per_client_kb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.metrics import RPS
from harness.results import Metric, is_endpoint_step, step_params
from harness.stats import linear_slope

MetricFactory = Callable[[str, float, str, str], Metric]
RENAMED = {RPS: ("messages_delivered_per_s", "1/s"), "latency_p50_ms": ("delivery_p50_ms", "ms"),
           "latency_p99_ms": ("delivery_p99_ms", "ms")}


@dataclass(frozen=True)
class ClientsUnderSlo:
    clients: float  # interpolated; when censored, the top step (a lower bound); 0 when the lowest step fails
    censored: bool


def max_clients_under_slo(clients: Sequence[float], p99_ms: Sequence[float], sound: Sequence[bool],
                          p99_limit_ms: float) -> ClientsUnderSlo | None:
    """The most clients served with delivery p99 under the limit and nothing lost, between the steps.

    A step passes when p99 < limit and it is `sound` (every client connected throughout the window and
    no copy lost); the chain stops at the first failing step, as in harness.stats.max_under_slo. Between
    the last passing step s0 (p99 p0) and the next, failing, step s1 (p1):
    - failing on latency alone: the chord from (s0, p0) to (s1, p1), linear in clients, reaches the limit
      at s0 + (L − p0)·(s1 − s0)/(p1 − p0). The offered load grows in proportion to clients (publishers at
      a fixed rate), and a queue's latency grows convexly with load (R = S/(1 − ρ) for M/M/1; Kleinrock
      1975, "Queueing Systems", vol. 1, §3.2), so the chord lies above the curve: the crossing it gives
      is at or below the true one, a conservative reading. (Not the line through the origin used for
      closed loops in harness.stats.slo_crossing: here latency is not N/X.)
    - failing on loss or on clients not held: s0 itself; a loss has no threshold to interpolate to.
    Every step passing: the top step, censored (the limit lies above it). The lowest step failing: 0.
    None without steps.
    """
    if not len(clients) == len(p99_ms) == len(sound):
        raise ValueError(f"clients, p99_ms and sound differ in length: {len(clients)}, {len(p99_ms)}, {len(sound)}")
    steps = sorted(zip(clients, p99_ms, sound, strict=True))
    if not steps:
        return None
    last = -1
    for i, (_, p99, ok) in enumerate(steps):
        if not (ok and p99 < p99_limit_ms):  # NaN p99 fails too
            break
        last = i
    if last == len(steps) - 1:
        return ClientsUnderSlo(clients=steps[-1][0], censored=True)
    if last < 0:
        return ClientsUnderSlo(clients=0.0, censored=False)
    (s0, p0, _), (s1, p1, ok1) = steps[last], steps[last + 1]
    if not ok1 or not p1 > p0:
        return ClientsUnderSlo(clients=s0, censored=False)
    return ClientsUnderSlo(clients=s0 + (p99_limit_ms - p0) * (s1 - s0) / (p1 - p0), censored=False)


def _rows(metrics: list[Metric], name: str) -> dict[str, float]:
    return {m.step: m.value for m in metrics if m.metric == name and m.step and not is_endpoint_step(m.step)}


def step_figures(metrics: list[Metric], make: MetricFactory) -> list[Metric]:
    out = [make(new, value, unit, step) for old, (new, unit) in RENAMED.items()
           for step, value in _rows(metrics, old).items()]
    requests, errors, lost = _rows(metrics, "requests"), _rows(metrics, "error_rate"), _rows(metrics, "messages_lost")
    for step, n_lost in lost.items():
        delivered = round(requests.get(step, 0.0) * (1 - errors.get(step, 0.0)))
        owed = delivered + n_lost
        out.append(make("loss_ratio", n_lost / owed if owed else 0.0, "ratio", step))
    # The server's CPU time per copy it sends (every member's, timed or not): what a delivery costs it,
    # readable far below saturation (one core sends about 1e6 / this many copies per second).
    cpu, rate = _rows(metrics, "server_cpu_pct"), _rows(metrics, "copies_sent_per_s")
    for step, pct in cpu.items():
        if rate.get(step):
            out.append(make("server_cpu_us_per_delivery", pct / 100 * 1e6 / rate[step], "us", step))
    return out


def realtime_figures(metrics: list[Metric], p99_limit_ms: float, make: MetricFactory) -> list[Metric]:
    """Per-step figures, then the trial's max_clients_slo and memory_per_client_kb."""
    out = step_figures(metrics, make)
    p99, held, lost = _rows(out, "delivery_p99_ms"), _rows(metrics, "clients_held"), _rows(metrics, "messages_lost")
    steps = sorted(set(held) & set(lost), key=lambda s: float(step_params(s)["users"]))
    clients = [float(step_params(s)["users"]) for s in steps]
    sound = [held[s] >= n and lost[s] == 0 and s in p99 for s, n in zip(steps, clients, strict=True)]
    best = max_clients_under_slo(clients, [p99.get(s, float("nan")) for s in steps], sound, p99_limit_ms)
    if best is not None:
        out.append(make("max_clients_slo", best.clients, "clients", ""))
        out.append(make("max_clients_slo_censored", float(best.censored), "bool", ""))
    rss = _rows(metrics, "server_rss_mb")
    with_rss = [s for s in steps if s in rss]
    if len(with_rss) >= 2 and len({held[s] for s in with_rss}) >= 2:
        slope_mb, _ = linear_slope([held[s] for s in with_rss], [rss[s] for s in with_rss])
        out.append(make("memory_per_client_kb", slope_mb * 1000, "kB", ""))
    return out
