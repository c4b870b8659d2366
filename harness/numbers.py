"""The one number formatter, and the few statistics that have a fixed form (a change in %, a p-value).

Every figure the harness prints (terminal, claims.csv, the report, compare, history) goes through
`number`, so the same value reads the same everywhere.
"""

from __future__ import annotations

import math


def number(value: float | None, unit: str = "") -> str:
    """3 significant digits, thousands separated, whole numbers without decimals: "1,173", "52.5",
    "0.659", "0"; None or NaN "—"; ∞. A fraction (unit "ratio", e.g. error_rate) below 1 in percent: "2.5%"."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "ratio" and abs(value) < 1:
        return number(100 * value) + "%"
    if abs(value) < 1e-9:  # e.g. the CV of a constant series, 1e-16 from rounding
        return "0"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def interval(low: float | None, high: float | None, unit: str = "", separator: str = "–") -> str:
    """" [230–270]" (with its leading space), or "" without an interval."""
    if low is None or high is None:
        return ""
    return f" [{number(low, unit)}{separator}{number(high, unit)}]"


def change_pct(change: float | None, low: float | None = None, high: float | None = None) -> str:
    """A relative change with its CI: "-20.0% [-23.8, -16.0]"; "—" when undefined."""
    if change is None:
        return "—"
    return f"{change:+.1f}%" + ("" if low is None or high is None else f" [{low:+.1f}, {high:+.1f}]")


def p_value(p: float | None) -> str:
    return "—" if p is None else f"{p:.3f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"
