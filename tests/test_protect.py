"""Protection cgroups: set-up and clean-up on a temporary tree laid out like cgroup v1 and v2.

`FakeKernel` plays the kernel's part on plain files: mkdir makes the control files, a PID
written to a cgroup.procs leaves every other group, rmdir refuses a group with members, and
cpu.weight exists only once the parent enabled `+cpu`. One test uses the machine's real
cgroup tree when it can (root, writable, v1 or v2 with the cpu controller).
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.machine import protect
from harness.machine.protect import V1_SHARES, V2_WEIGHT, CgroupFs, group_name, protected

PID = 9_000_001  # above any pid_max, so it never matches a real /proc entry
OTHER_PID = 9_000_002


class FakeKernel(CgroupFs):
    def __init__(self, root: Path, version: int, error: int | None = None) -> None:
        self.root, self.version, self.error = root, version, error

    def _refuse(self) -> None:
        if self.error is not None:
            raise OSError(self.error, os.strerror(self.error))

    def mkdir(self, path: Path) -> None:
        self._refuse()
        path.mkdir()
        (path / "cgroup.procs").write_text("")
        if self.version == 1:
            (path / "cpu.shares").write_text("1024")
        elif "cpu" in (path.parent / "cgroup.subtree_control").read_text().split():
            (path / "cpu.weight").write_text("100")
        if self.version == 2:
            (path / "cgroup.subtree_control").write_text("")

    def write(self, path: Path, text: str) -> None:
        self._refuse()
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        if path.name == "cgroup.procs":
            for procs in self.root.rglob("cgroup.procs"):
                procs.write_text("".join(f"{p}\n" for p in procs.read_text().split() if p != text))
            path.write_text(path.read_text() + f"{text}\n")
        elif path.name == "cgroup.subtree_control":
            path.write_text(" ".join(sorted(set(path.read_text().split()) | {text.lstrip("+")})))
        else:
            limit = V1_SHARES if path.name == "cpu.shares" else V2_WEIGHT
            if not 1 <= int(text) <= limit:
                raise OSError(errno.EINVAL, "Invalid argument")
            path.write_text(text)

    def rmdir(self, path: Path) -> None:
        self._refuse()
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        if (path / "cgroup.procs").read_text().split():
            raise OSError(errno.EBUSY, "Device or resource busy")
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


def v1_tree(root: Path) -> Path:
    """A hybrid layout like this machine's: v1 controllers, plus a v2 mount without cpu."""
    cpu = root / "cpu"
    for name in ("cpu", "cpuacct", "memory", "unified"):
        (root / name).mkdir(parents=True)
    (cpu / "cpu.shares").write_text("1024")
    (cpu / "cgroup.procs").write_text(f"1\n{PID}\n{OTHER_PID}\n")
    (root / "unified" / "cgroup.controllers").write_text("")
    return cpu


