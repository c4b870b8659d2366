"""Installing a revision's target once per lock file: build/ab/cache/<target>-<hash>/.

The hash is the one `bench setup` stamps (the install commands and the install_inputs' bytes: e.g.
package-lock.json, requirements.txt), so two revisions with the same lock file share one install, and
a rerun of `bench ab` installs nothing. The install commands run in the cache folder beside a copy of
the inputs; what they create there (node_modules, .venv) is linked into the revision's target folder.
Node resolves node_modules through the link, and a venv's python finds its pyvenv.cfg through it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness.errors import BenchError
from harness.machine.locks import lock_folder
from harness.targets import INSTALL_STAMP, Target, install_digest

DIGEST_CHARS = 16
COMPLETE = ".complete"  # written last: a folder without it is an interrupted install, redone


def cache_folder(target: Target, cache_root: Path) -> Path:
    return cache_root / f"{target.name}-{install_digest(target)[:DIGEST_CHARS]}"


def install_cached(target: Target, cache_root: Path) -> bool:
    """Make target.directory's install products links into its cache folder; True if it installed now."""
    target.check_requirements()
    cache = cache_folder(target, cache_root)
    installed = False
    with lock_folder(cache, "bench ab install", wait=True):  # another run installing it: wait, then share it
        if not (cache / COMPLETE).exists():
            _install(target, cache)
            installed = True
    inputs = set(target.native.install_inputs) | {COMPLETE}
    for product in sorted(p for p in cache.iterdir() if p.name not in inputs):
        link = target.directory / product.name
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        link.symlink_to(product.resolve(), target_is_directory=product.is_dir())
    (target.directory / INSTALL_STAMP).write_text(install_digest(target))  # what the runtime checks: installed
    return installed


def _install(target: Target, cache: Path) -> None:
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    for name in target.native.install_inputs:
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target.directory / name, cache / name)
    for command in target.native.install:
        done = subprocess.run(command, cwd=cache, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise BenchError(f"installing {target.name} in {cache} failed at `{' '.join(command)}`: {tail[0]}")
    (cache / COMPLETE).write_text(install_digest(target))
