"""The Docker engine the Docker runtime talks to: one SDK client per engine address, and the labels it sets."""

from __future__ import annotations

import os

import docker
import docker.errors

from harness.errors import BenchError

DEFAULT_HOST = "unix:///var/run/docker.sock"
LABEL = "bench.harness"  # on every container and image this runtime makes
OWNER_LABEL = "bench.owner"  # "<hostname>:<pid>" of the harness process that started the container
API_TIMEOUT_S = 600  # per socket read; a build can be silent for a while
PING_TIMEOUT_S = 5


def engine_url() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def host_pids_visible(url: str | None = None) -> bool:
    """Whether the engine's container PIDs are this host's: a local socket's engine, yes; tcp:// or
    ssh:// (another host, or here through a network address), no: its figures then come from the
    engine's stats API (harness.runtime.docker_stats), never from a same-numbered local process."""
    return (url or engine_url()).startswith(("unix://", "npipe://"))


def owner() -> str:
    """This harness process, as the owner label names it."""
    return f"{os.uname().nodename}:{os.getpid()}"


def labels(**more: str) -> dict[str, str]:
    """The labels of everything this runtime makes: the harness's, its owner's, and `more`."""
    return {LABEL: "1", OWNER_LABEL: owner(), **more}


def api_error(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc).splitlines()[0]


class Engine:
    """Clients by engine address (DOCKER_HOST may change between calls, as in the tests)."""

    def __init__(self) -> None:
        self._clients: dict[str, docker.DockerClient] = {}

    def client(self) -> docker.DockerClient:
        """The client of the current address; raises BenchError (one line) when no engine answers."""
        url = engine_url()
        if url not in self._clients:
            try:
                # ssh://: through the ssh command (its config and keys), not paramiko, which is not installed
                ssh = url.startswith("ssh://")
                probe = docker.from_env(timeout=PING_TIMEOUT_S, use_ssh_client=ssh)
                probe.ping()
                probe.close()
                self._clients[url] = docker.from_env(timeout=API_TIMEOUT_S, use_ssh_client=ssh)
            except docker.errors.DockerException:
                raise BenchError(
                    f"no Docker engine answers at {url}: start one (e.g. `systemctl start docker`, or `dockerd`) "
                    "or use --runtime native"
                ) from None
        return self._clients[url]

    def known(self, url: str) -> docker.DockerClient | None:
        """The client made earlier for that address, if any (clean-up at exit must not connect anew)."""
        return self._clients.get(url)

    def answers(self) -> bool:
        try:
            self.client()
            return True
        except BenchError:
            return False