def v2_tree(root: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    root.mkdir(exist_ok=True)
    (root / "cgroup.controllers").write_text(controllers)
    (root / "cgroup.subtree_control").write_text("memory")
    (root / "cgroup.procs").write_text(f"1\n{PID}\n{OTHER_PID}\n")
    return root


LAYOUTS = {1: (v1_tree, "cpu.shares", V1_SHARES), 2: (v2_tree, "cpu.weight", V2_WEIGHT)}


def procs(group: Path) -> list[str]:
    return (group / "cgroup.procs").read_text().split()


@pytest.mark.parametrize("version", [1, 2])
def test_groups_get_the_highest_weight_take_a_process_and_are_removed(tmp_path: Path, version: int) -> None:
    make_tree, weight_file, weight = LAYOUTS[version]
    parent = make_tree(tmp_path)
    with protected("20250101T000000Z-quick", root=tmp_path, fs=FakeKernel(tmp_path, version)) as protection:
        assert protection.status == f"protected: cgroup v{version} {weight_file}={weight}"
        server = parent / "bench-20250101T000000Z-quick-server"
        assert (server / weight_file).read_text() == str(weight)
        assert (parent / "bench-20250101T000000Z-quick-loadgen" / weight_file).read_text() == str(weight)
        protection.adopt("server", PID)
        assert procs(server) == [str(PID)]
        assert str(PID) not in procs(parent)
    assert sorted(p.name for p in parent.iterdir() if p.name.startswith("bench")) == []
    assert str(PID) in procs(parent)  # moved back before the rmdir
    assert protection.warnings == []


def test_v2_enables_the_cpu_controller_in_the_parent(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    with protected("r", root=tmp_path, fs=FakeKernel(tmp_path, 2)):
        assert "cpu" in (tmp_path / "cgroup.subtree_control").read_text().split()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_groups_are_removed_on_ctrl_c_and_errors(tmp_path: Path, version: int, interruption: type) -> None:
    parent = LAYOUTS[version][0](tmp_path)
    with pytest.raises(interruption), protected("r", root=tmp_path, fs=FakeKernel(tmp_path, version)) as protection:
        protection.adopt("loadgen", PID)
        raise interruption()
    assert not list(parent.glob("bench*"))
    assert str(PID) in procs(parent)


@pytest.mark.parametrize(
    ("make_tree", "error", "reason"),
    [
        (v1_tree, errno.EROFS, "unprotected: cannot create {parent}/bench-r-server: Read-only file system"),
        (v1_tree, errno.EACCES, "unprotected: cannot create {parent}/bench-r-server: Permission denied"),
        (v2_tree, errno.EACCES, "unprotected: cannot enable the cpu controller in {parent}/cgroup.subtree_control"),
        (lambda root: v2_tree(root, controllers="memory pids"), None, "unprotected: no cgroup cpu controller under"),
        (lambda root: root, None, "unprotected: no cgroup cpu controller under"),
    ],
    ids=["read-only", "no-permission", "v2-no-delegation", "v2-without-cpu", "no-cgroups"],
)
def test_without_permission_the_run_goes_on_unprotected_and_says_why(tmp_path, make_tree, error, reason) -> None:
    version = 2 if make_tree is v2_tree else 1
    parent = make_tree(tmp_path)
    with protected("r", root=tmp_path, fs=FakeKernel(tmp_path, version, error)) as protection:
        assert protection.status.startswith(reason.format(parent=parent))
        assert not protection.active
        protection.adopt("server", PID)  # a no-op, not an error
    assert not list(tmp_path.rglob("bench*"))


def test_a_group_half_made_is_removed_when_the_next_one_fails(tmp_path: Path) -> None:
    parent = v1_tree(tmp_path)
    kernel = FakeKernel(tmp_path, 1)
    real_mkdir = kernel.mkdir

    def mkdir_once(path: Path) -> None:
        if path.name.endswith("-loadgen"):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_mkdir(path)

    kernel.mkdir = mkdir_once  # type: ignore[method-assign]
    with protected("r", root=tmp_path, fs=kernel) as protection:
        assert protection.status.startswith("unprotected: cannot create")
        assert not list(parent.glob("bench*"))


@pytest.mark.parametrize("version", [1, 2])
def test_start_sweeps_empty_leftovers_but_not_populated_groups(tmp_path: Path, version: int) -> None:
    parent = LAYOUTS[version][0](tmp_path)
    kernel = FakeKernel(tmp_path, version)
    kernel.mkdir(parent / "bench-killed-run-server")
    kernel.mkdir(parent / "bench-live-run-loadgen")
    kernel.write(parent / "bench-live-run-loadgen" / "cgroup.procs", str(OTHER_PID))
    with protected("r", root=tmp_path, fs=kernel):
        names = sorted(p.name for p in parent.glob("bench*"))
        assert names == ["bench-live-run-loadgen", "bench-r-loadgen", "bench-r-server"]
    assert [p.name for p in parent.glob("bench*")] == ["bench-live-run-loadgen"]


def test_a_group_swept_by_a_concurrent_run_is_made_again_on_adopt(tmp_path: Path) -> None:
    parent = v1_tree(tmp_path)
    kernel = FakeKernel(tmp_path, 1)
    with protected("r", root=tmp_path, fs=kernel) as protection:
        kernel.rmdir(parent / "bench-r-server")  # empty between trials, so another run's sweep took it
        protection.adopt("server", PID)
        assert procs(parent / "bench-r-server") == [str(PID)]
        assert (parent / "bench-r-server" / "cpu.shares").read_text() == str(V1_SHARES)


def test_a_member_that_cannot_leave_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(protect, "REMOVE_PAUSE_S", 0.0)
    parent = v1_tree(tmp_path)
    kernel = FakeKernel(tmp_path, 1)
    with protected("r", root=tmp_path, fs=kernel) as protection:
        protection.adopt("server", PID)
        kernel.write = lambda path, text: (_ for _ in ()).throw(OSError(errno.ESRCH, "No such process"))
    assert protection.warnings == [f"cannot remove cgroup {parent}/bench-r-server: processes [{PID}] stay in it"]


def test_a_server_joins_the_protection_its_launch_options_name_and_no_other(tmp_path: Path) -> None:
    from harness.runtime.native import NativeRuntime
    from harness.runtime.options import LaunchOptions
    from harness.runtime.server import free_port
    from harness.targets import NativeSpec, Target

    parent = v1_tree(tmp_path)
    sleeper = Target(name="sleeper", display_name="S", language="none", native=NativeSpec(command=["sleep", "60"]))
    runtime = NativeRuntime()

    def launch(protection: protect.Protection | None) -> int:
        server = runtime.launch(sleeper, LaunchOptions(port=free_port(), log_path=tmp_path / "s.log",
                                                       protection=protection))
        pid = server.pids()[0]
        server.stop()
        return pid

    with protected("r", root=tmp_path, fs=FakeKernel(tmp_path, 1)) as protection:
        protected_pid = launch(protection)
        assert procs(parent / "bench-r-server") == [str(protected_pid)]
        unprotected_pid = launch(None)  # a server started outside the run's options (tests, `bench serve`)
        assert procs(parent / "bench-r-server") == [str(protected_pid)] and str(unprotected_pid) not in procs(parent)


def test_group_names_are_recognisable_and_safe() -> None:
    assert group_name("20250101T000000Z-quick", "server") == "bench-20250101T000000Z-quick-server"
    assert group_name("my run/1", "loadgen") == "bench-my_run_1-loadgen"


def _real_hierarchy() -> protect.Hierarchy:
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    try:
        hierarchy = protect.find_hierarchy(protect.CGROUP_ROOT, CgroupFs())
    except protect.Refused as exc:
        pytest.skip(str(exc))
    if not os.access(hierarchy.path, os.W_OK):
        pytest.skip(f"{hierarchy.path} is not writable")
    return hierarchy


def test_on_this_machine_a_process_and_its_later_children_join_and_the_group_goes_away() -> None:
    hierarchy = _real_hierarchy()
    run_id = f"test-{os.getpid()}"
    # A shell that forks its child only after being moved: the child must inherit the group.
    shell = subprocess.Popen(["sh", "-c", "sleep 0.5; sleep 30 & wait"], start_new_session=True)
    try:
        with protected(run_id, roles=("server",)) as protection:
            if not protection.active:
                pytest.skip(protection.status)
            group = hierarchy.path / group_name(run_id, "server")
            assert (group / hierarchy.weight_file).read_text().strip() == str(hierarchy.weight)
            protection.adopt("server", shell.pid)
            time.sleep(1.0)
            members = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            assert shell.pid in members
            assert len(members) == 2, f"the later child should have joined: {members}"
        assert not group.exists()
        assert protection.warnings == []
        home = protect.home_group(shell.pid, hierarchy)
        assert home is not None and home != group
    finally:
        os.killpg(shell.pid, 9)
        shell.wait()


def test_the_terminal_header_says_whether_the_run_was_protected() -> None:
    from harness.results import RunResults
    from harness.terminal import run_header

    results = RunResults(run_id="r", created_at="now", environment={"protection": "unprotected: no cgroup cpu"})
    assert "\nprotection: unprotected: no cgroup cpu" in run_header(results)
    assert "\nprotection: not recorded" in run_header(RunResults(run_id="r", created_at="now"))


@pytest.mark.e2e
def test_a_run_puts_server_and_load_generator_in_their_groups_and_leaves_none(tmp_path: Path) -> None:
    """A real (tiny) run: during the load both groups have members; afterwards they are gone."""
    import json

    from harness.config import RunConfig
    from harness.run import run_benchmark

    root = Path(__file__).resolve().parent.parent
    seen: dict[str, list[str]] = {}

    def progress(description: str, done: int, total: int) -> None:
        hierarchy = _real_hierarchy()
        for role in ("server", "loadgen"):
            procs_file = hierarchy.path / group_name("protected-e2e", role) / "cgroup.procs"
            seen[role] = procs_file.read_text().split() if procs_file.exists() else []

    config = RunConfig(profile="test", targets=["express"], scenarios=["throughput"], results_dir=tmp_path,
                       targets_dir=root / "targets", scenarios_dir=root / "scenarios", run_name="protected-e2e")
    run_dir = run_benchmark(config, progress)
    results = json.loads((run_dir / "results.json").read_text())
    hierarchy = _real_hierarchy()
    assert results["environment"]["protection"] == f"protected: {hierarchy.describe()}"
    assert str(os.getpid()) in seen["loadgen"]  # the harness, whose Locust children are born there
    assert len(seen["server"]) == 1  # the progress call at a step comes while the server is up
    assert not list(hierarchy.path.glob("bench-protected-e2e-*"))
    metrics = {m["metric"] for m in results["metrics"]}
    assert {"server_foreign_cpu_pct", "loadgen_foreign_cpu_pct"} <= metrics
