"""claims.toml snippets more than one test module judges, and judging one (imported as a sibling module,
as test_flags is)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from harness.claims import judge_claims, load_claims
from harness.results import RunResults


def judge_one(tmp_path: Path, body: str, results: RunResults):
    """The verdict of the one claim `body` (a claims.toml text) holds, on `results`."""
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    (only,) = judge_claims(results, load_claims(path))
    return only


def cold_start_range(target: str, low: int, high: int, part: str | None = None) -> str:
    """A range check of `target`'s cold_start_ms, as a [[claims.checks]] table (of a part, if named)."""
    named = f'\n    part = "{part}"' if part else ""
    return f"""
    [[claims.checks]]
    type = "range"{named}
    target = "{target}"
    scenario = "cold_start"
    metric = "cold_start_ms"
    min = {low}
    max = {high}"""


def p5_readings(max_mb: int | None = 120) -> str:
    """P5's FastAPI range read twice, MB as 10^6 and as 2^20 bytes, the readings required to agree."""
    upper = f"\n    max = {max_mb}" if max_mb is not None else ""
    return f"""
    [[claims]]
    id = "P5"
    claim = "FastAPI 80-120 MB"
    readings_must_agree = true
    [[claims.checks]]
    type = "range"
    reading = "MB = 10^6 B"
    target = "fastapi"
    scenario = "cold_start"
    metric = "rss_idle_mb"
    min = 80{upper}
    [[claims.checks]]
    type = "range"
    reading = "MB = 2^20 B"
    target = "fastapi"
    scenario = "cold_start"
    metric = "rss_idle_mib"
    min = 80{upper}
"""
