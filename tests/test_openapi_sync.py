"""The committed contract, contract/openapi.json, is what the FastAPI app generates.

FastAPI is not installed in the harness's venv, so the app's document is produced by
contract/generate.py run with the FastAPI app's own interpreter.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "contract" / "openapi.json"
GENERATOR = ROOT / "contract" / "generate.py"
APP_PYTHON = ROOT / "targets" / "fastapi_app" / ".venv" / "bin" / "python"


def test_committed_openapi_document_matches_the_app():
    if not APP_PYTHON.exists():
        pytest.skip("the FastAPI app is not installed: run `make setup`")
    generated = subprocess.run(
        [str(APP_PYTHON), str(GENERATOR), "--stdout"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert json.loads(generated) == json.loads(CONTRACT.read_text()), (
        "contract/openapi.json is out of date: regenerate it with `python3 contract/generate.py`"
    )
