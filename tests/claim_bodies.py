"""claims.toml snippets more than one test module judges (imported as a sibling module, as test_flags is)."""

from __future__ import annotations


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
