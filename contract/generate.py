"""Regenerate contract/openapi.json, the API contract, from the FastAPI app.

    targets/fastapi_app/.venv/bin/python contract/generate.py           # rewrite the file
    targets/fastapi_app/.venv/bin/python contract/generate.py --stdout  # print it instead

It needs the FastAPI app's own venv (fastapi is not in the harness's); run with another
Python, it re-runs itself under that venv. tests/test_openapi_sync.py keeps the committed
copy in sync with the app.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "targets" / "fastapi_app"
VENV_PYTHON = APP_DIR / ".venv" / "bin" / "python"
OUTPUT = ROOT / "contract" / "openapi.json"


def render() -> str:
    sys.path.insert(0, str(APP_DIR))
    for knob in ("SLOWDOWN_US", "STORE"):  # a test-only knob and the store choice: never part of the contract
        os.environ.pop(knob, None)
    from main import app

    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    try:
        import fastapi  # noqa: F401
    except ImportError:
        if not VENV_PYTHON.exists():
            sys.exit(f"{VENV_PYTHON} is missing: install the FastAPI app first")
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    document = render()
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(document)
    else:
        OUTPUT.write_text(document, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
