from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.targets import discover_targets, load_target, select_targets

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
name = "{name}"
display_name = "X"
language = "python"
[native]
command = ["python3", "-c", "pass", "{{host}}", "{{port}}", "{{workers}}"]
env = {{ PORT = "{{port}}" }}
"""


def make_target(root: Path, folder: str, name: str) -> Path:
    (root / folder).mkdir(parents=True)
    (root / folder / "target.toml").write_text(MINIMAL.format(name=name))
    return root / folder


def test_the_two_reference_targets_are_found():
    targets = discover_targets(ROOT / "targets")
    assert {"fastapi", "express"} <= set(targets)


def test_a_new_folder_is_a_new_target(tmp_path):
    make_target(tmp_path, "a_app", "alpha")
    make_target(tmp_path, "b_app", "beta")
    assert list(discover_targets(tmp_path)) == ["alpha", "beta"]


def test_placeholders_are_filled(tmp_path):
    target = load_target(make_target(tmp_path, "a", "alpha"))
    command, env = target.native_command("127.0.0.1", 8123, 2)
    assert command[-3:] == ["127.0.0.1", "8123", "2"]
    assert env == {"PORT": "8123"}


def test_bad_manifest_is_one_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "target.toml").write_text('name = "alpha"\n')
    with pytest.raises(BenchError, match="bad target manifest"):
        discover_targets(tmp_path)


def test_duplicate_names_and_unknown_selection(tmp_path):
    make_target(tmp_path, "a", "alpha")
    targets = discover_targets(tmp_path)
    with pytest.raises(BenchError, match="unknown target 'zeta'"):
        select_targets(targets, ["zeta"])
    make_target(tmp_path, "b", "alpha")
    with pytest.raises(BenchError, match="two targets are named"):
        discover_targets(tmp_path)


def test_missing_tool_is_named(tmp_path):
    target = load_target(make_target(tmp_path, "a", "alpha"))
    target.requires.append("surely-not-a-real-tool-xyz")
    with pytest.raises(BenchError, match="needs 'surely-not-a-real-tool-xyz'"):
        target.check_requirements()
