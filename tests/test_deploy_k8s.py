"""deploy/k8s: valid against Kubernetes' own schemas (offline: kubernetes-validate ships them), and the
workers' command line is one `bench worker` accepts, with the run's secret and the hosts it may load."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # in requirements.lock: missing, it is an error, not a skip
import pytest
import yaml

from harness.commands.main import build_parser

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"  # an old-enough cluster: the manifests use nothing newer


def _documents() -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_manifests_are_valid_kubernetes_objects() -> None:
    documents = _documents()
    assert {doc["kind"] for doc in documents} == {"ConfigMap", "Deployment"}
    for doc in documents:  # strict: an unknown or misplaced field fails too
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_misplaced_field_is_caught() -> None:
    """The check can fail: `replicas` under the pod template's spec is not a Kubernetes field."""
    deployment = next(doc for doc in _documents() if doc["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["replicas"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_workers_command_is_one_bench_worker_accepts() -> None:
    deployment = next(doc for doc in _documents() if doc["kind"] == "Deployment")
    config = next(doc for doc in _documents() if doc["kind"] == "ConfigMap")["data"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {**config, "NODE_NAME": "node-1"}
    argv = []
    for arg in container["command"]:
        for name, value in env.items():
            arg = arg.replace(f"$({name})", value)
        argv.append(arg)
    assert argv[0] == "bench"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "worker" and args.master == ("bench-master.example.internal", 5557)
    assert args.processes == int(config["PROCESSES"])
    assert args.allow_host == [config["ALLOW_HOST"]]  # not the master's host by default: the server's
    assert args.secret is None  # never on the command line: from a Secret, in the environment
    secret = next(e for e in container["env"] if e["name"] == "BENCH_WORKER_SECRET")
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "bench-worker", "key": "BENCH_WORKER_SECRET"}
