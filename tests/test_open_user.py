"""The open-model user's gevent shell (harness/loadgen/open_user.py) with a fake request in place of
HTTP: its long-lived senders keep the open model's rules. Run in a child process, as a Locust
process runs it (locust monkey-patches the standard library on import, which this test process
must not be: tests/test_window.py checks that the harness never imports gevent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.loadgen.params import PARAMS_ENV

ROOT = Path(__file__).resolve().parent.parent
RATE, SPAN_S = 200.0, 1.0  # 200 requests, one every 5 ms

# Argv: max_in_flight, the answer's delay (s), the slow request's number and delay (s), the rate, the span (s).
SHELL = """
import functools, json, sys, time, types

import gevent

from harness.loadgen import measures
from harness.loadgen.arrival import INTENDED_KEY
from harness.loadgen.open_user import OpenUser
from harness.loadgen.window import StepSchedule

max_in_flight, answer_s, slow_number, slow_s, rate, span_s = map(float, sys.argv[1:])
schedule = StepSchedule([{"users": 1, "spawn_rate": 1, "warmup_s": 0.0, "duration_s": span_s, "rate_per_s": rate,
                          "max_in_flight": int(max_in_flight)}])
ledger = schedule.recorders[0].arrivals
admit = schedule.admit
peak = [0]

def admit_and_note(intended, now):
    admitted = admit(intended, now)
    peak[0] = max(peak[0], ledger.in_flight)
    return admitted

schedule.admit = admit_and_note
sends, senders = [], {}

def send(context):
    number = len(sends)
    sends.append([context[INTENDED_KEY], time.time(), None])
    senders[id(gevent.getcurrent())] = gevent.getcurrent()
    gevent.sleep(slow_s if number == slow_number else answer_s)
    sends[number][2] = time.time()

schedule.start(time.time())
plan = list(schedule.intended_times(0, 1, "uniform"))
measures.connect(schedule)
user = types.SimpleNamespace(environment=types.SimpleNamespace(runner=None), send=send)
user._sender = functools.partial(OpenUser._sender, user)
offering = gevent.spawn(OpenUser.offer, user)
deadline = time.time() + span_s + slow_s + 30  # all offered and answered, however busy the machine
while (ledger.counts.offered < len(plan) or ledger.in_flight) and time.time() < deadline:
    gevent.sleep(0.05)
gevent.sleep(0.05)
idle_before_stop = sum(not g.dead for g in senders.values())
offering.kill()
gevent.sleep(0.1)
print(json.dumps({"plan": plan, "sends": sends, "senders": len(senders), "peak_in_flight": peak[0],
                  "alive_after_stop": sum(not g.dead for g in senders.values()),
                  "idle_before_stop": idle_before_stop, "counts": vars(ledger.counts)}))
"""


def run_shell(max_in_flight: int, answer_s: float, slow_number: int = -1, slow_s: float = 0.0) -> dict:
    env = {**os.environ, PARAMS_ENV: json.dumps({"distribution": "uniform", "loadgen_workers": 1})}
    args = [str(a) for a in (max_in_flight, answer_s, slow_number, slow_s, RATE, SPAN_S)]
    done = subprocess.run([sys.executable, "-c", SHELL, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.timeout(150)
def test_a_slow_answer_delays_no_later_send_and_the_senders_are_as_many_as_were_once_in_flight():
    slow_s = 0.5
    run = run_shell(max_in_flight=256, answer_s=0.001, slow_number=20, slow_s=slow_s)
    assert run["counts"]["offered"] == len(run["plan"]) == RATE * SPAN_S and run["counts"]["dropped"] == 0
    assert [intended for intended, _, _ in run["sends"]] == run["plan"]  # each sent with its intended time
    slow_answered = run["sends"][20][2]
    during = [sent for intended, sent, _ in run["sends"][21:] if intended < slow_answered - 0.1]
    assert len(during) >= 0.8 * slow_s * RATE - 20  # those due meanwhile went out before the slow answer:
    assert all(sent < slow_answered for sent in during)  # none waited for it
    # a new sender only when none was idle: one per request in flight at the busiest moment, not 200
    assert run["senders"] == run["peak_in_flight"] < len(run["plan"]) / 2
    assert run["idle_before_stop"] == run["senders"] and run["alive_after_stop"] == 0  # ended with the user


@pytest.mark.timeout(150)
def test_past_the_in_flight_bound_due_requests_are_dropped_and_never_sent_late():
    run = run_shell(max_in_flight=4, answer_s=0.05)  # 10 would be in flight at 200/s × 50 ms
    counts = run["counts"]
    assert counts["offered"] == len(run["plan"]) and counts["sent"] == len(run["sends"])
    assert counts["dropped"] == counts["offered"] - counts["sent"] >= len(run["plan"]) / 3
    assert run["senders"] == run["peak_in_flight"] == 4
    sent_intended = [intended for intended, _, _ in run["sends"]]
    assert sent_intended == sorted(sent_intended) and set(sent_intended) <= set(run["plan"])  # none queued
