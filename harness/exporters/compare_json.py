"""compare.json: the whole comparison, for machines.

compare.json's format: docs/formats.md; its history (COMPARE_VERSION): CHANGELOG.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from harness.compare.runs import CompareResult

COMPARE_VERSION = 1
FILENAME = "compare.json"


def to_json(result: CompareResult) -> str:
    data: dict[str, Any] = {"compare_version": COMPARE_VERSION, **asdict(result),
                            "regressions": len(result.regressions), "improvements": len(result.improvements),
                            "exit_code": result.exit_code}
    return json.dumps(_no_nan(data), indent=1)


def _no_nan(value: Any) -> Any:
    """JSON has no NaN or Infinity: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value
