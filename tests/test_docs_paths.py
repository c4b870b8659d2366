"""Every repository path the docs name in backticks exists, so the architecture map cannot drift
from the code unnoticed (a module moved or split must be renamed in the docs too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# A backticked span that starts with one of the repository's code folders; `::name` after a
# path names something inside it and is cut off. Placeholders (`<name>`, `*`) are not paths.
PATH = re.compile(r"`((?:harness|targets|scenarios|contract|tests)/[^`\s:]*)(?:::[^`]*)?`")


def named_paths(text: str) -> list[str]:
    return [path for path in PATH.findall(text) if not re.search(r"[<*{]", path)]


def test_named_paths_are_found_in_a_sample_text():
    text = "see `harness/run.py`, `harness/kinds/load.py::_record_step`, `harness/runtime/<name>.py`, `cpus`"
    assert named_paths(text) == ["harness/run.py", "harness/kinds/load.py"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_path_named_in_the_docs_exists(doc: Path):
    missing = sorted({path for path in named_paths(doc.read_text()) if not (ROOT / path).exists()})
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_architecture_names_the_pipeline_modules():
    named = set(named_paths((ROOT / "docs" / "architecture.md").read_text()))
    for module in ("harness/database/__init__.py", "harness/machine/protect.py", "harness/machine/disturbance.py",
                   "harness/rate_sweep.py",
                   "harness/loadgen/arrival.py", "harness/kinds/realtime_summary.py", "harness/results/"):
        assert module in named
