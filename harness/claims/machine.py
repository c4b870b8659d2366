"""Machine dependence of an absolute figure (ms, MB): whether its verdict sits near a range's edge, so
that a faster or slower machine would likely give another one."""

from __future__ import annotations

from harness.claims.view import Figure
from harness.numbers import number as fmt

DISPLAY = {"express": "Express", "fastapi": "FastAPI", "node_raw": "bare Node.js", "asgi_raw": "bare ASGI"}


def display(label: str) -> str:
    """"express/fastapi" → "Express/FastAPI": the targets' names as a reader knows them."""
    return "/".join(DISPLAY.get(part, part) for part in label.split("/"))


def near_edge(figure: Figure, lo: float | None, hi: float | None, fraction: float) -> str:
    """"" unless the median lies within `fraction` of an edge of [lo, hi] (relative to the edge) or
    within its interval's width of it: then a machine some percent faster or slower moves it across."""
    width = figure.high - figure.low if figure.low is not None and figure.high is not None else 0.0
    edges = [e for e in (lo, hi) if e is not None and e != 0]
    near = [e for e in edges if abs(figure.value - e) <= max(fraction * abs(e), width)]
    if not near:
        return ""
    edge = min(near, key=lambda e: abs(figure.value - e))
    off = abs(figure.value - edge) / abs(edge)
    unit = f" {figure.unit}" if figure.unit not in ("", "×") else ""
    return (f"{display(figure.label)}'s {fmt(figure.value)}{unit} is {off:.0%} from the range's edge "
            f"({fmt(edge)}{unit}): this verdict would likely differ on a faster or slower machine")
