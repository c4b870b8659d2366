"""The two revisions of `bench ab`, each as a folder of its own: build/ab/<revision>/{targets,contract}.

A git revision is exported with `git archive` (no `git worktree`: that would register a work tree in
the repository every other checkout shares, and a killed run would leave it behind). WORKTREE (or ".")
is the working tree as it is, uncommitted changes included: its tracked and untracked-but-not-ignored
files are copied, so a user can gate a change before committing it. Only targets/ and contract/ are
taken: the harness and the scenarios are the running harness's own, the same for both sides.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BenchError
from harness.machine.locks import Held, lock_folder

WORKTREE_REFS = ("WORKTREE", ".")
SHIPPED = ("targets", "contract")  # what a revision's folder holds
SHORT_SHA = 12


@dataclass(frozen=True)
class Revision:
    ref: str  # as the user named it
    label: str  # the folder name and what reports show: the short commit, or "worktree"
    commit: str | None  # the full commit; None for the working tree


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise BenchError("bench ab needs git on PATH") from None


def toplevel(path: Path) -> Path:
    """The root of the git work tree holding path (ls-files and archive name paths from there)."""
    done = _git(path, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise BenchError(f"{path.resolve()} is not inside a git work tree: bench ab needs one")
    return Path(done.stdout.decode().strip())


def resolve(repo: Path, ref: str) -> Revision:
    """A git revision (branch, tag, sha, HEAD~1) or WORKTREE; BenchError for one git does not know."""
    if ref in WORKTREE_REFS:
        toplevel(repo)
        return Revision(ref=ref, label="worktree", commit=None)
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise BenchError(f"unknown git revision {ref!r} in {repo}")
    commit = done.stdout.decode().strip()
    return Revision(ref=ref, label=commit[:SHORT_SHA], commit=commit)


def folder_of(revision: Revision, build_dir: Path, suffix: str = "") -> Path:
    return build_dir / f"{revision.label}{suffix}"


def lock(revision: Revision, build_dir: Path, suffix: str = "") -> Held:
    """Hold the revision's folder for a run (materialize replaces it, remove deletes it): another `bench ab`
    on the same revision is refused in one line instead of deleting the folder under this run's servers."""
    return lock_folder(folder_of(revision, build_dir, suffix), "bench ab")


def materialize(repo: Path, revision: Revision, build_dir: Path, suffix: str = "") -> Path:
    """The revision's targets/ and contract/ under build_dir/<label><suffix> (replaced if present); its path.
    The caller holds its `lock`."""
    folder = folder_of(revision, build_dir, suffix)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        if revision.commit is None:
            _copy_worktree(repo, folder)
        else:
            _extract_commit(repo, revision.commit, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not (folder / "targets").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        raise BenchError(f"revision {revision.ref!r} has no targets/ folder")
    return folder


def _extract_commit(repo: Path, commit: str, folder: Path) -> None:
    present = [p for p in SHIPPED if _git(repo, "cat-file", "-e", f"{commit}:{p}").returncode == 0]
    if not present:
        raise BenchError(f"revision {commit[:SHORT_SHA]} has no targets/ folder")
    done = _git(repo, "archive", "--format=tar", commit, *present)
    if done.returncode != 0:
        raise BenchError(f"git archive of {commit[:SHORT_SHA]} failed: {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(folder, filter="data")  # Python >= 3.11.4, as pyproject requires


def _copy_worktree(repo: Path, folder: Path) -> None:
    """Tracked and untracked files that git does not ignore: never node_modules, .venv, install stamps."""
    done = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SHIPPED)
    if done.returncode != 0:
        raise BenchError(f"git ls-files failed in {repo}: {done.stderr.decode().strip()}")
    for name in filter(None, done.stdout.decode().split("\0")):
        source = repo / name
        if source.is_file():  # a tracked file deleted in the working tree is left out, as it would be committed
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)


def remove(folder: Path) -> None:
    """Remove a revision's folder (its cached installs live elsewhere and stay)."""
    shutil.rmtree(folder, ignore_errors=True)
